"""TWS's pacing limits: API messages per second, historical-data request pacing.

Both run on wall time (seconds from a monotonic clock the caller passes in),
not simulated time: TWS and IB's historical data farm count real seconds,
whatever speed the simulated market runs at, and a frozen simulated clock
would otherwise make every request "simultaneous".

:class:`MessageRateLimiter` is one client's message counter (TWS: 50
messages per second per client). A message past the limit is dropped and
answered with error 100 ``Max rate of messages per second has been
exceeded:max=50 rec=N (k)`` (N: messages received in the last second, k:
the client's violation count); another excess message within a second of
that warning disconnects the client, as TWS does. With the ``+PACEAPI``
connect option TWS paces instead: the caller queues the excess and takes
it as :meth:`MessageRateLimiter.take` allows.

:class:`HistoricalPacer` is IB's historical-data pacing (shared by every
client of one simulated TWS), for bars of 30 seconds or less (TWS lifted
the hard limits for larger bars):

* an identical request (contract, exchange, end, duration, bar size, what to
  show, RTH, keepUpToDate) within 15 seconds of the last one;
* six or more requests for the same contract, exchange and tick type
  (whatToShow) within 2 seconds;
* more than 60 requests within 10 minutes (BID_ASK counts twice).

A violating request gets error 162 ``Historical Market Data Service error
message:Historical data request pacing violation`` (420 ``Invalid Real-time
Query:Historical data request pacing violation`` for a keepUpToDate request)
and does not count.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass

__all__ = [
    "HISTORICAL_PACING",
    "IDENTICAL_WINDOW",
    "MAX_REQUESTS",
    "MAX_SAME_SERIES",
    "MESSAGE_RATE",
    "NO_HISTORICAL_QUERY",
    "REALTIME_PACING",
    "REQUESTS_WINDOW",
    "SAME_SERIES_WINDOW",
    "HistoricalPacer",
    "HistoricalRequest",
    "MessageRateLimiter",
    "RateVerdict",
]

MESSAGE_RATE = 100
"""Error code of "Max rate of messages per second has been exceeded"."""
HISTORICAL_PACING = (162, "Historical Market Data Service error message:"
                          "Historical data request pacing violation")
REALTIME_PACING = (420, "Invalid Real-time Query:Historical data request pacing violation")
NO_HISTORICAL_QUERY = 366
"""cancelHistoricalData of a request that is not running: "No historical data
query found for ticker id:N"."""

IDENTICAL_WINDOW = 15.0
SAME_SERIES_WINDOW = 2.0
MAX_SAME_SERIES = 6
"""The sixth request for one series within SAME_SERIES_WINDOW is a violation."""
REQUESTS_WINDOW = 600.0
MAX_REQUESTS = 60
_RATE_WINDOW = 1.0


class RateVerdict(enum.Enum):
    """What to do with one incoming message."""

    ACCEPT = "accept"  #: process it
    WARN = "warn"  #: drop it and send error 100
    DISCONNECT = "disconnect"  #: a repeat violation: close the connection


class MessageRateLimiter:
    """One client's messages per second (a sliding one-second window)."""

    def __init__(self) -> None:
        self._accepted: deque[float] = deque()
        self._received: deque[float] = deque()
        self._warned_at: float | None = None
        self.violations = 0

    def _purge(self, now: float) -> None:
        for times in (self._accepted, self._received):
            while times and times[0] <= now - _RATE_WINDOW:
                times.popleft()

    def check(self, now: float, limit: int) -> RateVerdict:
        """Count one message received at ``now`` against ``limit`` per second."""
        self._purge(now)
        self._received.append(now)
        if len(self._accepted) < limit:
            self._accepted.append(now)
            return RateVerdict.ACCEPT
        if self._warned_at is not None and now - self._warned_at < _RATE_WINDOW:
            return RateVerdict.DISCONNECT
        self._warned_at = now
        self.violations += 1
        return RateVerdict.WARN

    def warning(self, limit: int) -> str:
        """The text of error 100 for the last violation."""
        return (f"Max rate of messages per second has been exceeded:max={limit} "
                f"rec={len(self._received)} ({self.violations})")

    def take(self, now: float, limit: int) -> bool:
        """Pacing (``+PACEAPI``): count one message at ``now`` if the window has
        room; False when it must wait."""
        self._purge(now)
        if len(self._accepted) >= limit:
            return False
        self._accepted.append(now)
        self._received.append(now)
        return True


@dataclass(frozen=True, slots=True)
class HistoricalRequest:
    """What the pacing rules look at in one reqHistoricalData."""

    con_id: int
    exchange: str
    end: str
    duration: str
    bar_size: str
    what: str
    use_rth: bool
    keep_up_to_date: bool = False

    @property
    def series(self) -> Hashable:
        """Contract, exchange and tick type (the six-in-two-seconds rule)."""
        return (self.con_id, self.exchange, self.what)

    @property
    def weight(self) -> int:
        """How many requests it counts for (BID_ASK: two)."""
        return 2 if self.what == "BID_ASK" else 1


class HistoricalPacer:
    """IB's historical-data pacing, shared by the clients of one simulated TWS."""

    def __init__(self) -> None:
        self._all: deque[tuple[float, int]] = deque()
        self._last_identical: dict[HistoricalRequest, float] = {}
        self._series: dict[Hashable, deque[float]] = {}

    def violation(self, now: float, req: HistoricalRequest) -> str | None:
        """Which rule ``req`` at ``now`` breaks (None: it is allowed and now counts)."""
        while self._all and self._all[0][0] <= now - REQUESTS_WINDOW:
            self._all.popleft()
        last = self._last_identical.get(req)
        if last is not None and now - last < IDENTICAL_WINDOW:
            return "identical request within 15 seconds"
        series = self._series.setdefault(req.series, deque())
        while series and series[0] <= now - SAME_SERIES_WINDOW:
            series.popleft()
        if len(series) >= MAX_SAME_SERIES - 1:
            return "six requests for one contract, exchange and tick type within 2 seconds"
        if sum(w for _, w in self._all) + req.weight > MAX_REQUESTS:
            return "more than 60 requests within 10 minutes"
        self._all.append((now, req.weight))
        self._last_identical[req] = now
        series.append(now)
        if len(self._last_identical) > 4 * MAX_REQUESTS:
            self._last_identical = {k: t for k, t in self._last_identical.items()
                                    if now - t < IDENTICAL_WINDOW}
        return None

    def reset(self) -> None:
        """Forget every request counted so far."""
        self._all.clear()
        self._last_identical.clear()
        self._series.clear()
