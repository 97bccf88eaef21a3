"""The order book: every Trade this client knows, kept current from TWS's messages.

:class:`OrderBook` is I/O-free: the client feeds it the order messages, it
updates the :class:`~twsbridge.client.trade.Trade` objects and wakes their
waiters. How a message finds its trade:

* openOrder (5) and orderStatus (3) by ``(clientId, orderId)``, else by
  ``permId``; completedOrder (101) carries no order id, so by ``permId``;
* execDetails (11), solicited (reqExecutions) or not (reqId -1), by the
  execution's ``(clientId, orderId)`` or ``permId``; the :class:`Fill` is kept
  by ``execId`` even when no trade is known;
* commissionReport (59) by ``execId`` → the fill → its trade (a report that
  comes before its execution waits for it);
* error (4) whose id is an order id of this client → that trade's log; a
  non-warning code marks the trade rejected (see :mod:`.trade`).

openOrder and completedOrder of orders this client did not place (other
clients' orders from reqAllOpenOrders, orders of earlier sessions) create
Trades too. whatIf answers are not trades: the client takes them first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from twsbridge.protocol import Contract, incoming
from twsbridge.protocol.order_models import CommissionReport, Order

from .errors import TWSError, is_notice
from .frames import parse_bar_date
from .trade import DONE_STATES, UNACKNOWLEDGED, Fill, Trade

__all__ = ["CANCEL_ERROR_CODES", "ORDER_WARNING_CODES", "OrderBook", "is_rejection"]

log = logging.getLogger("twsbridge.client")

#: Order error codes that only warn, besides the notices of :func:`is_notice`
#: (399 "Order message: Warning …", 2109 outside-RTH ignored …): 10349 "Order TIF
#: was set to DAY based on order preset".
ORDER_WARNING_CODES = frozenset({10349})
#: Errors that do not reject the order: of a cancel request (the order is
#: unchanged): 161 "Cancel attempted when order is not in a cancellable state",
#: 10147 "OrderId … that needs to be cancelled is not found", 10148 "… cannot be
#: cancelled, state: …"; and 202 "Order Canceled - reason: …", TWS's note of a
#: cancel, whoever asked for it (this client, another client, the TWS user).
CANCEL_ERROR_CODES = frozenset({161, 202, 10147, 10148})

# Order fields a placed Order takes over from TWS's openOrder/completedOrder.
_MIRRORED = ("permId", "clientId", "parentId", "action", "totalQuantity", "orderType",
             "lmtPrice", "auxPrice", "tif", "account", "orderRef", "ocaGroup",
             "trailStopPrice", "trailingPercent", "filledQuantity")


def is_rejection(code: int) -> bool:
    """True when an error frame with an order's id rejects the order (or a
    modification of it), False when it only warns or concerns a cancel."""
    return not (is_notice(code) or code in ORDER_WARNING_CODES or code in CANCEL_ERROR_CODES)


def _exec_time(text: str) -> datetime:
    """An execution's time when TWS names its zone, else now (UTC)."""
    try:
        moment = parse_bar_date(text)
    except ValueError:
        return datetime.now(UTC)
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        return moment
    return datetime.now(UTC)


class OrderBook:
    """Trades and fills of one client object, across its connections.

    Args:
        client_id: returns the client's id (errors carry only order ids,
            which are per client id).
        check: raises unless connected (``Trade.done`` calls it before waiting).
    """

    def __init__(self, client_id: Callable[[], int], check: Callable[[], None]) -> None:
        self._client_id = client_id
        self._check = check
        self._trades: dict[int, Trade] = {}  # id(trade) -> trade, in creation order
        self._by_key: dict[tuple[int, int], Trade] = {}
        self._by_perm: dict[int, Trade] = {}
        self._fills: dict[str, Fill] = {}
        self._fill_trade: dict[str, Trade] = {}
        self._reports: dict[str, CommissionReport] = {}
        self._commissions = asyncio.Event()

    def trades(self) -> list[Trade]:
        """Every trade, oldest first."""
        return list(self._trades.values())

    def open_trades(self) -> list[Trade]:
        """The trades not done."""
        return [t for t in self._trades.values() if not t.is_done()]

    def own(self, orderId: int) -> Trade | None:
        """This client's latest trade with ``orderId``."""
        return self._by_key.get((self._client_id(), orderId))

    def find(self, clientId: int, orderId: int, permId: int) -> Trade | None:
        """The trade of an order: by ``permId``, else by ``(clientId, orderId)``."""
        if permId and (trade := self._by_perm.get(permId)) is not None:
            return trade
        return self._by_key.get((clientId, orderId)) if orderId else None

    def fill(self, execId: str) -> Fill | None:
        """The fill of ``execId``, known or not to a trade."""
        return self._fills.get(execId)

    # placing ------------------------------------------------------------------

    def place(self, contract: Contract, order: Order) -> Trade:
        """A new trade for an order about to be sent (status PendingSubmit)."""
        trade = Trade(contract, order, "PendingSubmit", self._check, placed=True)
        self._trades[id(trade)] = trade
        self._by_key[(self._client_id(), order.orderId)] = trade
        return trade

    def forget(self, trade: Trade) -> None:
        """Drop a trade whose placeOrder could not be sent."""
        self._trades.pop(id(trade), None)
        key = (self._client_id(), trade.orderId)
        if self._by_key.get(key) is trade:
            del self._by_key[key]

    @staticmethod
    def modify(trade: Trade, contract: Contract, order: Order) -> None:
        """Record a modification of a live trade (sent as placeOrder again)."""
        trade.contract, trade.order = contract, order
        trade.add_log("Modify")
        trade.changed()

    @staticmethod
    def cancel_requested(trades: Iterable[Trade], what: str) -> None:
        """Record that a cancel was sent for ``trades`` (its later Cancelled is ours)."""
        for trade in trades:
            trade.cancel_requested = True
            trade.add_log(what)

    # messages --------------------------------------------------------------------

    def on_open_order(self, msg: incoming.OpenOrder) -> Trade:
        """openOrder (5): the order's latest definition and state."""
        trade = self._take(msg.contract, msg.order, msg.orderId, msg.order.clientId)
        trade.acknowledged = True
        trade.orderState = msg.orderState
        trade.set_status(msg.orderState.status)
        trade.changed()
        return trade

    def on_completed_order(self, msg: incoming.CompletedOrder) -> Trade:
        """completedOrder (101): an order done (this session or earlier)."""
        trade = self._take(msg.contract, msg.order, msg.order.orderId, msg.order.clientId)
        trade.orderState = msg.orderState
        status = msg.orderState.status or msg.orderState.completedStatus
        if trade.orderStatus is not None and trade.orderStatus.status not in DONE_STATES \
                and status in DONE_STATES:
            trade.orderStatus = None  # news missed (a reconnect): quantities from fills
        trade.set_status(status)
        trade.changed()
        return trade

    def _take(self, contract: Contract, order: Order, orderId: int, clientId: int) -> Trade:
        trade = self.find(clientId, orderId, order.permId)
        if trade is None:
            if not order.orderId:
                order.orderId = orderId
            trade = Trade(contract, order, "", self._check, placed=False)
            self._trades[id(trade)] = trade
            if orderId:
                self._by_key[(clientId, orderId)] = trade
        elif trade.order is not order:
            for name in _MIRRORED:
                setattr(trade.order, name, getattr(order, name))
        if not trade.contract.conId and contract.conId:
            trade.contract = contract  # TWS's, with the conId (the caller's object is left)
        if order.permId:
            self._by_perm[order.permId] = trade
        return trade

    def on_order_status(self, msg: incoming.OrderStatus) -> Trade | None:
        """orderStatus (3): status, filled and remaining quantities, prices."""
        trade = self.find(msg.clientId, msg.orderId, msg.permId)
        if trade is None:
            log.debug("orderStatus of an unknown order: %r", msg)
            return None
        if trade.is_done() and not trade.synthetic and msg.status not in DONE_STATES | {""}:
            return trade  # late news of an order already done
        before = _status_key(trade.orderStatus)
        trade.acknowledged = True
        trade.orderStatus = msg
        if msg.permId:
            trade.order.permId = msg.permId
            self._by_perm[msg.permId] = trade
        if trade.set_status(msg.status) or before != _status_key(msg):
            trade.changed()
        return trade

    def on_exec_details(self, msg: incoming.ExecDetails) -> Fill:
        """execDetails (11): a new fill (a known execId is returned as it is)."""
        ex = msg.execution
        known = self._fills.get(ex.execId)
        if known is not None:
            return known
        fill = Fill(msg.contract, ex, self._reports.pop(ex.execId, None), _exec_time(ex.time))
        self._fills[ex.execId] = fill
        trade = self.find(ex.clientId, ex.orderId, ex.permId)
        if trade is not None:
            trade.fills.append(fill)
            self._fill_trade[ex.execId] = trade
            trade.add_log(f"Fill {ex.shares}@{ex.price}")
            trade.changed()
        return fill

    def on_commission_report(self, msg: incoming.CommissionReportMessage) -> None:
        """commissionReport (59): the commission of one fill."""
        report = msg.commissionReport
        fill = self._fills.get(report.execId)
        if fill is None:
            self._reports[report.execId] = report
            return
        if fill.commissionReport == report:
            return
        fill.commissionReport = report
        trade = self._fill_trade.get(report.execId)
        if trade is not None:
            trade.changed()
        event, self._commissions = self._commissions, asyncio.Event()
        event.set()

    def on_error(self, err: TWSError) -> bool:
        """An error frame: True when its id is an order of this client (then it
        is in that trade's log, and a rejection marks the trade)."""
        if err.reqId <= 0:
            return False
        trade = self.own(err.reqId)
        if trade is None:
            return False
        rejection = is_rejection(err.code)
        if rejection:
            trade.error = err
        if not (rejection and (not trade.acknowledged or trade.status in UNACKNOWLEDGED)
                and trade.set_status("Cancelled", err.message, err.code, synthetic=True)):
            trade.add_log(err.message, err.code)
        trade.changed()
        return True

    def on_close(self, exc: BaseException | None) -> None:
        """The connection ended: wake the waiters of every trade not complete."""
        for trade in self._trades.values():
            if not trade.complete():
                trade.connection_ended(exc)

    async def wait_commissions(self, fills: list[Fill], timeout: float) -> None:
        """Wait up to ``timeout`` seconds until every fill has its commission report
        (returns, without raising, when time is up)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while any(f.commissionReport is None for f in fills):
                    await self._commissions.wait()


def _status_key(msg: incoming.OrderStatus | None) -> tuple[object, ...] | None:
    if msg is None:
        return None
    return (msg.status, msg.filled, msg.remaining, msg.avgFillPrice, msg.lastFillPrice,
            msg.whyHeld, msg.mktCapPrice, msg.parentId)
