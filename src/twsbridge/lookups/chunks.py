"""Long historical downloads in chunks TWS accepts.

TWS refuses a reqHistoricalData whose duration is too long for its bar size
(error 162 "Time length exceed max"); :data:`MAX_DURATION` is its published
table (1 secs -> 1800 S, 1 min -> 1 D, 1 hour -> 1 M, 1 day -> 1 Y ...).
:func:`download` asks for the longest duration allowed, then again with
``endDateTime`` at the earliest bar received, walking backwards until the
requested duration is covered (or TWS has nothing earlier), de-duplicates the
overlaps and returns the bars in date order:

* a duration in days with a chunk in days (``3 D`` of ``1 min`` bars) counts
  TWS's way, in trading sessions: ``1 D`` chunks, one session each;
* any other duration is calendar time back from the end (the given
  ``endDateTime``, else the end of the latest bar): ``1 Y`` of ``1 hour`` bars
  is about 13 ``1 M`` requests, and bars before the start are dropped.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "MAX_DURATION",
    "Duration",
    "bar_seconds",
    "bar_time",
    "download",
    "max_duration",
    "merge_bars",
    "normalize_bar_size",
    "parse_duration",
]

Bar = dict[str, Any]
Fetch = Callable[[str, str], Awaitable[list[Bar]]]
"""``fetch(endDateTime, durationStr)``: one reqHistoricalData, its bars."""
Progress = Callable[[int, int, int], None]
"""``progress(requests done, requests expected, bars so far)``."""

_DAY = 86400
_UNIT_SECONDS = {"S": 1, "D": _DAY, "W": 7 * _DAY, "M": 30 * _DAY, "Y": 365 * _DAY}
MAX_REQUESTS = 5000
"""Most requests one download makes (a runaway guard)."""


@dataclass(frozen=True, slots=True)
class Duration:
    """A TWS duration: ``n`` units of S, D, W, M or Y."""

    n: int
    unit: str

    def __str__(self) -> str:
        return f"{self.n} {self.unit}"

    @property
    def nominal_seconds(self) -> int:
        """Length in seconds with D = 1 day, W = 7, M = 30, Y = 365 days (for limits)."""
        return self.n * _UNIT_SECONDS[self.unit]

    def before(self, t: dt.datetime) -> dt.datetime:
        """``t`` moved back by the duration on the calendar."""
        if self.unit in ("S", "D", "W"):
            return t - dt.timedelta(seconds=self.nominal_seconds)
        months = self.n * (12 if self.unit == "Y" else 1)
        y, m = divmod(t.year * 12 + t.month - 1 - months, 12)
        last = (dt.date(y + (m + 1) // 12, (m + 1) % 12 + 1, 1) - dt.timedelta(days=1)).day
        return t.replace(year=y, month=m + 1, day=min(t.day, last))


MAX_DURATION: dict[str, Duration] = {
    "1 secs": Duration(1800, "S"), "5 secs": Duration(3600, "S"),
    "10 secs": Duration(14400, "S"), "15 secs": Duration(14400, "S"),
    "30 secs": Duration(28800, "S"),
    "1 min": Duration(1, "D"), "2 mins": Duration(2, "D"),
    "3 mins": Duration(1, "W"), "5 mins": Duration(1, "W"), "10 mins": Duration(1, "W"),
    "15 mins": Duration(1, "W"), "20 mins": Duration(1, "W"),
    "30 mins": Duration(1, "M"), "1 hour": Duration(1, "M"), "2 hours": Duration(1, "M"),
    "3 hours": Duration(1, "M"), "4 hours": Duration(1, "M"), "8 hours": Duration(1, "M"),
    "1 day": Duration(1, "Y"), "1 week": Duration(1, "Y"), "1 month": Duration(1, "Y"),
}
"""The longest duration TWS serves in one request, per bar size."""

_UNITS = {"sec": "secs", "secs": "secs", "min": "min", "mins": "min", "hour": "hour",
          "hours": "hour", "day": "day", "days": "day", "week": "week", "weeks": "week",
          "w": "week", "month": "month", "months": "month", "m": "month"}
_DURATION = re.compile(r"\s*(\d+)\s*([SDWMY])\s*", re.IGNORECASE)


def normalize_bar_size(bar_size: str) -> str:
    """``bar_size`` in the spelling of :data:`MAX_DURATION` (``'1 mins'`` -> ``'1 min'``,
    ``'1W'`` -> ``'1 week'``); unknown spellings come back lower-cased."""
    found = re.fullmatch(r"\s*(\d+)\s*([a-z]+)\s*", bar_size.lower())
    if found is None or found.group(2) not in _UNITS:
        return " ".join(bar_size.lower().split())
    n, unit = int(found.group(1)), _UNITS[found.group(2)]
    if unit in ("min", "hour") and n != 1:
        unit += "s"
    return f"{n} {unit}"


def bar_seconds(bar_size: str) -> int:
    """Length of one bar in seconds (a day for daily and longer bars)."""
    words = normalize_bar_size(bar_size).split()
    if len(words) != 2 or not words[0].isdigit():
        return _DAY
    n, unit = int(words[0]), words[1]
    for prefix, seconds in (("sec", 1), ("min", 60), ("hour", 3600)):
        if unit.startswith(prefix):
            return n * seconds
    return _DAY


def parse_duration(text: str) -> Duration | None:
    """``'3 D'`` -> ``Duration(3, 'D')``; None when it is no TWS duration."""
    found = _DURATION.fullmatch(text)
    if found is None or int(found.group(1)) <= 0:
        return None
    return Duration(int(found.group(1)), found.group(2).upper())


def max_duration(bar_size: str) -> Duration | None:
    """The longest duration of one request for ``bar_size`` (None: unknown bar size)."""
    return MAX_DURATION.get(normalize_bar_size(bar_size))


def bar_time(date: str) -> tuple[dt.datetime, bool]:
    """A bar's ``date`` as a datetime, and whether it is absolute (aware).

    ``yyyymmdd`` (midnight UTC), ``yyyymmdd hh:mm:ss [zone]``, ``yyyymmdd-hh:mm:ss``
    (UTC) or epoch seconds. A time without a zone is naive (TWS's local time).

    Raises:
        ValueError: none of these.
    """
    text = date.strip()
    if text.isdigit() and len(text) != 8:
        return dt.datetime.fromtimestamp(int(text), dt.UTC), True
    if len(text) == 8 and text.isdigit():
        return dt.datetime.strptime(text, "%Y%m%d").replace(tzinfo=dt.UTC), True
    dash = re.fullmatch(r"(\d{8})-(\d{2}:\d{2}:\d{2})", text)
    if dash:
        naive = dt.datetime.strptime(dash.group(1) + dash.group(2), "%Y%m%d%H:%M:%S")
        return naive.replace(tzinfo=dt.UTC), True
    words = text.split()
    naive = dt.datetime.strptime(words[0] + words[1], "%Y%m%d%H:%M:%S")
    if len(words) > 2:
        try:
            return naive.replace(tzinfo=ZoneInfo(" ".join(words[2:]))), True
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return naive, False


def _sort_key(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC).replace(tzinfo=None) if t.tzinfo is not None else t


def end_text(t: dt.datetime, aware: bool) -> str:
    """An endDateTime for ``t``: UTC ``yyyymmdd-hh:mm:ss`` when absolute, else TWS local."""
    if aware:
        return t.astimezone(dt.UTC).strftime("%Y%m%d-%H:%M:%S")
    return t.strftime("%Y%m%d %H:%M:%S")


def merge_bars(*batches: list[Bar]) -> list[Bar]:
    """Bars of every batch, one per bar time (a later batch's copy wins), in date order."""
    found: dict[dt.datetime, Bar] = {}
    for batch in batches:
        for bar in batch:
            found[_sort_key(bar_time(str(bar["date"]))[0])] = bar
    return [found[k] for k in sorted(found)]


class _Walk:
    """The state of one chunked download."""

    def __init__(self, fetch: Fetch, progress: Progress | None, expected: int) -> None:
        self.fetch = fetch
        self.progress = progress
        self.expected = max(1, expected)
        self.requests = 0
        self.bars: dict[dt.datetime, Bar] = {}
        self.aware = True

    async def get(self, end: str, duration: str) -> tuple[dt.datetime | None,
                                                           dt.datetime | None, int]:
        """One request: (earliest bar time, latest bar time, bars new to the download)."""
        got = await self.fetch(end, duration)
        self.requests += 1
        earliest = latest = None
        new = 0
        for bar in got:
            t, self.aware = bar_time(str(bar["date"]))
            key = _sort_key(t)
            if key not in self.bars:
                new += 1
            self.bars[key] = bar
            earliest = t if earliest is None or key < _sort_key(earliest) else earliest
            latest = t if latest is None or key > _sort_key(latest) else latest
        self.expected = max(self.expected, self.requests)
        if self.progress is not None:
            self.progress(self.requests, self.expected, len(self.bars))
        return earliest, latest, new

    def result(self, start: dt.datetime | None = None) -> list[Bar]:
        keys = sorted(self.bars)
        if start is not None:
            first = _sort_key(start)
            keys = [k for k in keys if k >= first]
        return [self.bars[k] for k in keys]


async def download(fetch: Fetch, *, duration: str, bar_size: str, end: str = "",
                   progress: Progress | None = None) -> list[Bar]:
    """Every bar of ``duration`` of ``bar_size`` bars ending at ``end``, in date order,
    in as many requests as TWS's limits ask (one when the duration is allowed)."""
    total, limit = parse_duration(duration), max_duration(bar_size)
    if total is None or limit is None or total.nominal_seconds <= limit.nominal_seconds:
        walk = _Walk(fetch, progress, 1)
        await walk.get(end, duration)
        return walk.result()
    if total.unit == "D" and limit.unit == "D":
        return await _sessions(fetch, total, limit, end, progress)
    return await _calendar(fetch, total, limit, end, bar_size, progress)


async def _sessions(fetch: Fetch, total: Duration, limit: Duration, end: str,
                    progress: Progress | None) -> list[Bar]:
    """Trading sessions back from ``end``, ``limit.n`` sessions per request."""
    walk = _Walk(fetch, progress, math.ceil(total.n / limit.n))
    remaining, current = total.n, end
    while remaining > 0 and walk.requests < MAX_REQUESTS:
        n = min(limit.n, remaining)
        earliest, _, new = await walk.get(current, f"{n} D")
        remaining -= n
        if earliest is None or new == 0:
            break  # nothing earlier: before the first data TWS has
        current = end_text(earliest, walk.aware)
    return walk.result()


async def _calendar(fetch: Fetch, total: Duration, limit: Duration, end: str, bar_size: str,
                    progress: Progress | None) -> list[Bar]:
    """Calendar time back from ``end``: requests of ``limit`` until ``total`` is covered."""
    walk = _Walk(fetch, progress, math.ceil(total.nominal_seconds / limit.nominal_seconds))
    step = dt.timedelta(seconds=limit.nominal_seconds)
    anchor: dt.datetime | None = None
    if end.strip():
        anchor, walk.aware = bar_time(end)
    current = end
    start: dt.datetime | None = None
    while walk.requests < MAX_REQUESTS:
        earliest, latest, _ = await walk.get(current, str(limit))
        if anchor is None:  # "now": the end of the latest bar
            if latest is None:
                break
            anchor = latest + dt.timedelta(seconds=bar_seconds(bar_size))
        if start is None:
            start = total.before(anchor)
            walk.expected = max(walk.expected, walk.requests)
        here = anchor if current == end else bar_time(current)[0]
        following = earliest if earliest is not None and _sort_key(earliest) < _sort_key(
            here) else here - step
        if _sort_key(following) <= _sort_key(start):
            break
        current = end_text(following, walk.aware)
    return walk.result(start)
