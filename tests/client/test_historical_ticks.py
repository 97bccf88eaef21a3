"""TWSClient's historical ticks, histograms, market rules and SMART components
against the real simulator over loopback."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal

import pandas as pd
import pytest

from twsbridge.client import (
    ConnectionLost,
    Contract,
    HistoricalBidAsk,
    HistoricalLast,
    HistoricalLimits,
    HistoricalMidPoint,
    HistoricalTickList,
    ReconnectPolicy,
    TWSClient,
    TWSError,
    historicalTicksDf,
)
from twsbridge.client.historical_ticks import historical_ticks_key, tws_datetime
from twsbridge.protocol.catalogue import ticks as wire
from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.market.clock import REPLAY_START, SimClock
from twsbridge.sim.reference.calendar import SIM_TZ

pytestmark = pytest.mark.timeout(10)

AAPL = Contract(symbol="AAPL", secType="STK", exchange="SMART", currency="USD")
END = dt.datetime(2013, 3, 1, 9, 45, tzinfo=SIM_TZ)


@pytest.fixture
async def frozen() -> AsyncIterator[SimServer]:
    async with SimServer(Simulator(clock=SimClock(REPLAY_START, speed=0)), port=0) as server:
        yield server


@pytest.fixture
async def client(frozen: SimServer) -> AsyncIterator[TWSClient]:
    async with TWSClient("127.0.0.1", frozen.port, client_id=1, timeout=5) as c:
        yield c


async def test_trades_are_typed_with_utc_datetimes(client: TWSClient) -> None:
    ticks = await client.reqHistoricalTicks(AAPL, None, END, 20, "TRADES", useRth=True)
    assert isinstance(ticks, HistoricalTickList) and len(ticks) >= 20
    assert all(isinstance(t, HistoricalLast) for t in ticks)
    assert all(t.time.tzinfo == dt.UTC and t.time < END for t in ticks)
    assert [t.time for t in ticks] == sorted(t.time for t in ticks)
    assert all(t.size > 0 and t.exchange for t in ticks)


async def test_datetime_and_text_times_agree(client: TWSClient) -> None:
    a = await client.reqHistoricalTicks(AAPL, "", "20130301 09:45:00 US/Eastern", 10,
                                        "BID_ASK", useRth=False)
    b = await client.reqHistoricalTicks(AAPL, None, END.astimezone(dt.UTC), 10, "BID_ASK",
                                        useRth=False)
    assert a == b and len(a) == 10 and isinstance(a[0], HistoricalBidAsk)
    assert all(t.priceBid < t.priceAsk for t in a)


async def test_midpoints_and_dataframe(client: TWSClient) -> None:
    ticks = await client.reqHistoricalTicks(AAPL, END - dt.timedelta(minutes=5), None, 30,
                                            "MIDPOINT", useRth=False)
    assert isinstance(ticks[0], HistoricalMidPoint)
    assert ticks[0].time >= END - dt.timedelta(minutes=5)
    df = ticks.to_dataframe()
    assert list(df.columns) == ["time", "price", "size"] and len(df) == len(ticks)
    assert df["time"].dt.tz is not None
    assert df["time"].iloc[0] == pd.Timestamp(ticks[0].time)
    assert df["price"].tolist() == [t.price for t in ticks]
    bid_ask = await client.reqHistoricalTicks(AAPL, None, END, 5, "BID_ASK", useRth=True,
                                              ignoreSize=True)
    frame = historicalTicksDf(bid_ask)
    assert frame["sizeBid"].dtype == "float64"
    assert frame["bidPastLow"].tolist() == [t.bidPastLow for t in bid_ask]


def test_dataframe_of_nothing_has_the_columns() -> None:
    assert list(historicalTicksDf([], "BID_ASK").columns) == [
        "time", "priceBid", "priceAsk", "sizeBid", "sizeAsk", "bidPastLow", "askPastHigh"]
    with pytest.raises(ValueError, match="different kinds"):
        t = dt.datetime(2013, 3, 1, tzinfo=dt.UTC)
        historicalTicksDf([HistoricalMidPoint(t, 1.0, Decimal(0)),
                           HistoricalLast(t, 1.0, Decimal(1), "ARCA", "", False, False)])


async def test_refusals_raise(client: TWSClient) -> None:
    with pytest.raises(ValueError, match="whatToShow"):
        await client.reqHistoricalTicks(AAPL, None, END, 10, "BID", useRth=True)
    with pytest.raises(TWSError) as e:
        await client.reqHistoricalTicks(AAPL, None, END, 1001, "TRADES", useRth=True)
    assert e.value.code == 321
    with pytest.raises(TWSError) as e:
        await client.reqHistoricalTicks(AAPL, None, None, 10, "TRADES", useRth=True)
    assert e.value.code == 321
    with pytest.raises(TWSError) as e:
        await client.reqHistogramData(AAPL, True, "forever")
    assert e.value.code == 321


async def test_histogram_market_rule_and_smart_components(client: TWSClient) -> None:
    rows = await client.reqHistogramData(AAPL, True, "3 days")
    assert rows and [r.price for r in rows] == sorted(r.price for r in rows)
    [details] = await client.reqContractDetails(AAPL)
    rule = int(details.marketRuleIds.split(",")[0])
    steps = await client.reqMarketRule(rule)
    assert [(s.lowEdge, s.increment) for s in steps] == [(0.0, details.minTick)]
    with pytest.raises(TimeoutError):
        await client.reqMarketRule(4242, timeout=0.3)
    comps = await client.reqSmartComponents("9c0001")
    assert comps[1] == ("NASDAQ", "Q") and len(set(comps.values())) == len(comps)
    with pytest.raises(TWSError):
        await client.reqSmartComponents("nope")


async def test_concurrent_market_rules_get_their_own_answers(client: TWSClient) -> None:
    a, b = await asyncio.gather(client.reqMarketRule(26), client.reqMarketRule(239))
    assert a[0].increment == 0.01 and b[0].increment == 0.00005


def test_pacing_key_counts_bid_ask_twice() -> None:
    msg = wire.ReqHistoricalTicks(contract=AAPL, endDateTime="x", whatToShow="BID_ASK")
    key = historical_ticks_key(msg)
    assert key.weight == 2 and key.group[-1] == "BID_ASK"
    other = historical_ticks_key(wire.ReqHistoricalTicks(reqId=9, contract=AAPL,
                                                         endDateTime="x", whatToShow="BID_ASK"))
    assert key.identical == other.identical
    assert historical_ticks_key(wire.ReqHistoricalTicks(contract=AAPL, whatToShow="TRADES")
                                ).weight == 1
    assert tws_datetime(dt.datetime(2013, 3, 1, 9, 45)) == "20130301-09:45:00"
    assert tws_datetime(END) == "20130301-14:45:00"


async def test_identical_requests_wait_for_their_pacing_slot(frozen: SimServer) -> None:
    limits = HistoricalLimits(identical_interval=0.4, margin=0.0)
    async with TWSClient("127.0.0.1", frozen.port, client_id=2, timeout=5,
                         historical_limits=limits) as c:
        seen: list[str] = []
        c.pacing.on_wait = lambda w: seen.append(w.reason)
        first = await c.reqHistoricalTicks(AAPL, None, END, 5, "TRADES", useRth=True)
        again = await c.reqHistoricalTicks(AAPL, None, END, 5, "TRADES", useRth=True)
        assert first == again
        assert seen and "identical" in seen[0]


async def test_waiting_request_fails_on_a_drop_and_works_after_reconnect(
        frozen: SimServer) -> None:
    policy = ReconnectPolicy(initial=0.05, maximum=0.2, jitter=0.1)
    async with TWSClient("127.0.0.1", frozen.port, client_id=3, timeout=5,
                         reconnect=policy) as c:
        faults = frozen.simulator.faults
        faults.stall(0.3)
        waiting = asyncio.create_task(
            c.reqHistoricalTicks(AAPL, None, END, 5, "MIDPOINT", useRth=True))
        await asyncio.sleep(0.05)
        await faults.drop_all()
        with pytest.raises(ConnectionLost):
            await asyncio.wait_for(waiting, 2)
        async with asyncio.timeout(5):
            while not c.is_connected:
                await asyncio.sleep(0.02)
        # not the identical request: that one waits 15 s for its pacing slot
        ticks = await c.reqHistoricalTicks(AAPL, None, END, 6, "MIDPOINT", useRth=True)
        assert len(ticks) >= 6
