"""Prices of the wide universe: every listed instrument, venue sessions, crosses, CFDs, indices."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from twsbridge.sim.market.anchors import ANCHOR_DATE, LISTED_ANCHORS, anchor_of
from twsbridge.sim.market.prices import DERIVED_DISPATCH, PriceModel
from twsbridge.sim.market.profiles import cfd_underlying, cross_legs, kind_of
from twsbridge.sim.reference.book import UniverseBook
from twsbridge.sim.reference.instruments import INSTRUMENTS, InstrumentBook
from twsbridge.sim.reference.universe import listed_instruments

ET = ZoneInfo("US/Eastern")
LISTED = listed_instruments()
MODEL = PriceModel(0)
BY_KEY = {(i.secType, i.localSymbol, i.currency): i for i in LISTED}


def _inst(sec: str, local: str, ccy: str) -> int:
    return BY_KEY[(sec, local, ccy)].conId


def test_every_listed_instrument_quotes_and_bars() -> None:
    when = dt.datetime(2026, 3, 3, 10, 30, tzinfo=ET)  # Europe open, Asia closed, US open
    for inst in LISTED:
        q = MODEL.quote(inst.conId, when)
        assert q.last > 0 and q.low <= q.high, inst.localSymbol
        if inst.secType == "IND":
            assert (q.bid, q.ask, q.bidSize, q.askSize, q.volume) == (-1, -1, 0, 0, 0)
        else:
            assert 0 < q.bid < q.ask and q.bidSize > 0, inst.localSymbol
        bars = MODEL.daily(inst.conId, dt.date(2026, 3, 2))
        assert bars[-1].date <= dt.date(2026, 3, 2)
        assert all(b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high
                   for b in bars[-300:]), inst.localSymbol


def test_every_own_series_has_an_anchor_met_on_its_last_2024_day() -> None:
    for inst in LISTED:
        if kind_of(inst) != "own":
            continue
        level = anchor_of(inst.conId)
        assert level is not None, inst.localSymbol
        ser = MODEL.series(inst.conId, ANCHOR_DATE)
        assert ser.close[-1] == pytest.approx(level, abs=inst.minTick), inst.localSymbol
    assert not set(LISTED_ANCHORS) & {i.conId for i in INSTRUMENTS}


@pytest.mark.parametrize("pair", ["EUR.GBP", "EUR.JPY", "CHF.JPY", "GBP.CHF", "EUR.AUD"])
def test_crosses_agree_with_their_usd_legs_at_every_second(pair: str) -> None:
    cross = next(i for i in LISTED if i.localSymbol == pair)
    legs = cross_legs(cross)
    assert legs is not None
    start = int(dt.datetime(2026, 3, 3, 3, 0, tzinfo=ET).timestamp())
    for epoch in range(start, start + 7200, 97):
        t = dt.datetime.fromtimestamp(epoch, ET)
        usd = [MODEL.price_at(leg.conId, t) ** (1 if direct else -1) for leg, direct in legs]
        expected = round(usd[0] / usd[1] / cross.minTick) * cross.minTick
        q = MODEL.quote(cross.conId, t)
        assert q.last == pytest.approx(expected, abs=1e-9)
        assert q.bid <= q.last < q.ask


def test_cfds_quote_their_underlying() -> None:
    t = dt.datetime(2026, 3, 3, 11, 15, 7, tzinfo=ET)
    for inst in LISTED:
        under = cfd_underlying(inst)
        if under is None:
            continue
        want = round(MODEL.price_at(under.conId, t) / inst.minTick) * inst.minTick
        assert MODEL.price_at(inst.conId, t) == pytest.approx(want, abs=1e-9), inst.symbol
    assert cfd_underlying(BY_KEY[("CFD", "IBUS500", "USD")]).symbol == "SPX"


@pytest.mark.parametrize(("local", "ccy", "zone", "lunch"), [
    ("700", "HKD", "Asia/Hong_Kong", ((12, 0), (13, 0))),
    ("7203", "JPY", "Asia/Tokyo", ((11, 30), (12, 30))),
])
def test_asian_paths_hold_still_through_the_lunch_break(
        local: str, ccy: str, zone: str, lunch: tuple[tuple[int, int], tuple[int, int]]) -> None:
    con_id = _inst("STK", local, ccy)
    day = dt.date(2026, 3, 3)
    path = MODEL.path(con_id, day)
    assert path is not None
    tz = ZoneInfo(zone)
    (h0, m0), (h1, m1) = lunch
    b0 = int(dt.datetime(2026, 3, 3, h0, m0, tzinfo=tz).timestamp()) - path.start
    b1 = int(dt.datetime(2026, 3, 3, h1, m1, tzinfo=tz).timestamp()) - path.start
    assert (path.volumes[b0:b1] == 0).all()
    assert len(set(path.prices[b0:b1].tolist())) == 1
    assert path.volumes[:b0].sum() > 0 and path.volumes[b1:].sum() > 0
    assert int(path.volumes.sum()) == MODEL.daily_bar(con_id, day).volume
    opened = dt.datetime.fromtimestamp(path.start + path.rth_start, tz)
    assert (opened.hour, opened.minute) == ((9, 30) if zone == "Asia/Hong_Kong" else (9, 0))
    # a quote at 13:30 local is on that day's path (the trading day is the venue's date)
    t = dt.datetime(2026, 3, 3, 13, 30, tzinfo=tz)
    assert MODEL.quote(con_id, t).last == path.prices[int(t.timestamp()) - path.start]


def test_an_index_follows_its_cash_market_and_has_no_volume() -> None:
    dax = _inst("IND", "DAX", "EUR")
    path = MODEL.path(dax, dt.date(2026, 3, 3))
    assert path is not None
    berlin = ZoneInfo("Europe/Berlin")
    first = dt.datetime.fromtimestamp(path.start, berlin)
    last = dt.datetime.fromtimestamp(path.end, berlin)
    assert (first.hour, last.hour, last.minute) == (9, 17, 30)
    assert not np.any(path.volumes)


def test_derivatives_are_dispatched_to_the_derived_pricer() -> None:
    book = UniverseBook(dt.date(2026, 3, 2))
    model = PriceModel(0, book)
    fut = book.match(symbol="ES", secType="FUT")[0]
    with pytest.raises(KeyError, match=DERIVED_DISPATCH):
        model.quote(fut.conId, dt.datetime(2026, 3, 2, 10, tzinfo=ET))


def test_the_original_instruments_are_priced_as_in_the_small_book() -> None:
    small = PriceModel(3, InstrumentBook(INSTRUMENTS))
    wide = PriceModel(3, UniverseBook(dt.date(2026, 3, 2)))
    for t in (dt.datetime(2013, 3, 1, 9, 45, tzinfo=ET), dt.datetime(2026, 3, 3, 15, 0, tzinfo=ET)):
        for inst in INSTRUMENTS:
            assert small.quote(inst.conId, t) == wide.quote(inst.conId, t)
