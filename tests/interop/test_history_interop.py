"""Unmodified ib_async 2.1.0 and IB's ibapi ask the simulator for historical bars
of several whatToShow values (and a SCHEDULE) over a loopback socket."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from ib_async import IB, Forex, Stock
from ibapi.client import EClient
from ibapi.contract import Contract as IbContract
from ibapi.wrapper import EWrapper

from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.market.bar_kinds import implied_vol_level
from twsbridge.sim.market.clock import REPLAY_START, SimClock
from twsbridge.sim.market.history import historical_bars

pytestmark = pytest.mark.interop

WAIT = 5.0
AAPL_ID = 265598


@pytest.fixture
async def server() -> AsyncIterator[SimServer]:
    async with SimServer(Simulator(clock=SimClock(REPLAY_START, speed=0)), port=0) as srv:
        yield srv


@pytest.fixture
async def ib(server: SimServer) -> AsyncIterator[IB]:
    client = IB()
    await client.connectAsync("127.0.0.1", server.port, clientId=1, timeout=5)
    yield client
    client.disconnect()


def _model_closes(server: SimServer, what: str, dur: str, size: str) -> list[float]:
    sim = server.simulator
    bars = historical_bars(sim.prices, AAPL_ID, now=sim.clock.now(), endDateTime="",
                           durationStr=dur, barSizeSetting=size, whatToShow=what, useRTH=True)
    return [b.close for b in bars[2]]


async def test_ib_async_gets_each_value(ib: IB, server: SimServer) -> None:
    aapl = Stock("AAPL", "SMART", "USD")
    for what in ("ADJUSTED_LAST", "BID_ASK", "HISTORICAL_VOLATILITY",
                 "OPTION_IMPLIED_VOLATILITY"):
        bars = await ib.reqHistoricalDataAsync(aapl, "", "1 D", "30 mins", what, True)
        assert [b.close for b in bars] == _model_closes(server, what, "1 D", "30 mins"), what
        if what != "ADJUSTED_LAST":
            assert {(b.volume, b.barCount) for b in bars} == {(-1, -1)}, what
    iv = await ib.reqHistoricalDataAsync(aapl, "", "5 D", "1 day",
                                         "OPTION_IMPLIED_VOLATILITY", True)
    assert {b.close for b in iv} == {implied_vol_level("STK")}


async def test_ib_async_forex_trades_is_error_162(ib: IB) -> None:
    errors: list[tuple[int, str]] = []
    ib.errorEvent += lambda reqId, code, text, contract: errors.append((code, text))
    bars = await ib.reqHistoricalDataAsync(Forex("EURUSD"), "", "5 D", "1 day", "TRADES", True)
    assert list(bars) == []
    assert (162, "Historical Market Data Service error message:No historical market data "
                 "for EUR/CASH@FXSUBPIP Last 1d") in errors
    mid = await ib.reqHistoricalDataAsync(Forex("EURUSD"), "", "5 D", "1 day", "MIDPOINT", True)
    assert len(mid) == 5


async def test_ib_async_historical_schedule(ib: IB) -> None:
    sched = await ib.reqHistoricalScheduleAsync(Stock("AAPL", "SMART", "USD"), 3)
    assert sched.timeZone == "US/Eastern"
    assert [(s.startDateTime, s.endDateTime, s.refDate) for s in sched.sessions] == [
        ("20130227-09:30:00", "20130227-16:00:00", "20130227"),
        ("20130228-09:30:00", "20130228-16:00:00", "20130228"),
        ("20130301-09:30:00", "20130301-16:00:00", "20130301")]


class App(EWrapper, EClient):  # type: ignore[misc]
    """Collects historical bars, schedules and errors through ibapi's decoder."""

    def __init__(self) -> None:
        EWrapper.__init__(self)
        EClient.__init__(self, wrapper=self)
        self.bars: dict[int, list[Any]] = {}
        self.ended: set[int] = set()
        self.schedules: dict[int, tuple[str, str, str, list[Any]]] = {}
        self.errors: dict[int, tuple[int, str]] = {}
        self.ready = threading.Event()
        self.changed = threading.Condition()

    def _note(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def nextValidId(self, orderId: int) -> None:
        self.ready.set()

    def error(self, reqId: int, errorTime: int, errorCode: int, errorString: str,
              advancedOrderRejectJson: str = "") -> None:
        if reqId >= 0:
            self.errors[reqId] = (errorCode, errorString)
            self._note()

    def historicalData(self, reqId: int, bar: Any) -> None:
        self.bars.setdefault(reqId, []).append(bar)

    def historicalDataEnd(self, reqId: int, start: str, end: str) -> None:
        self.ended.add(reqId)
        self._note()

    def historicalSchedule(self, reqId: int, startDateTime: str, endDateTime: str,
                           timeZone: str, sessions: list[Any]) -> None:
        self.schedules[reqId] = (startDateTime, endDateTime, timeZone, sessions)
        self._note()

    def wait_for(self, req_ids: set[int]) -> bool:
        def answered() -> bool:
            return req_ids <= self.ended | set(self.schedules) | set(self.errors)
        with self.changed:
            return self.changed.wait_for(answered, WAIT)


def ibapi_scenario(port: int) -> tuple[App, bool]:
    app = App()
    app.connect("127.0.0.1", port, clientId=4)
    reader = threading.Thread(target=app.run, daemon=True)
    reader.start()
    app.ready.wait(WAIT)
    aapl = IbContract()
    aapl.symbol, aapl.secType, aapl.exchange, aapl.currency = "AAPL", "STK", "SMART", "USD"
    eur = IbContract()
    eur.symbol, eur.secType, eur.exchange, eur.currency = "EUR", "CASH", "IDEALPRO", "USD"
    app.reqHistoricalData(1, aapl, "", "1 D", "1 hour", "HISTORICAL_VOLATILITY", 1, 1, False, [])
    app.reqHistoricalData(2, aapl, "", "5 D", "1 day", "ADJUSTED_LAST", 1, 1, False, [])
    app.reqHistoricalData(3, aapl, "", "2 D", "1 day", "SCHEDULE", 1, 1, False, [])
    app.reqHistoricalData(4, eur, "", "5 D", "1 day", "TRADES", 1, 1, False, [])
    app.reqHistoricalData(5, aapl, "20130228 16:00:00", "5 D", "1 day", "ADJUSTED_LAST", 1, 1,
                          False, [])
    done = app.wait_for({1, 2, 3, 4, 5})
    app.disconnect()
    reader.join(WAIT)
    return app, done


async def test_ibapi_gets_values_schedule_and_errors(server: SimServer) -> None:
    app, done = await asyncio.to_thread(ibapi_scenario, server.port)
    assert done, (app.ended, app.schedules, app.errors)
    hv = app.bars[1]
    assert [b.close for b in hv] == _model_closes(server, "HISTORICAL_VOLATILITY", "1 D",
                                                  "1 hour")
    assert all(b.barCount == -1 for b in hv)
    assert [b.close for b in app.bars[2]] == _model_closes(server, "ADJUSTED_LAST", "5 D",
                                                           "1 day")
    start, end, tz, sessions = app.schedules[3]
    assert (start, end, tz) == ("20130228-09:30:00", "20130301-16:00:00", "US/Eastern")
    assert [s.refDate for s in sessions] == ["20130228", "20130301"]
    assert app.errors[4][0] == 162 and "EUR/CASH@FXSUBPIP Last 1d" in app.errors[4][1]
    assert app.errors[5][0] == 321
