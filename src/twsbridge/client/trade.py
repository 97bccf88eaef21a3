"""Trades: an order, its status, fills and commissions, kept up to date.

A :class:`Trade` is what ``TWSClient.placeOrder`` returns and what the
client's order book (:mod:`.orders`) keeps current from TWS's messages:
openOrder (5), orderStatus (3), execDetails (11), commissionReport (59),
completedOrder (101) and the error frames (4) that carry its order id.

Order status (``Trade.status``) is TWS's text: ``PendingSubmit`` (sent, not
acknowledged), ``ApiPending``, ``PreSubmitted``, ``Submitted``,
``PendingCancel``, ``ApiCancelled``, ``Cancelled``, ``Filled``, ``Inactive``.
A trade is *done* in the last four (:data:`DONE_STATES`).

A trade is *rejected* when TWS sent an error frame with its order id whose
code is not a warning (e.g. 103 duplicate order id, 110 price off the tick
grid, 200 no security definition, 201 order rejected, 321 validation failed)
and it ended Cancelled/Inactive/ApiCancelled without a cancel from this
client: ``await trade.done()`` then raises that :class:`TWSError`. An error
for an order TWS never acknowledged (no openOrder/orderStatus yet) ends it at
once with status ``Cancelled`` (TWS sends no status for orders it refuses at
validation); an error for a live order (a refused modification) only logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple

from twsbridge.protocol import UNSET_DECIMAL, Contract, Message, incoming
from twsbridge.protocol.order_models import CommissionReport, Execution, Order, OrderState

from .errors import TWSError
from .requests import Request

__all__ = ["ACTIVE_STATES", "DONE_STATES", "INACTIVE_GRACE", "Fill", "Trade", "TradeLogEntry"]

#: Statuses after which TWS does not work the order any more.
DONE_STATES = frozenset({"Filled", "Cancelled", "ApiCancelled", "Inactive"})
#: Statuses of an order TWS is (or may be about to start) working.
ACTIVE_STATES = frozenset({"PendingSubmit", "ApiPending", "PreSubmitted", "Submitted",
                           "PendingCancel"})
#: Seconds ``Trade.done()`` waits, after an Inactive status that no error
#: explained yet, for the error frame TWS sends after it (a 201 rejection).
INACTIVE_GRACE = 0.5
#: Statuses of an order TWS has not acknowledged yet.
UNACKNOWLEDGED = frozenset({"", "PendingSubmit", "ApiPending"})


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


class TradeLogEntry(NamedTuple):
    """One line of a trade's history.

    ``time`` (aware, UTC) when the client saw it; ``status`` the trade's status
    then; ``message`` what happened ("", "Modify", "Fill 100@12.34", TWS's error
    text …); ``errorCode`` TWS's error code, 0 when not an error.
    """

    time: datetime
    status: str
    message: str = ""
    errorCode: int = 0


@dataclass(slots=True, eq=False)
class Fill:
    """One execution of an order (execDetails, message 11) and its commission
    (commissionReport, 59; None until it arrives). Compared by identity: the
    client keeps one Fill per execId.

    ``time`` is the execution time TWS reports (aware) when it names a zone,
    else when the client received it (UTC).
    """

    contract: Contract
    execution: Execution
    commissionReport: CommissionReport | None
    time: datetime


def _nothing(msg: Message) -> tuple[()]:
    return ()


class Trade:
    """An order and what became of it (see the module doc).

    Attributes:
        contract: the order's contract as placed; TWS's (from openOrder or
            completedOrder) when the order was not placed by this client or was
            placed without a conId.
        order: the :class:`Order`; ``permId``, ``clientId``, prices and
            quantity mirror TWS's latest openOrder.
        orderState: the latest :class:`OrderState` of openOrder/completedOrder.
        orderStatus: the latest orderStatus message (``incoming.OrderStatus``),
            None before the first.
        status: the latest status text (see the module doc).
        fills: the executions, in arrival order.
        log: the history, oldest first.
        error: the last rejection error (a non-warning error frame for the
            order), None when none.
        placed: True when this client object placed the order with placeOrder.
    """

    def __init__(self, contract: Contract, order: Order, status: str,
                 check: Callable[[], None], *, placed: bool) -> None:
        self.contract = contract
        self.order = order
        self.orderState = OrderState(status=status)
        self.orderStatus: incoming.OrderStatus | None = None
        self.status = status
        self.fills: list[Fill] = []
        self.log: list[TradeLogEntry] = [TradeLogEntry(utcnow(), status)] if status else []
        self.error: TWSError | None = None
        self.placed = placed
        self.acknowledged = False  # TWS sent openOrder/orderStatus for it
        self.cancel_requested = False  # cancelOrder/reqGlobalCancel was sent for it
        self.synthetic = False  # status set by the client (a refused order), not by TWS
        self._check = check
        self._changed = asyncio.Event()
        self._readers: weakref.WeakSet[Request[Trade]] = weakref.WeakSet()

    def __repr__(self) -> str:
        return (f"<Trade orderId={self.orderId} permId={self.order.permId} {self.status} "
                f"{self.order.action} {self.filled}/{self.order.totalQuantity} "
                f"{self.contract.symbol or self.contract.conId}>")

    @property
    def orderId(self) -> int:
        """The order id (``order.orderId``)."""
        return self.order.orderId

    @property
    def filled(self) -> Decimal:
        """Quantity filled: orderStatus's, else the sum of the fills (or the
        completed order's filledQuantity)."""
        if self.orderStatus is not None:
            return self.orderStatus.filled
        shares = self.fill_quantity()
        if not shares and self.order.filledQuantity != UNSET_DECIMAL:
            return self.order.filledQuantity
        return shares

    @property
    def remaining(self) -> Decimal:
        """Quantity still to fill: orderStatus's, else totalQuantity - filled
        (0 once done)."""
        if self.orderStatus is not None:
            return self.orderStatus.remaining
        if self.is_done() or self.order.totalQuantity == UNSET_DECIMAL:
            return Decimal(0)
        return self.order.totalQuantity - self.filled

    @property
    def avgFillPrice(self) -> float:
        """Average fill price (orderStatus's, else of the fills; 0.0 unfilled)."""
        if self.orderStatus is not None:
            return self.orderStatus.avgFillPrice
        shares = self.fill_quantity()
        if not shares:
            return 0.0
        return float(sum(f.execution.shares * Decimal(str(f.execution.price))
                         for f in self.fills) / shares)

    def fill_quantity(self) -> Decimal:
        """The sum of the fills' shares."""
        return sum((f.execution.shares for f in self.fills), Decimal(0))

    def is_done(self) -> bool:
        """True when the status is Filled, Cancelled, ApiCancelled or Inactive."""
        return self.status in DONE_STATES

    def is_active(self) -> bool:
        """True while TWS works (or is about to work) the order."""
        return not self.is_done()

    @property
    def rejected(self) -> bool:
        """True when TWS rejected the order (see the module doc)."""
        return (self.error is not None and self.status in DONE_STATES - {"Filled"}
                and not self.cancel_requested)

    def complete(self) -> bool:
        """Done, every fill known (for orders placed by this client: the fills'
        shares add up to ``filled``) and every fill has its commission report."""
        if not self.is_done():
            return False
        if any(f.commissionReport is None for f in self.fills):
            return False
        if not self.placed:
            return True
        if self.orderStatus is not None:
            return self.fill_quantity() >= self.orderStatus.filled
        filled = self.order.filledQuantity  # of a completedOrder (a reconnect's recovery)
        return filled == UNSET_DECIMAL or self.fill_quantity() >= filled

    async def done(self, timeout: float | None = None) -> Trade:
        """Wait until the trade is :meth:`complete`; the trade.

        Args:
            timeout: seconds; None waits as long as it takes.

        Raises:
            TWSError: TWS rejected the order (:attr:`rejected`; the error frame's
                code, e.g. 110, 200, 201, 103).
            TimeoutError: (``asyncio.TimeoutError``) not complete within ``timeout``.
            ConnectionLost, NotConnected: the connection ended (or is not up)
                before the trade completed; with a reconnect policy it waits
                through reconnects and raises only when the client gives up.
            InterceptError: an intercept hook failed, which closed the connection.

        TWS sends live news of an order to the client that placed it (and to the
        master client), so another client's Trade from reqAllOpenOrders may
        never complete here: give a ``timeout``.
        """
        async with asyncio.timeout(timeout):
            while not self.complete():
                self._check()
                await self._changed.wait()
            if self.status == "Inactive" and self.error is None and not self.cancel_requested:
                # TWS sends a rejection's error frame (201) after the Inactive status
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(INACTIVE_GRACE):
                        while self.error is None and self.status == "Inactive":
                            await self._changed.wait()
        if self.rejected:
            assert self.error is not None
            raise self.error
        return self

    def updates(self) -> AsyncIterator[Trade]:
        """Iterate over changes: yields this trade after each change of status,
        fill or commission (changes before the loop starts reading are kept);
        ends after the change that made it :meth:`complete` (at once when it is
        already complete) or when the connection is closed with disconnect();
        raises the reason when the connection is lost. With a reconnect policy
        the loop goes on across a reconnect and yields the trade once more
        after the recovery brought it up to date (no Gap item: each item is
        the trade's whole current state)."""
        reader: Request[Trade] = Request("Trade.updates", self.orderId, (), convert=_nothing,
                                         maxlen=10_000)
        if self.complete():
            reader.finish()
        else:
            self._readers.add(reader)
        return reader

    # fed by the order book ---------------------------------------------------

    def add_log(self, message: str = "", errorCode: int = 0) -> None:
        """Append a :class:`TradeLogEntry` with the current status."""
        self.log.append(TradeLogEntry(utcnow(), self.status, message, errorCode))

    def set_status(self, status: str, message: str = "", errorCode: int = 0, *,
                   synthetic: bool = False) -> bool:
        """Take ``status`` (logged with ``message`` and ``errorCode`` when it
        changes); True when it changed. A done trade does not go back to an
        active status unless its done status was synthetic."""
        if not status or status == self.status:
            return False
        was_synthetic = self.synthetic
        if self.is_done() and status not in DONE_STATES and not was_synthetic:
            return False  # a late message about an order already done
        self.status = status
        self.synthetic = synthetic
        if was_synthetic and not synthetic and status not in DONE_STATES:
            self.error = None  # TWS works the order after all: that error was no rejection
        self.add_log(message, errorCode)
        return True

    def changed(self) -> None:
        """Wake ``done()`` waiters and ``updates()`` readers."""
        event, self._changed = self._changed, asyncio.Event()
        event.set()
        complete = self.complete()
        for reader in list(self._readers):
            reader.put(self)
            if complete:
                reader.finish()
        if complete:
            self._readers = weakref.WeakSet()

    def connection_ended(self, exc: BaseException | None) -> None:
        """The connection ended: wake ``done()`` waiters (they raise) and end
        ``updates()`` readers (raise ``exc``, or stop when it is None)."""
        event, self._changed = self._changed, asyncio.Event()
        event.set()
        for reader in list(self._readers):
            if exc is None:
                reader.finish()
            else:
                reader.fail(exc)
        self._readers = weakref.WeakSet()
