"""Unmodified ib_async 2.1.0 and IB's ibapi receive the tick-by-tick events the
simulator's TickModel generates (reqTickByTickData 97 → tickByTick 99)."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from ib_async import IB, Stock
from ibapi.client import EClient
from ibapi.contract import Contract
from ibapi.wrapper import EWrapper

from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.gateway.families.tick_by_tick import tick_model
from twsbridge.sim.market.clock import REPLAY_START, SimClock

pytestmark = [pytest.mark.interop, pytest.mark.timeout(20)]

AAPL_ID = 265598
AMD_ID = 4391
WAIT = 5.0


@pytest.fixture
async def server() -> AsyncIterator[SimServer]:
    async with SimServer(Simulator(clock=SimClock(REPLAY_START, speed=60)), port=0) as srv:
        yield srv


def is_run(part: list[Any], whole: list[Any]) -> bool:
    """``part`` is a contiguous run of ``whole``."""
    n = len(part)
    return any(whole[i:i + n] == part for i in range(len(whole) - n + 1))


async def test_ib_async_ticker_tick_by_ticks_are_the_model_events(server: SimServer) -> None:
    ib = IB()
    await ib.connectAsync("127.0.0.1", server.port, clientId=1, timeout=5)
    try:
        [aapl, amd] = await ib.qualifyContractsAsync(Stock("AAPL", "SMART", "USD"),
                                                     Stock("AMD", "SMART", "USD"))
        trades: list[Any] = []
        quotes: list[Any] = []
        t_trades = ib.reqTickByTickData(aapl, "AllLast", numberOfTicks=10)
        t_trades.updateEvent += lambda t: trades.extend(t.tickByTicks)
        t_quotes = ib.reqTickByTickData(amd, "BidAsk", ignoreSize=True)  # a Ticker a contract
        t_quotes.updateEvent += lambda t: quotes.extend(t.tickByTicks)
        async with asyncio.timeout(WAIT):
            while len(trades) < 30 or len(quotes) < 5:
                await asyncio.sleep(0.02)
        ib.cancelTickByTickData(aapl, "AllLast")
        ib.cancelTickByTickData(amd, "BidAsk")
        end = int(server.simulator.clock.now().timestamp()) + 2
    finally:
        ib.disconnect()
    model = tick_model(server.simulator)
    start = int(REPLAY_START.timestamp()) - 3600
    want = [(t.price, t.size, t.exchange, t.specialConditions, t.pastLimit, t.unreported)
            for t in model.trades(AAPL_ID, start, end)]
    got = [(t.price, Decimal(str(t.size)), t.exchange, t.specialConditions,
            t.tickAttribLast.pastLimit, t.tickAttribLast.unreported) for t in trades]
    assert all(t.tickType == 2 for t in trades)
    assert is_run(got, want)
    want_q = [(q.bidPrice, q.askPrice, q.bidSize, q.askSize)
              for q in model.bid_asks(AMD_ID, start, end, ignoreSize=True)]
    got_q = [(q.bidPrice, q.askPrice, Decimal(str(q.bidSize)), Decimal(str(q.askSize)))
             for q in quotes]
    assert is_run(got_q, want_q)


class App(EWrapper, EClient):  # type: ignore[misc]
    """Records the tick-by-tick callbacks of ibapi's decoder."""

    def __init__(self) -> None:
        EWrapper.__init__(self)
        EClient.__init__(self, wrapper=self)
        self.ready = threading.Event()
        self.errors: list[tuple[int, int]] = []
        self.ticks: dict[int, list[tuple[Any, ...]]] = {1: [], 2: [], 3: []}
        self.run_error: BaseException | None = None

    def nextValidId(self, orderId: int) -> None:
        self.ready.set()

    def error(self, reqId: int, errorTime: int, errorCode: int, errorString: str,
              advancedOrderRejectJson: str = "") -> None:
        self.errors.append((reqId, errorCode))

    def tickByTickAllLast(self, reqId: int, tickType: int, time: int, price: float,
                          size: Decimal, tickAttribLast: Any, exchange: str,
                          specialConditions: str) -> None:
        self.ticks[reqId].append((tickType, time, price, size, exchange, specialConditions,
                                  tickAttribLast.pastLimit, tickAttribLast.unreported))

    def tickByTickBidAsk(self, reqId: int, time: int, bidPrice: float, askPrice: float,
                         bidSize: Decimal, askSize: Decimal, tickAttribBidAsk: Any) -> None:
        self.ticks[reqId].append((time, bidPrice, askPrice, bidSize, askSize,
                                  tickAttribBidAsk.bidPastLow, tickAttribBidAsk.askPastHigh))

    def tickByTickMidPoint(self, reqId: int, time: int, midPoint: float) -> None:
        self.ticks[reqId].append((time, midPoint))

    def run_safely(self) -> None:
        try:
            self.run()
        except BaseException as e:  # the decoder must not raise
            self.run_error = e


def scenario(port: int) -> App:
    app = App()
    app.connect("127.0.0.1", port, clientId=3)
    reader = threading.Thread(target=app.run_safely, daemon=True)
    reader.start()
    app.ready.wait(WAIT)
    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency = "AAPL", "STK", "SMART", "USD"
    app.reqTickByTickData(1, c, "AllLast", 10, False)
    app.reqTickByTickData(2, c, "BidAsk", 0, False)
    app.reqTickByTickData(3, c, "MidPoint", 5, False)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and min(len(v) for v in app.ticks.values()) < 10:
        time.sleep(0.02)
    for r in (1, 2, 3):
        app.cancelTickByTickData(r)
    app.disconnect()
    reader.join(WAIT)
    return app


async def test_ibapi_wrapper_gets_the_model_events(server: SimServer) -> None:
    app = await asyncio.to_thread(scenario, server.port)
    assert app.run_error is None
    assert [e for e in app.errors if e[0] != -1] == []
    trades, quotes, mids = app.ticks[1], app.ticks[2], app.ticks[3]
    assert min(len(trades), len(quotes), len(mids)) >= 10
    model = tick_model(server.simulator)
    start, end = trades[0][1], trades[-1][1] + 1
    want = [(2, t.time, t.price, t.size, t.exchange, t.specialConditions, t.pastLimit,
             t.unreported) for t in model.trades(AAPL_ID, start, end)]
    assert is_run(trades, want)
    start, end = quotes[0][0], quotes[-1][0] + 1
    want_q = [(q.time, q.bidPrice, q.askPrice, q.bidSize, q.askSize, q.bidPastLow,
               q.askPastHigh) for q in model.bid_asks(AAPL_ID, start, end)]
    assert quotes == want_q[:len(quotes)]
    prices = server.simulator.prices
    for t, mid in mids:
        q = prices.quote(AAPL_ID, dt.datetime.fromtimestamp(t, dt.UTC))
        assert mid == pytest.approx((q.bid + q.ask) / 2, abs=1e-9)
