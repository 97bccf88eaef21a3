"""The client across gateway faults: drops, restarts, TWS's connectivity loss (1100-1102).

Every test runs the real simulator over loopback and injects its faults
(``Simulator.faults``); the client reconnects with small backoffs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from twsbridge.client import (
    ConnectionEvent,
    ConnectionLost,
    Contract,
    Gap,
    Order,
    ReconnectPolicy,
    Tick,
    TWSClient,
    TWSError,
)
from twsbridge.protocol import incoming
from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.market.clock import REPLAY_START, SimClock
from twsbridge.sim.reference.calendar import SIM_TZ

pytestmark = pytest.mark.timeout(10)

T = TypeVar("T")

AMD = Contract(conId=4391, exchange="SMART")
FAST = ReconnectPolicy(initial=0.05, maximum=0.2, factor=2.0, jitter=0.1)


class Events:
    """Collects a client's connection events in the background."""

    def __init__(self, ib: TWSClient) -> None:
        self.seen: list[ConnectionEvent] = []
        self._iter = ib.connection_events()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        async for event in self._iter:
            self.seen.append(event)

    def kinds(self) -> list[str]:
        return [e.kind for e in self.seen]

    async def until(self, kind: str, count: int = 1, timeout: float = 5.0) -> ConnectionEvent:
        async with asyncio.timeout(timeout):
            while sum(e.kind == kind for e in self.seen) < count:
                await asyncio.sleep(0.01)
        return [e for e in self.seen if e.kind == kind][count - 1]

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def next_gap(stream: AsyncIterator[T | Gap], timeout: float = 5.0) -> tuple[Gap, list[T]]:
    """Read ``stream`` until a Gap; the Gap and the items before it."""
    before: list[T] = []
    async with asyncio.timeout(timeout):
        async for item in stream:
            if isinstance(item, Gap):
                return item, before
            before.append(item)
    raise AssertionError("the stream ended without a Gap")


async def next_item(stream: AsyncIterator[T | Gap], timeout: float = 5.0) -> T:
    """The next item of ``stream`` that is not a Gap."""
    async with asyncio.timeout(timeout):
        async for item in stream:
            if not isinstance(item, Gap):
                return item
    raise AssertionError("the stream ended")


@pytest.fixture
async def rib(sim: SimServer) -> AsyncIterator[TWSClient]:
    """A client of ``sim`` that reconnects fast."""
    async with TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5,
                         reconnect=FAST) as client:
        yield client


async def test_drop_fails_waiters_at_once_then_resumes_streams(
        sim: SimServer, rib: TWSClient) -> None:
    ib = rib
    events = Events(ib)
    faults = sim.simulator.faults
    ticks = ib.reqMktData(AMD)
    first = await next_item(ticks)
    assert isinstance(first, Tick)
    old_reqId = ticks.reqId
    pnl = ib.reqPnL(ib.accounts[0])
    await next_item(pnl)
    old_pnl = pnl.reqId
    bars = ib.reqHistoricalDataStream(AMD, "1800 S", "1 min", useRTH=False)
    first_bar = await next_item(bars)
    old_bars = bars.reqId

    faults.stall(0.3)  # the next request gets no answer before the drop
    waiting = asyncio.create_task(ib.reqContractDetails(AMD))
    await asyncio.sleep(0.05)
    start = time.monotonic()
    await faults.drop_all()
    with pytest.raises(ConnectionLost):
        await asyncio.wait_for(waiting, 1)
    assert time.monotonic() - start < 0.5
    with pytest.raises(ConnectionLost, match="reconnecting"):
        await ib.reqCurrentTime()  # fails fast while reconnecting, never hangs

    connected = await events.until("connected")
    assert connected.attempt >= 1
    assert ib.is_connected and ib.state == "connected"
    assert events.kinds()[:2] == ["disconnected", "reconnecting"]
    assert events.seen[0].will_reconnect and isinstance(events.seen[0].error, ConnectionLost)

    gap, _ = await next_gap(ticks)
    assert gap.since <= gap.until and "connection to TWS lost" in gap.reason
    tick = await next_item(ticks)
    assert isinstance(tick, Tick) and tick.reqId == ticks.reqId != old_reqId
    gap, _ = await next_gap(pnl)
    msg = await next_item(pnl)
    assert isinstance(msg, incoming.PnL) and msg.reqId == pnl.reqId != old_pnl
    gap, history = await next_gap(bars)
    assert len(history) >= 30  # the history before the drop
    bar = await next_item(bars)  # the history window again, from the new request
    assert bar.date == first_bar.date and bars.reqId != old_bars
    assert await ib.reqCurrentTime() > 0
    await ticks.cancel()
    await pnl.cancel()
    await bars.cancel()
    await events.stop()


async def test_restart_reconnects_with_backoff_and_resumes_account_and_positions(
        sim: SimServer) -> None:
    policy = ReconnectPolicy(initial=0.1, maximum=0.3, factor=1.5, jitter=0.1)
    downloads: list[Any] = []
    ib = TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5, reconnect=policy)
    ib.register(downloads.append, "accountDownloadEnd")
    seen: list[ConnectionEvent] = []
    ib.register(seen.append, "connected", "disconnected", "reconnecting")
    async with ib:
        await ib.placeOrder(AMD, market(qty=7)).done(timeout=5)  # a position to stream
        await ib.reqAccountUpdates()
        positions = ib.reqPositionsStream()
        first = await next_item(positions)
        assert first.contract.conId == 4391 and first.position == 7
        single = ib.reqPnLSingle(ib.accounts[0], "", 4391)
        await next_item(single)
        old_single = single.reqId
        assert downloads
        count = len(downloads)
        await sim.simulator.faults.restart(down_seconds=0.5)
        async with asyncio.timeout(5):
            while not ib.is_connected or not any(e.kind == "connected" for e in seen[1:]):
                await asyncio.sleep(0.02)
        connected = [e for e in seen if e.kind == "connected"][-1]
        assert connected.attempt > 1  # the port refused at first
        refused = [e for e in seen if e.kind == "reconnecting"][1:]
        assert refused and all(e.error is not None for e in refused)
        async with asyncio.timeout(3):
            while len(downloads) == count:  # reqAccountUpdates sent again
                await asyncio.sleep(0.02)
        assert [p.position for p in ib.portfolio()] == [7]
        gap, _ = await next_gap(positions)
        assert "connection to TWS lost" in gap.reason
        again = await next_item(positions)  # every position again
        assert again.contract.conId == 4391 and again.position == 7
        gap, _ = await next_gap(single)
        pnl = await next_item(single)
        assert pnl.reqId == single.reqId != old_single and pnl.pos == 7
        await positions.cancel()
        await single.cancel()


async def test_connectivity_loss_data_lost_resubscribes_without_reconnect(
        sim: SimServer, rib: TWSClient) -> None:
    ib = rib
    events = Events(ib)
    ticks = ib.reqMktData(AMD)
    await next_item(ticks)
    old = ticks.reqId
    await sim.simulator.faults.connectivity_loss(0.3, data_lost=True)
    gap, _ = await next_gap(ticks)
    assert "1101" in gap.reason and gap.seconds >= 0.25  # stale since the 1100
    tick = await next_item(ticks)
    assert isinstance(tick, Tick) and tick.reqId == ticks.reqId != old
    assert ib.is_connected and events.kinds() == []  # no reconnect
    assert [e.code for e in ib.errors.recent][-1:] == [1100]
    await ticks.cancel()
    await events.stop()


async def test_connectivity_loss_data_maintained_keeps_the_reqid(
        sim: SimServer, rib: TWSClient) -> None:
    ib = rib
    ticks = ib.reqMktData(AMD)
    await next_item(ticks)
    old = ticks.reqId
    await sim.simulator.faults.connectivity_loss(0.3, data_lost=False)
    gap, _ = await next_gap(ticks)
    assert "1102" in gap.reason and gap.seconds >= 0.25
    tick = await next_item(ticks)
    assert isinstance(tick, Tick) and tick.reqId == ticks.reqId == old
    await ticks.cancel()


def market(action: str = "BUY", qty: int = 10) -> Order:
    return Order(action=action, orderType="MKT", totalQuantity=Decimal(qty))


async def test_order_filled_during_outage_completes_after_reconnect() -> None:
    clock = SimClock(dt.datetime(2013, 3, 1, 9, 29, tzinfo=SIM_TZ), speed=0)  # before the open
    async with SimServer(Simulator(clock=clock), port=0) as sim:
        ib = TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5, reconnect=FAST)
        async with ib:
            trade = ib.placeOrder(AMD, market())
            async with asyncio.timeout(3):
                while trade.status != "PreSubmitted":  # held until 09:30
                    await anext(trade.updates())
            done = asyncio.create_task(trade.done(timeout=8))
            outage = asyncio.create_task(sim.simulator.faults.restart(down_seconds=0.5))
            await asyncio.sleep(0.1)  # down: the broker works the order alone
            clock.set(dt.datetime(2013, 3, 1, 9, 30, 5, tzinfo=SIM_TZ))
            await outage
            await done
            assert trade.status == "Filled" and trade.filled == 10 and trade.remaining == 0
            [fill] = trade.fills
            assert fill.commissionReport is not None and fill.commissionReport.commission > 0
            assert trade.avgFillPrice == fill.execution.price
            assert any("Reconnected" in e.message for e in trade.log)


async def test_order_ids_strictly_increase_across_reconnects(sim: SimServer) -> None:
    errors: list[Any] = []
    ib = TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5, reconnect=FAST)
    ib.register(errors.append, "error")
    events_seen: list[ConnectionEvent] = []
    ib.register(events_seen.append, "connected")
    async with ib:
        ticker = await ib.reqMktDataSnapshot(AMD)
        limit = round(ticker.bid * 0.5, 2)

        def rest() -> Order:
            return Order(action="BUY", orderType="LMT", totalQuantity=Decimal(1), lmtPrice=limit)

        async def place(n: int) -> list[int]:
            trades = [ib.placeOrder(AMD, rest()) for _ in range(n)]
            async with asyncio.timeout(3):
                while any(t.status != "Submitted" for t in trades):
                    await asyncio.sleep(0.02)
            return [t.orderId for t in trades]

        ids = await place(3)
        for n in range(2):
            before = len(events_seen)
            if n == 0:
                await sim.simulator.faults.drop_all()
            else:
                await sim.simulator.faults.restart(down_seconds=0.3)
            async with asyncio.timeout(5):
                while len(events_seen) == before:
                    await asyncio.sleep(0.02)
            ids += await place(3)
            ids.append(await ib.reqIds())
        assert ids == sorted(set(ids))  # strictly increasing
        trades = ib.trades()
        assert len(trades) == 9 and all(t.status == "Submitted" for t in trades)
        codes = [m.errorCode for m in errors if isinstance(m, incoming.ErrorMessage)]
        assert 103 not in codes  # no duplicate order id
        assert [t.orderId for t in trades] == sorted({t.orderId for t in trades})


async def test_order_lost_with_the_connection_raises_504(sim: SimServer, rib: TWSClient) -> None:
    faults = sim.simulator.faults
    faults.stall(0.5)  # TWS reads the order but never processes it: the drop comes first
    trade = rib.placeOrder(AMD, market())
    done = asyncio.create_task(trade.done(timeout=8))
    await asyncio.sleep(0.1)
    await faults.drop_all()
    with pytest.raises(TWSError) as info:
        await done
    assert info.value.code == 504 and info.value.reqId == trade.orderId
    assert trade.status == "Cancelled" and trade.rejected
    assert not sim.simulator.broker.orders()  # TWS never had it


async def test_client_id_in_use_at_reconnect_retries(sim: SimServer, rib: TWSClient) -> None:
    ib = rib
    events = Events(ib)
    faults = sim.simulator.faults
    faults.client_id_in_use(1)
    await faults.drop_all()
    await events.until("reconnecting", 3)
    faults.release_client_id(1)
    await events.until("connected")
    refused = [e.error for e in events.seen if e.kind == "reconnecting"][1:]
    assert any(isinstance(e, TWSError) and e.code == 326 for e in refused)
    assert ib.is_connected and await ib.reqCurrentTime() > 0
    await events.stop()


async def test_give_up_after_max_attempts_fails_everything(sim: SimServer) -> None:
    policy = ReconnectPolicy(initial=0.02, maximum=0.05, jitter=0, max_attempts=3)
    ib = TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5, reconnect=policy)
    await ib.connect()
    events = ib.connection_events()
    ticks = ib.reqMktData(AMD)
    await next_item(ticks)
    trade = ib.placeOrder(AMD, Order(action="BUY", orderType="LMT", totalQuantity=Decimal(1),
                                     lmtPrice=1.0))
    done = asyncio.create_task(trade.done())
    await sim.stop()
    with pytest.raises(ConnectionLost, match="gave up reconnecting"):
        async with asyncio.timeout(3):
            async for _ in ticks:  # the ticks before the drop, then the give-up
                pass
    with pytest.raises(ConnectionLost, match="gave up reconnecting"):
        await asyncio.wait_for(done, 2)
    kinds = [e.kind async for e in events]  # ends after the give-up
    assert kinds == ["disconnected", "reconnecting", "reconnecting", "reconnecting",
                     "disconnected"]
    assert ib.state == "disconnected" and "gave up" in str(ib.close_reason)
    await ib.disconnect()


async def test_disconnect_while_reconnecting_stops(sim: SimServer) -> None:
    ib = TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5,
                   reconnect=ReconnectPolicy(initial=0.05, maximum=0.1))
    await ib.connect()
    ticks = ib.reqMktData(AMD)
    await next_item(ticks)
    await sim.stop()
    async with asyncio.timeout(2):
        while not ib.reconnecting:
            await asyncio.sleep(0.01)
    await ib.disconnect()
    assert not ib.reconnecting and ib.state == "disconnected"
    async with asyncio.timeout(1):
        left = [t async for t in ticks]  # the ticks before the drop; then the end, no error
    assert not any(isinstance(t, Gap) for t in left)


async def test_competing_session_pauses_then_resumes_after_a_gap(
        sim: SimServer, rib: TWSClient) -> None:
    ib = rib
    ticks = ib.reqMktData(AMD)
    await next_item(ticks)
    faults = sim.simulator.faults
    await faults.competing_session()
    async with asyncio.timeout(2):
        while not any(e.code == 10197 for e in ib.errors.recent):
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)
    faults.end_competing_session()
    gap, _ = await next_gap(ticks)
    assert "10197" in gap.reason and gap.seconds >= 0.25
    tick = await next_item(ticks)
    assert isinstance(tick, Tick)
    await ticks.cancel()


async def test_stall_loses_nothing(sim: SimServer, rib: TWSClient) -> None:
    ib = rib
    ticks = ib.reqMktData(AMD)
    await next_item(ticks)
    sim.simulator.faults.stall(0.5)
    start = time.monotonic()
    assert await ib.reqCurrentTime() > 0  # answered after the stall
    assert time.monotonic() - start >= 0.4
    tick = await next_item(ticks)
    assert tick.reqId == ticks.reqId and ib.is_connected
    await ticks.cancel()


async def test_real_time_bars_resume_after_a_drop() -> None:
    async with SimServer(Simulator(clock=SimClock(REPLAY_START, speed=50)), port=0) as sim, \
            TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5, reconnect=FAST) as ib:
        events = Events(ib)
        sub = ib.reqRealTimeBars(AMD, 5, "MIDPOINT", useRTH=False)
        first = await next_item(sub)
        assert isinstance(first, incoming.RealTimeBar)
        old_reqId = sub.reqId
        await sim.simulator.faults.drop_all()
        await events.until("connected")
        gap, _ = await next_gap(sub)
        assert "connection to TWS lost" in gap.reason
        bar = await next_item(sub)
        assert isinstance(bar, incoming.RealTimeBar)
        assert bar.reqId == sub.reqId != old_reqId and bar.time > first.time
        await sub.cancel()
        await events.stop()
