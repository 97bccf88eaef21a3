"""The market depth family on the wire: reqMktDepth (10) / cancelMktDepth (11) →
updateMktDepth (12) / updateMktDepthL2 (13), reqMktDepthExchanges (82) →
mktDepthExchanges (80), and TWS's refusals (200, 309, 310, 322, 10092)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from twsbridge.protocol import Contract, incoming, outgoing
from twsbridge.protocol.catalogue import depth as wire
from twsbridge.sim.gateway.families.depth import DEPTH_EXCHANGES, Depth, depth_model
from twsbridge.sim.market.depth import (
    ASK,
    BID,
    INSERT,
    MARKET_MAKERS,
    STOCK_VENUES,
    DepthRow,
    DepthUpdate,
    apply_depth_updates,
)

from .test_faults_wire import Client, errors, serve, sim_at
from .test_session import Wire, frozen_sim

SMART_AAPL = Contract(symbol="AAPL", secType="STK", exchange="SMART", currency="USD")
EURUSD = Contract(symbol="EUR", secType="CASH", exchange="IDEALPRO", currency="USD")
AAPL_ID, EURUSD_ID = 265598, 12087792
DEPTH = (wire.UpdateMktDepth, wire.UpdateMktDepthL2)


def stock(symbol: str, exchange: str) -> Contract:
    return Contract(symbol=symbol, secType="STK", exchange=exchange, currency="USD")


def rows_of(events: list[Any], req_id: int) -> list[Any]:
    return [e for e in events if isinstance(e, DEPTH) and e.reqId == req_id]


def as_update(m: Any) -> DepthUpdate:
    return DepthUpdate(m.position, m.operation, m.side, m.price, m.size,
                       getattr(m, "marketMaker", ""))


class Books:
    """A client's books of one request, kept both ways clients keep them: rows
    shifted on insert/delete (IB's samples) and a dict by position (ib_async)."""

    def __init__(self) -> None:
        self.asks: list[DepthRow] = []
        self.bids: list[DepthRow] = []
        self.by_pos: dict[int, dict[int, DepthRow]] = {ASK: {}, BID: {}}

    def apply(self, msgs: list[Any]) -> None:
        updates = [as_update(m) for m in msgs]
        apply_depth_updates(self.asks, self.bids, updates)
        for u in updates:
            side = self.by_pos[u.side]
            if u.operation == 2:
                side.pop(u.position)
            else:
                side[u.position] = DepthRow(u.price, u.size, u.marketMaker)

    def keyed(self, side: int) -> list[DepthRow]:
        return list(self.by_pos[side].values())


@pytest.fixture
def w() -> Wire:
    wire_ = Wire(frozen_sim())
    wire_.connect()
    return wire_


def model_rows(w: Wire, con_id: int, n: int) -> tuple[list[DepthRow], list[DepthRow]]:
    book = depth_model(w.sim.prices).book(con_id, w.sim.clock.now(), n)
    return book.rows(ASK, n), book.rows(BID, n)


def test_smart_depth_is_the_models_book_as_inserts_and_its_top_is_the_quote(w: Wire) -> None:
    got = rows_of(w.send(wire.ReqMktDepth(reqId=7, contract=SMART_AAPL, numRows=4,
                                          isSmartDepth=True)), 7)
    assert all(isinstance(m, wire.UpdateMktDepthL2) and m.isSmartDepth for m in got)
    assert all(m.operation == INSERT for m in got)
    for side in (ASK, BID):
        assert [m.position for m in got if m.side == side] == [0, 1, 2, 3]
    books = Books()
    books.apply(got)
    asks, bids = model_rows(w, AAPL_ID, 4)
    assert (books.asks, books.bids) == (asks, bids)
    assert {r.marketMaker for r in asks + bids} <= set(STOCK_VENUES)
    q = w.sim.prices.quote(AAPL_ID, w.sim.clock.now())
    assert (books.bids[0].price, books.bids[0].size) == (q.bid, q.bidSize)
    assert (books.asks[0].price, books.asks[0].size) == (q.ask, q.askSize)
    assert [r.price for r in books.bids] == sorted((r.price for r in books.bids), reverse=True)
    assert [r.price for r in books.asks] == sorted(r.price for r in books.asks)


def test_the_top_rows_equal_reqmktdata_at_the_same_instant(w: Wire) -> None:
    events = w.send(outgoing.ReqMktData(reqId=1, contract=SMART_AAPL))
    events += w.send(wire.ReqMktDepth(reqId=2, contract=SMART_AAPL, numRows=1,
                                      isSmartDepth=True))
    ticks = {e.tickType: e for e in events
             if isinstance(e, incoming.TickPrice | incoming.TickSize) and e.reqId == 1}
    top = {m.side: m for m in rows_of(events, 2)}
    assert top[BID].price == ticks[1].price and top[ASK].price == ticks[2].price
    assert top[BID].size == ticks[0].size and top[ASK].size == ticks[3].size


def test_island_depth_names_market_makers(w: Wire) -> None:
    got = rows_of(w.send(wire.ReqMktDepth(reqId=3, contract=stock("AAPL", "ISLAND"),
                                          numRows=6)), 3)
    assert got and all(isinstance(m, wire.UpdateMktDepthL2) and not m.isSmartDepth
                       for m in got)
    assert {m.marketMaker for m in got} <= set(MARKET_MAKERS)
    book = depth_model(w.sim.prices).book(AAPL_ID, w.sim.clock.now(), 50)
    books = Books()
    books.apply(got)
    assert books.asks == book.venue_rows("NASDAQ", ASK, 6)
    assert books.bids == book.venue_rows("ISLAND", BID, 6)
    assert len(books.asks) == len(books.bids) == 6  # numRows honoured


def test_one_exchange_without_market_makers_is_updatemktdepth(w: Wire) -> None:
    got = rows_of(w.send(wire.ReqMktDepth(reqId=4, contract=stock("AAPL", "ARCA"),
                                          numRows=3)), 4)
    assert got and all(type(m) is wire.UpdateMktDepth for m in got)
    book = depth_model(w.sim.prices).book(AAPL_ID, w.sim.clock.now(), 50)
    books = Books()
    books.apply(got)
    assert [(r.price, r.size) for r in books.bids] == [
        (r.price, r.size) for r in book.venue_rows("ARCA", BID, 3)]
    q = w.sim.prices.quote(AAPL_ID, w.sim.clock.now())
    assert books.bids[0].price <= q.bid and books.asks[0].price >= q.ask  # at or behind


def test_forex_depth_on_idealpro_is_the_quote_at_the_top(w: Wire) -> None:
    got = rows_of(w.send(wire.ReqMktDepth(reqId=5, contract=EURUSD, numRows=5)), 5)
    assert got and all(type(m) is wire.UpdateMktDepth for m in got)
    books = Books()
    books.apply(got)
    q = w.sim.prices.quote(EURUSD_ID, w.sim.clock.now())
    assert (books.bids[0].price, books.bids[0].size) == (q.bid, q.bidSize)
    assert (books.asks[0].price, books.asks[0].size) == (q.ask, q.askSize)
    assert len(books.bids) == len(books.asks) == 5
    assert all(r.size % 100_000 == 0 for r in books.bids + books.asks)


@pytest.mark.parametrize(("contract", "smart"), [
    (SMART_AAPL, True), (stock("AAPL", "ISLAND"), False), (stock("SPY", "ARCA"), False),
    (EURUSD, False)])
def test_updates_keep_both_kinds_of_client_book_equal_to_the_model(
        w: Wire, contract: Contract, smart: bool) -> None:
    w.send(outgoing.ReqMktData(reqId=1, contract=contract))
    books = Books()
    books.apply(rows_of(w.send(wire.ReqMktDepth(reqId=9, contract=contract, numRows=8,
                                                isSmartDepth=smart)), 9))
    assert rows_of(w.poll(), 9) == []  # nothing new within the second
    line = w.session.families[-1].lines[9]  # type: ignore[attr-defined]
    changed = 0
    for _ in range(12):
        w.sim.clock.advance(1.0)
        msgs = rows_of(w.poll(), 9)
        changed += bool(msgs)
        books.apply(msgs)
        asks, bids = line.rows(depth_model(w.sim.prices), w.sim.clock.now())
        assert (books.asks, books.bids) == (asks, bids)
        assert (books.keyed(ASK), books.keyed(BID)) == (asks, bids)
        if smart or contract is EURUSD:
            q = w.sim.prices.quote(line.conId, w.sim.clock.now())
            assert (bids[0].price, bids[0].size, asks[0].price, asks[0].size) == (
                q.bid, q.bidSize, q.ask, q.askSize)
    assert changed >= 6  # the book moves


def test_cancel_stops_the_rows_and_an_unknown_cancel_is_310(w: Wire) -> None:
    w.send(wire.ReqMktDepth(reqId=3, contract=SMART_AAPL, numRows=3, isSmartDepth=True))
    assert w.send(wire.CancelMktDepth(reqId=3, isSmartDepth=True)) == []
    w.sim.clock.advance(30)
    assert rows_of(w.poll(), 3) == []
    [err] = w.send(wire.CancelMktDepth(reqId=3))
    assert (err.reqId, err.errorCode, err.errorString) == (
        3, 310, "Can't find the subscribed market depth with tickerId:3")


def test_refusals_duplicate_unknown_and_no_depth_there(w: Wire) -> None:
    w.send(wire.ReqMktDepth(reqId=1, contract=SMART_AAPL, numRows=3, isSmartDepth=True))
    [dup] = w.send(wire.ReqMktDepth(reqId=1, contract=EURUSD, numRows=3))
    assert (dup.reqId, dup.errorCode) == (1, 322) and "Duplicate ticker id" in dup.errorString
    [unknown] = w.send(wire.ReqMktDepth(reqId=2, contract=stock("NOPE", "SMART"), numRows=3))
    assert (unknown.reqId, unknown.errorCode) == (2, 200)
    for req_id, contract in ((3, SMART_AAPL), (4, stock("AAPL", "AMEX"))):
        [err] = w.send(wire.ReqMktDepth(reqId=req_id, contract=contract, numRows=3))
        assert (err.reqId, err.errorCode, err.errorString) == (
            req_id, 10092,
            "Deep market data is not supported for this combination of security "
            "type/exchange")


def test_three_securities_at_most_but_more_books_of_one(w: Wire) -> None:
    for req_id, contract, smart in ((1, SMART_AAPL, True), (2, stock("AAPL", "ISLAND"), False),
                                    (3, stock("AAPL", "ARCA"), False),
                                    (4, stock("IBM", "NYSE"), False), (5, EURUSD, False)):
        events = w.send(wire.ReqMktDepth(reqId=req_id, contract=contract, numRows=2,
                                         isSmartDepth=smart))
        assert errors(events) == [] and rows_of(events, req_id)
    [err] = w.send(wire.ReqMktDepth(reqId=6, contract=stock("SPY", "ARCA"), numRows=2))
    assert (err.reqId, err.errorCode, err.errorString) == (
        6, 309, "Max number (3) of market depth requests has been reached")
    more = w.send(wire.ReqMktDepth(reqId=7, contract=stock("IBM", "ARCA"), numRows=2))
    assert errors(more) == []  # a security that has depth already
    w.send(wire.CancelMktDepth(reqId=5))
    again = w.send(wire.ReqMktDepth(reqId=8, contract=stock("SPY", "ARCA"), numRows=2))
    assert errors(again) == [] and rows_of(again, 8)


def test_the_limit_is_per_client(w: Wire) -> None:
    other = Wire(w.sim)
    other.connect(2)
    for req_id, symbol in enumerate(("AAPL", "IBM", "MSFT"), 1):
        assert errors(w.send(wire.ReqMktDepth(reqId=req_id, contract=stock(symbol, "ISLAND"),
                                              numRows=1))) == []
    events = other.send(wire.ReqMktDepth(reqId=1, contract=stock("SPY", "ARCA"), numRows=1))
    assert errors(events) == [] and rows_of(events, 1)


def test_numrows_beyond_the_model_is_served_its_most(w: Wire) -> None:
    got = rows_of(w.send(wire.ReqMktDepth(reqId=1, contract=SMART_AAPL, numRows=500,
                                          isSmartDepth=True)), 1)
    assert len([m for m in got if m.side == ASK]) == 50


def test_depth_exchanges_list_every_venue_with_its_service_type(w: Wire) -> None:
    [answer] = w.send(wire.ReqMktDepthExchanges())
    assert isinstance(answer, wire.MktDepthExchanges)
    got = {(d.exchange, d.secType): (d.serviceDataType, d.aggGroup)
           for d in answer.depthMktDataDescriptions}
    assert got[("ISLAND", "STK")] == ("Deep2", 1)
    assert got[("ARCA", "STK")] == ("Deep", 1)
    assert got[("IDEALPRO", "CASH")] == ("Deep", 4)
    assert len(got) == len(DEPTH_EXCHANGES) == len(STOCK_VENUES) + 1
    for d in answer.depthMktDataDescriptions:  # every listed exchange serves depth
        contract = EURUSD if d.secType == "CASH" else stock("AAPL", d.exchange)
        req = 100 + len(w.session.families[-1].lines)  # type: ignore[attr-defined]
        events = w.send(wire.ReqMktDepth(reqId=req, contract=contract, numRows=2))
        assert errors(events) == [] and rows_of(events, req), d
        w.send(wire.CancelMktDepth(reqId=req))


def test_depth_is_registered_and_holds_no_state_after_close(w: Wire) -> None:
    fam = w.session.families[-1]
    assert isinstance(fam, Depth)
    w.send(wire.ReqMktDepth(reqId=1, contract=SMART_AAPL, numRows=2, isSmartDepth=True))
    w.session.close()
    assert fam.lines == {}


async def test_real_socket_depth_is_silent_during_1100_and_dropped_at_1101() -> None:
    sim = sim_at(speed=20.0)
    async with serve(sim) as server:
        c = await Client.connected(server.port)
        mark = c.send(wire.ReqMktDepth(reqId=1, contract=SMART_AAPL, numRows=5,
                                       isSmartDepth=True))
        await c.until(lambda ev: len({m.operation for m in rows_of(ev[mark:], 1)}) > 1)
        books = Books()
        books.apply(rows_of(c.events[mark:], 1))
        assert len(books.asks) == len(books.bids) == 5
        lost = asyncio.create_task(sim.faults.connectivity_loss(0.3, data_lost=True))
        await c.until(lambda ev: errors(ev, 1101))
        i, j = (c.events.index(errors(c.events, code)[0]) for code in (1100, 1101))
        assert rows_of(c.events[i + 1:j], 1) == []
        await lost
        assert rows_of(await c.collect(0.2), 1) == []  # dropped
        again = await c.ask(wire.ReqMktDepth(reqId=1, contract=SMART_AAPL, numRows=5,
                                             isSmartDepth=True),
                            lambda ev: len(rows_of(ev, 1)) >= 10)
        assert errors(again) == []  # the id is free: not a duplicate
        assert [m.operation for m in rows_of(again, 1)][:10] == [INSERT] * 10
        await c.close()


def test_depth_rows_sizes_are_decimal_round_lots(w: Wire) -> None:
    got = rows_of(w.send(wire.ReqMktDepth(reqId=1, contract=stock("IBM", "NYSE"),
                                          numRows=5)), 1)
    assert got and all(isinstance(m.size, Decimal) and m.size % 100 == 0 for m in got)


def test_no_rows_within_one_second(w: Wire) -> None:
    w.send(wire.ReqMktDepth(reqId=1, contract=EURUSD, numRows=5))
    assert w.sim.clock.now().microsecond == 0
    w.sim.clock.advance(0.5)
    assert rows_of(w.poll(), 1) == []  # the book of a second is sent once
    w.sim.clock.advance(0.5)
    assert rows_of(w.poll(), 1) != []


def test_a_competing_session_stops_depth_and_a_new_request_gets_10197(w: Wire) -> None:
    w.send(wire.ReqMktDepth(reqId=1, contract=EURUSD, numRows=3))
    asyncio.run(w.sim.faults.competing_session())
    w.sim.clock.advance(5)
    assert rows_of(w.poll(), 1) == []
    events = w.send(wire.ReqMktDepth(reqId=2, contract=SMART_AAPL, numRows=3,
                                     isSmartDepth=True))
    assert [(e.reqId, e.errorCode) for e in errors(events)] == [(2, 10197)]
    assert rows_of(events, 2) == []
    w.sim.faults.end_competing_session()
    after = w.poll()
    assert {m.operation for m in rows_of(after, 2)} == {INSERT}  # its book, from empty
    assert rows_of(after, 1) and INSERT not in {m.operation for m in rows_of(after, 1)}
