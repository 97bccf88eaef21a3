"""The synthetic market after the real data is anchored to real levels (issue 10)."""

from __future__ import annotations

import datetime as dt

import pytest

from twsbridge.sim.market.anchors import ANCHOR_DATE, ANCHORS, anchor_level
from twsbridge.sim.market.prices import DATA_END, PriceModel
from twsbridge.sim.reference.instruments import INSTRUMENTS, InstrumentBook

BOOK = InstrumentBook()


def test_every_instrument_has_an_anchor() -> None:
    assert {i.conId for i in INSTRUMENTS} == set(ANCHORS)


@pytest.mark.parametrize("seed", [0, 1, 7])
@pytest.mark.parametrize("con_id", sorted(ANCHORS))
def test_the_close_on_the_anchor_date_is_the_real_one(seed: int, con_id: int) -> None:
    bar = PriceModel(seed, BOOK).daily_bar(con_id, ANCHOR_DATE)
    assert bar is not None
    assert bar.close == pytest.approx(ANCHORS[con_id], abs=BOOK.by_conid(con_id).minTick)
    assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high


@pytest.mark.parametrize("seed", [0, 3])
def test_two_years_on_prices_stay_near_the_anchor(seed: int) -> None:
    model = PriceModel(seed, BOOK)
    for con_id, level in ANCHORS.items():
        ser = model.series(con_id, dt.date(2026, 12, 31))
        after = ser.close[ser.ords > ANCHOR_DATE.toordinal()]
        assert len(after) > 400
        assert (after > level / 2).all() and (after < level * 2).all(), con_id


def test_the_real_data_is_untouched_and_the_bridge_is_continuous() -> None:
    model = PriceModel(0, BOOK)
    aapl = 265598
    last_real = model.daily_bar(aapl, DATA_END)
    assert last_real is not None and last_real.real and last_real.close == 430.47
    ser = model.series(aapl, dt.date(2026, 12, 31))
    synthetic = ser.ords >= DATA_END.toordinal()  # from the last real close on
    closes = ser.close[synthetic]
    moves = abs((closes[1:] / closes[:-1]) - 1)
    assert len(moves) > 3000 and moves.max() < 0.15  # no jump onto the anchor path


def test_anchor_level_moves_geometrically_from_the_last_real_close() -> None:
    start, close = DATA_END, 100.0
    assert anchor_level(265598, close, start, start) == close
    assert anchor_level(265598, close, start, ANCHOR_DATE) == ANCHORS[265598]
    mid = start + (ANCHOR_DATE - start) / 2
    assert anchor_level(265598, close, start, mid) == pytest.approx(
        (close * ANCHORS[265598]) ** 0.5, rel=1e-3)
    assert anchor_level(1, close, start, mid) == close  # no anchor: the last real close
