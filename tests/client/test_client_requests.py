"""Requests against the simulator: contract details, market data, history, time."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import UTC, datetime

import pandas as pd
import pytest

from twsbridge.client import (
    BarData,
    Contract,
    Tick,
    TWSClient,
    TWSError,
    bars_to_dataframe,
)
from twsbridge.protocol import Message, Unknown, incoming
from twsbridge.sim import SimServer

pytestmark = pytest.mark.timeout(10)

AMD = Contract(symbol="AMD", secType="STK", exchange="SMART", currency="USD")


async def test_contract_details_of_amd(ib: TWSClient) -> None:
    [details] = await ib.reqContractDetails(AMD)
    assert details.contract.conId == 4391
    assert details.contract.symbol == "AMD"
    assert details.minTick > 0
    [by_id] = await ib.reqContractDetails(Contract(conId=4391))
    assert by_id.contract.conId == 4391


async def test_unknown_symbol_raises_200(ib: TWSClient) -> None:
    with pytest.raises(TWSError) as info:
        await ib.reqContractDetails(Contract(symbol="XXX", secType="STK", exchange="SMART",
                                             currency="USD"))
    err = info.value
    assert err.code == 200
    assert err.reqId > 0
    assert str(err) == (f"TWS error 200 (reqId {err.reqId}): "
                        "No security definition has been found for the request")
    assert list(ib.errors.recent) == []  # raised to the caller, not also on the stream
    assert await ib.reqCurrentTime() > 0  # the connection goes on


async def test_concurrent_requests_get_their_own_answers(ib: TWSClient) -> None:
    symbols = ["AMD", "AAPL", "MSFT", "XXX", "IBM"]
    results = await asyncio.gather(
        *(ib.reqContractDetails(Contract(symbol=s, secType="STK", exchange="SMART",
                                         currency="USD")) for s in symbols),
        return_exceptions=True)
    for symbol, result in zip(symbols, results, strict=True):
        if symbol == "XXX":
            assert isinstance(result, TWSError) and result.code == 200
        elif isinstance(result, list):
            assert result[0].contract.symbol == symbol
        else:  # a symbol the simulator does not list must fail the same way
            assert isinstance(result, TWSError) and result.code == 200, result


async def test_matching_symbols(ib: TWSClient) -> None:
    found = await ib.reqMatchingSymbols("AMD")
    assert any(d.contract.conId == 4391 for d in found)
    assert all(d.contract.symbol.startswith("AM") or d.contract.description for d in found)


async def test_snapshot_has_bid_below_ask(ib: TWSClient) -> None:
    ticker = await ib.reqMktDataSnapshot(AMD)
    assert ticker.contract is AMD
    assert 0 < ticker.bid < ticker.ask
    assert ticker.bidSize is not None and ticker.bidSize > 0
    assert ticker.marketDataType == 1
    assert ticker.time is not None and ticker.time.tzinfo is UTC
    assert (datetime.now(UTC) - ticker.time).total_seconds() < 5


async def test_delayed_snapshot_fills_the_same_attributes(ib: TWSClient) -> None:
    types: list[int] = []
    ib.register(lambda m: types.append(m.tickType), "tickPrice")  # type: ignore[union-attr]
    await ib.reqMarketDataType(3)
    ticker = await ib.reqMktDataSnapshot(AMD)
    assert ticker.marketDataType == 3
    assert 0 < ticker.bid < ticker.ask
    assert not math.isnan(ticker.last)
    assert 66 in types and 1 not in types  # delayed bid arrived, filled ``bid``
    with pytest.raises(ValueError):
        await ib.reqMarketDataType(7)


async def test_streaming_ticks_arrive_and_cancel_stops_them(fast_sim: SimServer) -> None:
    arrived: list[Message | Unknown] = []
    async with TWSClient("127.0.0.1", fast_sim.port, client_id=1, timeout=5) as ib:
        ib.register(arrived.append, "tickPrice", "tickSize")
        ticks: list[Tick] = []
        async with ib.reqMktData(AMD) as sub:
            async for tick in sub:
                ticks.append(tick)
                if len(ticks) >= 20:
                    break
            names = {t.name for t in ticks}
            assert {"bid", "ask", "bidSize", "askSize"} <= names
            assert all(t.reqId == sub.reqId for t in ticks)
            assert 0 < sub.ticker.bid < sub.ticker.ask
            await sub.cancel()
            rest = [t async for t in sub]  # iteration ends at once after cancel
            assert rest == []
        await asyncio.sleep(0.3)  # let cancelMktData reach the simulator
        count = len(arrived)
        await asyncio.sleep(0.5)  # the fast clock would move prices several times here
        assert len(arrived) == count
        # another subscription still streams: the connection is fine
        sub2 = ib.reqMktData(AMD)
        first = await anext(aiter(sub2))
        assert first.reqId == sub2.reqId != sub.reqId
        await sub2.cancel()


async def test_ticker_updates_without_iterating(fast_sim: SimServer) -> None:
    async with TWSClient("127.0.0.1", fast_sim.port, client_id=1, timeout=5) as ib:
        sub = ib.reqMktData(AMD)
        async with asyncio.timeout(3):
            while sub.ticker.time is None:
                await asyncio.sleep(0.02)
        first = sub.ticker.time
        async with asyncio.timeout(3):
            while sub.ticker.time == first:
                await asyncio.sleep(0.02)
        assert sub.ticker.volume is not None and sub.ticker.volume > 0
        await sub.cancel()


async def test_historical_bars_and_dataframe(ib: TWSClient) -> None:
    bars = await ib.reqHistoricalData(AMD, durationStr="2 D", barSizeSetting="1 hour")
    assert bars and all(isinstance(b, BarData) for b in bars)
    assert all(b.low <= b.open <= b.high and b.low <= b.close <= b.high for b in bars)
    df = bars_to_dataframe(bars)
    assert list(df.columns) == ["date", "open", "high", "low", "close", "volume", "wap",
                                "barCount"]
    assert len(df) == len(bars)
    assert isinstance(df["date"].dtype, pd.DatetimeTZDtype)
    assert df["date"].is_monotonic_increasing
    assert df["volume"].dtype == "float64" and (df["volume"] > 0).all()
    daily = await ib.reqHistoricalData(AMD, durationStr="1 M", barSizeSetting="1 day")
    ddf = bars_to_dataframe(daily)
    assert ddf["date"].dt.tz is None and (ddf["date"].dt.hour == 0).all()
    epoch = await ib.reqHistoricalData(AMD, durationStr="1 D", barSizeSetting="1 hour",
                                       formatDate=2)
    edf = bars_to_dataframe(epoch)
    assert str(edf["date"].dt.tz) == "UTC"


async def test_historical_stream_yields_history_then_updates(sim: SimServer) -> None:
    async with TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5) as ib:
        history = await ib.reqHistoricalData(AMD, durationStr="1 D", barSizeSetting="1 min")
        stream = ib.reqHistoricalDataStream(AMD, durationStr="1 D", barSizeSetting="1 min")
        bars: list[BarData] = []
        async with stream:
            async for bar in stream:
                bars.append(bar)
                if len(bars) == len(history):
                    sim.simulator.clock.advance(30)  # the next update is due
                if len(bars) == len(history) + 1:
                    break
        assert [b.date for b in bars[: len(history)]] == [b.date for b in history]
        assert bars[-1].date >= history[-1].date
        assert [b async for b in stream] == []


async def test_head_timestamp(ib: TWSClient) -> None:
    stamp = await ib.reqHeadTimeStamp(AMD)
    assert isinstance(stamp, str) and len(stamp) == len("yyyymmdd-hh:mm:ss")
    assert stamp < "20130301"
    epoch = await ib.reqHeadTimeStamp(AMD, formatDate=2)
    assert epoch.isdigit()


async def test_current_time_is_the_simulated_clock(sim: SimServer, ib: TWSClient) -> None:
    now = await ib.reqCurrentTime()
    assert abs(now - sim.simulator.clock.epoch()) <= 2


async def test_cancelled_wait_forgets_the_request(ib: TWSClient) -> None:
    task = asyncio.create_task(ib.reqHistoricalData(AMD, durationStr="5 D"))
    await asyncio.sleep(0)
    assert len(ib._core.router) == 1  # sent, waiting
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(ib._core.router) == 0
    assert await ib.reqCurrentTime() > 0


async def test_send_is_paced(sim: SimServer) -> None:
    async with TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5, max_rate=20) as ib:
        start = time.monotonic()
        times = await asyncio.gather(*(ib.reqCurrentTime() for _ in range(30)))
        elapsed = time.monotonic() - start
    assert len(times) == 30 and all(t > 0 for t in times)
    # 20/s: bursts of 2, then 18 per second -> 28 paced messages take >= 1.5 s
    assert elapsed >= 1.4


async def test_unknown_frames_reach_handlers(ib: TWSClient) -> None:
    # positions are not wrapped by TWSClient: send() and handlers still work
    got: list[Message | Unknown] = []
    done = asyncio.Event()

    def handler(msg: Message | Unknown) -> None:
        got.append(msg)
        if msg.NAME == "positionEnd":
            done.set()

    ib.register(handler, "position", "positionEnd")
    from twsbridge.protocol import outgoing

    ib.send(outgoing.ReqPositions())
    async with asyncio.timeout(3):
        await done.wait()
    assert isinstance(got[-1], incoming.PositionEnd)


async def test_real_time_bars_every_5_seconds(fast_sim: SimServer) -> None:
    async with TWSClient("127.0.0.1", fast_sim.port, client_id=1, timeout=5) as ib:
        sub = ib.reqRealTimeBars(AMD, 5, "TRADES", useRTH=False)
        bars: list[incoming.RealTimeBar] = []
        async with sub:
            async with asyncio.timeout(10):
                async for bar in sub:
                    assert isinstance(bar, incoming.RealTimeBar)
                    bars.append(bar)
                    if len(bars) == 2:
                        break
        assert bars[1].time - bars[0].time == 5
        assert all(b.reqId == sub.reqId and b.low <= b.high for b in bars)
        assert [b async for b in sub] == []


async def test_real_time_bars_bad_bar_size_raises(ib: TWSClient) -> None:
    sub = ib.reqRealTimeBars(AMD, 10)
    with pytest.raises(TWSError) as info:
        async with asyncio.timeout(5):
            async for _ in sub:
                pass
    assert info.value.code == 321
