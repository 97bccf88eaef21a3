"""The simulated order book: top of book = the quote, tick grid, venues, updates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twsbridge.sim.market.depth import (
    ASK,
    BID,
    DELETE,
    FOREX_VENUES,
    INSERT,
    LEVEL_PERIOD,
    MARKET_MAKERS,
    MAX_DEPTH_ROWS,
    STOCK_VENUES,
    UPDATE,
    DepthModel,
    DepthRow,
    DepthUpdate,
    apply_depth_updates,
    book_updates,
    depth_updates,
)
from twsbridge.sim.market.prices import PriceModel
from twsbridge.sim.reference.calendar import SIM_TZ
from twsbridge.sim.reference.instruments import InstrumentBook

AAPL, AMD, IBM, SPY, EURUSD, USDJPY = 265598, 4391, 8314, 756733, 12087792, 15016059
CONIDS = [AAPL, AMD, IBM, SPY, EURUSD, USDJPY]
PRICES = PriceModel(0, InstrumentBook())
DEPTH = DepthModel(PRICES)
T0 = dt.datetime(2013, 3, 1, 10, 0, tzinfo=SIM_TZ)
E0 = int(T0.timestamp())
# 2013-02-28 04:00 .. 2013-03-01 20:00 US/Eastern: pre-market, regular, post-market, overnight
_TIMES = st.integers(int(dt.datetime(2013, 2, 28, 4, 0, tzinfo=SIM_TZ).timestamp()),
                     int(dt.datetime(2013, 3, 1, 20, 0, tzinfo=SIM_TZ).timestamp()))
_SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _at(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, SIM_TZ)


@_SLOW
@given(conid=st.sampled_from(CONIDS), epoch=_TIMES, frac=st.floats(0, 0.999),
       rows=st.integers(1, 20))
def test_top_of_book_is_the_quote(conid: int, epoch: int, frac: float, rows: int) -> None:
    t = _at(epoch) + dt.timedelta(seconds=frac)
    q = PRICES.quote(conid, t)
    book = DEPTH.book(conid, t, rows)
    assert book.time == epoch
    bid, ask = book.rows(BID)[0], book.rows(ASK)[0]
    assert (bid.price, bid.size) == (q.bid, q.bidSize)
    assert (ask.price, ask.size) == (q.ask, q.askSize)
    assert (book.bids[0].price, book.asks[0].price) == (q.bid, q.ask)
    assert len(book.asks) == rows and 1 <= len(book.bids) <= rows


@_SLOW
@given(conid=st.sampled_from(CONIDS), epoch=_TIMES)
def test_levels_are_on_the_tick_grid_monotone_and_in_round_lots(conid: int, epoch: int) -> None:
    inst = PRICES.instrument(conid)
    book = DEPTH.book(conid, epoch, 15)
    lot = 100_000 if inst.is_forex else 100
    assert book.lot == lot
    venues = FOREX_VENUES if inst.is_forex else STOCK_VENUES
    for side in (book.bids, book.asks):
        for lv in side:
            assert lv.price == pytest.approx(lv.tick * inst.minTick, abs=1e-9)
            assert round(lv.price / inst.minTick) == lv.tick
            assert lv.lots >= 1 and sum(k for _, k in lv.parts) == lv.lots
            assert all(k >= 1 and v in venues for v, k in lv.parts)
            assert len({v for v, _ in lv.parts}) == len(lv.parts)
            assert [k for _, k in lv.parts] == sorted((k for _, k in lv.parts), reverse=True)
    assert all(a.tick < b.tick for a, b in zip(book.asks, book.asks[1:], strict=False))
    assert all(a.tick > b.tick for a, b in zip(book.bids, book.bids[1:], strict=False))
    assert book.bids[0].tick < book.asks[0].tick
    assert book.bids[-1].price >= inst.minTick
    for row in book.rows(BID) + book.rows(ASK):
        assert row.size % lot == 0 and row.size > 0


@_SLOW
@given(conid=st.sampled_from(CONIDS), epoch=_TIMES)
def test_aggregated_rows_are_the_sum_of_the_venue_rows(conid: int, epoch: int) -> None:
    book = DEPTH.book(conid, epoch, 8)
    for side in (ASK, BID):
        agg = book.rows(side)
        by_venue = book.rows(side, by_venue=True)
        assert len(by_venue) >= len(agg)
        for row in agg:
            parts = [r for r in by_venue if r.price == row.price]
            assert sum(r.size for r in parts) == row.size
            assert row.marketMaker == parts[0].marketMaker  # the venue holding most
            assert parts[0].size == max(r.size for r in parts)
        assert len(book.rows(side, 3, by_venue=True)) == 3


def test_smart_depth_names_the_us_exchanges_and_forex_idealpro() -> None:
    seen = set()
    for k in range(30):
        book = DEPTH.book(AAPL, E0 + k, 10)
        seen |= {r.marketMaker for s in (ASK, BID) for r in book.rows(s, by_venue=True)}
    assert {"NASDAQ", "ARCA", "BATS", "IEX", "EDGX"} <= seen <= set(STOCK_VENUES)
    assert DEPTH.venues(IBM)[0] == "NYSE" and DEPTH.venues(SPY)[0] == "ARCA"
    assert DEPTH.venues(AAPL)[0] == "NASDAQ"
    fx = DEPTH.book(EURUSD, E0, 10)
    assert {r.marketMaker for r in fx.rows(BID) + fx.rows(ASK)} == {"IDEALPRO"}


@pytest.mark.parametrize("conid", [AAPL, SPY, EURUSD])
def test_one_exchanges_book_is_its_part_of_the_smart_book(conid: int) -> None:
    q = PRICES.quote(conid, T0)
    for venue in DEPTH.venues(conid):
        book = DEPTH.book(conid, T0, 12)
        for side in (ASK, BID):
            rows = book.venue_rows(venue, side)
            levels = {lv.price: dict(lv.parts) for lv in book.side(side)}
            for r in rows:
                assert r.size == levels[r.price][venue] * book.lot
            if rows and side == BID:
                assert rows[0].price <= q.bid
            if rows and side == ASK:
                assert rows[0].price >= q.ask
            if venue == "NASDAQ":
                assert all(r.marketMaker in MARKET_MAKERS for r in rows)
                assert rows == book.venue_rows("ISLAND", side)
            else:
                assert all(r.marketMaker == venue for r in rows)
    assert DEPTH.book(conid, T0).venue_rows("NOWHERE", BID) == []


@pytest.mark.parametrize("conid", [AAPL, EURUSD])
def test_a_deeper_book_starts_with_the_shallower_one(conid: int) -> None:
    deep = DepthModel(PriceModel(0, InstrumentBook())).book(conid, T0, MAX_DEPTH_ROWS + 10)
    assert len(deep.asks) == MAX_DEPTH_ROWS
    for n in (1, 5, 10):
        fresh = DepthModel(PriceModel(0, InstrumentBook()))
        book = fresh.book(conid, T0, n)  # built for n rows, not cut from a deeper one
        assert book.bids == deep.bids[:n] and book.asks == deep.asks[:n]
        assert deep.rows(BID, n) == book.rows(BID)
        assert fresh.book(conid, T0, n + 3) == DEPTH.book(conid, T0, n + 3)  # built again
    for n in (MAX_DEPTH_ROWS, 7, 1):  # from the memo: cut from the deepest built
        assert DEPTH.book(conid, T0, n).bids == deep.bids[:n]


def test_book_is_deterministic_per_seed_and_differs_with_the_seed() -> None:
    again = DepthModel(PriceModel(0, InstrumentBook()))
    other = DepthModel(PriceModel(1, InstrumentBook()))
    differ = 0
    for k in range(0, 600, 20):
        a = DEPTH.book(AAPL, E0 + k, 10)
        assert again.book(AAPL, E0 + k, 10) == a
        b = other.book(AAPL, E0 + k, 10)
        differ += b.rows(BID) != a.rows(BID) or b.rows(ASK) != a.rows(ASK)
    assert differ == 30


def test_book_does_not_depend_on_what_was_built_before() -> None:
    """The memos change nothing: books built in another order are the same."""
    times = [E0 + k for k in range(0, 200, 7)]
    forward = DepthModel(PriceModel(0, InstrumentBook()))
    backward = DepthModel(PriceModel(0, InstrumentBook()))
    for conid in (AMD, AAPL):
        fwd = [forward.book(conid, t, 10) for t in times]
        bwd = [backward.book(conid, t, 10) for t in reversed(times)][::-1]
        assert fwd == bwd


def test_the_book_changes_little_within_a_level_period() -> None:
    """Below the top, a level keeps its size for LEVEL_PERIOD seconds: most
    prices quoted in two consecutive seconds have the same size in both."""
    kept = total = 0
    for k in range(60):
        a, b = DEPTH.book(AMD, E0 + k, 10), DEPTH.book(AMD, E0 + k + 1, 10)
        for sa, sb in ((a.bids, b.bids), (a.asks, b.asks)):
            top = {sa[0].tick, sb[0].tick}
            later = {lv.tick: lv.lots for lv in sb}
            for lv in sa:
                if lv.tick in later and lv.tick not in top:
                    total += 1
                    kept += later[lv.tick] == lv.lots
    assert total > 300
    assert kept / total > 1 - 2 / LEVEL_PERIOD


def _apply_by_position(rows: list[DepthRow], updates: list[DepthUpdate]) -> list[DepthRow]:
    """How ib_async applies updates: rows keyed by position, insert/update
    set the key, delete pops it."""
    by_pos = dict(enumerate(rows))
    for u in updates:
        if u.operation in (INSERT, UPDATE):
            by_pos[u.position] = DepthRow(u.price, u.size, u.marketMaker)
        else:
            by_pos.pop(u.position)
    return list(by_pos.values())


@_SLOW
@given(conid=st.sampled_from(CONIDS), epoch=_TIMES, gap=st.integers(1, 120),
       rows=st.integers(1, 12), by_venue=st.booleans())
def test_updates_turn_the_earlier_book_into_the_later(conid: int, epoch: int, gap: int,
                                                      rows: int, by_venue: bool) -> None:
    a, b = DEPTH.book(conid, epoch, rows), DEPTH.book(conid, epoch + gap, rows)
    old = (a.rows(ASK, rows, by_venue=by_venue), a.rows(BID, rows, by_venue=by_venue))
    new = (b.rows(ASK, rows, by_venue=by_venue), b.rows(BID, rows, by_venue=by_venue))
    ups = book_updates(old, new)
    asks, bids = list(old[0]), list(old[1])
    apply_depth_updates(asks, bids, ups)
    assert (asks, bids) == (list(new[0]), list(new[1]))
    for side in (ASK, BID):
        side_ups = [u for u in ups if u.side == side]
        assert _apply_by_position(list(old[side]), side_ups) == list(new[side])
    changed = sum(o != n for s in (ASK, BID) for o, n in zip(old[s], new[s], strict=False))
    assert sum(u.operation == UPDATE for u in ups) == changed
    assert book_updates(new, new) == []


_ROW = st.builds(DepthRow, st.sampled_from([1.0, 1.01, 1.02, 1.03]),
                 st.sampled_from([Decimal(100), Decimal(200)]), st.sampled_from(["A", "B"]))


@settings(max_examples=100, deadline=None)
@given(old=st.lists(_ROW, max_size=8), new=st.lists(_ROW, max_size=8),
       side=st.sampled_from([ASK, BID]))
def test_updates_of_any_two_row_lists(old: list[DepthRow], new: list[DepthRow],
                                      side: int) -> None:
    ups = depth_updates(old, new, side)
    rows = list(old)
    other: list[DepthRow] = []
    if side == ASK:
        apply_depth_updates(rows, other, ups)
    else:
        apply_depth_updates(other, rows, ups)
    assert rows == new and other == []
    assert _apply_by_position(list(old), ups) == new
    assert all(u.side == side for u in ups)
    inserts = [u.position for u in ups if u.operation == INSERT]
    deletes = [u.position for u in ups if u.operation == DELETE]
    assert inserts == list(range(len(old), len(new)))
    assert deletes == list(range(len(old) - 1, len(new) - 1, -1))
    for u in ups:
        if u.operation == DELETE:  # a delete carries the deleted row
            assert DepthRow(u.price, u.size, u.marketMaker) == old[u.position]


def test_apply_refuses_bad_positions_and_operations() -> None:
    row = DepthRow(1.0, Decimal(100), "A")
    with pytest.raises(IndexError):
        apply_depth_updates([], [], [DepthUpdate(1, INSERT, ASK, 1.0, Decimal(100), "A")])
    with pytest.raises(IndexError):
        apply_depth_updates([row], [], [DepthUpdate(1, UPDATE, ASK, 1.0, Decimal(100), "A")])
    with pytest.raises(IndexError):
        apply_depth_updates([], [row], [DepthUpdate(0, DELETE, ASK, 1.0, Decimal(100), "A")])
    with pytest.raises(ValueError, match="operation"):
        apply_depth_updates([row], [], [DepthUpdate(0, 3, ASK, 1.0, Decimal(100), "A")])


def test_bad_requests() -> None:
    with pytest.raises(ValueError, match="numRows"):
        DEPTH.book(AAPL, T0, 0)
    with pytest.raises(KeyError):
        DEPTH.book(1, T0)
    with pytest.raises(ValueError, match="side"):
        DEPTH.book(AAPL, T0).rows(2)
    assert DEPTH.book(AAPL, T0).rows(BID, 0) == []
