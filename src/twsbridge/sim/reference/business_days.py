"""Business days of the exchanges whose expiry rules the simulator follows.

Two calendars:

* ``"US"``: weekdays that are not NYSE full-day holidays
  (:func:`twsbridge.sim.reference.calendar.us_market_holidays`). CME, CBOT,
  NYMEX, COMEX and CBOE expiries count business days on it; CME Globex
  trades on some NYSE holidays, but its expiry rules skip the same days
  (New Year, Good Friday, Thanksgiving, Christmas ...), so the difference
  does not move an expiry in practice.
* ``"EUREX"``: weekdays but New Year's Day, Good Friday, Easter Monday,
  1 May, 24, 25, 26 and 31 December (Eurex's trading calendar for
  derivatives).

Other venues (LSE, SEHK, TSEJ, TSE) use a plain weekday rule until the
simulator trades them.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from twsbridge.sim.reference.calendar import us_market_holidays

__all__ = [
    "eurex_holidays",
    "is_business_day",
    "last_business_day",
    "nth_weekday",
    "on_or_after",
    "on_or_before",
    "shift_business_days",
]

_ONE = dt.timedelta(days=1)


def nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th (1-based; -1 = last) given weekday (Mon=0) of a month."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    last = nxt - _ONE
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


@lru_cache(maxsize=256)
def eurex_holidays(year: int) -> frozenset[dt.date]:
    """Eurex derivatives holidays of a year (weekend dates included as listed)."""
    easter = _easter(year)
    return frozenset(
        {
            dt.date(year, 1, 1),
            easter - 2 * _ONE,
            easter + _ONE,
            dt.date(year, 5, 1),
            dt.date(year, 12, 24),
            dt.date(year, 12, 25),
            dt.date(year, 12, 26),
            dt.date(year, 12, 31),
        }
    )


def is_business_day(day: dt.date, calendar: str = "US") -> bool:
    """Whether ``day`` is a business day of ``calendar`` (``"US"``, ``"EUREX"``;
    any other name: weekdays). Raises nothing."""
    if day.weekday() >= 5:
        return False
    if calendar == "US":
        return day not in us_market_holidays(day.year)
    if calendar == "EUREX":
        return day not in eurex_holidays(day.year)
    return True


def on_or_before(day: dt.date, calendar: str = "US") -> dt.date:
    """``day`` if a business day, else the business day before it."""
    while not is_business_day(day, calendar):
        day -= _ONE
    return day


def on_or_after(day: dt.date, calendar: str = "US") -> dt.date:
    """``day`` if a business day, else the business day after it."""
    while not is_business_day(day, calendar):
        day += _ONE
    return day


def shift_business_days(day: dt.date, n: int, calendar: str = "US") -> dt.date:
    """The business day ``n`` business days after (n > 0) or before (n < 0)
    ``day``, not counting ``day`` itself; ``n == 0`` returns ``day``."""
    step = _ONE if n > 0 else -_ONE
    for _ in range(abs(n)):
        day += step
        while not is_business_day(day, calendar):
            day += step
    return day


def last_business_day(year: int, month: int, calendar: str = "US") -> dt.date:
    """The last business day of a month."""
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    return on_or_before(nxt - _ONE, calendar)
