"""TWSClient.reqMktDepth (a live OrderBook) and reqMktDepthExchanges against the
real simulator: the book equals the simulator's, follows its changes, resumes
after a drop and after 1101, and TWS's refusals raise."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from twsbridge.client import (
    Contract,
    DepthRow,
    DepthUpdate,
    Gap,
    OrderBook,
    ReconnectPolicy,
    TWSClient,
    TWSError,
)
from twsbridge.protocol.catalogue import depth as wire
from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.gateway.families.depth import Depth, depth_model
from twsbridge.sim.market.clock import REPLAY_START, SimClock
from twsbridge.sim.market.depth import ASK, BID

pytestmark = pytest.mark.timeout(10)

AAPL = Contract(symbol="AAPL", secType="STK", exchange="SMART", currency="USD")
EURUSD = Contract(symbol="EUR", secType="CASH", exchange="IDEALPRO", currency="USD")
AAPL_ID, EURUSD_ID = 265598, 12087792
FAST = ReconnectPolicy(initial=0.05, maximum=0.2, factor=2.0, jitter=0.1)


def stock(symbol: str, exchange: str) -> Contract:
    return Contract(symbol=symbol, secType="STK", exchange=exchange, currency="USD")


@pytest.fixture
async def frozen() -> AsyncIterator[SimServer]:
    """The simulator with a clock that moves only when a test moves it."""
    sim = Simulator(clock=SimClock(REPLAY_START, speed=0))
    async with SimServer(sim, port=0, poll_interval=0.01) as server:
        yield server


@pytest.fixture
async def ib(frozen: SimServer) -> AsyncIterator[TWSClient]:
    async with TWSClient("127.0.0.1", frozen.port, client_id=1, timeout=5,
                         reconnect=FAST) as client:
        yield client


def smart_rows(server: SimServer, con_id: int, n: int) -> tuple[list[DepthRow], list[DepthRow]]:
    """The simulator's SMART book now, as the client's rows."""
    sim = server.simulator
    book = depth_model(sim.prices).book(con_id, sim.clock.now(), n)
    return ([DepthRow(r.price, r.size, r.marketMaker) for r in book.rows(ASK, n)],
            [DepthRow(r.price, r.size, r.marketMaker) for r in book.rows(BID, n)])


async def until_equal(book: OrderBook, server: SimServer, con_id: int,
                      timeout: float = 5.0) -> list[DepthUpdate | Gap]:
    """Read ``book`` until its rows are the simulator's book now; the items read."""
    want = smart_rows(server, con_id, book.numRows)
    seen: list[DepthUpdate | Gap] = []
    async with asyncio.timeout(timeout):
        while (book.asks, book.bids) != want or book.unread:
            seen.append(await anext(book))
    return seen


def depth_lines(server: SimServer) -> dict[int, object]:
    """The depth lines of the one connected session."""
    [session] = [s for s in server.live_sessions if s.client_id is not None]
    [fam] = [f for f in session.families if isinstance(f, Depth)]
    return dict(fam.lines)


async def test_the_book_is_the_simulators_and_its_top_the_quote(
        frozen: SimServer, ib: TWSClient) -> None:
    async with ib.reqMktDepth(AAPL, numRows=5, isSmartDepth=True) as book:
        seen = await until_equal(book, frozen, AAPL_ID)
        assert len(seen) == 10 and all(isinstance(u, DepthUpdate) and u.operation == 0
                                       and u.isSmartDepth for u in seen)
        q = frozen.simulator.prices.quote(AAPL_ID, frozen.simulator.clock.now())
        assert book.bid is not None and book.ask is not None
        assert (book.bid.price, book.bid.size, book.ask.price, book.ask.size) == (
            q.bid, q.bidSize, q.ask, q.askSize)
        ticker = await ib.reqMktDataSnapshot(AAPL, "", False)
        assert (ticker.bid, ticker.ask) == (book.bid.price, book.ask.price)
        for _ in range(5):  # the book follows the simulator's
            frozen.simulator.clock.advance(1)
            await until_equal(book, frozen, AAPL_ID)
        assert book.updated is not None
    await ib.reqCurrentTime()  # answered after the cancel was processed
    assert depth_lines(frozen) == {}  # leaving `async with` sent cancelMktDepth


async def test_one_exchanges_book_has_no_market_makers_and_island_has(
        frozen: SimServer, ib: TWSClient) -> None:
    arca = ib.reqMktDepth(stock("AAPL", "ARCA"), numRows=3)
    island = ib.reqMktDepth(stock("AAPL", "ISLAND"), numRows=3)
    fx = ib.reqMktDepth(EURUSD, numRows=4)
    async with asyncio.timeout(5):
        while len(arca.asks) + len(arca.bids) < 6 or len(island.bids) < 3 or len(fx.bids) < 4:
            await asyncio.sleep(0.01)
    assert {r.marketMaker for r in arca.asks + arca.bids} == {""}
    assert all(r.marketMaker and r.marketMaker != "ISLAND" for r in island.asks + island.bids)
    q = frozen.simulator.prices.quote(EURUSD_ID, frozen.simulator.clock.now())
    assert fx.bid == DepthRow(q.bid, q.bidSize, "") and fx.ask == DepthRow(q.ask, q.askSize, "")
    for b in (arca, island, fx):
        await b.cancel()
    await ib.reqCurrentTime()
    assert depth_lines(frozen) == {}


async def test_refusals_raise_from_the_book(ib: TWSClient) -> None:
    books = [ib.reqMktDepth(stock(s, "ISLAND"), numRows=1) for s in ("AAPL", "MSFT", "INTC")]
    for b in books:
        await anext(b)
    with pytest.raises(TWSError) as limit:
        await anext(ib.reqMktDepth(stock("IBM", "NYSE"), numRows=1))
    assert limit.value.code == 309
    with pytest.raises(TWSError) as smart:
        await anext(ib.reqMktDepth(AAPL))  # SMART needs isSmartDepth
    assert smart.value.code == 10092
    with pytest.raises(TWSError) as unknown:
        await anext(ib.reqMktDepth(stock("NOPE", "ISLAND")))
    assert unknown.value.code == 200
    await books[0].cancel()
    ibm = ib.reqMktDepth(stock("IBM", "NYSE"), numRows=1)
    assert isinstance(await anext(ibm), DepthUpdate)  # a slot again
    for b in (*books[1:], ibm):
        await b.cancel()


async def test_depth_exchanges(ib: TWSClient) -> None:
    got = await ib.reqMktDepthExchanges()
    by = {(d.exchange, d.secType): d for d in got}
    assert by[("ISLAND", "STK")].serviceDataType == "Deep2"
    assert by[("IDEALPRO", "CASH")].serviceDataType == "Deep"
    assert by[("IDEALPRO", "CASH")].aggGroup == 4


async def test_a_drop_empties_and_rebuilds_the_book_after_a_gap(
        frozen: SimServer, ib: TWSClient) -> None:
    book = ib.reqMktDepth(AAPL, numRows=4, isSmartDepth=True)
    await until_equal(book, frozen, AAPL_ID)
    old = book.reqId
    await frozen.simulator.faults.drop_all()
    frozen.simulator.clock.advance(3)
    seen = await until_equal(book, frozen, AAPL_ID)
    assert isinstance(seen[0], Gap) and "connection to TWS lost" in seen[0].reason
    inserts = [u for u in seen[1:] if isinstance(u, DepthUpdate)]
    assert len(inserts) == 8 and {u.operation for u in inserts} == {0}  # rebuilt from empty
    assert book.reqId != old and list(depth_lines(frozen)) == [book.reqId]
    await book.cancel()


async def test_1101_sends_the_book_again_and_1102_keeps_it(
        frozen: SimServer, ib: TWSClient) -> None:
    book = ib.reqMktDepth(EURUSD, numRows=3)
    async with asyncio.timeout(5):
        while len(book.bids) < 3 or book.unread:
            await anext(book)
    old = book.reqId
    await frozen.simulator.faults.connectivity_loss(0.05, data_lost=True)
    items: list[DepthUpdate | Gap] = []
    async with asyncio.timeout(5):
        while not items or len(book.bids) < 3 or len(book.asks) < 3 or book.unread:
            items.append(await anext(book))
    assert isinstance(items[0], Gap) and "1101" in items[0].reason
    assert [u.operation for u in items[1:] if isinstance(u, DepthUpdate)] == [0] * 6
    assert book.reqId != old and list(depth_lines(frozen)) == [book.reqId]
    kept = book.reqId
    await frozen.simulator.faults.connectivity_loss(0.05, data_lost=False)
    frozen.simulator.clock.advance(1)
    async with asyncio.timeout(5):
        item = await anext(book)
        while not isinstance(item, DepthUpdate):
            item = await anext(book)
    assert book.reqId == kept and item.operation == 1  # rows updated in place
    await book.cancel()


async def test_317_resets_the_book_and_tws_rebuilds_it(
        frozen: SimServer, ib: TWSClient) -> None:
    book = ib.reqMktDepth(AAPL, numRows=2, isSmartDepth=True)
    await until_equal(book, frozen, AAPL_ID)
    [session] = [s for s in frozen.live_sessions if s.client_id is not None]
    session.error(book.reqId, 317, "Market depth data has been RESET. Please empty deep book "
                                   "contents before applying any new entries.")
    [fam] = [f for f in session.families if isinstance(f, Depth)]
    line = fam.lines[book.reqId]
    line.asks, line.bids, line.second = [], [], None  # TWS sends the book again
    gap = await anext(book)
    assert isinstance(gap, Gap) and "317" in gap.reason
    rebuilt = await until_equal(book, frozen, AAPL_ID)  # 8 rows had the reset not emptied it
    assert [u.operation for u in rebuilt if isinstance(u, DepthUpdate)] == [0] * 4
    assert not book.done and book.exception is None
    await book.cancel()


def test_rows_shift_on_insert_and_delete_as_tws_documents() -> None:
    def renew(rid: int | None) -> tuple[wire.ReqMktDepth, wire.CancelMktDepth]:
        assert rid is not None
        return wire.ReqMktDepth(reqId=rid), wire.CancelMktDepth(reqId=rid)

    book = OrderBook(1, AAPL, 5, False, renew)

    def op(position: int, operation: int, price: float, size: int = 100) -> None:
        book.feed(wire.UpdateMktDepthL2(reqId=1, position=position, marketMaker="MM",
                                        operation=operation, side=BID, price=price,
                                        size=Decimal(size)))

    op(0, 0, 10.0)
    op(0, 0, 10.5)  # a better bid in front: 10.0 moves down
    op(2, 0, 9.5)
    assert [r.price for r in book.bids] == [10.5, 10.0, 9.5]
    op(1, 1, 10.1, 300)
    assert book.bids[1] == DepthRow(10.1, Decimal(300), "MM")
    op(0, 2, 10.5)
    assert [r.price for r in book.bids] == [10.1, 9.5] and book.asks == []
    op(7, 2, 1.0)  # a delete past the end changes nothing
    op(9, 0, 9.0)  # an insert past the end appends
    assert [r.price for r in book.bids] == [10.1, 9.5, 9.0]
    msg = book.renew(2)
    assert isinstance(msg, wire.ReqMktDepth) and msg.reqId == 2 and book.bids == []
