"""The exchange calendar of the simulator: US equity holidays, the forex week,
the session bounds of a trading day and the ``tradingHours`` /
``liquidHours`` strings of contract details.

All times are US/Eastern (``SIM_TZ``), the time zone TWS reports for these
instruments (``timeZoneId``).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

from twsbridge.sim.reference.instruments import Instrument

__all__ = [
    "SIM_TZ",
    "is_trading_day",
    "session_bounds",
    "trading_days",
    "trading_hours",
    "us_market_holidays",
]

SIM_TZ = ZoneInfo("US/Eastern")
"""Time zone of the simulator: the exchange time zone of every instrument."""


_SPECIAL_CLOSURES = frozenset(
    {
        dt.date(2001, 9, 11), dt.date(2001, 9, 12), dt.date(2001, 9, 13),
        dt.date(2001, 9, 14), dt.date(2004, 6, 11), dt.date(2007, 1, 2),
        dt.date(2012, 10, 29), dt.date(2012, 10, 30), dt.date(2018, 12, 5),
        dt.date(2025, 1, 9),
    }
)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th (1-based; -1 = last) given weekday (Mon=0) of a month."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    last = nxt - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _easter(year: int) -> dt.date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
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
    """NYSE observance: Saturday holidays move to Friday, Sunday ones to Monday."""
    if day.weekday() == 5:
        return day - dt.timedelta(days=1)
    if day.weekday() == 6:
        return day + dt.timedelta(days=1)
    return day


@lru_cache(maxsize=256)
def us_market_holidays(year: int) -> frozenset[dt.date]:
    """Full-day NYSE/Nasdaq closures of a year (rules plus special closures)."""
    days = set()
    new_year = dt.date(year, 1, 1)
    if new_year.weekday() == 6:
        days.add(new_year + dt.timedelta(days=1))
    elif new_year.weekday() < 5:
        days.add(new_year)
    if year >= 1998:
        days.add(_nth_weekday(year, 1, 0, 3))  # Martin Luther King Jr. Day
    days.add(_nth_weekday(year, 2, 0, 3))  # Washington's Birthday
    days.add(_easter(year) - dt.timedelta(days=2))  # Good Friday
    days.add(_nth_weekday(year, 5, 0, -1))  # Memorial Day
    if year >= 2022:
        days.add(_observed(dt.date(year, 6, 19)))  # Juneteenth
    days.add(_observed(dt.date(year, 7, 4)))
    days.add(_nth_weekday(year, 9, 0, 1))  # Labor Day
    days.add(_nth_weekday(year, 11, 3, 4))  # Thanksgiving
    days.add(_observed(dt.date(year, 12, 25)))
    days.update(d for d in _SPECIAL_CLOSURES if d.year == year)
    return frozenset(days)


def is_trading_day(inst: Instrument, day: dt.date) -> bool:
    """Whether ``day`` has a session: US exchange days for stocks; for forex
    every weekday but 1 January and 25 December (the session of day D runs
    from D-1 17:15 to D 17:00 US/Eastern)."""
    if day.weekday() >= 5:
        return False
    if inst.is_forex:
        return (day.month, day.day) not in ((1, 1), (12, 25))
    return day not in us_market_holidays(day.year)


def trading_days(inst: Instrument, start: dt.date, end: dt.date) -> list[dt.date]:
    """All trading days ``start <= d <= end`` of the instrument, ascending."""
    out = []
    day = start
    one = dt.timedelta(days=1)
    while day <= end:
        if is_trading_day(inst, day):
            out.append(day)
        day += one
    return out


def session_bounds(inst: Instrument, day: dt.date, rth: bool) -> tuple[dt.datetime, dt.datetime]:
    """(start, end) of the session of trading day ``day``, aware US/Eastern.

    Stocks: 09:30-16:00 (rth) or 04:00-20:00. Forex: D-1 17:15 to D 17:00
    whatever ``rth``.
    """
    if inst.is_forex:
        prev = day - dt.timedelta(days=1)
        return (
            dt.datetime(prev.year, prev.month, prev.day, 17, 15, tzinfo=SIM_TZ),
            dt.datetime(day.year, day.month, day.day, 17, 0, tzinfo=SIM_TZ),
        )
    if rth:
        return (
            dt.datetime(day.year, day.month, day.day, 9, 30, tzinfo=SIM_TZ),
            dt.datetime(day.year, day.month, day.day, 16, 0, tzinfo=SIM_TZ),
        )
    return (
        dt.datetime(day.year, day.month, day.day, 4, 0, tzinfo=SIM_TZ),
        dt.datetime(day.year, day.month, day.day, 20, 0, tzinfo=SIM_TZ),
    )


def trading_hours(inst: Instrument, day: dt.date, rth: bool, days: int = 7) -> str:
    """Contract-details ``tradingHours`` (rth=False) or ``liquidHours``
    (rth=True) for ``days`` calendar days from ``day``.

    Format as TWS: ``20130301:0400-20130301:2000;20130302:CLOSED;...`` for
    stocks; ``20130303:1715-20130304:1700;...`` for forex (a Friday, whose
    session is the one opened on Thursday, has no entry, as in TWS).
    """
    parts = []
    one = dt.timedelta(days=1)
    for k in range(days):
        d = day + k * one
        ds = d.strftime("%Y%m%d")
        if inst.is_forex:
            nxt = d + one
            if is_trading_day(inst, nxt):
                parts.append(f"{ds}:1715-{nxt:%Y%m%d}:1700")
            elif d.weekday() != 4:
                parts.append(f"{ds}:CLOSED")
        elif is_trading_day(inst, d):
            start, end = ("0930", "1600") if rth else ("0400", "2000")
            parts.append(f"{ds}:{start}-{ds}:{end}")
        else:
            parts.append(f"{ds}:CLOSED")
    return ";".join(parts)
