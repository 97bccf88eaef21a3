"""ib_async 2.1.0, unmodified, trading against the simulated broker."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import pytest
from ib_async import IB, LimitOrder, MarketOrder, Stock, Trade

from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.market.clock import REPLAY_START, SimClock

pytestmark = pytest.mark.interop

AAPL_CONID = 265598


@pytest.fixture
async def server() -> AsyncIterator[SimServer]:
    sim = Simulator(clock=SimClock(REPLAY_START))
    async with SimServer(sim, port=0, poll_interval=0.02) as srv:
        yield srv


@pytest.fixture
async def ib(server: SimServer) -> AsyncIterator[IB]:
    client = IB()
    await client.connectAsync("127.0.0.1", server.port, clientId=1, timeout=5)
    yield client
    client.disconnect()


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait (letting ib_async's event loop run) until ``cond()`` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def errors_of(ib: IB) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    ib.errorEvent += lambda reqId, code, text, contract: found.append((reqId, code, text))
    return found


async def test_limit_far_away_rests_is_modified_and_cancelled(server: SimServer, ib: IB) -> None:
    errors = errors_of(ib)
    (aapl,) = await ib.qualifyContractsAsync(Stock("AAPL", "SMART", "USD"))
    last = server.simulator.prices.quote(AAPL_CONID, server.simulator.clock.now()).last
    far = round(last * 0.5, 2)
    trade = ib.placeOrder(aapl, LimitOrder("BUY", 100, far))
    await until(lambda: trade.orderStatus.status == "Submitted")
    assert trade in ib.openTrades()
    assert trade.order.permId > 0
    await asyncio.sleep(0.2)
    assert trade.orderStatus.status == "Submitted" and trade.fills == []

    trade.order.lmtPrice = round(far - 1, 2)
    ib.placeOrder(aapl, trade.order)
    sim_order = server.simulator.broker.find(1, trade.order.orderId)
    assert sim_order is not None
    await until(lambda: sim_order.order.lmtPrice == round(far - 1, 2))
    await until(lambda: trade.log[-1].message == "Modified" or
                trade.orderStatus.status == "Submitted")
    assert trade.orderStatus.status == "Submitted"

    ib.cancelOrder(trade.order)
    await until(lambda: trade.orderStatus.status == "Cancelled")
    assert trade not in ib.openTrades()
    await asyncio.sleep(0.1)
    assert [code for _, code, _ in errors] == [202]


async def test_market_order_fills_with_commission_and_position(server: SimServer,
                                                               ib: IB) -> None:
    errors = errors_of(ib)
    (aapl,) = await ib.qualifyContractsAsync(Stock("AAPL", "SMART", "USD"))
    trade: Trade = ib.placeOrder(aapl, MarketOrder("BUY", 100))
    await until(lambda: trade.isDone() and bool(trade.fills)
                and trade.fills[-1].commissionReport.commission > 0)
    assert trade.orderStatus.status == "Filled"
    fill = trade.fills[0]
    assert fill.execution.shares == 100 and fill.execution.side == "BOT"
    assert fill.commissionReport.commission > 0
    assert fill.commissionReport.execId == fill.execution.execId
    await until(lambda: bool(ib.positions()))
    (pos,) = ib.positions()
    assert pos.contract.conId == AAPL_CONID
    assert pos.position == sum(f.execution.shares for f in trade.fills)
    paid = sum(f.execution.shares * f.execution.price for f in trade.fills)
    commission = sum(f.commissionReport.commission for f in trade.fills)
    assert pos.avgCost == pytest.approx((paid + commission) / pos.position)
    ledger = server.simulator.broker.executions()
    assert [e.execId for e, _, _ in ledger] == [f.execution.execId for f in trade.fills]
    assert errors == []


async def test_what_if_returns_commission_and_margin(server: SimServer, ib: IB) -> None:
    errors = errors_of(ib)
    (aapl,) = await ib.qualifyContractsAsync(Stock("AAPL", "SMART", "USD"))
    state = await asyncio.wait_for(ib.whatIfOrderAsync(aapl, MarketOrder("BUY", 100)), 5)
    assert state.status == "PreSubmitted"
    assert 0 < state.commission < 10
    assert float(state.initMarginChange) > 0
    assert float(state.equityWithLoanBefore) == pytest.approx(1_000_000.0)
    assert server.simulator.broker.orders() == []
    assert errors == []


async def test_fills_survive_a_reconnect(server: SimServer, caplog: pytest.LogCaptureFixture
                                         ) -> None:
    caplog.set_level(logging.ERROR, logger="ib_async")
    ib = IB()
    await ib.connectAsync("127.0.0.1", server.port, clientId=4, timeout=5)
    (aapl,) = await ib.qualifyContractsAsync(Stock("AAPL", "SMART", "USD"))
    trade = ib.placeOrder(aapl, MarketOrder("BUY", 10))
    resting = ib.placeOrder(aapl, LimitOrder("SELL", 10, 9999.0))
    await until(lambda: trade.isDone() and bool(trade.fills)
                and resting.orderStatus.status == "Submitted")
    ib.disconnect()
    again = IB()
    await again.connectAsync("127.0.0.1", server.port, clientId=4, timeout=5)
    try:
        fills = again.fills()
        assert [f.execution.execId for f in fills] == [f.execution.execId for f in trade.fills]
        assert fills[0].commissionReport.commission > 0
        assert sorted(t.orderStatus.status for t in again.trades()) == ["Filled", "Submitted"]
        (still,) = again.openTrades()
        assert still.order.permId == resting.order.permId
        again.cancelOrder(still.order)
        await until(lambda: still.orderStatus.status == "Cancelled")
    finally:
        again.disconnect()
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert [m.split(",")[0] for m in logged] == ["Error 202"]  # the cancel's own notice


async def test_bracket_order(server: SimServer, ib: IB) -> None:
    errors = errors_of(ib)
    (aapl,) = await ib.qualifyContractsAsync(Stock("AAPL", "SMART", "USD"))
    ask = server.simulator.prices.quote(AAPL_CONID, server.simulator.clock.now()).ask
    bracket = ib.bracketOrder("BUY", 100, limitPrice=round(ask + 1, 2),
                              takeProfitPrice=round(ask * 1.5, 2),
                              stopLossPrice=round(ask * 0.5, 2))
    parent, take, stop = (ib.placeOrder(aapl, o) for o in bracket)
    await until(lambda: parent.orderStatus.status == "Filled"
                and take.orderStatus.status == "Submitted"
                and stop.orderStatus.status == "PreSubmitted")
    assert stop.orderStatus.whyHeld == "trigger"
    assert {t.order.orderId for t in ib.openTrades()} == {take.order.orderId,
                                                          stop.order.orderId}
    ib.cancelOrder(parent.order)  # a filled parent cannot be cancelled
    ib.cancelOrder(take.order)
    await until(lambda: take.orderStatus.status == "Cancelled")
    assert stop.orderStatus.status == "PreSubmitted"
    await asyncio.sleep(0.1)
    assert sorted(code for _, code, _ in errors) == [202, 10148]
