"""Faults on demand: what goes wrong with a real TWS, injected into the simulator.

Every :class:`~twsbridge.sim.simulator.Simulator` owns a :class:`FaultInjector`
as ``sim.faults``; the :class:`~twsbridge.sim.gateway.server.SimServer` serving it
registers with it and consults it, and so does every session::

    await sim.faults.drop_all()                    # close every client connection
    sim.faults.stall(2.0)                          # answer and stream nothing for 2 s
    await sim.faults.connectivity_loss(5, data_lost=True)   # 1100 ... 1101 / 1102
    await sim.faults.restart(down_seconds=30)      # TWS's daily restart, same port
    sim.faults.client_id_in_use(7)                 # a stale session holds id 7: 326
    await sim.faults.competing_session()           # 10197 until end_competing_session()
    await sim.faults.message_rate(3, limit=5)      # 3 s at 5 msg/s: 100, then disconnect
    await sim.faults.historical_pacing_violation(3)   # 3 s of 162 (420) for every request
    await sim.faults.market_data_lines(3, lines=0)    # 3 s of 101 for new reqMktData
    sim.faults.schedule(FaultScript.load("faults.toml"))   # a timed, seeded script
    sim.faults.log                                 # FaultRecord of each injected fault

The awaitable faults return when the fault is over (connectivity restored,
listening again); run them as a task to act meanwhile.

TWS's limits, on by default (set to None / False to lift them):

* ``message_rate_limit = 50`` messages per second per client: error 100 and
  the excess dropped, a repeat within a second disconnects; with the client's
  ``+PACEAPI`` connect option the excess is queued and served at the limit
  (:mod:`twsbridge.sim.faults.pacing`).
* ``historical_pacing = True``: IB's historical-data pacing (162, or 420 for
  keepUpToDate) for bars of ``historical_pacing_max_bar_seconds`` (30) or less
  (None: every bar size). Counted in wall time (``wall_clock``, default
  :func:`time.monotonic`), not simulated time.
* ``max_market_data_lines = 100`` concurrent reqMktData lines per client:
  error 101 beyond.

The limit windows make a limit bite for a while (:mod:`twsbridge.sim.faults.windows`);
while one is open its value replaces the normal limit (even a lifted one),
overlapping windows of one kind: the tightest is in force:

* ``message_rate(seconds, limit=5)``: ``limit`` messages per second per
  client, so a client pacing itself at TWS's 50/s gets error 100 "Max rate
  of messages per second has been exceeded:max=5 rec=N (k)" and, on a
  repeat within a second, is disconnected (``+PACEAPI`` clients are paced
  at ``limit``).
* ``historical_pacing_violation(seconds)``: every reqHistoricalData gets
  162 "Historical Market Data Service error message:Historical data request
  pacing violation" (420 "Invalid Real-time Query:..." for keepUpToDate),
  whatever the bar size and even with ``historical_pacing = False``.
* ``market_data_lines(seconds, lines=0)``: a new reqMktData beyond ``lines``
  open lines of the client gets 101 "Max number of tickers has been
  reached"; the lines already open stay open.

What each fault does to the sessions (texts in :mod:`twsbridge.sim.gateway.guard`):
connectivity loss pauses market data ticks and keepUpToDate bars (orders,
account and P&L go on); data_lost=True then drops those subscriptions. A
competing session pauses live and frozen market data (delayed types go on).
A client that connects during a connectivity loss gets 1100 after the farm
notices. A restart keeps orders, executions and the account (they live in
the simulator); the servers go on working the orders while no client is
connected, as IB's servers do.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from twsbridge.sim.faults.pacing import HistoricalPacer
from twsbridge.sim.faults.script import DEFAULTS, FaultScript, FaultStep, Param
from twsbridge.sim.faults.windows import LimitWindows
from twsbridge.sim.market.clock import SimClock

__all__ = ["FaultInjector", "FaultRecord", "FaultTarget", "FaultedSession", "SessionFaults"]

log = logging.getLogger("twsbridge.sim")


@dataclass(frozen=True, slots=True)
class FaultRecord:
    """One injected fault.

    ``time``: for a scripted fault its offset in the script (so a seeded
    script always logs the same records); for a direct call the wall seconds
    since the injector was made. ``sim_time`` (not compared) is the
    simulated time it happened at.
    """

    time: float
    kind: str
    params: dict[str, Param] = field(default_factory=dict)
    scripted: bool = False
    sim_time: dt.datetime | None = field(default=None, compare=False)


class SessionFaults(Protocol):
    """What a fault does to one session (:class:`~twsbridge.sim.gateway.guard.SessionGuard`)."""

    def connectivity_lost(self) -> None:
        """Error 1100."""
        ...

    def connectivity_restored(self, data_lost: bool) -> None:
        """1101 (data lost) or 1102."""
        ...

    def competing_session(self) -> None:
        """10197 on each live market data line."""
        ...


class FaultedSession(Protocol):
    """What the injector needs of a session (:class:`~twsbridge.sim.gateway.session.SimSession`)."""

    @property
    def closed(self) -> bool:
        """True once the session ended."""
        ...

    @property
    def client_id(self) -> int | None:
        """The client id of an accepted startApi, else None."""
        ...

    @property
    def guard(self) -> SessionFaults:
        """The session's fault and limit guard."""
        ...


class FaultTarget(Protocol):
    """What the injector needs of a server (:class:`~twsbridge.sim.gateway.server.SimServer`)."""

    @property
    def live_sessions(self) -> Sequence[FaultedSession]:
        """The sessions of the open connections."""
        ...

    async def flush(self) -> None:
        """Write every session's pending output (nothing while stalled)."""
        ...

    async def drop_connections(self) -> None:
        """Close every client connection."""
        ...

    async def go_down(self) -> None:
        """Close every connection and stop listening."""
        ...

    async def come_up(self) -> None:
        """Listen again on the same port (no-op once stopped)."""
        ...


class FaultInjector:
    """The faults and limits of one simulated TWS (see the module doc).

    Attributes:
        message_rate_limit: messages per second per client (None: no limit).
        historical_pacing: enforce IB's historical-data pacing.
        historical_pacing_max_bar_seconds: the pacing applies to bars this
            short or shorter (None: to every bar size).
        max_market_data_lines: concurrent reqMktData lines per client (None: no limit).
        wall_clock: the seconds clock of the pacing rules (tests replace it).
        history: the shared historical-data pacing state.
        windows: the open limit windows (:mod:`twsbridge.sim.faults.windows`).
        log: every injected fault, in order.
    """

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.message_rate_limit: int | None = 50
        self.historical_pacing = True
        self.historical_pacing_max_bar_seconds: int | None = 30
        self.max_market_data_lines: int | None = 100
        self.wall_clock: Callable[[], float] = time.monotonic
        self.history = HistoricalPacer()
        self.windows = LimitWindows()
        self.log: list[FaultRecord] = []
        self._targets: list[FaultTarget] = []
        self._t0 = time.monotonic()
        self._stall_until = 0.0
        self._lost = 0
        self._data_lost = False
        self._competing = False
        self._held_ids: set[int] = set()
        self._restart_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    # ---------------------------------------------------------- servers
    def attach(self, target: FaultTarget) -> None:
        """Register a server whose connections the faults act on."""
        if target not in self._targets:
            self._targets.append(target)

    def detach(self, target: FaultTarget) -> None:
        """Unregister a server; with none left, scheduled scripts are cancelled."""
        if target in self._targets:
            self._targets.remove(target)
        if not self._targets:
            self.cancel_scripts()

    def _sessions(self) -> Iterator[FaultedSession]:
        for target in list(self._targets):
            for s in target.live_sessions:
                if not s.closed and s.client_id is not None:
                    yield s

    async def _flush(self) -> None:
        for target in list(self._targets):
            await target.flush()

    def _record(self, kind: str, params: dict[str, Param], at: float | None = None) -> None:
        rec = FaultRecord(at if at is not None else round(time.monotonic() - self._t0, 3),
                          kind, dict(params), at is not None, self.clock.now())
        self.log.append(rec)
        log.info("fault injected: %s %s", kind, params or "")

    # ------------------------------------------------------------ state
    @property
    def stalled(self) -> bool:
        """True during a stall."""
        return time.monotonic() < self._stall_until

    async def wait_unstalled(self) -> None:
        """Return once no stall is in progress."""
        while (left := self._stall_until - time.monotonic()) > 0:
            await asyncio.sleep(left)

    @property
    def connectivity_lost(self) -> bool:
        """True between 1100 and 1101/1102."""
        return self._lost > 0

    @property
    def competing(self) -> bool:
        """True during a competing live session."""
        return self._competing

    def holds_client_id(self, client_id: int) -> bool:
        """True when a simulated stale session holds ``client_id``."""
        return client_id in self._held_ids

    @property
    def rate_limit_in_force(self) -> int | None:
        """Messages per second per client now: a ``message_rate`` window's
        limit, else :attr:`message_rate_limit` (None: no limit)."""
        return self.windows.message_rate.in_force(self.message_rate_limit)

    @property
    def market_data_lines_in_force(self) -> int | None:
        """Concurrent reqMktData lines per client now: a ``market_data_lines``
        window's lines, else :attr:`max_market_data_lines` (None: no limit)."""
        return self.windows.market_data_lines.in_force(self.max_market_data_lines)

    @property
    def historical_pacing_forced(self) -> bool:
        """True during a ``historical_pacing`` window: every historical data
        request is a pacing violation."""
        return self.windows.historical_pacing.active

    # ----------------------------------------------------------- faults
    async def drop_all(self) -> None:
        """Close every client connection now (the server keeps listening)."""
        self._record("drop_all", {})
        await self._drop_all()

    async def _drop_all(self) -> None:
        for target in list(self._targets):
            await target.drop_connections()

    def stall(self, seconds: float) -> None:
        """Answer and stream nothing for ``seconds``: connections stay open, and
        what clients send meanwhile is answered afterwards, in order."""
        self._record("stall", {"seconds": float(seconds)})
        self._stall(seconds)

    def _stall(self, seconds: float) -> None:
        self._stall_until = max(self._stall_until, time.monotonic() + max(0.0, seconds))

    async def connectivity_loss(self, seconds: float, data_lost: bool) -> None:
        """1100 to every client, market data and bars stop; after ``seconds``
        1101 (data lost: subscriptions dropped) or 1102 (data maintained)."""
        self._record("connectivity_loss", {"seconds": float(seconds), "data_lost": data_lost})
        await self._connectivity_loss(seconds, data_lost)

    async def _connectivity_loss(self, seconds: float, data_lost: bool) -> None:
        self._lost += 1
        self._data_lost = self._data_lost or data_lost
        if self._lost == 1:
            for s in self._sessions():
                s.guard.connectivity_lost()
            await self._flush()
        try:
            await asyncio.sleep(seconds)
        finally:
            self._lost -= 1
            if self._lost == 0:
                lost, self._data_lost = self._data_lost, False
                for s in self._sessions():
                    s.guard.connectivity_restored(lost)
                with contextlib.suppress(Exception):
                    await self._flush()

    async def restart(self, down_seconds: float) -> None:
        """TWS's daily restart: close every connection, refuse new ones for
        ``down_seconds``, then listen again on the same port. Orders,
        executions and the account survive; working orders keep working."""
        self._record("restart", {"down_seconds": float(down_seconds)})
        await self._restart(down_seconds)

    async def _restart(self, down_seconds: float) -> None:
        async with self._restart_lock:
            targets = list(self._targets)
            for target in targets:
                await target.go_down()
            try:  # the servers keep stepping the broker meanwhile
                await asyncio.sleep(down_seconds)
            finally:
                for target in targets:
                    await target.come_up()

    def client_id_in_use(self, client_id: int) -> None:
        """A stale session holds ``client_id``: connecting with it gets 326 and
        is closed until :meth:`release_client_id`."""
        self._record("client_id_in_use", {"client_id": client_id})
        self._held_ids.add(client_id)

    def release_client_id(self, client_id: int) -> None:
        """End :meth:`client_id_in_use` for ``client_id``."""
        self._held_ids.discard(client_id)

    async def competing_session(self) -> None:
        """Error 10197 on every client's live market-data lines; market data
        stops until :meth:`end_competing_session`."""
        self._record("competing_session", {})
        await self._competing_session()

    async def _competing_session(self) -> None:
        if self._competing:
            return
        self._competing = True
        for s in self._sessions():
            s.guard.competing_session()
        await self._flush()

    def end_competing_session(self) -> None:
        """The competing session ends: market data resumes."""
        self._competing = False

    async def message_rate(self, seconds: float, limit: int = 5) -> None:
        """For ``seconds``, at most ``limit`` (>= 1) messages per second per
        client: error 100, then a disconnect on a repeat (see the module doc).
        Returns when the window closes.

        Raises:
            ValueError: negative ``seconds`` or ``limit`` < 1.
        """
        p = self._window("message_rate", seconds=seconds, limit=limit)
        await self.windows.message_rate.hold(int(p["limit"]), float(p["seconds"]))

    async def historical_pacing_violation(self, seconds: float) -> None:
        """For ``seconds``, every reqHistoricalData is refused as a pacing
        violation: 162 (420 for keepUpToDate). Returns when the window closes.

        Raises:
            ValueError: negative ``seconds``.
        """
        p = self._window("historical_pacing", seconds=seconds)
        await self.windows.historical_pacing.hold(0, float(p["seconds"]))

    async def market_data_lines(self, seconds: float, lines: int = 0) -> None:
        """For ``seconds``, a new reqMktData beyond ``lines`` (>= 0) open lines
        of the client gets 101; open lines stay. Returns when the window closes.

        Raises:
            ValueError: negative ``seconds`` or ``lines``.
        """
        p = self._window("market_data_lines", seconds=seconds, lines=lines)
        await self.windows.market_data_lines.hold(int(p["lines"]), float(p["seconds"]))

    def _window(self, kind: str, **params: Param) -> dict[str, Param]:
        """Check and record a limit window; its parameters."""
        checked = dict(FaultStep(0.0, kind, params).params)
        self._record(kind, checked)
        return checked

    # ---------------------------------------------------------- scripts
    def schedule(self, script: FaultScript) -> asyncio.Task[None]:
        """Run ``script`` in the background from now; returns its task (it is
        cancelled when the last server detaches, or by :meth:`cancel_scripts`)."""
        task = asyncio.get_running_loop().create_task(self._run_script(script))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def cancel_scripts(self) -> None:
        """Cancel every scheduled script and the faults it started."""
        for task in list(self._tasks):
            task.cancel()

    async def _run_script(self, script: FaultScript) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        running: set[asyncio.Task[None]] = set()
        try:
            for step in script.steps:
                delay = start + step.at - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                self._record(step.kind, dict(step.params), at=step.at)
                task = loop.create_task(self._run_step(step))
                running.add(task)
                task.add_done_callback(running.discard)
            if running:
                await asyncio.gather(*running)
        finally:
            for task in list(running):
                task.cancel()

    async def _run_step(self, step: FaultStep) -> None:
        p = step.params
        try:
            if step.kind == "drop_all":
                await self._drop_all()
            elif step.kind == "stall":
                self._stall(float(p["seconds"]))
            elif step.kind == "connectivity_loss":
                await self._connectivity_loss(float(p["seconds"]), bool(p.get("data_lost")))
            elif step.kind == "restart":
                await self._restart(float(p["down_seconds"]))
            elif step.kind == "competing_session":
                await self._competing_session()
                await asyncio.sleep(float(p["seconds"]))
                self.end_competing_session()
            elif step.kind == "client_id_in_use":
                cid = int(p["client_id"])
                self._held_ids.add(cid)
                if "seconds" in p:
                    await asyncio.sleep(float(p["seconds"]))
                    self.release_client_id(cid)
            elif step.kind == "message_rate":
                await self.windows.message_rate.hold(int(_given(step, "limit")),
                                                     float(p["seconds"]))
            elif step.kind == "historical_pacing":
                await self.windows.historical_pacing.hold(0, float(p["seconds"]))
            elif step.kind == "market_data_lines":
                await self.windows.market_data_lines.hold(int(_given(step, "lines")),
                                                          float(p["seconds"]))
        except Exception:
            log.exception("scripted fault %s failed", step.kind)


def _given(step: FaultStep, name: str) -> Param:
    """A parameter of ``step``, or its default (:data:`~twsbridge.sim.faults.script.DEFAULTS`)."""
    return step.params.get(name, DEFAULTS[step.kind][name])
