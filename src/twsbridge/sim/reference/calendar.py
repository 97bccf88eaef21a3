"""The exchange calendar of the simulator: trading days, holidays, early
closes, lunch breaks, the session bounds of a trading day and the
``tradingHours`` / ``liquidHours`` strings of contract details, per venue.

Days and hours come from the ``exchange_calendars`` library (the calendar
each :class:`~twsbridge.sim.reference.venues.Venue` names: XNYS for US
stocks, XHKG for SEHK, CMES for Globex...), with TWS's own additions (US
extended hours, the SEHK closing auction, the IDEALPRO forex week) from
:mod:`twsbridge.sim.reference.venues`. Times are aware datetimes in the
venue's zone (``Venue.timeZoneId``, the ``timeZoneId`` TWS reports): US/Eastern
(``SIM_TZ``) for US stocks and forex.

A calendar is loaded on first use only (each takes a few tenths of a second)
for 1999..2035; the days of one (venue, year) are computed once and kept.
Outside the loaded range every weekday is a trading day with the venue's
regular hours.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from twsbridge.sim.reference.instruments import Instrument
from twsbridge.sim.reference.venues import Venue, venue, venue_by_code

__all__ = [
    "SIM_TZ",
    "DaySessions",
    "Span",
    "early_closes",
    "is_early_close",
    "is_session_day",
    "is_trading_day",
    "session_bounds",
    "sessions",
    "trading_days",
    "trading_hours",
    "us_market_holidays",
    "venue_for",
    "venue_holidays",
]

SIM_TZ = ZoneInfo("US/Eastern")
"""Time zone of the simulator's clock and of US stocks and forex (TWS's ``US/Eastern``)."""

Span = tuple[dt.datetime, dt.datetime]
"""(start, end) of one session, aware datetimes in the venue's zone, end excluded."""

_FIRST, _LAST = dt.date(1999, 1, 1), dt.date(2035, 12, 31)
_ONE = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DaySessions:
    """The sessions of one trading day of a venue.

    ``liquid``: the regular session(s) (``liquidHours``, RTH), two around a
    lunch break (SEHK, TSEJ); ``trading``: the extended session(s)
    (``tradingHours``). ``early_close``: the exchange closes early that day
    (half day).
    """

    liquid: tuple[Span, ...]
    trading: tuple[Span, ...]
    early_close: bool = False


# ------------------------------------------------------------ calendars


@cache
def _calendar(name: str) -> Any:
    """The exchange_calendars calendar ``name``, loaded once over 1999..2035
    (narrowed to the calendar's own bounds where they are narrower)."""
    import exchange_calendars as xc  # slow to import: only once a calendar is needed

    with warnings.catch_warnings():  # pandas 3 deprecations inside exchange_calendars
        warnings.simplefilter("ignore")
        try:
            return xc.get_calendar(name, start=_FIRST.isoformat(), end=_LAST.isoformat())
        except ValueError:  # the calendar's bounds are narrower than ours
            cls = type(xc.get_calendar(name))
            start = max(_FIRST, cls.bound_min().date()) if cls.bound_min() else _FIRST
            end = min(_LAST, cls.bound_max().date()) if cls.bound_max() else _LAST
            return xc.get_calendar(name, start=start.isoformat(), end=end.isoformat())


def _effective(times: Any, day: dt.date) -> dt.time | None:
    """The time of an exchange_calendars ``(start date | None, time)`` sequence on ``day``."""
    if not times:
        return None
    chosen = None
    for since, t in times:
        if since is None or since.date() <= day:
            chosen = t
    return chosen


def _local(ts: Any, tz: ZoneInfo) -> dt.datetime:
    out: dt.datetime = ts.to_pydatetime().astimezone(tz)
    return out


def _at(day: dt.date, t: dt.time, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, t.hour, t.minute, tzinfo=tz)


def _build(v: Venue, day: dt.date, base: tuple[Span, ...], early: bool) -> DaySessions:
    """Liquid and trading sessions from the exchange's session(s) of ``day``."""
    spans = list(base)
    if not early and v.closing_auction:
        s, e = spans[-1]
        spans[-1] = (s, e + v.closing_auction)
    trading = list(spans)
    trading[0] = (trading[0][0] - v.pre, trading[0][1])
    trading[-1] = (trading[-1][0], trading[-1][1] + v.post)
    liquid = list(spans)
    if v.liquid_open is not None:
        s, e = liquid[0]
        liquid[0] = (max(s, min(_at(day, v.liquid_open, v.tz), e)), e)
    return DaySessions(tuple(liquid), tuple(trading), early)


def _regular(v: Venue, day: dt.date) -> DaySessions:
    """The venue's regular sessions on ``day`` (whether it trades or not)."""
    tz = v.tz
    if v.fixed is not None:
        f = v.fixed
        span = (_at(day + f.open_offset * _ONE, f.open, tz), _at(day, f.close, tz))
        return DaySessions((span,), (span,))
    cal = _calendar(v.calendar)
    cal_tz = ZoneInfo(str(cal.tz))
    opens = _at(day + int(cal.open_offset) * _ONE, _effective(cal.open_times, day)
                or dt.time(0), cal_tz).astimezone(tz)
    closes = _at(day + int(cal.close_offset) * _ONE, _effective(cal.close_times, day)
                 or dt.time(0), cal_tz).astimezone(tz)
    bs, be = _effective(cal.break_start_times, day), _effective(cal.break_end_times, day)
    if bs is not None and be is not None:
        base: tuple[Span, ...] = ((opens, _at(day, bs, cal_tz).astimezone(tz)),
                                  (_at(day, be, cal_tz).astimezone(tz), closes))
    else:
        base = ((opens, closes),)
    return _build(v, day, base, False)


_YEARS: dict[tuple[str, int], dict[dt.date, DaySessions]] = {}


def _weekdays(year: int) -> list[dt.date]:
    day, out = dt.date(year, 1, 1), []
    while day.year == year:
        if day.weekday() < 5:
            out.append(day)
        day += _ONE
    return out


def _compute_year(v: Venue, year: int) -> dict[dt.date, DaySessions]:
    cal = _calendar(v.calendar)
    first, last = cal.first_session.date(), cal.last_session.date()
    if not first.year <= year <= last.year:
        days = [d for d in _weekdays(year)
                if v.fixed is None or (d.month, d.day) not in v.fixed.closed]
        return {d: _regular(v, d) for d in days}
    if v.fixed is not None:
        sessions_ = cal.sessions_in_range(f"{year}-01-01", f"{year}-12-31")
        return {d: _regular(v, d) for d in (s.date() for s in sessions_)
                if (d.month, d.day) not in v.fixed.closed}
    sched = cal.schedule
    part = sched[sched.index.year == year]
    early = {d.date() for d in cal.early_closes if d.year == year}
    tz = v.tz
    out: dict[dt.date, DaySessions] = {}
    for label, o, bs, be, c in zip(part.index, part["open"], part["break_start"],
                                   part["break_end"], part["close"], strict=True):
        day = label.date()
        opens, closes = _local(o, tz), _local(c, tz)
        if bs is None or bs != bs or be != be:  # NaT: no break that day
            base: tuple[Span, ...] = ((opens, closes),)
        else:
            base = ((opens, _local(bs, tz)), (_local(be, tz), closes))
        out[day] = _build(v, day, base, day in early)
    return out


def _year(v: Venue, year: int) -> dict[dt.date, DaySessions]:
    """Trading days of a venue in a year, ascending, with their sessions (cached)."""
    key = (v.code, year)
    days = _YEARS.get(key)
    if days is None:
        days = _YEARS[key] = _compute_year(v, year)
    return days


# ----------------------------------------------------------------- venues

_VENUE_OF: dict[tuple[str, str, str, str], Venue] = {}


def venue_for(inst: Instrument) -> Venue:
    """The venue whose calendar ``inst`` trades on.

    From ``secType`` (CASH: IDEALPRO), then ``exchange`` (a direct TWS code
    such as GLOBEX, SEHK, IBIS), then ``primaryExchange``, then the
    ``currency`` of a SMART-routed contract (USD: US stocks, HKD: SEHK...).
    Unknown codes fall back to US stocks (NYSE), the simulator's original
    market.
    """
    key = (inst.secType, inst.exchange, inst.primaryExchange, inst.currency)
    found = _VENUE_OF.get(key)
    if found is None:
        found = (venue_by_code(inst.exchange, inst.secType, "")
                 or venue_by_code(inst.primaryExchange, inst.secType, "")
                 or venue_by_code(inst.exchange, inst.secType, inst.currency)
                 or venue("NYSE"))
        _VENUE_OF[key] = found
    return found


def sessions(v: Venue, day: dt.date, rth: bool = True) -> tuple[Span, ...]:
    """The sessions of trading day ``day`` of venue ``v`` (empty if it does not trade).

    rth=True: the liquid (regular) sessions, two around a lunch break (SEHK
    09:30-12:00 and 13:00-16:10 Hongkong); rth=False: the trading (extended)
    sessions (US stocks 04:00-20:00 US/Eastern). Early closes come from the
    exchange calendar (NYSE 2024-11-29: 09:30-13:00, extended to 17:00).
    A session may open the calendar day before (CME 17:00 Chicago, forex
    17:15 New York). Aware datetimes in ``v.tz``.
    """
    ds = _year(v, day.year).get(day)
    if ds is None:
        return ()
    return ds.liquid if rth else ds.trading


def is_session_day(v: Venue, day: dt.date) -> bool:
    """Whether venue ``v`` has a session on trading day ``day``."""
    return day in _year(v, day.year)


def early_closes(v: Venue, year: int) -> list[dt.date]:
    """The half days (early closes) of venue ``v`` in ``year``, ascending."""
    return [d for d, ds in _year(v, year).items() if ds.early_close]


def is_early_close(v: Venue, day: dt.date) -> bool:
    """Whether ``day`` is a half day (early close) of venue ``v``."""
    ds = _year(v, day.year).get(day)
    return ds is not None and ds.early_close


def venue_holidays(v: Venue, year: int) -> frozenset[dt.date]:
    """Weekdays of ``year`` on which venue ``v`` has no session."""
    days = _year(v, year)
    return frozenset(d for d in _weekdays(year) if d not in days)


@lru_cache(maxsize=256)
def us_market_holidays(year: int) -> frozenset[dt.date]:
    """Full-day NYSE/Nasdaq closures of a year (weekdays without an XNYS session)."""
    return venue_holidays(venue("NYSE"), year)


# ----------------------------------------------------- instrument helpers


def is_trading_day(inst: Instrument, day: dt.date) -> bool:
    """Whether ``day`` has a session for ``inst``: exchange days of its venue
    (US stocks: NYSE days); for forex every weekday but 1 January and
    25 December (the session of day D runs from D-1 17:15 to D 17:00
    US/Eastern)."""
    return day in _year(venue_for(inst), day.year)


def trading_days(inst: Instrument, start: dt.date, end: dt.date) -> list[dt.date]:
    """All trading days ``start <= d <= end`` of the instrument, ascending."""
    v = venue_for(inst)
    out: list[dt.date] = []
    for year in range(start.year, end.year + 1):
        out.extend(d for d in _year(v, year) if start <= d <= end)
    return out


def session_bounds(inst: Instrument, day: dt.date, rth: bool) -> tuple[dt.datetime, dt.datetime]:
    """(start, end) of the session of trading day ``day``, aware in the venue's zone.

    US stocks: 09:30-16:00 (rth) or 04:00-20:00 US/Eastern, 13:00 / 17:00 on
    half days. Forex: D-1 17:15 to D 17:00 whatever ``rth``. A day with a
    lunch break spans from its first open to its last close. On a day
    without a session: the venue's regular hours of that day.
    """
    v = venue_for(inst)
    ds = _year(v, day.year).get(day) or _regular(v, day)
    spans = ds.liquid if rth else ds.trading
    return spans[0][0], spans[-1][1]


def _stamp(t: dt.datetime) -> str:
    return f"{t:%Y%m%d:%H%M}"


def trading_hours(inst: Instrument, day: dt.date, rth: bool, days: int = 7) -> str:
    """Contract-details ``tradingHours`` (rth=False) or ``liquidHours``
    (rth=True) for ``days`` calendar days from ``day``, in the venue's zone.

    Format of TWS (contractDetails, id 10, server version >= 150 dated form):
    one ``start-end`` entry per session under the date it opens,
    ``20130301:0400-20130301:2000;20130302:CLOSED;...`` for stocks,
    ``20240102:0930-20240102:1200;20240102:1300-20240102:1610`` for a lunch
    break (SEHK), ``20130303:1715-20130304:1700`` for a session opened the
    day before (forex, CME). A day with no session is ``CLOSED``; a day on
    which only a session opened the day before ends (a Friday of forex or
    CME) has no entry, as in TWS.
    """
    v = venue_for(inst)
    parts: list[str] = []
    for k in range(days):
        d = day + k * _ONE
        today = sessions(v, d, rth)
        starts = sorted(s for s in (*today, *sessions(v, d + _ONE, rth)) if s[0].date() == d)
        if starts:
            parts.extend(f"{_stamp(s)}-{_stamp(e)}" for s, e in starts)
        elif not any(e.date() == d for _, e in today):
            parts.append(f"{d:%Y%m%d}:CLOSED")
    return ";".join(parts)
