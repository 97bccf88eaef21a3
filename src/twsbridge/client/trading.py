"""Order requests of a TWSClient (documented on ``TWSClient``).

:class:`Trading` places, modifies and cancels orders, previews them (whatIf),
asks TWS for open and completed orders and for executions, and feeds TWS's
order messages to the :class:`~twsbridge.client.orders.OrderBook`.

Across a reconnect (:mod:`.reconnect`) trades stay live: ``Trade.done()`` and
``Trade.updates()`` keep waiting, and once reconnected :meth:`Trading.recover`
asks TWS for the open orders, today's completed orders and executions, so a
trade gets the statuses, fills and commissions it missed. An order TWS never
received (its placeOrder went down with the connection: TWS knows it neither
as open nor as completed) ends Cancelled with error 504 "Not connected",
which ``Trade.done()`` raises.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from twsbridge.protocol import Contract, ExecutionFilter, Message, incoming, outgoing
from twsbridge.protocol.order_models import Order, OrderState

from .core import ClientCore
from .errors import ConnectionLost, InterceptError, TWSError
from .orders import OrderBook
from .requests import Request
from .trade import UNACKNOWLEDGED, Fill, Trade

__all__ = ["COMMISSION_WAIT", "NOT_CONNECTED", "Trading"]

log = logging.getLogger("twsbridge.client")

#: Seconds reqExecutions waits after execDetailsEnd for missing commission reports.
COMMISSION_WAIT = 2.0
#: IB's client error code "Not connected": the code of an order lost with the connection.
NOT_CONNECTED = 504


class Trading:
    """Orders of one client object; its :class:`OrderBook` lives across reconnects."""

    def __init__(self, core: ClientCore) -> None:
        self._core = core
        self.book = OrderBook(lambda: core.client_id, self._check)
        self._whatifs: dict[int, Request[OrderState]] = {}
        core.listen(incoming.OpenOrder, self._on_open_order)
        core.listen(incoming.OrderStatus, self.book.on_order_status)
        core.listen(incoming.ExecDetails, self.book.on_exec_details)
        core.listen(incoming.CommissionReportMessage, self.book.on_commission_report)
        core.listen(incoming.CompletedOrder, self.book.on_completed_order)
        core.claim_errors(self.book.on_error)
        core.on_close(self.book.on_close)
        core.on_suspend(self._on_suspend)
        core.on_reconnect(self.recover)
        self._unconfirmed: list[Trade] = []

    def _check(self) -> None:
        """Raise unless connected or reconnecting; after a failed intercept hook
        its InterceptError."""
        core = self._core
        reason = core.close_reason
        if not core.is_connected and isinstance(reason, InterceptError):
            raise reason
        if core.reconnecting:
            return  # trades wait for the reconnect and its recovery
        core.ensure_connected()

    # across reconnects ------------------------------------------------------------

    def _on_suspend(self, exc: BaseException) -> None:
        """The connection dropped: remember the orders TWS had not acknowledged."""
        for trade in self.book.open_trades():
            if trade.placed and trade.status in UNACKNOWLEDGED and trade not in self._unconfirmed:
                self._unconfirmed.append(trade)
            trade.add_log(f"Connection lost: {exc}")

    async def recover(self) -> None:
        """Reconnected: bring the trades that are not complete up to date
        (reqOpenOrders, reqCompletedOrders, reqExecutions); mark orders TWS
        never received (see the module doc).

        Raises:
            ConnectionLost: the connection dropped again (the next reconnect
                recovers).
        """
        trades = [t for t in self.book.trades() if not t.complete()]
        if not trades:
            self._unconfirmed.clear()
            return
        try:
            await self._orders("reqOpenOrders", outgoing.ReqOpenOrders(), internal=True)
            await self.reqCompletedOrders(apiOnly=True, internal=True)
            await self.reqExecutions(None, internal=True)
        except ConnectionLost:
            raise
        except TWSError as refused:  # TWS refused a request: the trades may stay behind
            log.warning("recovering trades after reconnecting failed: %s", refused)
            self._core.errors.publish(refused)
            return
        unconfirmed, self._unconfirmed = self._unconfirmed, []
        for trade in unconfirmed:
            if trade.status in UNACKNOWLEDGED and not trade.acknowledged:
                err = TWSError(NOT_CONNECTED, "Not connected: TWS did not receive this order "
                               "before the connection was lost", trade.orderId)
                trade.error = err
                trade.set_status("Cancelled", err.message, err.code, synthetic=True)
                trade.changed()
        for trade in trades:
            trade.add_log("Reconnected: recovered from TWS")
            trade.changed()
        log.info("recovered %d trade(s) after reconnecting", len(trades))

    def _on_open_order(self, msg: incoming.OpenOrder) -> None:
        req = self._whatifs.pop(msg.orderId, None)
        if req is not None:
            req.feed(msg)
            self._core.router.discard(req)
        elif not msg.order.whatIf:
            self.book.on_open_order(msg)

    # placing -------------------------------------------------------------------

    def placeOrder(self, contract: Contract, order: Order) -> Trade:
        """placeOrder (3): a new order, or a modification of a live one."""
        core = self._core
        transport = core.live()
        if order.orderId == 0:
            order.orderId = core.ids.next()
        else:
            core.ids.raise_to(order.orderId + 1)
        trade = self.book.own(order.orderId)
        msg = outgoing.PlaceOrder(orderId=order.orderId, contract=contract, order=order)
        if trade is not None and not trade.is_done():
            transport.send(msg)
            self.book.modify(trade, contract, order)
            return trade
        trade = self.book.place(contract, order)
        try:
            transport.send(msg)
        except BaseException:
            self.book.forget(trade)
            raise
        return trade

    def cancelOrder(self, order: Order | int, manualOrderCancelTime: str) -> Trade | None:
        """cancelOrder (4)."""
        orderId = order if isinstance(order, int) else order.orderId
        self._core.send(outgoing.CancelOrder(orderId=orderId,
                                             manualOrderCancelTime=manualOrderCancelTime))
        trade = self.book.own(orderId)
        if trade is not None:
            self.book.cancel_requested([trade], "Cancel requested")
        return trade

    def reqGlobalCancel(self) -> None:
        """reqGlobalCancel (58)."""
        self._core.send(outgoing.ReqGlobalCancel())
        self.book.cancel_requested(self.book.open_trades(), "Global cancel requested")

    async def whatIfOrder(self, contract: Contract, order: Order) -> OrderState:
        """placeOrder (3) of a whatIf copy → openOrder (5) with the preview."""
        core = self._core
        orderId = core.next_id()
        preview = dataclasses.replace(order, orderId=orderId, whatIf=True)
        req = Request("whatIfOrder", orderId, (incoming.OpenOrder,), (incoming.OpenOrder,),
                      convert=_order_state)
        self._whatifs[orderId] = req
        try:
            [state] = await core.call(req, outgoing.PlaceOrder(
                orderId=orderId, contract=contract, order=preview))
        finally:
            self._whatifs.pop(orderId, None)
        return state

    # asking TWS ---------------------------------------------------------------------

    async def reqIds(self) -> int:
        """reqIds (8) → nextValidId (9); the allocator's next id."""
        req = Request("reqIds", None, (incoming.NextValidId,), (incoming.NextValidId,),
                      convert=_next_valid_id)
        await self._core.call(req, outgoing.ReqIds(numIds=1))
        return self._core.ids.peek

    async def _orders(self, name: str, msg: Message, internal: bool = False) -> list[Trade]:
        req = Request(name, None, (incoming.OpenOrder, incoming.OpenOrderEnd),
                      (incoming.OpenOrderEnd,), convert=self._open_trade)
        return list(dict.fromkeys(await self._core.call(req, msg, not internal)))

    async def reqOpenOrders(self) -> list[Trade]:
        """reqOpenOrders (5) → openOrder (5) … openOrderEnd (53)."""
        return await self._orders("reqOpenOrders", outgoing.ReqOpenOrders())

    async def reqAllOpenOrders(self) -> list[Trade]:
        """reqAllOpenOrders (16) → openOrder (5) … openOrderEnd (53)."""
        return await self._orders("reqAllOpenOrders", outgoing.ReqAllOpenOrders())

    async def reqCompletedOrders(self, apiOnly: bool, internal: bool = False) -> list[Trade]:
        """reqCompletedOrders (99) → completedOrder (101) … completedOrdersEnd (102)."""
        req = Request("reqCompletedOrders", None,
                      (incoming.CompletedOrder, incoming.CompletedOrdersEnd),
                      (incoming.CompletedOrdersEnd,), convert=self._completed_trade)
        trades = await self._core.call(req, outgoing.ReqCompletedOrders(apiOnly=apiOnly),
                                       not internal)
        return list(dict.fromkeys(trades))

    async def reqExecutions(self, execFilter: ExecutionFilter | None,
                            internal: bool = False) -> list[Fill]:
        """reqExecutions (7) → execDetails (11) … execDetailsEnd (55), commissions (59)."""
        core = self._core
        core.live(check_handlers=not internal)
        reqId = core.ids.next()
        req = Request("reqExecutions", reqId, (incoming.ExecDetails, incoming.ExecDetailsEnd),
                      (incoming.ExecDetailsEnd,), convert=self._fill)
        fills = list(dict.fromkeys(await core.call(req, outgoing.ReqExecutions(
            reqId=reqId, execFilter=execFilter or ExecutionFilter()), not internal)))
        await self.book.wait_commissions(fills, COMMISSION_WAIT)
        return fills

    # converters: the book has already taken the message --------------------------------

    def _open_trade(self, msg: Message) -> list[Trade]:
        if not isinstance(msg, incoming.OpenOrder) or msg.order.whatIf:
            return []
        trade = self.book.find(msg.order.clientId, msg.orderId, msg.order.permId)
        return [trade] if trade is not None else []

    def _completed_trade(self, msg: Message) -> list[Trade]:
        if not isinstance(msg, incoming.CompletedOrder):
            return []
        order = msg.order
        trade = self.book.find(order.clientId, order.orderId, order.permId)
        return [trade] if trade is not None else []

    def _fill(self, msg: Message) -> list[Fill]:
        if not isinstance(msg, incoming.ExecDetails):
            return []
        fill = self.book.fill(msg.execution.execId)
        return [fill] if fill is not None else []


def _order_state(msg: Message) -> list[OrderState]:
    return [msg.orderState] if isinstance(msg, incoming.OpenOrder) else []


def _next_valid_id(msg: Message) -> list[Any]:
    return [msg.orderId] if isinstance(msg, incoming.NextValidId) else []
