"""reqHistoricalData with whatToShow SCHEDULE: the sessions of a span.

TWS answers with historicalSchedule (id 106, server version 165+): one entry per
trading session in the requested span (regular sessions with useRTH, else the
extended ones), times ``yyyymmdd-hh:mm:ss`` in the venue's zone. The span is
the one of bars (``N D``: the last N sessions; W/M/Y calendar back; S seconds),
ending at the requested end capped at ``now``; a session counts when it has
begun by then. Source: TWS API reference, "Historical Bar Data" (SCHEDULE).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from twsbridge.sim.market.bar_kinds import (
    VALIDATION_PREFIX,
    HistoryError,
    check_available,
    no_data,
)
from twsbridge.sim.market.history import parse_duration, parse_end_datetime
from twsbridge.sim.reference.calendar import session_bounds, trading_days
from twsbridge.sim.reference.instruments import Instrument

__all__ = ["Schedule", "historical_schedule"]


@dataclass(frozen=True, slots=True)
class Schedule:
    """The answer: ``timeZone`` and ``sessions`` as (start, end, trading day),
    aware datetimes in that zone."""

    timeZone: str
    sessions: tuple[tuple[dt.datetime, dt.datetime, dt.date], ...]

    @staticmethod
    def stamp(t: dt.datetime) -> str:
        """A session time as TWS writes it: ``yyyymmdd-hh:mm:ss``."""
        return f"{t:%Y%m%d-%H:%M:%S}"


def historical_schedule(inst: Instrument, *, now: dt.datetime, endDateTime: str,
                        durationStr: str, useRTH: bool) -> Schedule:
    """The sessions of ``inst`` in the span of a SCHEDULE request.

    Raises HistoryError: 10314 (end date), 321 (duration), 162 (no session in
    the span, or a secType without a schedule)."""
    check_available(inst, "SCHEDULE", 0)
    end = min(parse_end_datetime(endDateTime, now), now)
    dur = parse_duration(durationStr)
    rth = useRTH or inst.is_forex
    if dur.unit == "D":
        start = None
        first = end.date() - dt.timedelta(days=dur.n * 2 + 10)  # N sessions fit in 2N+10 days
    else:
        try:
            start = dur.before(end)
        except (ValueError, OverflowError):
            raise HistoryError(321, VALIDATION_PREFIX + "Historical data requested duration "
                                                        "is invalid.") from None
        first = start.date() - dt.timedelta(days=1)
    days = trading_days(inst, max(first, inst.firstDate), end.date() + dt.timedelta(days=1))
    spans = [(*session_bounds(inst, d, rth), d) for d in days]
    spans = [s for s in spans if s[0] <= end and (start is None or s[1] > start)]
    if start is None:
        spans = spans[-dur.n:]
    if not spans:
        raise no_data(inst, "SCHEDULE")
    return Schedule(getattr(spans[0][0].tzinfo, "key", "US/Eastern"), tuple(spans))
