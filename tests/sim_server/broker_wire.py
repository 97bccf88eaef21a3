"""Helpers of the broker tests: sessions wired in-process to our ClientConnection,
a frozen simulated clock that the tests move, orders and message filters."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, TypeVar

from twsbridge.protocol import Contract, incoming, outgoing
from twsbridge.protocol.order_models import Order
from twsbridge.sim import Simulator
from twsbridge.sim.market.clock import SimClock
from twsbridge.sim.market.prices import Quote
from twsbridge.sim.reference.calendar import SIM_TZ

from .test_session import Wire

__all__ = [
    "AAPL",
    "AAPL_ID",
    "EURUSD",
    "EURUSD_ID",
    "Desk",
    "Wire",
    "errors",
    "lmt",
    "mkt",
    "of",
    "order",
    "statuses",
]

AAPL_ID = 265598
EURUSD_ID = 12087792
AAPL = Contract(symbol="AAPL", secType="STK", exchange="SMART", currency="USD")
EURUSD = Contract(symbol="EUR", secType="CASH", exchange="IDEALPRO", currency="USD")
T = TypeVar("T")


def order(action: str, qty: float | int, order_type: str, **kw: Any) -> Order:
    """An Order as a client builds it."""
    return Order(action=action, totalQuantity=Decimal(str(qty)), orderType=order_type, **kw)


def lmt(action: str, qty: float | int, price: float, **kw: Any) -> Order:
    return order(action, qty, "LMT", lmtPrice=price, **kw)


def mkt(action: str, qty: float | int, **kw: Any) -> Order:
    return order(action, qty, "MKT", **kw)


def of(events: list[Any], cls: type[T]) -> list[T]:
    """The events of one message class."""
    return [e for e in events if isinstance(e, cls)]


def statuses(events: list[Any], order_id: int | None = None) -> list[str]:
    """orderStatus statuses (of one order)."""
    return [e.status for e in of(events, incoming.OrderStatus)
            if order_id is None or e.orderId == order_id]


def errors(events: list[Any]) -> list[tuple[int, int]]:
    """(reqId, code) of the error frames."""
    return [(e.reqId, e.errorCode) for e in of(events, incoming.ErrorMessage)]


class Desk:
    """A simulator on a frozen clock and the sessions connected to it.

    ``Desk(start)`` starts at ``start`` (US/Eastern wall time,
    'YYYY-mm-dd HH:MM[:SS]'; default 2013-03-01 10:00, a Friday in the
    regular session).
    """

    def __init__(self, start: str = "2013-03-01 10:00") -> None:
        self.sim = Simulator(clock=SimClock(self.at(start), speed=0))
        self.wires: dict[int, Wire] = {}

    @staticmethod
    def at(text: str) -> dt.datetime:
        fmt = "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M"
        return dt.datetime.strptime(text, fmt).replace(tzinfo=SIM_TZ)

    @property
    def now(self) -> dt.datetime:
        return self.sim.clock.now()

    def connect(self, client_id: int = 1) -> Wire:
        w = Wire(self.sim)
        w.connect(client_id)
        self.wires[client_id] = w
        return w

    def quote(self, con_id: int = AAPL_ID, t: dt.datetime | None = None) -> Quote:
        return self.sim.prices.quote(con_id, t or self.now)

    def place(self, w: Wire, order_id: int, o: Order, contract: Contract = AAPL) -> list[Any]:
        return w.send(outgoing.PlaceOrder(orderId=order_id, contract=contract, order=o))

    def cancel(self, w: Wire, order_id: int) -> list[Any]:
        return w.send(outgoing.CancelOrder(orderId=order_id))

    def advance(self, seconds: float, step: float | None = None) -> dict[int, list[Any]]:
        """Move the clock by ``seconds`` (in steps of ``step``), polling every
        session after each step; returns each client's events."""
        out: dict[int, list[Any]] = {cid: [] for cid in self.wires}
        remaining = seconds
        while remaining > 0:
            delta = min(step or seconds, remaining)
            self.sim.clock.advance(delta)
            remaining -= delta
            for cid, w in self.wires.items():
                out[cid].extend(w.poll())
        return out

    def go_to(self, text: str, step: float | None = None) -> dict[int, list[Any]]:
        """Advance the clock to ``text`` (see :meth:`at`)."""
        return self.advance((self.at(text) - self.now).total_seconds(), step)

    def path_range(self, seconds: int, con_id: int = AAPL_ID) -> tuple[float, float]:
        """(low, high) of the trade prices over the next ``seconds``."""
        now = self.now
        path = self.sim.prices.path(con_id, now.date())
        assert path is not None
        k = int(now.timestamp()) - path.start
        seg = path.prices[k + 1: k + 1 + seconds]
        return float(seg.min()), float(seg.max())
