"""ib_async 2.1.0, unmodified, against the simulator on a loopback socket."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import gzip
import logging
from collections.abc import AsyncIterator
from importlib import resources

import pytest
from ib_async import IB, Contract, Forex, Stock

from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.market.clock import REPLAY_START, SimClock

pytestmark = pytest.mark.interop


@pytest.fixture
async def server() -> AsyncIterator[SimServer]:
    async with SimServer(Simulator(clock=SimClock(REPLAY_START)), port=0) as srv:
        yield srv


@pytest.fixture
async def ib(server: SimServer) -> AsyncIterator[IB]:
    client = IB()
    await client.connectAsync("127.0.0.1", server.port, clientId=1, timeout=5)
    yield client
    client.disconnect()


async def test_connect_is_clean_and_synchronises(server: SimServer,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ib_async")
    ib = IB()
    try:
        await ib.connectAsync("127.0.0.1", server.port, clientId=1, timeout=5)
        assert ib.isConnected()
        assert ib.client.serverVersion() == 178
        assert ib.managedAccounts() == ["DU1234567"]
        tags = {v.tag: v.value for v in ib.accountValues() if v.currency in ("USD", "")}
        assert float(tags["NetLiquidation"]) == 1_000_000.0
        assert ib.positions() == []
        assert ib.openTrades() == []
    finally:
        ib.disconnect()
    texts = [r.getMessage() for r in caplog.records if r.name.startswith("ib_async")]
    assert "Synchronization complete" in texts
    bad = [r.getMessage() for r in caplog.records
           if r.levelno >= logging.WARNING and r.name.startswith("ib_async")]
    assert not [t for t in bad if "timeout" in t.lower() or "timed out" in t.lower()]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_contract_details(ib: IB) -> None:
    details = await ib.reqContractDetailsAsync(Stock("AMD", "SMART", "USD"))
    assert [d.contract.conId for d in details if d.contract] == [4391]
    assert details[0].longName == "ADVANCED MICRO DEVICES"
    fx = await ib.reqContractDetailsAsync(Forex("EURUSD"))
    assert [(d.contract.conId, d.contract.localSymbol) for d in fx if d.contract] == [
        (12087792, "EUR.USD")]


async def test_unknown_contract_gives_none_and_error_200(ib: IB) -> None:
    errors: list[int] = []
    ib.errorEvent += lambda reqId, code, text, contract: errors.append(code)
    details = await ib.reqContractDetailsAsync(Stock("XXX", "SMART", "USD"))
    assert details == []
    assert 200 in errors


async def test_qualify_by_conid(ib: IB) -> None:
    (amd,) = await ib.qualifyContractsAsync(Contract(conId=4391))
    assert isinstance(amd, Contract)
    assert (amd.symbol, amd.secType, amd.primaryExchange) == ("AMD", "STK", "NASDAQ")


async def test_matching_symbols(ib: IB) -> None:
    found = await ib.reqMatchingSymbolsAsync("intc")
    assert found is not None
    assert "INTC" in [d.contract.symbol for d in found if d.contract]
    assert len(found) <= 16


def _dataset_closes(ticker: str) -> dict[dt.date, float]:
    raw = resources.files("bokeh_sampledata").joinpath("_data/stocks.csv.gz").read_bytes()
    rows = csv.DictReader(gzip.decompress(raw).decode().splitlines())
    return {dt.date.fromisoformat(r["Date"]): float(r["Close"])
            for r in rows if r["Ticker"] == ticker}


async def test_historical_daily_closes_are_real(ib: IB, server: SimServer) -> None:
    bars = await ib.reqHistoricalDataAsync(Stock("AAPL", "SMART", "USD"), "", "60 D",
                                           "1 day", "TRADES", True)
    assert len(bars) == 60
    today = server.simulator.clock.now().date()
    assert bars[-1].date == today  # the session in progress: a partial bar
    real = _dataset_closes("AAPL")
    complete = [b for b in bars if b.date < today]
    assert len(complete) == 59
    assert [b.close for b in complete] == [real[b.date] for b in complete]


async def test_snapshot_market_data(ib: IB) -> None:
    (contract, msft) = await ib.qualifyContractsAsync(Stock("AAPL", "SMART", "USD"),
                                                      Stock("MSFT", "SMART", "USD"))
    assert isinstance(contract, Contract) and isinstance(msft, Contract)
    assert contract.conId == 265598
    ticker = ib.reqMktData(contract, "", True, False)
    async with asyncio.timeout(5):
        while not (ticker.bid == ticker.bid and ticker.ask == ticker.ask
                   and ticker.last == ticker.last):  # NaN until set
            await asyncio.sleep(0.01)
    assert 0 < ticker.bid < ticker.ask
    assert ticker.last > 0
    (snap,) = await ib.reqTickersAsync(msft)
    assert 0 < snap.bid < snap.ask and snap.close > 0


async def test_head_timestamp_and_current_time(ib: IB, server: SimServer) -> None:
    head = await ib.reqHeadTimeStampAsync(Stock("AAPL", "SMART", "USD"), "TRADES", True, 1)
    assert isinstance(head, dt.datetime)
    assert head.date() == dt.date(2000, 3, 1)
    now = await ib.reqCurrentTimeAsync()
    sim_now = server.simulator.clock.now()
    assert abs((now - sim_now).total_seconds()) < 5


async def test_streaming_ticks_and_live_bars() -> None:
    sim = Simulator(clock=SimClock(REPLAY_START, speed=10.0))
    async with SimServer(sim, port=0, poll_interval=0.02) as server:
        ib = IB()
        await ib.connectAsync("127.0.0.1", server.port, clientId=2, timeout=5)
        try:
            (spy,) = await ib.qualifyContractsAsync(Stock("SPY", "SMART", "USD"))
            assert isinstance(spy, Contract)
            ticker = ib.reqMktData(spy)
            volumes: list[float] = []
            async with asyncio.timeout(5):
                while len(set(volumes)) < 3:
                    await ib.updateEvent
                    volumes.append(ticker.volume)
            assert ticker.bid < ticker.ask
            assert sorted(v for v in volumes if v == v) == [v for v in volumes if v == v]
            ib.cancelMktData(spy)
            bars = await ib.reqHistoricalDataAsync(spy, "", "1800 S", "1 min", "TRADES",
                                                   True, keepUpToDate=True)
            assert bars
            updates: list[bool] = []
            bars.updateEvent += lambda b, has_new_bar: updates.append(has_new_bar)
            async with asyncio.timeout(5):
                while not updates:
                    await asyncio.sleep(0.02)
            last_date = bars[-1].date
            assert isinstance(last_date, dt.datetime) and last_date.tzinfo is not None
            assert bars[-1].high >= bars[-1].close >= bars[-1].low
            ib.cancelHistoricalData(bars)
        finally:
            ib.disconnect()


async def test_real_time_bars() -> None:
    sim = Simulator(clock=SimClock(REPLAY_START, speed=50.0))
    async with SimServer(sim, port=0, poll_interval=0.02) as server:
        ib = IB()
        await ib.connectAsync("127.0.0.1", server.port, clientId=3, timeout=5)
        try:
            bars = ib.reqRealTimeBars(Stock("AAPL", "SMART", "USD"), 5, "TRADES", False)
            async with asyncio.timeout(5):
                while len(bars) < 2:
                    await asyncio.sleep(0.02)
            first, second = bars[0], bars[1]
            assert isinstance(first.time, dt.datetime) and first.time.tzinfo is not None
            assert (second.time - first.time) == dt.timedelta(seconds=5)
            assert second.low <= second.close <= second.high and second.volume >= 0
            ib.cancelRealTimeBars(bars)
        finally:
            ib.disconnect()
