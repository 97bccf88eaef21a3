"""Unmodified ib_async 2.1.0 and IB's ibapi against the simulator's historical ticks,
histograms, market rules and SMART components (loopback socket)."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from ib_async import IB, Forex, Stock
from ibapi.client import EClient
from ibapi.contract import Contract as IbContract
from ibapi.wrapper import EWrapper

from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.market.clock import REPLAY_START, SimClock
from twsbridge.sim.market.ticks import TickModel
from twsbridge.sim.reference.calendar import SIM_TZ

pytestmark = [pytest.mark.interop, pytest.mark.timeout(20)]

AAPL_ID = 265598
END_TEXT = "20130301 09:45:00 US/Eastern"
END = dt.datetime(2013, 3, 1, 9, 45, tzinfo=SIM_TZ)
WAIT = 5.0


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


def model(server: SimServer) -> TickModel:
    return TickModel(server.simulator.prices)


async def test_ib_async_historical_trades_are_the_simulators(server: SimServer, ib: IB) -> None:
    aapl = Stock("AAPL", "SMART", "USD")
    ticks = await ib.reqHistoricalTicksAsync(aapl, "", END_TEXT, 50, "TRADES", useRth=True)
    assert len(ticks) >= 50
    end = int(END.timestamp())
    first = int(ticks[0].time.timestamp())
    expect = model(server).trades(AAPL_ID, first, end)
    assert [(int(t.time.timestamp()), t.price, float(t.size), t.exchange) for t in ticks] == [
        (x.time, x.price, float(x.size), x.exchange) for x in expect]
    assert all(t.time.tzinfo is not None for t in ticks)
    assert {t.tickAttribLast.unreported for t in ticks} <= {False, True}


async def test_ib_async_bid_ask_and_midpoint_with_a_datetime(server: SimServer, ib: IB) -> None:
    aapl = Stock("AAPL", "SMART", "USD")
    start = END - dt.timedelta(minutes=2)
    bid_ask = await ib.reqHistoricalTicksAsync(aapl, start, "", 20, "BID_ASK", useRth=False)
    assert len(bid_ask) == 20 and bid_ask[0].time >= start
    for t in bid_ask:
        q = server.simulator.prices.quote(AAPL_ID, t.time + dt.timedelta(seconds=0.5))
        assert (t.priceBid, t.priceAsk, float(t.sizeBid), float(t.sizeAsk)) == (
            q.bid, q.ask, float(q.bidSize), float(q.askSize))
    mids = await ib.reqHistoricalTicksAsync(Forex("EURUSD"), "", END_TEXT, 10, "MIDPOINT",
                                            useRth=False)
    assert len(mids) == 10 and all(1.2 < t.price < 1.4 for t in mids)


async def test_ib_async_histogram_market_rule_and_smart_components(ib: IB) -> None:
    aapl = Stock("AAPL", "SMART", "USD")
    [details] = await ib.reqContractDetailsAsync(aapl)
    aapl = details.contract
    rows = await ib.reqHistogramDataAsync(aapl, True, "1 week")
    assert rows and all(r.count > 0 for r in rows)
    assert [r.price for r in rows] == sorted(r.price for r in rows)
    rule_id = int(details.marketRuleIds.split(",")[0])
    rule = await ib.reqMarketRuleAsync(rule_id)
    assert rule is not None
    assert [(p.lowEdge, p.increment) for p in rule] == [(0.0, details.minTick)]
    ticker = ib.reqMktData(aapl)
    try:
        async with asyncio.timeout(WAIT):
            while not ticker.bboExchange:
                await asyncio.sleep(0.02)
    finally:
        ib.cancelMktData(aapl)
    comps = await ib.reqSmartComponentsAsync(ticker.bboExchange)
    assert ("NASDAQ", "Q") in [(c.exchange, c.exchangeLetter) for c in comps]
    assert len({c.bitNumber for c in comps}) == len(comps) >= 5


class App(EWrapper, EClient):  # type: ignore[misc]
    """Collects the answers through ibapi's own decoder."""

    def __init__(self) -> None:
        EWrapper.__init__(self)
        EClient.__init__(self, wrapper=self)
        self.got: dict[str, Any] = {}
        self.errors: list[tuple[int, int]] = []
        self.ready = threading.Event()
        self.all = threading.Event()
        self.run_error: BaseException | None = None

    def _put(self, key: str, value: Any) -> None:
        self.got[key] = value
        if len(self.got) == 6:
            self.all.set()

    def error(self, reqId: int, errorTime: int, errorCode: int, errorString: str,
              advancedOrderRejectJson: str = "") -> None:
        if errorCode not in (2104, 2106, 2158):
            self.errors.append((reqId, errorCode))

    def nextValidId(self, orderId: int) -> None:
        self.ready.set()

    def historicalTicks(self, reqId: int, ticks: Any, done: bool) -> None:
        self._put("mid", (reqId, list(ticks), done))

    def historicalTicksBidAsk(self, reqId: int, ticks: Any, done: bool) -> None:
        self._put("bid_ask", (reqId, list(ticks), done))

    def historicalTicksLast(self, reqId: int, ticks: Any, done: bool) -> None:
        self._put("last", (reqId, list(ticks), done))

    def histogramData(self, reqId: int, items: Any) -> None:
        self._put("histogram", (reqId, list(items)))

    def marketRule(self, marketRuleId: int, priceIncrements: Any) -> None:
        self._put("rule", (marketRuleId, list(priceIncrements)))

    def smartComponents(self, reqId: int, smartComponentMap: Any) -> None:
        self._put("smart", (reqId, list(smartComponentMap)))

    def run_safely(self) -> None:
        try:
            self.run()
        except BaseException as e:  # the decoder must not raise
            self.run_error = e


def ibapi_scenario(port: int) -> App:
    app = App()
    app.connect("127.0.0.1", port, clientId=4)
    reader = threading.Thread(target=app.run_safely, daemon=True)
    reader.start()
    assert app.ready.wait(WAIT)
    c = IbContract()
    c.symbol, c.secType, c.exchange, c.currency = "AAPL", "STK", "SMART", "USD"
    app.reqHistoricalTicks(31, c, "", END_TEXT, 10, "MIDPOINT", 1, False, [])
    app.reqHistoricalTicks(32, c, "20130301-14:40:00", "", 10, "BID_ASK", 1, True, [])
    app.reqHistoricalTicks(33, c, "", END_TEXT, 10, "TRADES", 1, False, [])
    app.reqHistogramData(34, c, True, "3 days")
    app.reqMarketRule(26)
    app.reqSmartComponents(35, "9c0001")
    app.all.wait(WAIT)
    app.disconnect()
    reader.join(WAIT)
    return app


async def test_ibapi_gets_every_answer(server: SimServer) -> None:
    app = await asyncio.to_thread(ibapi_scenario, server.port)
    assert app.run_error is None and app.errors == []
    assert set(app.got) == {"mid", "bid_ask", "last", "histogram", "rule", "smart"}
    end = int(END.timestamp())
    rid, mids, done = app.got["mid"]
    assert rid == 31 and done and len(mids) == 10
    expect = model(server).historical_ticks(AAPL_ID, "MIDPOINT", 10, end=end, useRth=True)
    assert [(t.time, t.price) for t in mids] == [(x.time, x.midPoint) for x in expect]
    rid, bid_ask, done = app.got["bid_ask"]
    start = int(dt.datetime(2013, 3, 1, 14, 40, tzinfo=dt.UTC).timestamp())
    assert rid == 32 and done and len(bid_ask) == 10 and bid_ask[0].time >= start
    assert all(t.priceBid < t.priceAsk for t in bid_ask)
    assert all(isinstance(t.tickAttribBidAsk.bidPastLow, bool) for t in bid_ask)
    rid, last, done = app.got["last"]
    assert rid == 33 and done and len(last) >= 10 and all(t.time < end for t in last)
    assert all(t.size > 0 and t.exchange for t in last)
    rid, rows = app.got["histogram"]
    assert rid == 34 and rows and all(float(r.size) > 0 for r in rows)
    rule_id, increments = app.got["rule"]
    assert rule_id == 26 and [(p.lowEdge, p.increment) for p in increments] == [(0.0, 0.01)]
    rid, comps = app.got["smart"]
    assert rid == 35 and ("NYSE", "N") in [(c.exchange, c.exchangeLetter) for c in comps]
