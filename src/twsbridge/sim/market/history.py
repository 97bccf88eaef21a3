"""TWS historical-data request semantics (reqHistoricalData, reqHeadTimeStamp).

Requests are validated like TWS does (error 10314 for an unreadable end
date, 321 for validation errors, 162 for what the historical data farm
refuses or has no data for) and answered from a :class:`PriceModel`:

* bars of one day or more come from the daily series (so TRADES daily bars
  of AAPL are the real ones), whatever useRTH; the bar of the day in progress
  is partial (built from its regular session so far); weekly and monthly bars
  group daily bars by ISO week / calendar month and carry their first date;
* intraday bars aggregate the 1-second path (so a day's RTH TRADES bars
  aggregate exactly to its daily bar); bars are aligned on multiples of the
  bar size from midnight US/Eastern, the first bar of a session starting at
  the session start (09:30 with useRTH, else 04:00; forex 17:15);
* nothing is produced after the clock's ``now``: the bar containing ``now``
  is partial and its close is the current price;
* every whatToShow TWS serves (TRADES, ADJUSTED_LAST, the quotes, historical
  and implied volatility, fee and rebate rates) is built on the same path and
  quotes; which secType serves which, TWS's errors for the others and each
  value's meaning are in :mod:`twsbridge.sim.market.bar_kinds`.

Durations: ``N S`` is N seconds back; ``N D`` the last N trading sessions
(ending with the one in progress); ``N W``/``N M``/``N Y`` calendar weeks,
months and years back. All datetimes are aware; bar times are US/Eastern.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from twsbridge.sim.market.bar_kinds import (
    ADJUSTED_LAST_END,
    ALL_WHAT_TO_SHOW,
    HMDS_PREFIX,
    QUOTE_KINDS,
    TRADE_KINDS,
    VALIDATION_PREFIX,
    VALUE_KINDS,
    HistoryError,
    adjustment_factors,
    check_available,
    daily_values,
    hv_base,
    no_data,
    parse_what,
    value_series,
)
from twsbridge.sim.market.prices import DATA_END, DailySeries, PriceModel, round_tick
from twsbridge.sim.reference.calendar import SIM_TZ, session_bounds
from twsbridge.sim.reference.instruments import Instrument

__all__ = ["BAR_SIZES", "WHAT_TO_SHOW", "BarSize", "Duration", "HistBar", "HistoryError",
           "bar_update", "format_bar_time", "head_timestamp", "historical_bars",
           "parse_bar_size", "parse_duration", "parse_end_datetime"]

INVALID_END_DATE = (
    "End Date/Time: The date, time, or time-zone entered is invalid.\n"
    "The correct format is yyyymmdd hh:mm:ss xx/xxxx\nwhere yyyymmdd and xx/xxxx are optional.\n"
    "E.g.: 20031126 15:59:00 US/Eastern\n\nNote that there is a space between the date and time,\n"
    "and between the time and time-zone.\n\nIf no date is specified, current date is assumed.\n"
    "If no time-zone is specified, local time-zone is assumed(deprecated).\n\n"
    "You can also provide yyyymmddd-hh:mm:ss time is in UTC.\n"
    "Note that there is a dash between the date and time in UTC notation."
)
TRADE_SIZE = 250
"""Average trade size in shares, used to derive barCount from volume."""

WHAT_TO_SHOW = tuple(sorted(ALL_WHAT_TO_SHOW))
"""Every whatToShow TWS accepts (which secType serves which: bar_kinds)."""
_ZONE_ALIASES = {"EST": "US/Eastern", "EST5EDT": "US/Eastern", "CST": "US/Central",
                 "MST": "US/Mountain", "PST": "US/Pacific", "GMT": "UTC", "Z": "UTC"}
_DAY = 86400


def _invalid(cause: str) -> HistoryError:
    return HistoryError(321, VALIDATION_PREFIX + cause)


@dataclass(frozen=True, slots=True)
class BarSize:
    """A bar size: ``seconds`` for intraday sizes (0 otherwise), ``unit``
    '' (intraday), 'D', 'W' or 'M'."""

    setting: str
    seconds: int
    unit: str

    @property
    def intraday(self) -> bool:
        """True for bars shorter than one day."""
        return not self.unit


_INTRADAY = (("1 secs", 1), ("5 secs", 5), ("10 secs", 10), ("15 secs", 15),
             ("30 secs", 30), ("1 min", 60), ("2 mins", 120), ("3 mins", 180),
             ("5 mins", 300), ("10 mins", 600), ("15 mins", 900), ("20 mins", 1200),
             ("30 mins", 1800), ("1 hour", 3600), ("2 hours", 7200), ("3 hours", 10800),
             ("4 hours", 14400), ("8 hours", 28800))
BAR_SIZES: dict[str, BarSize] = {name: BarSize(name, s, "") for name, s in _INTRADAY}
BAR_SIZES.update({
    "1 day": BarSize("1 day", 0, "D"),
    "1 week": BarSize("1 week", 0, "W"), "1w": BarSize("1 week", 0, "W"),
    "1 month": BarSize("1 month", 0, "M"), "1m": BarSize("1 month", 0, "M"),
})
_LEGAL = ", ".join(name for name, _ in _INTRADAY) + ", 1 day, 1W, 1M"

# TWS's published limits: the longest duration (nominal seconds) per bar size.
_MAX_DURATION = {1: 1800, 5: 3600, 10: 14400, 15: 14400, 30: 28800, 60: _DAY,
                 120: 2 * _DAY, 180: 7 * _DAY, 300: 7 * _DAY, 600: 7 * _DAY,
                 900: 7 * _DAY, 1200: 7 * _DAY}
_MONTH_SECONDS = 30 * _DAY


@dataclass(frozen=True, slots=True)
class Duration:
    """A request duration: ``n`` units of 'S', 'D', 'W', 'M' or 'Y'."""

    n: int
    unit: str

    @property
    def nominal_seconds(self) -> int:
        """Length in seconds (D=1 day, W=7, M=30, Y=365 days) for limits."""
        mult = {"S": 1, "D": _DAY, "W": 7 * _DAY, "M": 30 * _DAY, "Y": 365 * _DAY}
        return self.n * mult[self.unit]

    def before(self, end: dt.datetime) -> dt.datetime:
        """``end`` moved back by the duration on the US/Eastern calendar."""
        if self.unit == "S":
            return end - dt.timedelta(seconds=self.n)
        local = end.astimezone(SIM_TZ).replace(tzinfo=None)
        if self.unit in ("D", "W"):
            local -= dt.timedelta(days=self.n * (7 if self.unit == "W" else 1))
        else:
            months = self.n * (12 if self.unit == "Y" else 1)
            y, m = divmod(local.year * 12 + local.month - 1 - months, 12)
            m += 1
            last = (dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)).day
            local = local.replace(year=y, month=m, day=min(local.day, last))
        return local.replace(tzinfo=SIM_TZ)


@dataclass(frozen=True, slots=True)
class HistBar:
    """One historical bar. ``time``: a date for bars of a day or more, else
    the aware US/Eastern start of the bar. Prices in currency units;
    ``volume`` in shares, ``wap`` in currency units, ``barCount`` trades
    (all three -1 for MIDPOINT/BID/ASK/BID_ASK, as TWS sends)."""

    time: dt.date | dt.datetime
    open: float
    high: float
    low: float
    close: float
    volume: Decimal
    wap: Decimal
    barCount: int


# ----------------------------------------------------------------- parsing

def parse_duration(durationStr: str) -> Duration:
    """Parse ``'N S|D|W|M|Y'`` (a bare number is seconds); raises HistoryError 321."""
    s = durationStr.strip()
    if not s:
        raise _invalid("Historical data request duration not specified.")
    if s.isdigit():
        s += " S"
    m = re.fullmatch(r"(\d+) ([SDWMYsdwmy])", s)
    if m is None:
        raise _invalid("When specifying a unit, historical data request duration format "
                       "is integer{SPACE}unit (S|D|W|M|Y).")
    if len(m.group(1)) > 6:  # more than any limit below (and int() refuses 4300 digits)
        raise _invalid("Historical data requested duration is invalid.")
    n, unit = int(m.group(1)), m.group(2).upper()
    if n < 1:
        raise _invalid("Historical data requested duration is invalid.")
    if unit == "S" and n > _DAY:
        raise _invalid("Historical data request for greater than 86400 seconds rejected.")
    if unit == "D" and n > 365:
        raise _invalid("Historical data requests for durations longer than 365 days "
                       "must be made in years.")
    if unit == "W" and n > 52:
        raise _invalid("Historical data request for durations longer than 52 weeks "
                       "must be made in years.")
    if unit == "M" and n > 12:
        raise _invalid("Historical data request for durations longer than 12 months "
                       "must be made in years.")
    return Duration(n, unit)


def parse_bar_size(barSizeSetting: str) -> BarSize:
    """Parse a TWS bar size ('1 secs' ... '1 day', '1 week'/'1W',
    '1 month'/'1M'); raises HistoryError 321."""
    bs = BAR_SIZES.get(barSizeSetting.strip().lower())
    if bs is None:
        raise _invalid(f"Historical data bar size setting is invalid. Legal ones are: {_LEGAL}")
    return bs


def _zone(name: str) -> dt.tzinfo:
    key = _ZONE_ALIASES.get(name.upper(), name)
    if key.upper() == "UTC":
        return dt.UTC
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: name too long
        raise HistoryError(10314, INVALID_END_DATE) from exc


def parse_end_datetime(endDateTime: str, now: dt.datetime) -> dt.datetime:
    """Parse an endDateTime: '' (now), 'yyyymmdd hh:mm:ss' (US/Eastern),
    'yyyymmdd hh:mm:ss <zone>', 'yyyymmdd-hh:mm:ss' (UTC), 'hh:mm:ss [zone]'
    (today) or 'yyyymmdd' (23:59:59 US/Eastern). Raises HistoryError 10314,
    also for a date before 1900 (no calendar arithmetic near year 1)."""
    end = _parse_end(endDateTime, now)
    if end.year < _FIRST_YEAR:
        raise HistoryError(10314, INVALID_END_DATE)
    return end


_FIRST_YEAR = 1900


def _parse_end(endDateTime: str, now: dt.datetime) -> dt.datetime:
    s = endDateTime.strip()
    if not s:
        return now
    m = re.fullmatch(r"(\d{8})-(\d{2}:\d{2}:\d{2})", s)
    words = s.split()
    try:
        if m is not None:
            naive = dt.datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H:%M:%S")
            return naive.replace(tzinfo=dt.UTC)
        if re.fullmatch(r"\d{8}", s):
            return dt.datetime.strptime(s + "23:59:59", "%Y%m%d%H:%M:%S").replace(tzinfo=SIM_TZ)
        zone: dt.tzinfo = SIM_TZ
        if len(words) >= 2 and not words[-1][0].isdigit():
            zone = _zone(" ".join(w for w in words if not w[0].isdigit()))
            words = [w for w in words if w[0].isdigit()]
        if len(words) == 1 and re.fullmatch(r"\d{2}:\d{2}:\d{2}", words[0]):
            words = [now.astimezone(zone).strftime("%Y%m%d"), words[0]]
        if len(words) == 2 and re.fullmatch(r"\d{8}", words[0]) and re.fullmatch(
                r"\d{2}:\d{2}:\d{2}", words[1]):
            naive = dt.datetime.strptime(words[0] + words[1], "%Y%m%d%H:%M:%S")
            return naive.replace(tzinfo=zone)
    except ValueError as exc:
        raise HistoryError(10314, INVALID_END_DATE) from exc
    raise HistoryError(10314, INVALID_END_DATE)


def _check_limits(bs: BarSize, dur: Duration) -> None:
    if not bs.intraday:
        return
    limit = _MAX_DURATION.get(bs.seconds, _MONTH_SECONDS)
    if dur.nominal_seconds > limit:
        raise HistoryError(162, f"{HMDS_PREFIX}Time length exceed max.")


# --------------------------------------------------------------- assembly

def _dec(x: float) -> Decimal:
    return Decimal(repr(round(float(x), 6)))


_NONE = Decimal(-1)


def _offset(epoch: int) -> int:
    """UTC offset of US/Eastern at an epoch second, in seconds."""
    off = dt.datetime.fromtimestamp(epoch, SIM_TZ).utcoffset()
    return int(off.total_seconds()) if off is not None else 0


def _day_state(model: PriceModel, inst: Instrument, t: dt.datetime,
               ) -> tuple[DailySeries, int, int]:
    """(series, index of the last day with a started RTH session at t,
    position of t in that day's path or -1 if the day is complete)."""
    local = t.astimezone(SIM_TZ)
    key = local.date() + dt.timedelta(days=1 if inst.is_forex and local.hour >= 17 else 0)
    ser = model.series(inst.conId, max(key, DATA_END))
    i = ser.index_le(key)
    if i < 0:
        return ser, -1, -1
    s, e = session_bounds(inst, ser.date(i), True)
    if t < s:
        return ser, i - 1, -1
    if t >= e:
        return ser, i, -1
    path = model.path(inst.conId, ser.date(i))
    assert path is not None
    return ser, i, int(t.timestamp()) - path.start


def _daily_bars(model: PriceModel, inst: Instrument, end: dt.datetime, dur: Duration,
                bs: BarSize, what: str) -> list[HistBar]:
    ser, last, pos = _day_state(model, inst, end)
    if last < 0:
        return []
    if dur.unit == "D":
        first = max(0, last - dur.n + 1)
    else:
        cutoff = dur.before(end).astimezone(SIM_TZ).date()
        first = ser.index_le(cutoff) + 1
    if what == "HISTORICAL_VOLATILITY":
        first = max(first, 1)  # the first day has no return
    if first > last:
        return []
    sl = slice(first, last + 1)
    o, h, lo, c = (a[sl].copy() for a in (ser.open, ser.high, ser.low, ser.close))
    v = ser.volume[sl].copy()
    if pos >= 0:
        path = model.path(inst.conId, ser.date(last))
        assert path is not None
        seg = path.prices[path.rth_start: pos + 1]
        h[-1], lo[-1], c[-1] = seg.max(), seg.min(), seg[-1]
        v[-1] = int(path.volumes[path.rth_start: pos + 1].sum())
    days = [dt.date.fromordinal(int(x)) for x in ser.ords[sl]]
    if what == "ADJUSTED_LAST":
        f = adjustment_factors(inst, ser.ords[sl])
        o, h, lo, c = (np.round(a * f, 6) for a in (o, h, lo, c))
    if what in VALUE_KINDS:
        o, h, lo, c = daily_values(inst, ser, first, what, o, h, lo, c)
    wap = (h + lo + c) / 3.0
    if bs.unit == "D":
        groups = [[k] for k in range(len(days))]
    else:
        keys = [d.isocalendar()[:2] if bs.unit == "W" else (d.year, d.month) for d in days]
        groups = []
        for k, key in enumerate(keys):
            if k and key == keys[k - 1]:
                groups[-1].append(k)
            else:
                groups.append([k])
    tick = inst.minTick
    out = []
    for g in groups:
        go, gh, gl, gc = float(o[g[0]]), float(h[g].max()), float(lo[g].min()), float(c[g[-1]])
        gv = int(v[g].sum())
        if what in TRADE_KINDS:
            gw = float((wap[g] * v[g]).sum() / gv) if gv else float(wap[g].mean())
            out.append(HistBar(days[g[0]], go, gh, gl, gc, Decimal(gv), _dec(gw),
                               max(1, gv // TRADE_SIZE) if gv else 0))
            continue
        if what in VALUE_KINDS:
            out.append(HistBar(days[g[0]], go, gh, gl, gc, _NONE, _NONE, -1))
            continue
        arr = np.array([go, gh, gl, gc])
        bid = np.floor((arr - tick / 2) / tick + 1e-7) * tick
        ask = np.ceil((arr + tick / 2) / tick - 1e-7) * tick
        vals = {"MIDPOINT": arr, "BID": bid, "ASK": ask,
                "BID_ASK": np.array([bid[0], ask[1], bid[2], ask[3]])}[what]
        vo, vh, vl, vc = (float(x) for x in np.round(vals, 10))
        out.append(HistBar(days[g[0]], vo, vh, vl, vc, _NONE, _NONE, -1))
    return out


def _intraday_bars(model: PriceModel, inst: Instrument, days: list[dt.date], lo: int, hi: int,
                   bs: BarSize, what: str, rth: bool) -> list[HistBar]:
    """Bars of ``bs`` over the paths of ``days``, seconds in [lo, hi)."""
    rth = rth or inst.is_forex
    chunks = []
    ser = model.series(inst.conId, max(days[-1], DATA_END)) if days else None
    for n_day, day in enumerate(days):
        path = model.path(inst.conId, day)
        if path is None:
            continue
        a, b = (path.rth_start, path.rth_end) if rth else (0, len(path.prices))
        a = max(a, lo - path.start)
        b = min(b, hi - path.start)
        if a >= b:
            continue
        seg_start = path.start + (path.rth_start if rth else 0)
        offset = _offset(seg_start)
        ep = np.arange(path.start + a, path.start + b, dtype=np.int64)
        bucket = (ep + offset) // bs.seconds * bs.seconds - offset
        p = path.prices[a:b]
        if what == "ADJUSTED_LAST":
            p = np.round(p * adjustment_factors(inst, np.array([day.toordinal()]))[0], 6)
        elif what in VALUE_KINDS:
            assert ser is not None
            i = ser.index_of(day)
            if what == "HISTORICAL_VOLATILITY" and i < 1:
                continue
            base = hv_base(ser, i) if what == "HISTORICAL_VOLATILITY" else None
            p = value_series(what, inst, base, p)
        chunks.append((ep, p, path.volumes[a:b],
                       np.maximum(bucket, seg_start), np.full(b - a, n_day)))
    if not chunks:
        return []
    ep, p, v, label, dayno = (np.concatenate([c[k] for c in chunks]) for k in range(5))
    brk = np.flatnonzero((np.diff(label) != 0) | (np.diff(dayno) != 0)) + 1
    starts = np.concatenate(([0], brk))
    ends = np.concatenate((brk, [len(ep)]))
    times = [dt.datetime.fromtimestamp(int(x), SIM_TZ) for x in label[starts]]
    if what in TRADE_KINDS:
        vol = np.add.reduceat(v, starts)
        pv = np.add.reduceat(p * v, starts)
        mean = np.add.reduceat(p, starts) / (ends - starts)
        wap = np.where(vol > 0, pv / np.maximum(vol, 1), mean)
        counts = np.add.reduceat(-(-v // TRADE_SIZE), starts)
        o, h, low, c = (p[starts], np.maximum.reduceat(p, starts),
                        np.minimum.reduceat(p, starts), p[ends - 1])
        return [HistBar(times[k], float(o[k]), float(h[k]), float(low[k]), float(c[k]),
                        Decimal(int(vol[k])), _dec(wap[k]), int(counts[k]))
                for k in range(len(starts))]
    if what in VALUE_KINDS:
        series = p
    else:
        bid, ask, _, _ = model.bid_ask(inst.conId, ep, p)
    if what == "BID_ASK":
        n = ends - starts
        o = np.add.reduceat(bid, starts) / n
        c = np.add.reduceat(ask, starts) / n
        h, low = np.maximum.reduceat(ask, starts), np.minimum.reduceat(bid, starts)
        o, c = round_tick(o, inst.minTick / 100), round_tick(c, inst.minTick / 100)
    else:
        if what in QUOTE_KINDS:
            series = {"BID": bid, "ASK": ask, "MIDPOINT": np.round((bid + ask) / 2, 10)}[what]
        o, c = series[starts], series[ends - 1]
        h, low = np.maximum.reduceat(series, starts), np.minimum.reduceat(series, starts)
    return [HistBar(times[k], float(o[k]), float(h[k]), float(low[k]), float(c[k]),
                    _NONE, _NONE, -1) for k in range(len(starts))]


def _session_days(model: PriceModel, inst: Instrument, hi: int, n: int,
                  rth: bool) -> list[dt.date]:
    """The last n trading days whose session (rth or extended) began before
    epoch second ``hi`` (exclusive bound of the data wanted)."""
    local = dt.datetime.fromtimestamp(hi - 1, SIM_TZ)
    key = local.date() + dt.timedelta(days=1 if inst.is_forex and local.hour >= 17 else 0)
    ser = model.series(inst.conId, max(key, DATA_END))
    i = ser.index_le(key)
    if i >= 0 and hi <= int(session_bounds(inst, ser.date(i), rth or inst.is_forex)[0].timestamp()):
        i -= 1
    return [ser.date(k) for k in range(max(0, i - n + 1), i + 1)]


def historical_bars(
    model: PriceModel,
    conId: int,
    *,
    now: dt.datetime,
    endDateTime: str,
    durationStr: str,
    barSizeSetting: str,
    whatToShow: str,
    useRTH: bool,
) -> tuple[dt.datetime, dt.datetime, list[HistBar]]:
    """Answer reqHistoricalData as of ``now``: (start, end, bars).

    ``start`` is ``end`` moved back by the duration (calendar), ``end`` the
    requested end capped at ``now``, both aware US/Eastern. Raises
    HistoryError (10314 / 321 / 162) like TWS; unknown conId: KeyError.
    What each whatToShow shows, and for which secType: :mod:`bar_kinds`
    (SCHEDULE has no bars, ValueError: :mod:`twsbridge.sim.market.schedule`).
    """
    inst = model.instrument(conId)
    end = parse_end_datetime(endDateTime, now)
    dur = parse_duration(durationStr)
    bs = parse_bar_size(barSizeSetting)
    what = parse_what(whatToShow)
    if what == "ADJUSTED_LAST" and endDateTime.strip():
        raise HistoryError(321, ADJUSTED_LAST_END)
    if what == "SCHEDULE":
        raise ValueError("SCHEDULE has no bars: see sim.market.schedule")
    _check_limits(bs, dur)
    check_available(inst, what, bs.seconds)
    end = min(end, now).astimezone(SIM_TZ)
    try:
        start = dur.before(end)
    except (ValueError, OverflowError):  # before year 1: "100000 Y", or an end in year 1
        raise _invalid("Historical data requested duration is invalid.") from None
    if bs.intraday:
        hi = int(end.timestamp()) + (1 if end >= now else 0)
        if dur.unit == "D":
            days = _session_days(model, inst, hi, dur.n, useRTH)
            lo = 0
        else:
            off = _offset(int(start.timestamp()))
            lo = (int(start.timestamp()) + off) // bs.seconds * bs.seconds - off
            first = start.date() - dt.timedelta(days=1)
            ser = model.series(conId, max(end.date() + dt.timedelta(days=1), DATA_END))
            days = [ser.date(k) for k in range(ser.index_le(first) + 1,
                                               ser.index_le(end.date() + dt.timedelta(days=1)) + 1)]
        bars = _intraday_bars(model, inst, days, lo, hi, bs, what, useRTH)
    else:
        bars = _daily_bars(model, inst, end, dur, bs, what)
    if not bars:
        raise no_data(inst, what)
    return start, end, bars


def bar_update(
    model: PriceModel,
    conId: int,
    *,
    now: dt.datetime,
    barSizeSetting: str,
    whatToShow: str,
    useRTH: bool,
) -> HistBar:
    """keepUpToDate: the current (partial) bar at ``now``; outside sessions
    the last bar of the last session."""
    inst = model.instrument(conId)
    bs = parse_bar_size(barSizeSetting)
    what = parse_what(whatToShow)
    check_available(inst, what, bs.seconds)
    if not bs.intraday:
        bars = _daily_bars(model, inst, now, Duration(1, "D" if bs.unit == "D" else "M"), bs, what)
    else:
        days = _session_days(model, inst, int(now.timestamp()) + 1, 1, useRTH)
        bars = []
        if days:
            s, e = session_bounds(inst, days[0], useRTH or inst.is_forex)
            last = min(int(now.timestamp()), int(e.timestamp()) - 1)
            off = _offset(last)
            lo = max((last + off) // bs.seconds * bs.seconds - off, int(s.timestamp()))
            bars = _intraday_bars(model, inst, days, lo, last + 1, bs, what, useRTH)
    if not bars:
        raise no_data(inst, what)
    return bars[-1]


def head_timestamp(model: PriceModel, conId: int, whatToShow: str, useRTH: bool) -> dt.datetime:
    """reqHeadTimeStamp: start of the first session with data (aware, US/Eastern)."""
    inst = model.instrument(conId)
    what = parse_what(whatToShow)
    check_available(inst, what, 0)
    first = model.series(conId).date(1 if what == "HISTORICAL_VOLATILITY" else 0)
    return session_bounds(inst, first, useRTH or inst.is_forex)[0]


def format_bar_time(bar_time: dt.date | dt.datetime, formatDate: int,
                    tz: dt.tzinfo = SIM_TZ) -> str:
    """Bar time as TWS writes it: dates 'yyyymmdd'; datetimes with formatDate
    1 'yyyymmdd hh:mm:ss <zone>' in ``tz``, 2 epoch seconds, 3 as 1 without
    the year."""
    if not isinstance(bar_time, dt.datetime):
        return bar_time.strftime("%Y%m%d")
    if formatDate == 2:
        return str(int(bar_time.timestamp()))
    local = bar_time.astimezone(tz)
    name = getattr(tz, "key", None) or local.tzname() or "UTC"
    text = f"{local:%Y%m%d %H:%M:%S} {name}"
    return text[4:] if formatDate == 3 else text
