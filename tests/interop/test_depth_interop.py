"""Market depth for unmodified ib_async 2.1.0 and IB's ibapi against the simulator
(loopback socket): their books equal the simulator's, the top equals the quote,
and mktDepthExchanges / TWS's errors reach them."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest
from ib_async import IB, Forex, Stock, Ticker
from ibapi.client import EClient
from ibapi.contract import Contract as IBContract
from ibapi.wrapper import EWrapper

from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.gateway.families.depth import DEPTH_EXCHANGES, depth_model
from twsbridge.sim.market.clock import REPLAY_START, SimClock
from twsbridge.sim.market.depth import ASK, BID, MAX_DEPTH_ROWS

pytestmark = [pytest.mark.interop, pytest.mark.timeout(15)]

WAIT = 5.0
AAPL_ID, EURUSD_ID = 265598, 12087792
Rows = list[tuple[float, Decimal, str]]


@pytest.fixture
async def server() -> AsyncIterator[SimServer]:
    """The simulator with a clock that moves only when a test moves it."""
    sim = Simulator(clock=SimClock(REPLAY_START, speed=0))
    async with SimServer(sim, port=0, poll_interval=0.01) as srv:
        yield srv


def sim_rows(server: SimServer, con_id: int, n: int, venue: str | None = None,
             l2: bool = True) -> tuple[Rows, Rows]:
    """(asks, bids) of the simulator's book now: SMART (venue None) or one venue's."""
    sim = server.simulator
    book = depth_model(sim.prices).book(con_id, sim.clock.now(), MAX_DEPTH_ROWS)
    if venue is None:
        sides = book.rows(ASK, n), book.rows(BID, n)
    else:
        sides = book.venue_rows(venue, ASK, n), book.venue_rows(venue, BID, n)
    asks, bids = ([(r.price, r.size, r.marketMaker if l2 else "") for r in side]
                  for side in sides)
    return asks, bids


def quote_top(server: SimServer, con_id: int) -> tuple[Any, ...]:
    q = server.simulator.prices.quote(con_id, server.simulator.clock.now())
    return (q.bid, q.bidSize, q.ask, q.askSize)


# ---------------------------------------------------------------- ib_async


@pytest.fixture
async def ib(server: SimServer) -> AsyncIterator[IB]:
    client = IB()
    await client.connectAsync("127.0.0.1", server.port, clientId=1, timeout=5)
    yield client
    client.disconnect()


def dom(ticker: Ticker) -> tuple[Rows, Rows]:
    return ([(d.price, Decimal(str(d.size)), d.marketMaker) for d in ticker.domAsks],
            [(d.price, Decimal(str(d.size)), d.marketMaker) for d in ticker.domBids])


async def until(cond: Callable[[], bool], timeout: float = WAIT) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.01)


async def test_ib_async_smart_depth_follows_the_simulator_and_tops_the_quote(
        server: SimServer, ib: IB) -> None:
    [aapl] = await ib.qualifyContractsAsync(Stock("AAPL", "SMART", "USD"))
    ticker = ib.reqMktDepth(aapl, numRows=5, isSmartDepth=True)
    await until(lambda: dom(ticker) == sim_rows(server, AAPL_ID, 5))
    asks, bids = dom(ticker)
    assert len(asks) == len(bids) == 5
    assert (bids[0][0], bids[0][1], asks[0][0], asks[0][1]) == quote_top(server, AAPL_ID)
    for _ in range(6):
        server.simulator.clock.advance(1)
        await until(lambda: dom(ticker) == sim_rows(server, AAPL_ID, 5))
        asks, bids = dom(ticker)
        assert (bids[0][0], bids[0][1], asks[0][0], asks[0][1]) == quote_top(server, AAPL_ID)
    ib.cancelMktDepth(ticker.contract, isSmartDepth=True)
    assert ticker.domBids == []


async def test_ib_async_island_market_makers_and_forex_depth(server: SimServer, ib: IB) -> None:
    aapl, eurusd = await ib.qualifyContractsAsync(Stock("AAPL", "ISLAND", "USD"),
                                                  Forex("EURUSD"))
    island = ib.reqMktDepth(aapl, numRows=4)
    fx = ib.reqMktDepth(eurusd, numRows=3)
    await until(lambda: dom(island) == sim_rows(server, AAPL_ID, 4, "NASDAQ")
                and dom(fx) == sim_rows(server, EURUSD_ID, 3, "IDEALPRO", l2=False))
    assert all(mm not in ("", "ISLAND") for _, _, mm in dom(island)[0] + dom(island)[1])
    asks, bids = dom(fx)
    assert (bids[0][0], bids[0][1], asks[0][0], asks[0][1]) == quote_top(server, EURUSD_ID)
    server.simulator.clock.advance(9)
    await until(lambda: dom(fx) == sim_rows(server, EURUSD_ID, 3, "IDEALPRO", l2=False))


async def test_ib_async_depth_exchanges_and_the_limit(server: SimServer, ib: IB) -> None:
    got = await ib.reqMktDepthExchangesAsync()
    assert [(d.exchange, d.secType, d.serviceDataType, d.aggGroup) for d in got] == [
        (d.exchange, d.secType, d.serviceDataType, d.aggGroup) for d in DEPTH_EXCHANGES]
    errors: list[tuple[int, int]] = []
    ib.errorEvent += lambda reqId, code, text, contract: errors.append((reqId, code))
    stocks = await ib.qualifyContractsAsync(
        *(Stock(symbol, "ISLAND", "USD") for symbol in ("AAPL", "MSFT", "INTC", "AMD")))
    for stock in stocks:
        ib.reqMktDepth(stock, numRows=1)
    await until(lambda: any(code == 309 for _, code in errors))
    assert [code for _, code in errors] == [309]


# ---------------------------------------------------------------- ibapi


class DepthApp(EWrapper, EClient):  # type: ignore[misc]
    """Keeps each request's book as IB's samples do: rows shift on insert/delete."""

    def __init__(self) -> None:
        EWrapper.__init__(self)
        EClient.__init__(self, wrapper=self)
        self.books: dict[int, tuple[Rows, Rows]] = {}
        self.kinds: dict[int, set[str]] = {}
        self.smart: dict[int, set[bool]] = {}
        self.exchanges: list[Any] = []
        self.errors: list[tuple[int, int, str]] = []
        self.ready = threading.Event()
        self.lock = threading.Lock()

    def error(self, reqId: int, errorTime: int, errorCode: int, errorString: str,
              advancedOrderRejectJson: str = "") -> None:
        self.errors.append((reqId, errorCode, errorString))

    def nextValidId(self, orderId: int) -> None:
        self.ready.set()

    def _row(self, reqId: int, position: int, mm: str, operation: int, side: int,
             price: float, size: Decimal) -> None:
        with self.lock:
            asks, bids = self.books.setdefault(reqId, ([], []))
            rows = asks if side == 0 else bids
            if operation == 0:
                rows.insert(position, (price, size, mm))
            elif operation == 1:
                rows[position] = (price, size, mm)
            else:
                del rows[position]

    def updateMktDepth(self, reqId: int, position: int, operation: int, side: int,
                       price: float, size: Decimal) -> None:
        self.kinds.setdefault(reqId, set()).add("updateMktDepth")
        self._row(reqId, position, "", operation, side, price, size)

    def updateMktDepthL2(self, reqId: int, position: int, marketMaker: str, operation: int,
                         side: int, price: float, size: Decimal, isSmartDepth: bool) -> None:
        self.kinds.setdefault(reqId, set()).add("updateMktDepthL2")
        self.smart.setdefault(reqId, set()).add(isSmartDepth)
        self._row(reqId, position, marketMaker, operation, side, price, size)

    def mktDepthExchanges(self, depthMktDataDescriptions: Any) -> None:
        self.exchanges = list(depthMktDataDescriptions)

    def book(self, reqId: int) -> tuple[Rows, Rows]:
        with self.lock:
            asks, bids = self.books.get(reqId, ([], []))
            return list(asks), list(bids)


def ib_contract(symbol: str, secType: str, exchange: str, currency: str) -> IBContract:
    c = IBContract()
    c.symbol, c.secType, c.exchange, c.currency = symbol, secType, exchange, currency
    return c


def wait_for(cond: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def ibapi_scenario(server: SimServer) -> list[str]:
    """Subscribe three books, follow them for a few seconds; the failures seen."""
    app = DepthApp()
    app.connect("127.0.0.1", server.port, clientId=5)
    reader = threading.Thread(target=app.run, daemon=True)
    reader.start()
    failed: list[str] = []
    try:
        if not app.ready.wait(WAIT):
            return ["no nextValidId"]
        app.reqMktDepth(1, ib_contract("AAPL", "STK", "SMART", "USD"), 5, True, [])
        app.reqMktDepth(2, ib_contract("AAPL", "STK", "ISLAND", "USD"), 4, False, [])
        app.reqMktDepth(3, ib_contract("EUR", "CASH", "IDEALPRO", "USD"), 3, False, [])
        app.reqMktDepthExchanges()
        expected: dict[int, Callable[[], tuple[Rows, Rows]]] = {
            1: lambda: sim_rows(server, AAPL_ID, 5),
            2: lambda: sim_rows(server, AAPL_ID, 4, "NASDAQ"),
            3: lambda: sim_rows(server, EURUSD_ID, 3, "IDEALPRO", l2=False),
        }
        for step in range(5):
            for req, want in expected.items():
                if not wait_for(lambda r=req, w=want: app.book(r) == w()):  # type: ignore[misc]
                    failed.append(f"step {step}: book {req} {app.book(req)} != {want()}")
            for req, con_id in ((1, AAPL_ID), (3, EURUSD_ID)):
                asks, bids = app.book(req)
                if asks and bids and (bids[0][0], bids[0][1], asks[0][0], asks[0][1]) != \
                        quote_top(server, con_id):
                    failed.append(f"step {step}: top of {req} is not the quote")
            server.simulator.clock.advance(1)
        if not wait_for(lambda: bool(app.exchanges)):
            failed.append("no mktDepthExchanges")
        app.cancelMktDepth(2, False)
        app.cancelMktDepth(9, False)
        if not wait_for(lambda: any(code == 310 for _, code, _ in app.errors)):
            failed.append(f"no 310 for an unknown cancel: {app.errors}")
    finally:
        app.disconnect()
        reader.join(WAIT)
    if app.kinds != {1: {"updateMktDepthL2"}, 2: {"updateMktDepthL2"}, 3: {"updateMktDepth"}}:
        failed.append(f"message kinds {app.kinds}")
    if app.smart != {1: {True}, 2: {False}}:
        failed.append(f"isSmartDepth {app.smart}")
    got = [(d.exchange, d.secType, d.listingExch, d.serviceDataType, d.aggGroup)
           for d in app.exchanges]
    if got != [(d.exchange, d.secType, d.listingExch, d.serviceDataType, d.aggGroup)
               for d in DEPTH_EXCHANGES]:
        failed.append(f"mktDepthExchanges {got}")
    if [(r, c) for r, c, _ in app.errors if c < 2100] != [(9, 310)]:
        failed.append(f"errors {app.errors}")
    return failed


async def test_ibapi_books_equal_the_simulators_and_top_the_quote(server: SimServer) -> None:
    failed = await asyncio.to_thread(ibapi_scenario, server)
    assert failed == []
