"""The gateway's clock: every time the service reports is TWS's time, not the host's.

TWS stamps executions, bars and its own messages with its clock; the simulator's clock is
simulated (2013-03-01 by default, :class:`twsbridge.sim.market.clock.SimClock`, running at any
speed or frozen). What the client stamps on arrival (a :class:`~twsbridge.client.Tick`'s
``time``, a P&L update's arrival) is the host's clock. :class:`GatewayClock` turns the
host's time into the gateway's: it asks TWS ``reqCurrentTime`` (message 49 → currentTime
49, whole seconds since the epoch), taken at the middle of the round trip (to within half a
second plus half the round trip), and from two such readings of one connection the rate of
the gateway's clock (1 for a real TWS; 0 for a frozen simulator, 60 for ``--sim-speed
60``). It reads the gateway's clock after every (re)connect of the client, again
:data:`RATE_AFTER` seconds later (the rate), then every ``resync`` seconds.

Until the first reading it answers the host's time (``synced`` is False).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import weakref
from typing import Any

from twsbridge.client import ConnectionEvent, TWSClient, TWSError

__all__ = ["DEFAULT_RESYNC", "RATE_AFTER", "GatewayClock", "gateway_clock"]

log = logging.getLogger("twsbridge.service")

#: Seconds after which the gateway's clock is read again.
DEFAULT_RESYNC = 60.0
#: Seconds after the first reading of a connection when the second one gives the rate.
RATE_AFTER = 5.0


class GatewayClock:
    """Host time → gateway time for one client (see the module's doc).

    Attributes:
        rate: gateway seconds per host second (1.0 until two readings tell otherwise).
        synced: True once the gateway's clock was read on the current connection.
    """

    def __init__(self, ib: TWSClient, resync: float = DEFAULT_RESYNC) -> None:
        self.rate = 1.0
        self.synced = False
        self.resync = resync
        self._client: weakref.ref[TWSClient] = weakref.ref(ib)
        self._first: tuple[float, float] | None = None  # (host, gateway) epoch seconds
        self._last: tuple[float, float] = (0.0, 0.0)
        self._rated = False  # the rate was measured on this connection
        self._task: asyncio.Task[None] | None = None
        ib.register(self._on_event, "connected", "disconnected")

    @property
    def offset(self) -> dt.timedelta:
        """Gateway time minus host time at the latest reading."""
        host, gateway = self._last
        return dt.timedelta(seconds=gateway - host)

    def _on_event(self, event: Any) -> None:
        if isinstance(event, ConnectionEvent):
            self.synced = False  # another session (maybe another gateway): read it again
            self._first = None
            self._rated = False
            if event.kind == "connected":
                self._schedule()

    def _due(self) -> bool:
        if not self.synced:
            return True
        now = time.time()
        first = self._first
        # the rate: once per connection, RATE_AFTER after its first reading (however many
        # readings others asked for meanwhile, e.g. the journal's reconciliation)
        rate_due = first is not None and not self._rated and now - first[0] >= RATE_AFTER
        return rate_due or now - self._last[0] > self.resync

    def now(self) -> dt.datetime:
        """The gateway's time now (aware, UTC); schedules a reading when one is due."""
        return self.at(dt.datetime.now(dt.UTC))

    def at(self, host_time: dt.datetime) -> dt.datetime:
        """``host_time`` (aware; a client's arrival stamp) on the gateway's clock, UTC."""
        if self._due():
            self._schedule()
        if not self.synced:
            return host_time.astimezone(dt.UTC)
        host, gateway = self._last
        seconds = gateway + self.rate * (host_time.timestamp() - host)
        return dt.datetime.fromtimestamp(seconds, dt.UTC)

    def _schedule(self) -> None:
        if self._task is not None and not self._task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._task = loop.create_task(self._measure_quietly(), name="twsbridge-gateway-clock")

    async def _measure_quietly(self) -> None:
        try:
            await self.measure()
        except (TWSError, ConnectionError, TimeoutError) as exc:
            log.debug("reqCurrentTime failed: %s", exc)

    async def measure(self) -> dt.timedelta:
        """Read the gateway's clock (reqCurrentTime) and update offset and rate; the offset.

        Raises:
            TWSError: not connected, or TWS refused the request.
        """
        ib = self._client()
        if ib is None or not ib.is_connected:
            raise TWSError(504, "Not connected")
        sent = time.time()
        epoch = await ib.reqCurrentTime()
        received = time.time()
        host = (sent + received) / 2
        gateway = epoch + 0.5  # currentTime is whole seconds: the clock read [epoch, epoch+1)
        first = self._first
        if first is None or not self.synced:
            self._first = first = (host, gateway)
        span = host - first[0]
        if span >= RATE_AFTER:
            rate = max(0.0, (gateway - first[1]) / span)
            self.rate = 1.0 if abs(rate - 1.0) <= 1.5 / span else rate  # 1 within resolution
            self._rated = True
        self._last = (host, gateway)
        self.synced = True
        return self.offset

    async def ensure(self) -> None:
        """Read the gateway's clock now unless read on this connection recently (a reading
        that is only due for the rate runs in the background); quietly keeps the last
        reading when the gateway does not answer."""
        if self.synced and time.time() - self._last[0] <= self.resync:
            if self._due():
                self._schedule()
            return
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._measure_quietly(), name="twsbridge-gateway-clock")
        await asyncio.shield(self._task)


_CLOCKS: weakref.WeakKeyDictionary[TWSClient, GatewayClock] = weakref.WeakKeyDictionary()


def gateway_clock(ib: TWSClient) -> GatewayClock:
    """The :class:`GatewayClock` of client ``ib`` (made on first use)."""
    clock = _CLOCKS.get(ib)
    if clock is None:
        clock = _CLOCKS[ib] = GatewayClock(ib)
    return clock
