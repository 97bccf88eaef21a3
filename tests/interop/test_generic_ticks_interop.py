"""Generic ticks of reqMktData with unmodified ib_async 2.1.0 and IB's ibapi."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from ib_async import IB, Stock
from ibapi.client import EClient
from ibapi.contract import Contract
from ibapi.wrapper import EWrapper

from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.market.clock import REPLAY_START, SimClock
from twsbridge.sim.market.dividends import DividendSchedule

pytestmark = pytest.mark.interop

WAIT = 5.0


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


def _known(x: float) -> bool:
    return not math.isnan(x)


async def test_ib_async_ticker_fills_its_generic_fields(
        server: SimServer, ib: IB, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    (aapl,) = await ib.qualifyContractsAsync(Stock("AAPL", "SMART", "USD"))
    ticker = ib.reqMktData(aapl, "165,233,236,456")
    async with asyncio.timeout(WAIT):
        while not (ticker.dividends and _known(ticker.rtVolume) and _known(ticker.high52week)
                   and _known(ticker.shortableShares) and _known(ticker.avVolume)):
            await asyncio.sleep(0.02)
    assert ticker.low52week <= ticker.low26week <= ticker.low13week <= ticker.low
    assert ticker.high <= ticker.high13week <= ticker.high26week <= ticker.high52week
    assert ticker.avVolume > 0 and ticker.shortable == 3.0 and ticker.shortableShares >= 1000
    assert ticker.vwap > 0 and ticker.rtTime is not None and ticker.rtVolume > 0
    want = DividendSchedule(server.simulator.prices).ib_dividends(265598, REPLAY_START.date())
    d = ticker.dividends
    assert (d.past12Months, d.next12Months, d.nextAmount) == (
        want.past12Months, want.next12Months, want.nextAmount)
    assert d.nextDate == want.nextDate
    ib.cancelMktData(aapl)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_ib_async_handles_the_rate_and_volatility_ticks(
        ib: IB, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    (msft,) = await ib.qualifyContractsAsync(Stock("MSFT", "SMART", "USD"))
    ticker = ib.reqMktData(msft, "mdoff,293,294,295,318,411,375,595")
    async with asyncio.timeout(WAIT):
        while not (_known(ticker.tradeCount) and _known(ticker.rtHistVolatility)
                   and _known(ticker.lastRthTrade) and _known(ticker.volumeRate)
                   and _known(ticker.rtTradeVolume) and _known(ticker.volumeRate10Min)):
            await asyncio.sleep(0.02)
    assert ticker.tradeCount >= ticker.tradeRate > 0
    assert 0 < ticker.volumeRate3Min <= ticker.volumeRate5Min <= ticker.volumeRate10Min
    assert 0 < ticker.rtHistVolatility < 2
    assert math.isnan(ticker.bid)  # mdoff: no top of book
    ib.cancelMktData(msft)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


class App(EWrapper, EClient):  # type: ignore[misc]
    """Records the ticks of one request through ibapi's decoder."""

    def __init__(self) -> None:
        EWrapper.__init__(self)
        EClient.__init__(self, wrapper=self)
        self.ticks: dict[int, Any] = {}
        self.errors: list[tuple[int, int, str]] = []
        self.ready = threading.Event()
        self.got = threading.Event()
        self.run_error: BaseException | None = None

    def nextValidId(self, orderId: int) -> None:
        self.ready.set()

    def error(self, reqId: int, errorTime: int, errorCode: int, errorString: str,
              advancedOrderRejectJson: str = "") -> None:
        self.errors.append((reqId, errorCode, errorString))
        if errorCode == 321:
            self.got.set()

    def _seen(self, tickType: int, value: Any) -> None:
        self.ticks[tickType] = value
        if {15, 20, 21, 46, 48, 59, 89} <= set(self.ticks):
            self.got.set()

    def tickPrice(self, reqId: int, tickType: int, price: float, attrib: Any) -> None:
        self._seen(tickType, price)

    def tickSize(self, reqId: int, tickType: int, size: Any) -> None:
        self._seen(tickType, size)

    def tickGeneric(self, reqId: int, tickType: int, value: float) -> None:
        self._seen(tickType, value)

    def tickString(self, reqId: int, tickType: int, value: str) -> None:
        self._seen(tickType, value)

    def run_safely(self) -> None:
        try:
            self.run()
        except BaseException as e:
            self.run_error = e


def scenario(port: int, generic: str) -> tuple[App, bool]:
    app = App()
    app.connect("127.0.0.1", port, clientId=4)
    reader = threading.Thread(target=app.run_safely, daemon=True)
    reader.start()
    app.ready.wait(WAIT)
    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency = "AAPL", "STK", "SMART", "USD"
    app.reqMktData(11, c, generic, False, False, [])
    got = app.got.wait(WAIT)
    app.cancelMktData(11)
    app.disconnect()
    reader.join(WAIT)
    return app, got


async def test_ibapi_receives_the_generic_ticks(server: SimServer) -> None:
    app, got = await asyncio.to_thread(scenario, server.port, "165,233,236,456")
    assert got and app.run_error is None
    assert [e for e in app.errors if e[1] == 321] == []
    t = app.ticks
    assert t[19] <= t[15] and t[16] <= t[20] and int(t[21]) > 0
    assert t[46] in (1.0, 2.0, 3.0) and int(t[89]) >= 0
    price, size, ms, total, vwap, single = t[48].split(";")
    assert float(price) > 0 and int(size) > 0 and int(total) >= int(size)
    assert int(ms) // 1000 <= int(REPLAY_START.timestamp()) + 5 and float(vwap) > 0
    assert single == "true"
    want = DividendSchedule(server.simulator.prices).ib_dividends(265598, REPLAY_START.date())
    assert t[59] == want.text()


async def test_ibapi_gets_tws_error_321_for_a_refused_id(server: SimServer) -> None:
    app, got = await asyncio.to_thread(scenario, server.port, "104")
    assert got and app.run_error is None
    [(req, _, text)] = [e for e in app.errors if e[1] == 321]
    assert req == 11 and "Incorrect generic tick list of 104." in text
    assert app.ticks == {}
