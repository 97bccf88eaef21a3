"""TWS historical-data semantics: parsing, errors, bars, head timestamp."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from decimal import Decimal
from importlib import resources
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twsbridge.sim.market.history import (
    BAR_SIZES,
    HistBar,
    HistoryError,
    bar_update,
    format_bar_time,
    head_timestamp,
    historical_bars,
    parse_bar_size,
    parse_duration,
    parse_end_datetime,
)
from twsbridge.sim.market.prices import DATA_END, PriceModel
from twsbridge.sim.reference.calendar import SIM_TZ

AAPL, AMD, SPY, EURUSD = 265598, 4391, 756733, 12087792
MODEL = PriceModel()
NOW = dt.datetime(2013, 3, 1, 10, 0, tzinfo=SIM_TZ)


def _et(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, s, tzinfo=SIM_TZ)


def _bars(conid: int = AAPL, *, now: dt.datetime = NOW, end: str = "", dur: str = "1 D",
          size: str = "1 day", what: str = "TRADES", rth: bool = True) -> list[HistBar]:
    return historical_bars(MODEL, conid, now=now, endDateTime=end, durationStr=dur,
                           barSizeSetting=size, whatToShow=what, useRTH=rth)[2]


def _error(**kwargs: object) -> HistoryError:
    with pytest.raises(HistoryError) as info:
        _bars(**kwargs)  # type: ignore[arg-type]
    return info.value


# ------------------------------------------------------------------ parsing

def test_parse_duration_and_bar_size() -> None:
    assert parse_duration("30 D").n == 30 and parse_duration("30 D").unit == "D"
    assert parse_duration("1 y").unit == "Y"
    assert parse_duration("3600").unit == "S"
    assert parse_bar_size("1 min").seconds == 60
    assert parse_bar_size("1W").unit == parse_bar_size("1 week").unit == "W"
    assert parse_bar_size("1 month").unit == "M"
    assert set(BAR_SIZES) >= {"1 secs", "5 secs", "10 secs", "15 secs", "30 secs", "1 min",
                              "2 mins", "3 mins", "5 mins", "10 mins", "15 mins", "20 mins",
                              "30 mins", "1 hour", "2 hours", "3 hours", "4 hours", "8 hours",
                              "1 day", "1 week", "1 month"}


@pytest.mark.parametrize("size", ["1 sec", "1 mins", "1 hours", "2 days", "bP", ""])
def test_invalid_bar_size_is_321(size: str) -> None:
    err = _error(size=size)
    assert err.code == 321
    assert err.message.startswith("Error validating request.-'bP' : cause - ")
    assert "Historical data bar size setting is invalid. Legal ones are: 1 secs," in err.message


@pytest.mark.parametrize(("dur", "text"), [
    ("", "duration not specified"),
    ("5 X", "integer{SPACE}unit (S|D|W|M|Y)"),
    ("D 5", "integer{SPACE}unit"),
    ("0 D", "duration is invalid"),
    ("86401 S", "greater than 86400 seconds"),
    ("366 D", "365 days must be made in years"),
    ("53 W", "52 weeks must be made in years"),
    ("13 M", "12 months must be made in years"),
])
def test_invalid_duration_is_321(dur: str, text: str) -> None:
    err = _error(dur=dur)
    assert err.code == 321
    assert text in err.message


@pytest.mark.parametrize("end", ["xx", "2013-03-01", "20130301 25:00:00",
                                 "20130301 10:00:00 Mars/Base", "20130301 10:00"])
def test_invalid_end_is_10314(end: str) -> None:
    err = _error(end=end)
    assert err.code == 10314
    assert err.message.startswith("End Date/Time: The date, time, or time-zone entered is invalid.")


def test_invalid_what_to_show_is_321() -> None:
    err = _error(what="PRICES")
    assert (err.code, err.message) == (
        321, "Error validating request.-'bP' : cause - What to show value of PRICES rejected.")
    assert _error(what="").code == 321


def test_end_datetime_formats() -> None:
    assert parse_end_datetime("", NOW) == NOW
    assert parse_end_datetime("20130228 15:00:00", NOW) == _et(2013, 2, 28, 15)
    assert parse_end_datetime("20130228 15:00:00 US/Eastern", NOW) == _et(2013, 2, 28, 15)
    utc = dt.datetime(2013, 2, 28, 20, tzinfo=dt.UTC)
    assert parse_end_datetime("20130228 20:00:00 UTC", NOW) == utc
    assert parse_end_datetime("20130228-20:00:00", NOW) == utc
    assert parse_end_datetime("20130228 21:00:00 Europe/Berlin", NOW) == utc
    assert parse_end_datetime("20130228", NOW) == _et(2013, 2, 28, 23, 59, 59)
    assert parse_end_datetime("09:45:00", NOW) == _et(2013, 3, 1, 9, 45)


# -------------------------------------------------------- limits / no data

def test_time_length_limits_follow_the_published_table() -> None:
    err = _error(dur="3600 S", size="1 secs")
    assert (err.code, err.message) == (162, "Historical Market Data Service error message:"
                                            "Time length exceed max.")
    secs = _bars(dur="1800 S", size="1 secs")
    assert len(secs) == 1801  # 09:30:00 .. 09:59:59 and the second in progress, 10:00:00
    assert secs[-1].time == NOW
    assert _error(dur="2 D", size="1 min").code == 162
    assert _bars(dur="1 D", size="1 min")
    assert _error(dur="2 W", size="5 mins").code == 162
    assert _error(dur="2 M", size="1 hour").code == 162
    assert _bars(dur="1 M", size="1 hour")
    assert _bars(dur="10 Y", size="1 day")


def test_no_data_is_162() -> None:
    err = _error(end="19990104 12:00:00", dur="5 D")
    assert (err.code, err.message) == (
        162, "Historical Market Data Service error message:HMDS query returned no data: "
             "AAPL@SMART Trades")
    assert _error(conid=EURUSD, what="TRADES").code == 162
    assert _error(what="YIELD_BID").code == 162  # ADJUSTED_LAST is served now
    with pytest.raises(KeyError):
        _bars(conid=1)


# --------------------------------------------------------------- daily bars

def _csv(ticker: str) -> dict[str, dict[str, str]]:
    raw = resources.files("bokeh_sampledata").joinpath("_data/stocks.csv.gz").read_bytes()
    rows = csv.DictReader(io.StringIO(gzip.decompress(raw).decode()))
    return {r["Date"].replace("-", ""): r for r in rows if r["Ticker"] == ticker}


def test_daily_trades_bars_are_the_real_ones() -> None:
    real = _csv("AAPL")
    after_close = _et(2013, 3, 1, 18, 0)
    start, end, bars = historical_bars(MODEL, AAPL, now=after_close, endDateTime="",
                                       durationStr="1 Y", barSizeSetting="1 day",
                                       whatToShow="TRADES", useRTH=True)
    assert end == after_close and start == _et(2012, 3, 1, 18, 0)
    assert 245 <= len(bars) <= 255
    for bar in bars:
        assert isinstance(bar.time, dt.date) and not isinstance(bar.time, dt.datetime)
        row = real[format_bar_time(bar.time, 1)]
        assert bar.close == float(row["Close"])
        assert (bar.open, bar.high, bar.low) == (float(row["Open"]), float(row["High"]),
                                                 float(row["Low"]))
        assert bar.volume == Decimal(row["Volume"])
        assert bar.low <= float(bar.wap) <= bar.high and bar.barCount > 0
    assert bars[-1].close == 430.47


def test_daily_bar_in_progress_is_partial() -> None:
    bars = _bars(dur="5 D")
    assert [b.time for b in bars] == [dt.date(2013, 2, 25), dt.date(2013, 2, 26),
                                      dt.date(2013, 2, 27), dt.date(2013, 2, 28), DATA_END]
    last = bars[-1]
    assert last.open == 438.0
    assert last.close == MODEL.price_at(AAPL, NOW)
    assert last.high <= 438.1799 and last.low >= 429.98
    assert last.volume < 19730300
    early = _bars(now=_et(2013, 3, 1, 9, 0), dur="2 D")
    assert [b.time for b in early] == [dt.date(2013, 2, 27), dt.date(2013, 2, 28)]


def test_weekly_and_monthly_bars_aggregate_daily() -> None:
    now = _et(2013, 3, 1, 18, 0)
    daily = _bars(now=now, dur="3 M")
    weekly = _bars(now=now, dur="3 M", size="1 week")
    monthly = _bars(now=now, dur="3 M", size="1 month")
    assert sum(b.volume for b in weekly) == sum(b.volume for b in daily)
    assert [b.time for b in monthly] == [dt.date(2012, 12, 3), dt.date(2013, 1, 2),
                                         dt.date(2013, 2, 1), DATA_END]
    feb = [b for b in daily if b.time.month == 2]
    assert monthly[2].open == feb[0].open and monthly[2].close == feb[-1].close
    assert monthly[2].high == max(b.high for b in feb)
    assert monthly[2].low == min(b.low for b in feb)
    assert weekly[-1].time == dt.date(2013, 2, 25)


def test_daily_midpoint_bid_ask() -> None:
    now = _et(2013, 3, 1, 18, 0)
    mid = _bars(now=now, dur="5 D", what="MIDPOINT")
    bid = _bars(now=now, dur="5 D", what="BID")
    ask = _bars(now=now, dur="5 D", what="ASK")
    for m, b, a in zip(mid, bid, ask, strict=True):
        assert m.volume == m.wap == Decimal(-1) and m.barCount == -1
        assert b.close < m.close < a.close
        assert b.low <= b.high and a.low <= a.high


# ------------------------------------------------------------ intraday bars

@pytest.mark.parametrize("size", ["1 min", "5 mins", "15 mins", "30 mins", "1 hour", "4 hours",
                                  "8 hours"])
@pytest.mark.parametrize("day", [dt.date(2013, 2, 28), dt.date(2012, 10, 31), dt.date(2013, 3, 1)])
def test_intraday_trades_bars_aggregate_to_the_daily_bar(size: str, day: dt.date) -> None:
    now = dt.datetime.combine(day, dt.time(20, 0), SIM_TZ)
    bars = _bars(now=now, dur="1 D", size=size)
    daily = MODEL.daily_bar(AAPL, day)
    assert daily is not None
    assert all(isinstance(b.time, dt.datetime) and b.time.date() == day for b in bars)
    assert bars[0].time.time() == dt.time(9, 30)  # type: ignore[union-attr]
    assert bars[0].open == daily.open
    assert bars[-1].close == daily.close
    assert max(b.high for b in bars) == daily.high
    assert min(b.low for b in bars) == daily.low
    assert sum(b.volume for b in bars) == daily.volume
    for b in bars:
        assert b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high
        assert b.low <= float(b.wap) <= b.high


@settings(max_examples=15, deadline=None)
@given(conid=st.sampled_from([AMD, SPY]), day_offset=st.integers(min_value=0, max_value=400),
       size=st.sampled_from(["2 mins", "10 mins", "20 mins", "2 hours", "3 hours"]))
def test_intraday_aggregation_property(conid: int, day_offset: int, size: str) -> None:
    day = dt.date(2012, 1, 3) + dt.timedelta(days=day_offset)
    daily = MODEL.daily_bar(conid, day)
    if daily is None:
        return
    now = dt.datetime.combine(day, dt.time(23, 0), SIM_TZ)
    bars = _bars(conid, now=now, dur="1 D", size=size)
    assert (bars[0].open, bars[-1].close) == (daily.open, daily.close)
    assert (max(b.high for b in bars), min(b.low for b in bars)) == (daily.high, daily.low)
    assert sum(b.volume for b in bars) == daily.volume


def test_bars_stop_at_now_and_last_is_partial() -> None:
    now = _et(2013, 3, 1, 11, 17, 42)
    bars = _bars(now=now, dur="3600 S", size="5 mins")
    assert bars[0].time == _et(2013, 3, 1, 10, 15)
    assert bars[-1].time == _et(2013, 3, 1, 11, 15)
    assert all(b.time <= now for b in bars)
    assert bars[-1].close == MODEL.price_at(AAPL, now)
    later = _bars(now=now + dt.timedelta(seconds=100), dur="3600 S", size="5 mins")
    assert later[-1].time == _et(2013, 3, 1, 11, 15)
    assert later[-2] == bars[-2]
    path = MODEL.path(AAPL, DATA_END)
    assert path is not None
    lo = int(_et(2013, 3, 1, 11, 15).timestamp()) - path.start
    assert bars[-1].volume == int(path.volumes[lo: lo + 163].sum())


def test_outside_rth_and_explicit_end() -> None:
    bars = _bars(end="20130228 20:00:00", dur="1 D", size="1 hour", rth=False)
    times = [b.time for b in bars]
    assert times[0] == _et(2013, 2, 28, 4) and times[-1] == _et(2013, 2, 28, 19)
    assert len(bars) == 16
    rth_only = _bars(end="20130228 12:00:00", dur="1 D", size="1 hour")
    assert [b.time for b in rth_only] == [_et(2013, 2, 28, 9, 30), _et(2013, 2, 28, 10),
                                          _et(2013, 2, 28, 11)]
    utc = _bars(end="20130228-17:00:00", dur="1 D", size="1 hour")
    assert utc == rth_only


def test_two_day_intraday_spans_sessions() -> None:
    bars = _bars(now=_et(2013, 3, 4, 12, 0), dur="2 D", size="30 mins")
    days = sorted({b.time.date() for b in bars})  # type: ignore[union-attr]
    assert days == [DATA_END, dt.date(2013, 3, 4)]
    assert len([b for b in bars if b.time.date() == DATA_END]) == 13  # type: ignore[union-attr]


def test_intraday_midpoint_bid_ask_relations() -> None:
    kwargs = {"end": "20130228 16:00:00", "dur": "1800 S", "size": "1 min"}
    mid, bid, ask = (_bars(what=w, **kwargs) for w in ("MIDPOINT", "BID", "ASK"))  # type: ignore[arg-type]
    ba = _bars(what="BID_ASK", **kwargs)  # type: ignore[arg-type]
    assert len(mid) == len(bid) == len(ask) == len(ba) == 30
    for m, b, a, x in zip(mid, bid, ask, ba, strict=True):
        assert b.low < m.low < a.low and b.high < m.high < a.high
        assert m.volume == Decimal(-1) and m.wap == Decimal(-1) and m.barCount == -1
        assert x.high == a.high and x.low == b.low


def test_forex_midpoint_sessions() -> None:
    bars = _bars(EURUSD, dur="1 D", size="1 hour", what="MIDPOINT")
    assert bars[0].time == _et(2013, 2, 28, 17, 15)
    assert bars[1].time == _et(2013, 2, 28, 18, 0)
    assert bars[-1].time == _et(2013, 3, 1, 10, 0)
    daily = MODEL.daily_bar(EURUSD, DATA_END)
    assert daily is not None
    for b in bars:
        assert daily.low - 0.001 <= b.low <= b.high <= daily.high + 0.001


def test_dst_day_bars_are_local_time() -> None:
    bars = _bars(now=_et(2013, 3, 11, 16, 30), dur="1 D", size="1 hour")
    assert [b.time.hour for b in bars] == [9, 10, 11, 12, 13, 14, 15]  # type: ignore[union-attr]
    assert bars[0].time.utcoffset() == dt.timedelta(hours=-4)  # type: ignore[union-attr]


# ---------------------------------------------------------- other requests

def test_format_bar_time() -> None:
    t = _et(2013, 3, 1, 9, 30)
    assert format_bar_time(t, 1, SIM_TZ) == "20130301 09:30:00 US/Eastern"
    assert format_bar_time(t, 2, SIM_TZ) == "1362148200"
    assert format_bar_time(t, 1, ZoneInfo("UTC")) == "20130301 14:30:00 UTC"
    assert format_bar_time(dt.date(2013, 3, 1), 1, SIM_TZ) == "20130301"
    assert format_bar_time(dt.date(2013, 3, 1), 2, SIM_TZ) == "20130301"


def test_head_timestamp() -> None:
    assert head_timestamp(MODEL, AAPL, "TRADES", True) == _et(2000, 3, 1, 9, 30)
    assert head_timestamp(MODEL, AAPL, "TRADES", False) == _et(2000, 3, 1, 4, 0)
    assert head_timestamp(MODEL, 76792991, "MIDPOINT", True) == _et(2010, 6, 29, 9, 30)
    assert head_timestamp(MODEL, EURUSD, "MIDPOINT", True) == _et(2000, 2, 29, 17, 15)
    with pytest.raises(HistoryError) as info:
        head_timestamp(MODEL, EURUSD, "TRADES", True)
    assert info.value.code == 162


def test_bar_update_is_the_current_bar() -> None:
    now = _et(2013, 3, 1, 11, 17, 42)
    for size in ("5 secs", "1 min", "5 mins", "1 hour", "1 day"):
        bars = _bars(now=now, dur="1800 S" if size == "5 secs" else "1 D", size=size)
        update = bar_update(MODEL, AAPL, now=now, barSizeSetting=size, whatToShow="TRADES",
                            useRTH=True)
        assert update == bars[-1], size
    later = bar_update(MODEL, AAPL, now=now + dt.timedelta(seconds=3), barSizeSetting="1 min",
                       whatToShow="MIDPOINT", useRTH=True)
    assert later.time == _et(2013, 3, 1, 11, 17)
    weekend = bar_update(MODEL, AAPL, now=_et(2013, 3, 2, 12, 0), barSizeSetting="5 mins",
                         whatToShow="TRADES", useRTH=True)
    assert weekend.time == _et(2013, 3, 1, 15, 55) and weekend.close == 430.47
    week = bar_update(MODEL, AAPL, now=now, barSizeSetting="1 week", whatToShow="TRADES",
                      useRTH=True)
    assert week.time == dt.date(2013, 2, 25)
