"""The client's Ticker with reqMktData's generic ticks: TickBook units and the real simulator."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from twsbridge.client import (
    Contract,
    Dividends,
    Gap,
    ReconnectPolicy,
    Tick,
    TWSClient,
    TWSError,
)
from twsbridge.client.ticker import TickBook
from twsbridge.protocol import incoming
from twsbridge.sim import SimServer
from twsbridge.sim.market.clock import REPLAY_START
from twsbridge.sim.market.dividends import DividendSchedule

pytestmark = pytest.mark.timeout(10)

AAPL = Contract(conId=265598, exchange="SMART")
FAST = ReconnectPolicy(initial=0.05, maximum=0.2, factor=2.0, jitter=0.1)


def book() -> TickBook:
    return TickBook(1, AAPL)


def test_misc_stats_and_rates_fill_ib_async_named_attributes() -> None:
    b = book()
    for tick, price in ((15, 1.0), (16, 2.0), (17, 0.5), (18, 3.0), (19, 0.25), (20, 4.0),
                        (57, 9.5)):
        b.update(incoming.TickPrice(reqId=1, tickType=tick, price=price, size=Decimal(0)))
    b.update(incoming.TickSize(reqId=1, tickType=21, size=Decimal(1234)))
    b.update(incoming.TickSize(reqId=1, tickType=89, size=Decimal(5000)))
    for tick, size in ((63, 300), (64, 500), (65, 1000)):
        b.update(incoming.TickSize(reqId=1, tickType=tick, size=Decimal(size)))
    for tick, value in ((46, 3.0), (54, 10.0), (55, 2.0), (56, 300.0), (58, 0.25),
                        (23, 0.2), (24, 0.3)):
        b.update(incoming.TickGeneric(reqId=1, tickType=tick, value=value))
    t = b.ticker
    assert (t.low13week, t.high13week, t.low26week, t.high26week, t.low52week,
            t.high52week) == (1.0, 2.0, 0.5, 3.0, 0.25, 4.0)
    assert (t.avVolume, t.shortableShares, t.lastRthTrade) == (Decimal(1234), Decimal(5000), 9.5)
    assert (t.shortable, t.tradeCount, t.tradeRate, t.volumeRate, t.rtHistVolatility) == (
        3.0, 10.0, 2.0, 300.0, 0.25)
    assert (t.histVolatility, t.impliedVolatility) == (0.2, 0.3)
    assert (t.volumeRate3Min, t.volumeRate5Min, t.volumeRate10Min) == (
        Decimal(300), Decimal(500), Decimal(1000))
    assert t.extra == {} and math.isnan(t.bid)


def test_rt_volume_sets_total_vwap_time_and_last() -> None:
    b = book()
    ticks = b.update(incoming.TickString(
        reqId=1, tickType=48, value="701.28;1;1348075471534;67854;701.46918464;true"))
    t = b.ticker
    assert [x.name for x in ticks] == ["rtVolume"]
    assert (t.rtVolume, t.vwap, t.last, t.lastSize) == (Decimal(67854), 701.46918464, 701.28,
                                                      Decimal(1))
    assert t.rtTime == dt.datetime(2012, 9, 19, 17, 24, 31, 534000, tzinfo=dt.UTC)
    b.update(incoming.TickString(reqId=1, tickType=77, value=";;1348075471999;70000;;false"))
    assert (t.rtTradeVolume, t.last) == (Decimal(70000), 701.28)  # no price: last unchanged


def test_dividends_parse_ibs_example_and_malformed_text_goes_to_extra() -> None:
    b = book()
    b.update(incoming.TickString(reqId=1, tickType=59, value="0.83,0.92,20130219,0.23"))
    assert b.ticker.dividends == Dividends(0.83, 0.92, dt.date(2013, 2, 19), 0.23)
    b.update(incoming.TickString(reqId=1, tickType=59, value="0,0,,"))
    assert b.ticker.dividends == Dividends(0.0, 0.0, None, None)
    b.update(incoming.TickString(reqId=1, tickType=48, value="garbage"))
    assert b.ticker.extra == {"rtVolume": "garbage"} and b.ticker.rtVolume is None


@pytest.fixture
async def rib(sim: SimServer) -> AsyncIterator[TWSClient]:
    async with TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5,
                         reconnect=FAST) as client:
        yield client


async def test_stream_fills_the_ticker_from_the_simulator(sim: SimServer, ib: TWSClient) -> None:
    sub = ib.reqMktData(AAPL, "165,233,236,456")
    names: set[str] = set()
    async with asyncio.timeout(5):
        async for tick in sub:
            assert isinstance(tick, Tick)
            names.add(tick.name)
            if {"high52Weeks", "avgVolume", "shortable", "shortableShares", "ibDividends",
                    "rtVolume"} <= names:
                break
    t = sub.ticker
    assert t.low52week <= t.low26week <= t.low13week <= t.low <= t.high <= t.high13week
    assert t.high13week <= t.high26week <= t.high52week
    assert t.avVolume is not None and t.avVolume > 0
    assert t.shortable in (1.0, 2.0, 3.0) and t.shortableShares is not None
    expected = DividendSchedule(sim.simulator.prices).ib_dividends(265598, REPLAY_START.date())
    assert t.dividends == Dividends(expected.past12Months, expected.next12Months,
                                    expected.nextDate, expected.nextAmount)
    assert t.rtVolume is not None and t.rtTime is not None and t.vwap > 0
    await sub.cancel()


async def test_a_refused_list_raises_321(ib: TWSClient) -> None:
    sub = ib.reqMktData(AAPL, "104")
    with pytest.raises(TWSError) as err:
        async with asyncio.timeout(5):
            async for _ in sub:
                pass
    assert err.value.code == 321 and "Incorrect generic tick list of 104" in str(err.value)


async def test_generic_ticks_resume_after_data_lost(sim: SimServer, rib: TWSClient) -> None:
    sub = rib.reqMktData(AAPL, "mdoff,165")
    async with asyncio.timeout(5):
        first = [tick async for tick in _take(sub, 7)]
    assert {t.tickType for t in first} == {15, 16, 17, 18, 19, 20, 21}
    old = sub.reqId
    await sim.simulator.faults.connectivity_loss(0.3, data_lost=True)
    async with asyncio.timeout(5):
        async for item in sub:
            if isinstance(item, Gap):
                break
        again = [tick async for tick in _take(sub, 7)]
    assert sub.reqId != old and {t.tickType for t in again} == {15, 16, 17, 18, 19, 20, 21}
    assert all(t.reqId == sub.reqId for t in again)
    await sub.cancel()


async def _take(sub: AsyncIterator[Tick | Gap], n: int) -> AsyncIterator[Tick]:
    got = 0
    async for item in sub:
        if isinstance(item, Tick):
            yield item
            got += 1
            if got == n:
                return
