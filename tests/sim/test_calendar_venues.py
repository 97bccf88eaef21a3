"""The simulator's calendar per venue, from exchange_calendars.

The hand-written US calendar the simulator had before (holidays, sessions,
hour strings) is kept below as the oracle: US stocks and forex must answer
as they did, except for what the library adds (NYSE half days).
"""

from __future__ import annotations

import datetime as dt
import warnings
from zoneinfo import ZoneInfo

import exchange_calendars as xc
import pytest

from twsbridge.sim.reference import calendar as cal
from twsbridge.sim.reference.calendar import (
    SIM_TZ,
    early_closes,
    is_early_close,
    is_session_day,
    is_trading_day,
    session_bounds,
    sessions,
    trading_days,
    trading_hours,
    us_market_holidays,
    venue_for,
    venue_holidays,
)
from twsbridge.sim.reference.instruments import INSTRUMENTS, Instrument
from twsbridge.sim.reference.venues import VENUES, venue, venue_by_code

AAPL = next(i for i in INSTRUMENTS if i.symbol == "AAPL")
EURUSD = next(i for i in INSTRUMENTS if i.localSymbol == "EUR.USD")
UTC = dt.UTC
HK, JP, CT, MET = (ZoneInfo(z) for z in ("Hongkong", "Japan", "US/Central", "MET"))


def _inst(symbol: str, secType: str, exchange: str, primary: str, currency: str,
          tz: str) -> Instrument:
    return Instrument(conId=abs(hash((symbol, exchange))) % 10**9, symbol=symbol,
                      secType=secType, exchange=exchange, primaryExchange=primary,
                      currency=currency, localSymbol=symbol, tradingClass=symbol,
                      longName=symbol, minTick=0.01, timeZoneId=tz)


TENCENT = _inst("700", "STK", "SMART", "SEHK", "HKD", "Hongkong")
TOYOTA = _inst("7203", "STK", "SMART", "TSEJ", "JPY", "Japan")
SAP = _inst("SAP", "STK", "SMART", "IBIS", "EUR", "MET")
ES = _inst("ES", "FUT", "CME", "", "USD", "US/Central")
MGC = _inst("MGC", "FUT", "COMEX", "", "USD", "US/Eastern")


# ------------------------------------------------------------------ oracle
# The calendar.py functions before exchange_calendars, copied as they were.

_SPECIAL_CLOSURES = frozenset(
    {
        dt.date(2001, 9, 11), dt.date(2001, 9, 12), dt.date(2001, 9, 13),
        dt.date(2001, 9, 14), dt.date(2004, 6, 11), dt.date(2007, 1, 2),
        dt.date(2012, 10, 29), dt.date(2012, 10, 30), dt.date(2018, 12, 5),
        dt.date(2025, 1, 9),
    }
)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    last = nxt - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _easter(year: int) -> dt.date:
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ll = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ll) // 451
    month = (h + ll - 7 * m + 114) // 31
    day = (h + ll - 7 * m + 114) % 31 + 1
    return dt.date(year, month, day)


def _observed(day: dt.date) -> dt.date:
    if day.weekday() == 5:
        return day - dt.timedelta(days=1)
    if day.weekday() == 6:
        return day + dt.timedelta(days=1)
    return day


def old_us_market_holidays(year: int) -> frozenset[dt.date]:
    days = set()
    new_year = dt.date(year, 1, 1)
    if new_year.weekday() == 6:
        days.add(new_year + dt.timedelta(days=1))
    elif new_year.weekday() < 5:
        days.add(new_year)
    if year >= 1998:
        days.add(_nth_weekday(year, 1, 0, 3))
    days.add(_nth_weekday(year, 2, 0, 3))
    days.add(_easter(year) - dt.timedelta(days=2))
    days.add(_nth_weekday(year, 5, 0, -1))
    if year >= 2022:
        days.add(_observed(dt.date(year, 6, 19)))
    days.add(_observed(dt.date(year, 7, 4)))
    days.add(_nth_weekday(year, 9, 0, 1))
    days.add(_nth_weekday(year, 11, 3, 4))
    days.add(_observed(dt.date(year, 12, 25)))
    days.update(d for d in _SPECIAL_CLOSURES if d.year == year)
    return frozenset(days)


def old_is_trading_day(inst: Instrument, day: dt.date) -> bool:
    if day.weekday() >= 5:
        return False
    if inst.is_forex:
        return (day.month, day.day) not in ((1, 1), (12, 25))
    return day not in old_us_market_holidays(day.year)


def old_session_bounds(inst: Instrument, day: dt.date, rth: bool) -> tuple[dt.datetime, ...]:
    def at(d: dt.date, h: int, m: int) -> dt.datetime:
        return dt.datetime(d.year, d.month, d.day, h, m, tzinfo=SIM_TZ)
    if inst.is_forex:
        return at(day - dt.timedelta(days=1), 17, 15), at(day, 17, 0)
    return (at(day, 9, 30), at(day, 16, 0)) if rth else (at(day, 4, 0), at(day, 20, 0))


def old_trading_hours(inst: Instrument, day: dt.date, rth: bool, days: int = 7) -> str:
    parts = []
    one = dt.timedelta(days=1)
    for k in range(days):
        d = day + k * one
        ds = d.strftime("%Y%m%d")
        if inst.is_forex:
            nxt = d + one
            if old_is_trading_day(inst, nxt):
                parts.append(f"{ds}:1715-{nxt:%Y%m%d}:1700")
            elif d.weekday() != 4:
                parts.append(f"{ds}:CLOSED")
        elif old_is_trading_day(inst, d):
            start, end = ("0930", "1600") if rth else ("0400", "2000")
            parts.append(f"{ds}:{start}-{ds}:{end}")
        else:
            parts.append(f"{ds}:CLOSED")
    return ";".join(parts)


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=k) for k in range((end - start).days + 1)]


# ------------------------------------------------------- US unchanged


def test_us_holidays_2000_2030_equal_the_hand_written_calendar_and_xnys() -> None:
    with warnings.catch_warnings():  # pandas 3 deprecations inside exchange_calendars
        warnings.simplefilter("ignore")
        xnys = xc.get_calendar("XNYS", start="2000-01-01", end="2030-12-31")
    sessions_ = {d.date() for d in xnys.sessions}
    for year in range(2000, 2031):
        weekdays = [d for d in _days(dt.date(year, 1, 1), dt.date(year, 12, 31))
                    if d.weekday() < 5]
        from_library = frozenset(d for d in weekdays if d not in sessions_)
        assert us_market_holidays(year) == old_us_market_holidays(year) == from_library, year
    assert dt.date(2025, 1, 9) in us_market_holidays(2025)  # President Carter's day of mourning
    assert dt.date(2022, 6, 20) in us_market_holidays(2022)  # Juneteenth observed


def test_us_stock_and_forex_days_equal_the_old_calendar() -> None:
    start, end = dt.date(2000, 1, 1), dt.date(2030, 12, 31)
    for inst in (AAPL, EURUSD):
        expected = [d for d in _days(start, end) if old_is_trading_day(inst, d)]
        assert trading_days(inst, start, end) == expected
        assert all(is_trading_day(inst, d) for d in expected[:: 97])


def test_us_and_forex_sessions_equal_the_old_calendar_but_on_nyse_half_days() -> None:
    nyse = venue("NYSE")
    for day in _days(dt.date(2011, 1, 1), dt.date(2014, 12, 31)):
        for rth in (True, False):
            assert session_bounds(EURUSD, day, rth) == old_session_bounds(EURUSD, day, rth)
            old = old_session_bounds(AAPL, day, rth)
            if is_early_close(nyse, day):
                assert session_bounds(AAPL, day, rth) == (
                    old[0], old[0].replace(hour=13 if rth else 17, minute=0))
            else:
                assert session_bounds(AAPL, day, rth) == old
    assert session_bounds(AAPL, dt.date(2013, 3, 4), True)[0].tzinfo is SIM_TZ


def test_hour_strings_equal_the_old_ones_outside_half_days_and_forex_eves() -> None:
    nyse = venue("NYSE")
    for day in _days(dt.date(2012, 1, 1), dt.date(2013, 12, 31)):
        week = _days(day, day + dt.timedelta(days=6))
        for rth in (True, False):
            if not any(is_early_close(nyse, d) for d in week):
                assert trading_hours(AAPL, day, rth) == old_trading_hours(AAPL, day, rth)
            if not any((d.month, d.day) in ((12, 24), (12, 31)) for d in week):
                assert trading_hours(EURUSD, day, rth) == old_trading_hours(EURUSD, day, rth)


# ---------------------------------------------------------------- venues


def test_venue_table_names_library_calendars_and_real_zones() -> None:
    names = set(xc.get_calendar_names(include_aliases=True))
    for v in VENUES:
        assert v.calendar in names
        tws, iana = ZoneInfo(v.timeZoneId), ZoneInfo(v.iana)
        for month in (1, 4, 7, 10):  # same offsets in both halves of the DST year
            t = dt.datetime(2024, month, 15, 12, tzinfo=UTC)
            assert t.astimezone(tws).utcoffset() == t.astimezone(iana).utcoffset()
        for code in v.codes:
            assert venue_by_code(code) is v
    assert venue("NYSE").tz is SIM_TZ


def test_venue_table_hours_are_what_the_calendars_give_on_a_regular_day() -> None:
    day = dt.date(2025, 10, 15)  # a Wednesday every venue trades on, in full
    for v in VENUES:
        for rth, published in ((True, v.liquidHours), (False, v.tradingHours)):
            spans = sessions(v, day, rth)
            assert spans and not is_early_close(v, day), v.code
            assert all(s.tzinfo is v.tz and e.date() == day for s, e in spans)
            assert ",".join(f"{s:%H%M}-{e:%H%M}" for s, e in spans) == published, v.code
            assert (spans[0][0].date() < day) == (published[:4] > published[5:9])
        assert (sessions(v, day, False)[0][0].date() < day) == v.overnight


def test_venue_for_instruments() -> None:
    assert venue_for(AAPL).code == "NYSE"
    assert venue_for(next(i for i in INSTRUMENTS if i.symbol == "SPY")).code == "NYSE"
    assert venue_for(EURUSD).code == "IDEALPRO"
    assert venue_for(TENCENT).code == "SEHK" and venue_for(TENCENT).timeZoneId == "Hongkong"
    assert venue_for(TOYOTA).timeZoneId == "Japan"
    assert venue_for(SAP).timeZoneId == "MET"
    assert venue_for(ES).code == "CME"
    assert venue_for(_inst("ES", "FUT", "GLOBEX", "", "USD", "US/Central")).code == "CME"
    assert venue_for(_inst("ZN", "FUT", "ECBOT", "", "USD", "US/Central")).code == "CBOT"
    assert venue_for(MGC).code == "NYMEX" and venue_for(MGC).timeZoneId == "US/Eastern"
    assert venue_for(_inst("FDAX", "FUT", "EUREX", "", "EUR", "MET")).code == "EUREX"
    assert venue_for(_inst("SPX", "IND", "CBOE", "", "USD", "US/Central")).code == "CBOE"
    assert venue_for(_inst("BP.", "CFD", "SMART", "", "GBP", "Europe/London")).code == "LSE"
    assert venue_for(_inst("RY", "STK", "SMART", "TSE", "CAD", "America/Toronto")).code == "TSE"
    assert venue_for(_inst("X", "STK", "SMART", "NOWHERE", "XXX", "US/Eastern")).code == "NYSE"


# ------------------------------------------------ holidays and half days


def _local(spans: tuple[tuple[dt.datetime, dt.datetime], ...], tz: ZoneInfo) -> list[str]:
    return [f"{s.astimezone(tz):%m-%d %H:%M}-{e.astimezone(tz):%m-%d %H:%M}" for s, e in spans]


def test_nyse_half_days() -> None:
    nyse = venue("NYSE")
    assert early_closes(nyse, 2024) == [dt.date(2024, 7, 3), dt.date(2024, 11, 29),
                                        dt.date(2024, 12, 24)]
    assert _local(sessions(nyse, dt.date(2024, 11, 29)), SIM_TZ) == ["11-29 09:30-11-29 13:00"]
    assert _local(sessions(nyse, dt.date(2024, 11, 29), rth=False), SIM_TZ) == [
        "11-29 04:00-11-29 17:00"]
    assert trading_hours(AAPL, dt.date(2024, 11, 27), True, 4) == (
        "20241127:0930-20241127:1600;20241128:CLOSED;20241129:0930-20241129:1300;"
        "20241130:CLOSED")
    assert not is_early_close(nyse, dt.date(2024, 11, 27))


def test_xetra_christmas_and_new_year() -> None:
    ibis = venue("IBIS")
    for day in (24, 25, 26, 31):
        assert not is_session_day(ibis, dt.date(2024, 12, day))
    assert is_early_close(ibis, dt.date(2024, 12, 30))
    assert _local(sessions(ibis, dt.date(2024, 12, 23)), MET) == ["12-23 09:00-12-23 17:30"]
    assert {dt.date(2024, 12, 24), dt.date(2024, 12, 31)} <= venue_holidays(ibis, 2024)
    assert is_trading_day(SAP, dt.date(2024, 11, 28))  # US Thanksgiving


def test_lse_half_day() -> None:
    lse = venue("LSE")
    assert _local(sessions(lse, dt.date(2024, 12, 24)), ZoneInfo("Europe/London")) == [
        "12-24 08:00-12-24 12:30"]
    assert not is_session_day(lse, dt.date(2024, 8, 26))  # summer bank holiday


def test_sehk_lunch_break_and_half_day() -> None:
    sehk = venue("SEHK")
    assert _local(sessions(sehk, dt.date(2024, 1, 2)), HK) == [
        "01-02 09:30-01-02 12:00", "01-02 13:00-01-02 16:10"]
    assert _local(sessions(sehk, dt.date(2024, 12, 24)), HK) == ["12-24 09:30-12-24 12:00"]
    assert session_bounds(TENCENT, dt.date(2024, 1, 2), True) == (
        dt.datetime(2024, 1, 2, 9, 30, tzinfo=HK), dt.datetime(2024, 1, 2, 16, 10, tzinfo=HK))
    assert not is_trading_day(TENCENT, dt.date(2024, 2, 12))  # Lunar New Year


def test_tsej_new_year_and_close_change() -> None:
    tsej = venue("TSEJ")
    for day in (dt.date(2024, 12, 31), dt.date(2025, 1, 1), dt.date(2025, 1, 2),
                dt.date(2025, 1, 3)):
        assert not is_trading_day(TOYOTA, day)
    assert is_trading_day(TOYOTA, dt.date(2025, 1, 6))
    assert _local(sessions(tsej, dt.date(2024, 11, 1)), JP) == [
        "11-01 09:00-11-01 11:30", "11-01 12:30-11-01 15:00"]
    assert _local(sessions(tsej, dt.date(2024, 11, 5)), JP) == [
        "11-05 09:00-11-05 11:30", "11-05 12:30-11-05 15:30"]  # TSE's longer day


def test_cme_thanksgiving_and_overnight_sessions() -> None:
    cme = venue("CME")
    assert _local(sessions(cme, dt.date(2024, 11, 28), rth=False), CT) == [
        "11-27 17:00-11-28 12:00"]
    assert is_early_close(cme, dt.date(2024, 11, 28))
    assert _local(sessions(cme, dt.date(2024, 11, 27), rth=False), CT) == [
        "11-26 17:00-11-27 16:00"]
    assert _local(sessions(cme, dt.date(2024, 11, 27)), CT) == ["11-27 08:30-11-27 16:00"]
    assert not is_session_day(cme, dt.date(2024, 12, 25))
    assert _local(sessions(venue("NYMEX"), dt.date(2024, 11, 27), rth=False), SIM_TZ) == [
        "11-26 18:00-11-27 17:00"]


def test_toronto_days() -> None:
    rbc = _inst("RY", "STK", "SMART", "TSE", "CAD", "America/Toronto")
    assert not is_trading_day(rbc, dt.date(2024, 7, 1))  # Canada Day
    assert is_trading_day(rbc, dt.date(2024, 11, 28))
    assert not is_trading_day(rbc, dt.date(2024, 10, 14))  # Canadian Thanksgiving


# ------------------------------------------------------- hour strings


def test_hour_strings_as_tws_sent_them() -> None:
    # tradingHours / liquidHours as TWS sent them for 700 (SEHK), 7203 (TSEJ)
    # and ES (GLOBEX, a Memorial Day week).
    assert trading_hours(TENCENT, dt.date(2026, 10, 4), True, 3) == (
        "20261004:CLOSED;20261005:0930-20261005:1200;20261005:1300-20261005:1610;"
        "20261006:0930-20261006:1200;20261006:1300-20261006:1610")
    assert trading_hours(TOYOTA, dt.date(2026, 10, 4), True, 3) == (
        "20261004:CLOSED;20261005:0900-20261005:1130;20261005:1230-20261005:1530;"
        "20261006:0900-20261006:1130;20261006:1230-20261006:1530")
    assert trading_hours(ES, dt.date(2025, 5, 21), False, 6) == (
        "20250521:1700-20250522:1600;20250522:1700-20250523:1600;20250524:CLOSED;"
        "20250525:1700-20250526:1200;20250526:1700-20250527:1600")
    assert trading_hours(SAP, dt.date(2026, 10, 5), True, 2) == (
        "20261005:0900-20261005:1730;20261006:0900-20261006:1730")
    assert trading_hours(MGC, dt.date(2026, 8, 15), False, 3) == (
        "20260815:CLOSED;20260816:1800-20260817:1700;20260817:1800-20260818:1700")


def test_forex_week_and_closures() -> None:
    assert trading_hours(EURUSD, dt.date(2024, 1, 6), False, 8) == (
        "20240106:CLOSED;20240107:1715-20240108:1700;20240108:1715-20240109:1700;"
        "20240109:1715-20240110:1700;20240110:1715-20240111:1700;"
        "20240111:1715-20240112:1700;20240113:CLOSED")
    assert not is_trading_day(EURUSD, dt.date(2024, 12, 25))
    assert not is_trading_day(EURUSD, dt.date(2024, 1, 1))
    assert is_trading_day(EURUSD, dt.date(2024, 3, 29))  # Good Friday: forex trades
    assert trading_hours(EURUSD, dt.date(2024, 12, 24), True, 2) == (
        "20241225:1715-20241226:1700")  # the 24th's session opened on the 23rd


# ----------------------------------------------------------------- DST


@pytest.mark.parametrize(("day", "et_open"), [
    (dt.date(2024, 3, 8), 3),   # both on winter time: Frankfurt is 6 h ahead
    (dt.date(2024, 3, 12), 4),  # New York on summer time (10 March), Frankfurt not yet
    (dt.date(2024, 4, 2), 3),   # both on summer time (Europe changed 31 March)
    (dt.date(2024, 10, 29), 4), # Europe back on winter time (27 October), New York not
    (dt.date(2024, 11, 5), 3),  # New York back too (3 November)
])
def test_xetra_open_in_new_york_across_dst(day: dt.date, et_open: int) -> None:
    start, end = session_bounds(SAP, day, True)
    assert (start.hour, start.minute) == (9, 0) and start.tzinfo == MET
    assert start.astimezone(SIM_TZ).hour == et_open
    assert end - start == dt.timedelta(hours=8, minutes=30)


def test_us_sessions_across_dst() -> None:
    assert session_bounds(AAPL, dt.date(2024, 3, 8), True)[0].astimezone(UTC).hour == 14
    assert session_bounds(AAPL, dt.date(2024, 3, 11), True)[0].astimezone(UTC).hour == 13
    # CME's Sunday open after the change is 17:00 Chicago summer time.
    open_, close = sessions(venue("CME"), dt.date(2024, 3, 11), rth=False)[0]
    assert open_.astimezone(UTC) == dt.datetime(2024, 3, 10, 22, tzinfo=UTC)
    assert close.astimezone(UTC) == dt.datetime(2024, 3, 11, 21, tzinfo=UTC)
    fx_open = session_bounds(EURUSD, dt.date(2024, 3, 11), True)[0]
    assert fx_open.astimezone(UTC) == dt.datetime(2024, 3, 10, 21, 15, tzinfo=UTC)


# -------------------------------------------------------------- caching


def test_calendars_load_lazily_and_years_are_cached() -> None:
    cal._calendar.cache_clear()
    cal._YEARS.clear()
    assert is_trading_day(AAPL, dt.date(2019, 7, 5))
    assert cal._calendar.cache_info().currsize == 1  # XNYS only
    days = cal._year(venue("NYSE"), 2019)
    assert cal._year(venue("NYSE"), 2019) is days
    assert is_trading_day(EURUSD, dt.date(2019, 7, 5))
    assert cal._calendar.cache_info().currsize == 2  # and the 24/5 calendar


def test_outside_the_loaded_range_weekdays_trade_at_regular_hours() -> None:
    day = dt.date(1985, 7, 4)  # before the loaded range: no holidays known
    assert is_trading_day(AAPL, day)
    assert session_bounds(AAPL, day, True) == (
        dt.datetime(1985, 7, 4, 9, 30, tzinfo=SIM_TZ), dt.datetime(1985, 7, 4, 16, tzinfo=SIM_TZ))
    assert session_bounds(AAPL, dt.date(2024, 7, 6), False)[1].hour == 20  # a Saturday
