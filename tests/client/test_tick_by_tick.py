"""TWSClient.reqTickByTickData against the real simulator: typed events equal to
the simulator's TickModel, errors, cancel, and resuming after a reconnect and 1101."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from twsbridge.client import (
    Gap,
    ReconnectPolicy,
    TickByTickBidAsk,
    TickByTickMidPoint,
    TickByTickTrade,
    TWSClient,
    TWSError,
)
from twsbridge.protocol import Contract
from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.gateway.families.tick_by_tick import tick_model
from twsbridge.sim.market.clock import REPLAY_START, SimClock

pytestmark = pytest.mark.timeout(10)

AAPL = Contract(symbol="AAPL", secType="STK", exchange="SMART", currency="USD")
AAPL_ID = 265598
EURUSD = Contract(symbol="EUR", secType="CASH", exchange="IDEALPRO", currency="USD")
FAST = ReconnectPolicy(initial=0.05, maximum=0.2, factor=2.0, jitter=0.1)


@pytest.fixture
async def sim60() -> AsyncIterator[SimServer]:
    """A simulator whose clock runs 60 times faster (many events per poll)."""
    async with SimServer(Simulator(clock=SimClock(REPLAY_START, speed=60)), port=0) as server:
        yield server


@pytest.fixture
async def rib(sim60: SimServer) -> AsyncIterator[TWSClient]:
    async with TWSClient("127.0.0.1", sim60.port, client_id=1, timeout=5,
                         reconnect=FAST) as client:
        yield client


async def take(stream: AsyncIterator[Any], n: int) -> list[Any]:
    out: list[Any] = []
    async with asyncio.timeout(5):
        async for item in stream:
            out.append(item)
            if len(out) == n:
                break
    return out


async def after_gap(stream: AsyncIterator[Any]) -> tuple[Gap, Any]:
    async with asyncio.timeout(5):
        async for item in stream:
            if isinstance(item, Gap):
                gap = item
                break
        async for item in stream:
            if not isinstance(item, Gap):
                return gap, item
    raise AssertionError("the stream ended")


def model_trades(sim: SimServer, t: datetime) -> list[tuple[float, Any, str, bool, bool]]:
    k = int(t.timestamp())
    return [(x.price, x.size, x.exchange, x.pastLimit, x.unreported)
            for x in tick_model(sim.simulator).trades(AAPL_ID, k, k + 1)]


async def test_all_last_history_and_stream_are_the_model_trades(
        sim60: SimServer, rib: TWSClient) -> None:
    async with rib.reqTickByTickData(AAPL, "AllLast", numberOfTicks=20) as sub:
        events = await take(sub, 60)
    assert all(isinstance(e, TickByTickTrade) and e.tickType == "AllLast" for e in events)
    assert all(e.time.tzinfo is UTC and e.time >= REPLAY_START - dt.timedelta(minutes=5)
               for e in events)
    times = [e.time for e in events]
    assert times == sorted(times)
    for e in events:
        assert (e.price, e.size, e.exchange, e.pastLimit, e.unreported) in model_trades(
            sim60, e.time)


async def test_bid_ask_and_midpoint_events(sim60: SimServer, rib: TWSClient) -> None:
    bid_ask = rib.reqTickByTickData(AAPL, "BidAsk", ignoreSize=True)
    mid = rib.reqTickByTickData(AAPL, "MidPoint", numberOfTicks=3)
    quotes = await take(bid_ask, 5)
    mids = await take(mid, 5)
    await bid_ask.cancel()
    await mid.cancel()
    prices = sim60.simulator.prices
    for e in quotes:
        assert isinstance(e, TickByTickBidAsk)
        q = prices.quote(AAPL_ID, e.time)
        assert (e.bidPrice, e.askPrice, e.bidSize, e.askSize) == (q.bid, q.ask, q.bidSize,
                                                                  q.askSize)
        assert e.bidPastLow == (e.bidPrice < q.low) and isinstance(e.askPastHigh, bool)
    assert all(a.bidPrice != b.bidPrice or a.askPrice != b.askPrice
               for a, b in itertools.pairwise(quotes))
    for e in mids:
        assert isinstance(e, TickByTickMidPoint)
        q = prices.quote(AAPL_ID, e.time)
        assert e.midPoint == pytest.approx((q.bid + q.ask) / 2, abs=1e-9)


async def test_refusals_raise_tws_errors_and_a_bad_tick_type_value_error(
        rib: TWSClient) -> None:
    with pytest.raises(ValueError, match="tickType"):
        rib.reqTickByTickData(AAPL, "Trades")
    sub = rib.reqTickByTickData(EURUSD, "AllLast")
    with pytest.raises(TWSError) as err:
        await take(sub, 1)
    assert err.value.code == 10189
    subs = [rib.reqTickByTickData(AAPL, "MidPoint") for _ in range(3)]
    extra = rib.reqTickByTickData(AAPL, "MidPoint")
    with pytest.raises(TWSError) as err:
        await take(extra, 1)
    assert err.value.code == 10190
    for s in subs:
        await s.cancel()
    async with rib.reqTickByTickData(EURUSD, "BidAsk") as fx:  # a slot is free again
        [e] = await take(fx, 1)
    assert isinstance(e, TickByTickBidAsk) and e.bidPrice < e.askPrice


async def test_resumes_after_a_reconnect_with_a_gap(sim60: SimServer, rib: TWSClient) -> None:
    sub = rib.reqTickByTickData(AAPL, "AllLast")
    await take(sub, 1)
    old = sub.reqId
    await sim60.simulator.faults.drop_all()
    gap, item = await after_gap(sub)
    assert "connection to TWS lost" in gap.reason
    assert isinstance(item, TickByTickTrade) and sub.reqId != old
    await sub.cancel()


async def test_resumes_after_data_lost_without_reconnect(
        sim60: SimServer, rib: TWSClient) -> None:
    sub = rib.reqTickByTickData(AAPL, "BidAsk")
    await take(sub, 1)
    old = sub.reqId
    await sim60.simulator.faults.connectivity_loss(0.3, data_lost=True)
    async with asyncio.timeout(5):
        async for item in sub:
            if isinstance(item, Gap):
                assert "1101" in item.reason
                break
    [item] = await take(sub, 1)
    assert isinstance(item, TickByTickBidAsk) and sub.reqId != old
    await sub.cancel()
