"""Pacing: TWS's message rate limit and its historical-data rules, kept by the client.

Two limits apply to what a client sends (``TWSClient.pacing`` shows both):

* **message rate** - TWS allows 50 messages per second; a client that sends
  faster gets error 100 "Max rate of messages per second has been exceeded"
  (TWS drops that message) and is disconnected when it goes on. The client's
  writer sends no more than ``max_rate`` messages in any one second (a token
  bucket, :class:`~twsbridge.client.connection.TokenBucket`); by default 45,
  a tenth below TWS's limit, because TWS counts messages as they arrive and
  the network bunches them up. Error 100 is kept as a notice, fails the
  request whose message TWS dropped (when it names one) and lowers the rate
  by a fifth; after :data:`RECOVER_AFTER` seconds without another error 100
  the rate climbs back a step (a quarter up) every :data:`RECOVER_STEP`
  seconds to the configured one, so a burst of 100s (a TWS under strain)
  does not leave the client crawling for the rest of its life. With the ``+PACEAPI``
  connect option TWS paces the client itself (it queues instead of
  disconnecting), so the client then sends without local limiting unless
  ``max_rate`` is given.
* **historical data** - TWS answers error 162 "Historical data request pacing
  violation" when a client makes more than 60 historical requests in ten
  minutes, an identical request within 15 seconds, or six or more requests
  for the same contract, exchange and whatToShow within two seconds (BID_ASK
  requests count twice). :class:`HistoricalPacer` queues reqHistoricalData
  (one-shot and keepUpToDate) so that none of these is broken: a request
  waits, it never fails locally. A wait is visible: in ``pacing.pending``,
  in the log (INFO ``historical request paced for N s``) and through
  ``pacing.on_wait``. A 162 pacing violation that happens anyway (another
  client of the same login) is retried once, after the wait the rules ask.

The rules are those IB documents for bars of 30 seconds or less (TWS lifted
the hard limits for larger bars and throttles them softly): requests for
larger bars go at once. :class:`HistoricalLimits` changes the rules
(``max_bar_seconds=None`` queues every historical request).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from twsbridge.protocol import Contract, outgoing

from .events import utcnow

__all__ = [
    "DEFAULT_MAX_RATE",
    "MESSAGE_RATE_EXCEEDED",
    "TWS_HISTORICAL_LIMITS",
    "TWS_MAX_RATE",
    "HistoricalLimits",
    "HistoricalPacer",
    "PaceKey",
    "Pacing",
    "PacingWait",
    "bar_seconds",
    "default_rate",
    "historical_key",
    "is_pacing_violation",
]

log = logging.getLogger("twsbridge.client")

#: Error code of "Max rate of messages per second has been exceeded".
MESSAGE_RATE_EXCEEDED = 100
#: Error code of historical data service errors, pacing violations among them.
HISTORICAL_ERROR = 162
#: TWS's message rate limit (messages per second).
TWS_MAX_RATE = 50.0
#: The client's default rate: a tenth below TWS's limit.
DEFAULT_MAX_RATE = 45.0
#: The factor error 100 applies to the message rate.
SLOW_DOWN = 0.8
#: Seconds without error 100 before the rate starts to climb back.
RECOVER_AFTER = 30.0
#: Seconds between two steps up (each undoes one :data:`SLOW_DOWN`).
RECOVER_STEP = 5.0


def default_rate(max_rate: float | None, connect_options: str) -> float:
    """The writer's message rate: ``max_rate`` when given, else
    :data:`DEFAULT_MAX_RATE`, or no local limit (0) when ``+PACEAPI`` asks TWS
    to pace."""
    if max_rate is not None:
        return max_rate
    return 0.0 if "+PACEAPI" in connect_options.upper().split() else DEFAULT_MAX_RATE


def is_pacing_violation(code: int, message: str) -> bool:
    """True for TWS's "historical data request pacing violation" (162, and 420
    for live bars)."""
    return code in (HISTORICAL_ERROR, 420) and "pacing violation" in message.lower()


@dataclass(frozen=True, slots=True)
class HistoricalLimits:
    """TWS's pacing rules for historical data requests.

    Attributes:
        max_requests: most requests in any ``window`` seconds (60 in 600).
        window: see ``max_requests``.
        identical_interval: seconds between two identical requests (15).
        same_contract: most requests for one contract, exchange and
            whatToShow in any ``same_contract_window`` seconds (IB: six or
            more in two seconds is a violation, so 5).
        same_contract_window: see ``same_contract``.
        margin: seconds added to every interval: TWS counts a request when it
            arrives, and requests sent the rule's interval apart may arrive
            closer together.
        max_bar_seconds: only requests for bars this short or shorter are
            queued (None: every request).
    """

    max_requests: int = 60
    window: float = 600.0
    identical_interval: float = 15.0
    same_contract: int = 5
    same_contract_window: float = 2.0
    margin: float = 0.25
    max_bar_seconds: int | None = 30

    def applies(self, barSizeSetting: str) -> bool:
        """True when requests for bars of ``barSizeSetting`` are queued (an
        unknown bar size is)."""
        if self.max_bar_seconds is None:
            return True
        seconds = bar_seconds(barSizeSetting)
        return seconds is None or seconds <= self.max_bar_seconds


_UNIT_SECONDS = {"sec": 1, "secs": 1, "min": 60, "mins": 60, "hour": 3600, "hours": 3600,
                 "day": 86400, "days": 86400, "week": 7 * 86400, "weeks": 7 * 86400,
                 "month": 30 * 86400, "months": 30 * 86400}


def bar_seconds(barSizeSetting: str) -> int | None:
    """The length of a TWS bar size in seconds (``"5 secs"`` → 5, ``"1 hour"`` →
    3600, ``"1W"`` → 604800); None when it is not one."""
    text = barSizeSetting.strip().lower()
    if text in ("1w", "1m"):
        return _UNIT_SECONDS["week" if text == "1w" else "month"]
    parts = text.split()
    if len(parts) != 2 or not parts[0].isdigit() or parts[1] not in _UNIT_SECONDS:
        return None
    return int(parts[0]) * _UNIT_SECONDS[parts[1]]


#: TWS's rules, the default of every client.
TWS_HISTORICAL_LIMITS = HistoricalLimits()


@dataclass(frozen=True, slots=True)
class PaceKey:
    """What the rules compare of one historical request."""

    identical: tuple[object, ...]
    group: tuple[object, ...]
    weight: int
    label: str


def _contract_key(c: Contract) -> tuple[object, ...]:
    if c.conId:
        return (c.conId,)
    return (c.symbol, c.secType, c.lastTradeDateOrContractMonth, c.strike, c.right,
            c.multiplier, c.primaryExchange, c.currency, c.localSymbol, c.tradingClass)


def historical_key(msg: outgoing.ReqHistoricalData) -> PaceKey:
    """The pacing key of a reqHistoricalData (its reqId left out)."""
    c = msg.contract
    contract = _contract_key(c)
    what = msg.whatToShow.upper()
    identical = (contract, c.exchange, msg.endDateTime, msg.durationStr, msg.barSizeSetting,
                 what, msg.useRTH, msg.formatDate, msg.keepUpToDate)
    label = (f"reqHistoricalData {c.symbol or c.localSymbol or c.conId} {msg.durationStr} "
             f"{msg.barSizeSetting} {what}")
    return PaceKey(identical, (contract, c.exchange, what), 2 if what == "BID_ASK" else 1,
                   label)


@dataclass(frozen=True, slots=True)
class PacingWait:
    """A historical request waiting for its turn: ``request`` describes it,
    ``seconds`` is the wait expected when it started (``since``, UTC),
    ``reason`` the rule that holds it."""

    request: str
    seconds: float
    reason: str
    since: datetime


class PaceRecord:
    """One granted request: its key and when it was written (None: not yet)."""

    __slots__ = ("key", "stamp")

    def __init__(self, key: PaceKey) -> None:
        self.key = key
        self.stamp: float | None = None


class HistoricalPacer:
    """The queue of historical requests under :class:`HistoricalLimits`.

    :meth:`acquire` waits until a request may go and records it; the client
    stamps the record when the writer actually sent the frame (:meth:`sent`),
    so the intervals hold at TWS even when the writer is backlogged.
    """

    def __init__(self, limits: HistoricalLimits,
                 on_wait: Callable[[PacingWait], None]) -> None:
        self.limits = limits
        self.pending: list[PacingWait] = []
        self._on_wait = on_wait
        self._records: deque[PaceRecord] = deque()
        self._changed = asyncio.Event()

    def _wake(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    def _prune(self, now: float) -> None:
        lim = self.limits
        horizon = now - max(lim.window, lim.identical_interval, lim.same_contract_window) \
            - lim.margin
        while self._records and self._records[0].stamp is not None \
                and self._records[0].stamp < horizon:
            self._records.popleft()

    def _window(self, records: list[PaceRecord], weight: int, most: int, window: float,
                now: float) -> float | None:
        """Seconds until ``weight`` more fits ``most`` per ``window``; None
        when requests not yet written must go first."""
        margin = self.limits.margin
        live = [r for r in records if r.stamp is None or r.stamp > now - window - margin]
        excess = sum(r.key.weight for r in live) + weight - most
        if excess <= 0:
            return 0.0
        for r in sorted((r for r in live if r.stamp is not None), key=lambda r: r.stamp or 0):
            excess -= r.key.weight
            if excess <= 0:
                assert r.stamp is not None
                return max(0.0, r.stamp + window + margin - now)
        return None

    def delay(self, key: PaceKey, now: float) -> tuple[float | None, str]:
        """How long ``key`` must wait at ``now`` (0: it may go; None: until a
        granted request is written) and the rule that holds it."""
        lim = self.limits
        records = list(self._records)
        checks: list[tuple[float | None, str]] = [(
            self._window(records, key.weight, lim.max_requests, lim.window, now),
            f"at most {lim.max_requests} historical requests in {lim.window:g} s")]
        stamps = [r.stamp for r in records if r.key.identical == key.identical]
        if stamps:
            last = None if None in stamps else max(s for s in stamps if s is not None)
            checks.append((
                None if last is None else max(0.0, last + lim.identical_interval
                                              + lim.margin - now),
                f"no identical request within {lim.identical_interval:g} s"))
        group = [r for r in records if r.key.group == key.group]
        checks.append((
            self._window(group, key.weight, lim.same_contract, lim.same_contract_window, now),
            f"at most {lim.same_contract} requests for one contract, exchange and "
            f"whatToShow in {lim.same_contract_window:g} s"))
        holds = [c for c in checks if c[0] != 0.0]
        timed = [c for c in holds if c[0] is not None]
        if timed:
            return max(timed, key=lambda c: c[0] or 0.0)
        return holds[0] if holds else (0.0, "")

    async def acquire(self, key: PaceKey) -> PaceRecord:
        """Wait until ``key`` may be sent, record it and return the record
        (to be passed to :meth:`sent` or :meth:`release`).

        Raises:
            Exception: what ``on_wait`` raised.
        """
        loop = asyncio.get_running_loop()
        wait: PacingWait | None = None
        try:
            while True:
                now = loop.time()
                self._prune(now)
                seconds, reason = self.delay(key, now)
                if seconds == 0.0:
                    break
                if wait is None:
                    expected = seconds if seconds is not None else self.limits.same_contract_window
                    wait = PacingWait(key.label, expected, reason, utcnow())
                    self.pending.append(wait)
                    log.info("historical request paced for %.1f s: %s (%s)", expected,
                             key.label, reason)
                    self._on_wait(wait)
                changed = self._changed
                try:
                    async with asyncio.timeout(seconds):
                        await changed.wait()
                except TimeoutError:
                    pass
        finally:
            if wait is not None:
                self.pending.remove(wait)
        record = PaceRecord(key)
        self._records.append(record)
        return record

    def sent(self, record: PaceRecord) -> None:
        """The request of ``record`` was written now."""
        record.stamp = asyncio.get_running_loop().time()
        self._wake()

    def release(self, record: PaceRecord) -> None:
        """The request of ``record`` was not sent after all."""
        if record in self._records:
            self._records.remove(record)
            self._wake()

    def forget_unsent(self) -> None:
        """The connection ended: requests granted but not written never went."""
        for record in [r for r in self._records if r.stamp is None]:
            self._records.remove(record)
        self._wake()

    def retry_delay(self, key: PaceKey) -> float:
        """Seconds before a request TWS refused as a pacing violation (its
        record released: TWS does not count it) may be sent again: the wait the
        rules ask, and at least the same-contract window (requests the client
        does not know of, from another client of the login, caused it)."""
        now = asyncio.get_running_loop().time()
        seconds, _ = self.delay(key, now)
        least = self.limits.same_contract_window + self.limits.margin
        return max(least, seconds if seconds is not None else least)


class Pacing:
    """The client's pacing state (``TWSClient.pacing``).

    Attributes:
        max_rate: the message rate the writer keeps now (messages per second;
            0: no local limit); lowered by error 100.
        configured_rate: the rate the client was created with.
        limits: the historical rules (None: historical requests are not queued).
        historical: the historical queue (None when ``limits`` is None).
        on_wait: called with a :class:`PacingWait` when a historical request
            starts to wait (in the event loop; an exception it raises fails
            that request).
        waits: the last 100 waits.
        rate_exceeded: how often TWS answered error 100.
    """

    def __init__(self, max_rate: float, limits: HistoricalLimits | None) -> None:
        self.max_rate = max_rate
        self.configured_rate = max_rate
        self.limits = limits
        self.on_wait: Callable[[PacingWait], object] | None = None
        self.waits: deque[PacingWait] = deque(maxlen=100)
        self.rate_exceeded = 0
        self.last_exceeded = 0.0
        self.historical = HistoricalPacer(limits, self._waiting) if limits is not None else None

    @property
    def pending(self) -> tuple[PacingWait, ...]:
        """The historical requests waiting now, oldest first."""
        return tuple(self.historical.pending) if self.historical is not None else ()

    def _waiting(self, wait: PacingWait) -> None:
        self.waits.append(wait)
        if self.on_wait is not None:
            self.on_wait(wait)

    def slow_down(self, now: float = 0.0) -> float:
        """Error 100 at monotonic time ``now``: lower :attr:`max_rate` by a fifth
        (from TWS's 50 when the client did not limit itself); the new rate."""
        self.rate_exceeded += 1
        self.last_exceeded = now
        base = self.max_rate if self.max_rate > 0 else TWS_MAX_RATE
        self.max_rate = max(1.0, base * SLOW_DOWN)
        log.warning("TWS error 100 (message rate exceeded): sending at most %.0f messages "
                    "per second for now", self.max_rate)
        return self.max_rate

    def recover(self, now: float) -> float | None:
        """One step back up at monotonic time ``now`` if it is due (no error 100
        for :data:`RECOVER_AFTER` seconds): the new rate, else None. The rate
        never climbs past the configured one (with no local limit configured,
        it returns to none)."""
        target = self.configured_rate
        if self.max_rate <= 0 or (0 < target <= self.max_rate):
            return None
        if now - self.last_exceeded < RECOVER_AFTER:
            return None
        rate = self.max_rate / SLOW_DOWN
        self.max_rate = 0.0 if target <= 0 and rate >= TWS_MAX_RATE else (
            rate if target <= 0 else min(target, rate))
        log.info("no error 100 for %.0f s: sending at most %s messages per second",
                 now - self.last_exceeded,
                 f"{self.max_rate:.0f}" if self.max_rate > 0 else "unlimited")
        return self.max_rate
