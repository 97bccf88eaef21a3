"""The gateway's clock: every time the service reports is TWS's time, not the host's.

TWS stamps executions, bars and its own messages with its clock; the simulator's clock is
simulated (2013-03-01 by default, :class:`twsbridge.sim.clock.SimClock`). What the client
stamps on arrival (a :class:`~twsbridge.client.Tick`'s ``time``, a P&L update's arrival) is
the host's clock. :class:`GatewayClock` turns the host's time into the gateway's: it asks
TWS ``reqCurrentTime`` (message 49 → currentTime 49, whole seconds since the epoch) and
keeps ``offset = gateway time - host time``, estimated at the middle of the round trip (to
within half a second plus half the round trip). It is measured again after every
(re)connect of the client and every ``resync`` seconds (a simulator may run faster or
slower than real time, or be frozen).

Until the first measurement it answers the host's time (``synced`` is False).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import weakref
from typing import Any

from twsbridge.client import ConnectionEvent, TWSClient, TWSError

__all__ = ["DEFAULT_RESYNC", "GatewayClock", "gateway_clock"]

log = logging.getLogger("twsbridge.service")

#: Seconds after which the offset is measured again (a sim clock may run at any speed).
DEFAULT_RESYNC = 60.0


class GatewayClock:
    """Host time → gateway time for one client (see the module's doc).

    Attributes:
        offset: gateway time minus host time.
        synced: True once the offset was measured on the current connection.
    """

    def __init__(self, ib: TWSClient, resync: float = DEFAULT_RESYNC) -> None:
        self.offset = dt.timedelta(0)
        self.synced = False
        self.resync = resync
        self._client: weakref.ref[TWSClient] = weakref.ref(ib)
        self._measured = -float("inf")  # time.monotonic() of the last measurement
        self._task: asyncio.Task[None] | None = None
        ib.register(self._on_event, "connected", "disconnected")

    def _on_event(self, event: Any) -> None:
        if isinstance(event, ConnectionEvent):
            self.synced = False  # another session (maybe another gateway): measure again
            self._measured = -float("inf")
            if event.kind == "connected":
                self._schedule()

    def now(self) -> dt.datetime:
        """The gateway's time now (aware, UTC); schedules a measurement when due."""
        return self.at(dt.datetime.now(dt.UTC))

    def at(self, host_time: dt.datetime) -> dt.datetime:
        """``host_time`` (aware; a client's arrival stamp) on the gateway's clock, UTC."""
        if time.monotonic() - self._measured > self.resync:
            self._schedule()
        return (host_time + self.offset).astimezone(dt.UTC)

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
        """Ask the gateway its time (reqCurrentTime) and keep the offset; the offset.

        Raises:
            TWSError: not connected, or TWS refused the request.
        """
        ib = self._client()
        if ib is None or not ib.is_connected:
            raise TWSError(504, "Not connected")
        sent = time.time()
        epoch = await ib.reqCurrentTime()
        received = time.time()
        # currentTime is whole seconds: the gateway's clock read [epoch, epoch + 1)
        self.offset = dt.timedelta(seconds=epoch + 0.5 - (sent + received) / 2)
        self._measured = time.monotonic()
        self.synced = True
        return self.offset

    async def ensure(self) -> None:
        """Measure now unless measured on this connection within ``resync`` s; quietly
        keeps the last offset when the gateway does not answer."""
        if self.synced and time.monotonic() - self._measured <= self.resync:
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
