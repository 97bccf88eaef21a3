"""IB's own ibapi places orders against the simulated broker; its decoder must
accept every openOrder, orderStatus, execDetails and commission report."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from ibapi.client import EClient
from ibapi.contract import Contract
from ibapi.order import Order
from ibapi.order_cancel import OrderCancel
from ibapi.wrapper import EWrapper

from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.market.clock import REPLAY_START, SimClock

pytestmark = pytest.mark.interop

WAIT = 5.0
FARM_NOTICES = {2104, 2106, 2158}


@dataclass
class Seen:
    """What ibapi's decoder delivered."""

    open_orders: list[tuple[int, Any, Any]] = field(default_factory=list)
    statuses: list[tuple[int, str, Decimal, Decimal, float, int, int, str]] = field(
        default_factory=list)
    execs: list[tuple[int, Any, Any]] = field(default_factory=list)
    reports: list[Any] = field(default_factory=list)
    errors: list[tuple[int, int, str]] = field(default_factory=list)


class App(EWrapper, EClient):  # type: ignore[misc]
    """Records the order messages ibapi decodes."""

    def __init__(self) -> None:
        EWrapper.__init__(self)
        EClient.__init__(self, wrapper=self)
        self.seen = Seen()
        self.next_id: int | None = None
        self.ready = threading.Event()
        self.changed = threading.Condition()
        self.run_error: BaseException | None = None

    def _note(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def wait_for(self, cond: Callable[[], bool], timeout: float = WAIT) -> bool:
        with self.changed:
            return self.changed.wait_for(cond, timeout)

    def error(self, reqId: int, errorTime: int, errorCode: int, errorString: str,
              advancedOrderRejectJson: str = "") -> None:
        self.seen.errors.append((reqId, errorCode, errorString))
        self._note()

    def nextValidId(self, orderId: int) -> None:
        self.next_id = orderId
        self.ready.set()

    def openOrder(self, orderId: int, contract: Contract, order: Order, orderState: Any) -> None:
        self.seen.open_orders.append((orderId, order, orderState))
        self._note()

    def orderStatus(self, orderId: int, status: str, filled: Decimal, remaining: Decimal,
                    avgFillPrice: float, permId: int, parentId: int, lastFillPrice: float,
                    clientId: int, whyHeld: str, mktCapPrice: float) -> None:
        self.seen.statuses.append((orderId, status, filled, remaining, avgFillPrice, permId,
                                   parentId, whyHeld))
        self._note()

    def execDetails(self, reqId: int, contract: Contract, execution: Any) -> None:
        self.seen.execs.append((reqId, contract, execution))
        self._note()

    def commissionAndFeesReport(self, commissionAndFeesReport: Any) -> None:
        self.seen.reports.append(commissionAndFeesReport)
        self._note()

    def run_safely(self) -> None:
        try:
            self.run()
        except BaseException as e:  # the decoder must not raise
            self.run_error = e

    def status_of(self, order_id: int) -> str:
        found = [s[1] for s in self.seen.statuses if s[0] == order_id]
        return found[-1] if found else ""


def aapl() -> Contract:
    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency = "AAPL", "STK", "SMART", "USD"
    return c


def order(action: str, qty: int, order_type: str, *, lmt: float | None = None,
          aux: float | None = None, parent: int = 0, transmit: bool = True) -> Order:
    o = Order()
    o.action, o.totalQuantity, o.orderType = action, Decimal(qty), order_type
    if lmt is not None:
        o.lmtPrice = lmt
    if aux is not None:
        o.auxPrice = aux
    o.parentId, o.transmit = parent, transmit
    return o


def scenario(port: int, last: float) -> tuple[App, int]:
    """Far LMT, MKT, a bracket, a what-if, a cancel (blocking, in a thread)."""
    app = App()
    app.connect("127.0.0.1", port, clientId=5)
    reader = threading.Thread(target=app.run_safely, daemon=True)
    reader.start()
    assert app.ready.wait(WAIT)
    assert app.next_id is not None
    n = app.next_id
    far = round(last * 0.5, 2)
    app.placeOrder(n, aapl(), order("BUY", 100, "LMT", lmt=far))
    assert app.wait_for(lambda: app.status_of(n) == "Submitted")
    app.placeOrder(n + 1, aapl(), order("BUY", 100, "MKT"))
    assert app.wait_for(lambda: app.status_of(n + 1) == "Filled" and len(app.seen.reports) == 1)
    app.placeOrder(n + 2, aapl(), order("BUY", 50, "LMT", lmt=round(last * 1.05, 2),
                                        transmit=False))
    app.placeOrder(n + 3, aapl(), order("SELL", 50, "LMT", lmt=round(last * 1.5, 2),
                                        parent=n + 2, transmit=False))
    app.placeOrder(n + 4, aapl(), order("SELL", 50, "STP", aux=round(last * 0.5, 2),
                                        parent=n + 2))
    assert app.wait_for(lambda: app.status_of(n + 2) == "Filled"
                        and app.status_of(n + 3) == "Submitted"
                        and app.status_of(n + 4) == "PreSubmitted"
                        and len(app.seen.reports) == 2)
    what_if = order("BUY", 10, "MKT")
    what_if.whatIf = True
    app.placeOrder(n + 5, aapl(), what_if)
    assert app.wait_for(lambda: any(o[0] == n + 5 for o in app.seen.open_orders))
    app.cancelOrder(n, OrderCancel())
    assert app.wait_for(lambda: app.status_of(n) == "Cancelled"
                        and any(e[1] == 202 for e in app.seen.errors))
    time.sleep(0.2)
    app.disconnect()
    reader.join(WAIT)
    return app, n


@pytest.fixture
async def server() -> AsyncIterator[SimServer]:
    sim = Simulator(clock=SimClock(REPLAY_START))
    async with SimServer(sim, port=0, poll_interval=0.02) as srv:
        yield srv


async def test_ibapi_trades_and_decodes_every_order_message(server: SimServer) -> None:
    sim = server.simulator
    last = sim.prices.quote(265598, sim.clock.now()).last
    app, n = await asyncio.to_thread(scenario, server.port, last)
    seen = app.seen
    assert app.run_error is None
    assert {code for _, code, _ in seen.errors} - FARM_NOTICES == {202}
    assert [(r, c) for r, c, _ in seen.errors if c == 202] == [(n, 202)]

    # every API order got an openOrder with its permId; the what-if is flagged
    by_id = {oid: (o, st) for oid, o, st in seen.open_orders}
    assert set(by_id) == {n, n + 1, n + 2, n + 3, n + 4, n + 5}
    perm = {oid: o.permId for oid, (o, _) in by_id.items()}
    assert len(set(perm.values())) == 6 and all(p > 0 for p in perm.values())
    what_if_order, what_if_state = by_id[n + 5]
    assert what_if_order.whatIf and what_if_state.status == "PreSubmitted"
    assert what_if_state.commissionAndFees > 0 and float(what_if_state.initMarginChange) > 0
    assert not [s for s in seen.statuses if s[0] == n + 5]
    # children carry the parent and its OCA group
    child, _ = by_id[n + 4]
    assert child.parentId == n + 2 and child.ocaGroup == str(perm[n + 2])

    # fills: execDetails with reqId -1 and a matching commission report each
    assert [e[0] for e in seen.execs] == [-1] * len(seen.execs)
    execs = {e[2].execId: e for e in seen.execs}
    assert [r.execId for r in seen.reports] == list(execs)
    assert all(r.commissionAndFees > 0 and r.currency == "USD" for r in seen.reports)
    mkt = [e[2] for e in seen.execs if e[2].orderId == n + 1]
    assert sum(e.shares for e in mkt) == Decimal(100)
    assert {e.permId for e in mkt} == {perm[n + 1]}
    final = [s for s in seen.statuses if s[0] == n + 1][-1]
    assert final[1:4] == ("Filled", Decimal(100), Decimal(0))
    assert final[4] == pytest.approx(mkt[-1].avgPrice)
    stop_status = [s for s in seen.statuses if s[0] == n + 4][-1]
    assert stop_status[6] == n + 2 and stop_status[7] == "trigger"

    # the simulator's ledger agrees with what ibapi decoded
    ledger = sim.broker.executions()
    assert [e.execId for e, _, _ in ledger] == list(execs)
    assert [r.commission for _, r, _ in ledger] == [r.commissionAndFees for r in seen.reports]
