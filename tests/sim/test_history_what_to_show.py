"""Every whatToShow of reqHistoricalData: which secType serves it, TWS's errors
for the others, and each value's bar semantics against the quotes and the
option model at the same instants."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from decimal import Decimal

import numpy as np
import pytest

from twsbridge.sim.market.bar_kinds import (
    ADJUSTED_LAST_END,
    FEE_RATE,
    REBATE_RATE,
    WHAT_TO_SHOW_BY_SEC_TYPE,
    HistoryError,
    implied_vol_level,
)
from twsbridge.sim.market.history import HistBar, bar_update, head_timestamp, historical_bars
from twsbridge.sim.market.option_pricing import OptionInputs, bsm_greeks, bsm_implied_vol
from twsbridge.sim.market.prices import PriceModel
from twsbridge.sim.market.schedule import Schedule, historical_schedule
from twsbridge.sim.market.vol_surface import ATM_REFERENCE_YEARS, VolSurface, preset_for_sec_type
from twsbridge.sim.reference.calendar import SIM_TZ

AAPL, AMD, EURUSD = 265598, 4391, 12087792
MODEL = PriceModel()
NOW = dt.datetime(2013, 3, 1, 10, 0, tzinfo=SIM_TZ)
HMDS = "Historical Market Data Service error message:"


def _et(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, s, tzinfo=SIM_TZ)


def _bars(what: str, conid: int = AAPL, *, now: dt.datetime = NOW, end: str = "",
          dur: str = "1 D", size: str = "1 day", rth: bool = True) -> list[HistBar]:
    return historical_bars(MODEL, conid, now=now, endDateTime=end, durationStr=dur,
                           barSizeSetting=size, whatToShow=what, useRTH=rth)[2]


def _error(what: str, conid: int = AAPL, **kw: object) -> HistoryError:
    with pytest.raises(HistoryError) as info:
        _bars(what, conid, **kw)  # type: ignore[arg-type]
    return info.value


# ------------------------------------------------------------ the table

def test_stocks_serve_every_stock_value_and_forex_no_trades() -> None:
    for what in sorted(WHAT_TO_SHOW_BY_SEC_TYPE["STK"] - {"SCHEDULE"}):
        assert _bars(what, size="1 hour"), what
    for what in ("MIDPOINT", "BID", "ASK", "BID_ASK"):
        assert _bars(what, EURUSD, size="1 hour"), what
    assert "TRADES" not in WHAT_TO_SHOW_BY_SEC_TYPE["CASH"]
    assert WHAT_TO_SHOW_BY_SEC_TYPE["CRYPTO"] >= {"AGGTRADES"}
    assert not any("AGGTRADES" in v for k, v in WHAT_TO_SHOW_BY_SEC_TYPE.items()
                   if k != "CRYPTO")


def test_forex_trades_is_tws_162_text() -> None:
    err = _error("TRADES", EURUSD)
    assert (err.code, err.message) == (
        162, HMDS + "No historical market data for EUR/CASH@FXSUBPIP Last 1d")
    err = _error("TRADES", EURUSD, dur="1800 S", size="5 mins")
    assert err.message == HMDS + "No historical market data for EUR/CASH@FXSUBPIP Last 300"
    for what in ("ADJUSTED_LAST", "HISTORICAL_VOLATILITY", "OPTION_IMPLIED_VOLATILITY",
                 "FEE_RATE", "AGGTRADES"):
        assert _error(what, EURUSD).code == 162, what


def test_aggtrades_is_crypto_only_and_unknown_values_are_321() -> None:
    err = _error("AGGTRADES")
    assert (err.code, err.message) == (
        162, HMDS + "No historical market data for AAPL/STK@SMART Aggtrades 1d")
    err = _error("CANDLES")
    assert (err.code, err.message) == (
        321, "Error validating request.-'bP' : cause - What to show value of CANDLES rejected.")
    assert _error("YIELD_BID").code == 162  # a bond value: no data for a stock


# ---------------------------------------------------------- quote kinds

def test_quote_bars_have_no_volume_and_follow_the_quotes() -> None:
    now = _et(2013, 3, 1, 11, 0)
    bars = {w: _bars(w, now=now, dur="600 S", size="1 min")
            for w in ("MIDPOINT", "BID", "ASK", "BID_ASK")}
    for what, bs in bars.items():
        assert all((b.volume, b.wap, b.barCount) == (Decimal(-1), Decimal(-1), -1)
                   for b in bs), what
    bar = bars["BID_ASK"][3]
    assert isinstance(bar.time, dt.datetime)
    quotes = [MODEL.quote(AAPL, bar.time + dt.timedelta(seconds=k)) for k in range(60)]
    bids, asks = [q.bid for q in quotes], [q.ask for q in quotes]
    assert bar.open == pytest.approx(sum(bids) / 60, abs=1e-4)  # time-average bid
    assert bar.high == max(asks) and bar.low == min(bids)
    assert bar.close == pytest.approx(sum(asks) / 60, abs=1e-4)  # time-average ask
    bid_bar, ask_bar = bars["BID"][3], bars["ASK"][3]
    assert (bid_bar.open, bid_bar.close) == (bids[0], bids[-1])
    assert (ask_bar.high, ask_bar.low) == (max(asks), min(asks))


# -------------------------------------------------------- ADJUSTED_LAST

def test_adjusted_last_needs_an_empty_end() -> None:
    err = _error("ADJUSTED_LAST", end="20130228 16:00:00")
    assert (err.code, err.message) == (321, ADJUSTED_LAST_END)


def test_adjusted_last_is_split_and_dividend_adjusted_trades() -> None:
    adj = {b.time: b for b in _bars("ADJUSTED_LAST", dur="10 Y")}
    raw = {b.time: b for b in _bars("TRADES", dur="10 Y")}
    assert adj.keys() == raw.keys()
    after = [d for d in raw if isinstance(d, dt.date) and d >= dt.date(2013, 2, 7)]
    assert after and all(adj[d] == raw[d] for d in after)  # no action since the ex-date
    before = dt.date(2005, 2, 25)  # AAPL split 2:1, effective 2005-02-28
    ratio = adj[before].close / raw[before].close
    ratio_next = adj[dt.date(2005, 2, 28)].close / raw[dt.date(2005, 2, 28)].close
    assert ratio == pytest.approx(ratio_next / 2, rel=1e-6)
    div = dt.date(2013, 2, 6)  # the day before the 2.65 USD ex-dividend date
    assert adj[div].close / raw[div].close == pytest.approx(1 - 2.65 / raw[div].close, rel=2e-3)
    assert all(adj[d].volume == raw[d].volume for d in raw)
    intraday = _bars("ADJUSTED_LAST", now=_et(2013, 3, 1, 12, 0), size="5 mins")
    assert intraday == _bars("TRADES", now=_et(2013, 3, 1, 12, 0), size="5 mins")


# ------------------------------------------------------------ volatility

def _hv_by_hand(closes: list[float], price: float) -> float:
    r = [math.log(b / a) for a, b in itertools.pairwise(closes)]
    r.append(math.log(price / closes[-1]))
    return math.sqrt(sum(x * x for x in r) / len(r) * 252)


def test_historical_volatility_is_the_30_day_close_to_close_vol() -> None:
    bars = _bars("HISTORICAL_VOLATILITY", now=_et(2013, 3, 1, 17, 0), dur="5 D")
    closes = [float(c) for c in MODEL.series(AAPL).close]
    for k, bar in enumerate(bars):
        i = len(closes) - len(bars) + k
        assert bar.close == pytest.approx(_hv_by_hand(closes[i - 30: i], closes[i]), abs=1e-6)
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
        assert (bar.volume, bar.wap, bar.barCount) == (Decimal(-1), Decimal(-1), -1)
    assert 0.1 < bars[-1].close < 1.0


def test_historical_volatility_intraday_agrees_with_the_price_at_that_second() -> None:
    now = _et(2013, 3, 1, 11, 17, 42)
    bars = _bars("HISTORICAL_VOLATILITY", now=now, size="1 min")
    closes = [float(c) for c in MODEL.series(AAPL).close[:-1]]
    price = MODEL.price_at(AAPL, now)
    assert bars[-1].close == pytest.approx(_hv_by_hand(closes[-30:], price), abs=1e-6)
    daily = _bars("HISTORICAL_VOLATILITY", now=now)
    assert daily[-1].close == bars[-1].close  # the day in progress: same instant, same value
    update = bar_update(MODEL, AAPL, now=now, barSizeSetting="1 min",
                        whatToShow="HISTORICAL_VOLATILITY", useRTH=True)
    assert update == bars[-1]


def test_implied_volatility_is_the_option_models_atm_30_day_vol() -> None:
    bars = _bars("OPTION_IMPLIED_VOLATILITY", dur="1 M")
    surface = VolSurface(preset_for_sec_type("STK"))
    spot = MODEL.price_at(AAPL, NOW)
    atm = float(surface.implied_vol(spot, spot, ATM_REFERENCE_YEARS))
    assert all(b.close == pytest.approx(atm, abs=1e-6) for b in bars)
    assert implied_vol_level("STK") == bars[-1].close
    # an ATM 30-day option priced by the model at that vol implies it back
    inputs = OptionInputs("C", spot, spot, ATM_REFERENCE_YEARS, bars[-1].close)
    implied = bsm_implied_vol(bsm_greeks(inputs).price, inputs)
    assert implied == pytest.approx(bars[-1].close, abs=1e-6)


def test_fee_and_rebate_rates() -> None:
    fee = _bars("FEE_RATE", size="1 hour")
    rebate = _bars("REBATE_RATE", size="1 hour")
    assert {(b.open, b.high, b.low, b.close) for b in fee} == {(FEE_RATE,) * 4}
    assert {b.close for b in rebate} == {REBATE_RATE}
    assert REBATE_RATE < FEE_RATE


def test_head_timestamps_per_value() -> None:
    assert head_timestamp(MODEL, AAPL, "ADJUSTED_LAST", True) == _et(2000, 3, 1, 9, 30)
    assert head_timestamp(MODEL, AAPL, "HISTORICAL_VOLATILITY", True) == _et(2000, 3, 2, 9, 30)
    assert head_timestamp(MODEL, AAPL, "BID_ASK", False) == _et(2000, 3, 1, 4, 0)
    with pytest.raises(HistoryError) as info:
        head_timestamp(MODEL, EURUSD, "HISTORICAL_VOLATILITY", True)
    assert info.value.code == 162


def test_weekly_bars_of_values_group_the_days() -> None:
    days = _bars("HISTORICAL_VOLATILITY", now=_et(2013, 3, 1, 17, 0), dur="1 M")
    weeks = _bars("HISTORICAL_VOLATILITY", now=_et(2013, 3, 1, 17, 0), dur="1 M",
                  size="1 week")
    last = [b for b in days if isinstance(b.time, dt.date) and b.time >= dt.date(2013, 2, 25)]
    assert weeks[-1].open == last[0].open and weeks[-1].close == last[-1].close
    assert weeks[-1].high == max(b.high for b in last)
    assert weeks[-1].low == min(b.low for b in last)


# -------------------------------------------------------------- SCHEDULE

def test_schedule_lists_the_sessions() -> None:
    inst = MODEL.instrument(AAPL)
    sched = historical_schedule(inst, now=NOW, endDateTime="", durationStr="5 D", useRTH=True)
    assert sched.timeZone == "US/Eastern"
    assert [d for _, _, d in sched.sessions] == [
        dt.date(2013, 2, 25), dt.date(2013, 2, 26), dt.date(2013, 2, 27),
        dt.date(2013, 2, 28), dt.date(2013, 3, 1)]
    assert Schedule.stamp(sched.sessions[0][0]) == "20130225-09:30:00"
    assert Schedule.stamp(sched.sessions[-1][1]) == "20130301-16:00:00"
    ext = historical_schedule(inst, now=NOW, endDateTime="20121130 12:00:00",
                              durationStr="1 W", useRTH=False)
    spans = {d: (Schedule.stamp(s), Schedule.stamp(e)) for s, e, d in ext.sessions}
    assert dt.date(2012, 11, 22) not in spans  # Thanksgiving
    assert spans[dt.date(2012, 11, 23)] == ("20121123-04:00:00", "20121123-17:00:00")  # half day
    fx = historical_schedule(MODEL.instrument(EURUSD), now=NOW, endDateTime="",
                             durationStr="2 D", useRTH=True)
    assert [(Schedule.stamp(s), Schedule.stamp(e)) for s, e, _ in fx.sessions] == [
        ("20130227-17:15:00", "20130228-17:00:00"), ("20130228-17:15:00", "20130301-17:00:00")]


def test_schedule_errors() -> None:
    inst = MODEL.instrument(AAPL)
    with pytest.raises(HistoryError) as info:
        historical_schedule(inst, now=NOW, endDateTime="bad", durationStr="1 D", useRTH=True)
    assert info.value.code == 10314
    with pytest.raises(HistoryError) as info:
        historical_schedule(inst, now=NOW, endDateTime="", durationStr="x", useRTH=True)
    assert info.value.code == 321
    with pytest.raises(HistoryError) as info:
        historical_schedule(inst, now=NOW, endDateTime="19990104 12:00:00", durationStr="5 D",
                            useRTH=True)
    assert info.value.code == 162
    with pytest.raises(ValueError):
        _bars("SCHEDULE")


def test_values_are_deterministic() -> None:
    a = _bars("HISTORICAL_VOLATILITY", size="5 mins")
    b = historical_bars(PriceModel(), AAPL, now=NOW, endDateTime="", durationStr="1 D",
                        barSizeSetting="5 mins", whatToShow="HISTORICAL_VOLATILITY",
                        useRTH=True)[2]
    assert a == b
    assert np.isfinite([x.close for x in a]).all()
