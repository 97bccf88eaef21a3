"""Simulated time of the TWS simulator.

Every request is answered as of ``SimClock.now()``. By default the clock
starts at the present (the wall clock's date and time) and runs at wall-clock
speed, as a real TWS does: ``endDateTime=''``, option expiries and futures
months mean what they mean there. ``SimClock(REPLAY_START)`` (``twsbridge sim
--start 2013-03-01T10:00``) replays from a fixed start instead, for
reproducible runs: REPLAY_START is 2013-03-01 10:00:00 US/Eastern, during the
regular session of the last day of the real daily data set. In
historical-data requests ``endDateTime=''`` means ``clock.now()``; bars are
never produced past it.

``SimClock(speed=0)`` is frozen: it moves only through ``set`` and
``advance`` (what tests use). ``speed=60`` runs a simulated minute per real
second.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

from twsbridge.sim.reference.calendar import SIM_TZ

__all__ = ["REPLAY_START", "SimClock", "parse_start"]

REPLAY_START = dt.datetime(2013, 3, 1, 10, 0, 0, tzinfo=SIM_TZ)
"""The reproducible replay start: the last real data day, 30 minutes after the open."""


def parse_start(text: str) -> dt.datetime:
    """A start time as given to ``--start``: ISO 8601 (``2013-03-01T10:00``,
    ``2013-03-01 10:00:00-05:00``, ``2013-03-01``); without an offset it is
    US/Eastern wall time.

    Raises:
        ValueError: not an ISO 8601 date or date and time.
    """
    t = dt.datetime.fromisoformat(text.strip())
    return t.replace(tzinfo=SIM_TZ) if t.tzinfo is None else t.astimezone(SIM_TZ)


class SimClock:
    """Simulated clock: ``now() = start + (monotonic elapsed) * speed``.

    ``start``: timezone-aware (a naive datetime is taken as US/Eastern);
    None (the default) is the present, read from the wall clock once.
    Thread-safe.
    """

    def __init__(self, start: dt.datetime | None = None, speed: float = 1.0) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self._speed = float(speed)
        self._lock = threading.Lock()
        self._anchor = self._aware(start) if start is not None else dt.datetime.now(SIM_TZ)
        self._mono = time.monotonic()

    @staticmethod
    def _aware(t: dt.datetime) -> dt.datetime:
        return t.replace(tzinfo=SIM_TZ) if t.tzinfo is None else t

    @property
    def speed(self) -> float:
        """Simulated seconds per real second (0 = frozen)."""
        return self._speed

    def now(self) -> dt.datetime:
        """Current simulated time, aware, in US/Eastern."""
        with self._lock:
            elapsed = (time.monotonic() - self._mono) * self._speed
            t = self._anchor + dt.timedelta(seconds=elapsed)
        return t.astimezone(SIM_TZ)

    def set(self, t: dt.datetime) -> None:
        """Jump to ``t`` (keeps running at the same speed from there)."""
        with self._lock:
            self._anchor = self._aware(t)
            self._mono = time.monotonic()

    def advance(self, seconds: float) -> dt.datetime:
        """Move the clock forward (or back, if negative) by ``seconds``;
        returns the new time."""
        with self._lock:
            self._anchor += dt.timedelta(seconds=seconds)
        return self.now()

    def set_speed(self, speed: float) -> None:
        """Change the speed without a jump in simulated time."""
        if speed < 0:
            raise ValueError("speed must be >= 0")
        current = self.now()
        with self._lock:
            self._anchor = current
            self._mono = time.monotonic()
            self._speed = float(speed)

    def epoch(self) -> int:
        """Current simulated time as integer Unix seconds."""
        return int(self.now().timestamp())

    def tws_time_string(self) -> str:
        """Connection-time string as TWS sends it: ``'20130301 10:00:00 EST'``
        (local time and the zone's abbreviation, EDT in summer)."""
        t = self.now()
        return f"{t:%Y%m%d %H:%M:%S} {t.tzname()}"
