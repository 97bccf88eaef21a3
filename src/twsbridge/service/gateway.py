"""The service's one connection to TWS, owned by the application lifespan.

With no gateway configured, :class:`GatewayManager` starts the embedded
simulated gateway (:class:`twsbridge.sim.SimServer`) in process and logs a
WARNING saying so; the service's client reaches it through
``SimServer.connect_in_process`` (a socket pair carrying the TWS protocol's
bytes), so no socket listens and nobody but the service (its keys, its
guardrails) trades the simulated account. Only with ``sim_port`` set
(``--sim-port N``) does the simulator also listen, on 127.0.0.1 only, and a
WARNING says that anyone on this machine can then trade through that port.
With ``gateway="HOST:PORT"`` it connects a :class:`~twsbridge.client.TWSClient`
to that TWS / IB Gateway.

A lost connection is re-established in the background (with back-off) and on
demand by the next request; while it is down, routes that need TWS answer 503
``application/problem+json`` and ``/health`` answers ``"down"``.

Every client gets the order journal as its intercept hook before it connects
(so no order message of the session escapes it), and after every connect the
manager reconciles the journal with TWS and (re)starts the account's reqPnL
subscription (:class:`~twsbridge.service.pnl.PnLWatch`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from twsbridge.client import TWSClient, TWSError
from twsbridge.client.pacing import TWS_HISTORICAL_LIMITS
from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.market.clock import SimClock, parse_start

from .journal import JOURNALED, Journal, reconcile
from .pnl import PnLWatch
from .problems import ProblemError
from .settings import ServiceSettings
from .sim_account import open_sim_account

__all__ = [
    "ClientDep",
    "GatewayDep",
    "GatewayManager",
    "JournalDep",
    "get_client",
    "get_gateway",
    "get_journal",
]

log = logging.getLogger("twsbridge.service")

_SIM_TZ = ZoneInfo("US/Eastern")
_SIM_HOST = "127.0.0.1"  # the only address the embedded simulator may listen on
IN_PROCESS = "in-process simulator"
"""What :attr:`GatewayManager.address` reads while the client reaches the simulator in process."""
_CONNECTIVITY_LOST = 1100
_CONNECTIVITY_RESTORED = frozenset({1101, 1102})
_RETRY_MIN = 1.0
_RETRY_MAX = 30.0

Mode = Literal["simulator", "gateway"]


class GatewayManager:
    """Starts the embedded simulator if asked, connects and keeps connected one client."""

    def __init__(self, settings: ServiceSettings, journal: Journal | None = None) -> None:
        self.settings = settings
        self.journal = journal
        self.pnl = PnLWatch()
        self._on_connect: asyncio.Task[None] | None = None
        self.mode: Mode = "simulator" if settings.simulated else "gateway"
        address = settings.gateway_address
        self.host, self.port = address if address is not None else (IN_PROCESS, 0)
        self.last_error: str | None = None
        #: True from TWS's error 1100 (its connection to IB lost) to 1101/1102 or a reconnect.
        self.tws_connectivity_lost = False
        self.simulated_time: str | None = None
        self._sim: SimServer | None = None
        self._client: TWSClient | None = None
        self._lock = asyncio.Lock()
        self._watchdog: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Called with every new client before it connects (metrics count its messages).
        self.client_hooks: list[Callable[[TWSClient], None]] = []

    @property
    def address(self) -> str:
        """``HOST:PORT`` of the gateway the service talks to; :data:`IN_PROCESS` in sim mode."""
        if self.mode == "simulator":
            return IN_PROCESS
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def sim_server(self) -> SimServer | None:
        """The embedded simulator (sim mode, once started), else None."""
        return self._sim

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the manager (and the embedded simulator) runs on, once started.

        Raises:
            RuntimeError: before :meth:`start`.
        """
        if self._loop is None:
            raise RuntimeError("the gateway manager is not started")
        return self._loop

    @property
    def sim_port(self) -> int | None:
        """The TCP port the embedded simulator listens on (127.0.0.1), None when none."""
        sim = self._sim
        return sim.port if sim is not None and sim.listens else None

    @property
    def connected(self) -> bool:
        """True while the client is connected and handshaken."""
        return self._client is not None and self._client.is_connected

    @property
    def current(self) -> TWSClient | None:
        """The client, connected or not (``None`` before the first successful connect)."""
        return self._client

    async def start(self) -> None:
        """Start the simulator (sim mode) and connect; a real gateway may be down (retried)."""
        self._loop = asyncio.get_running_loop()
        if self.mode == "simulator":
            start = self.settings.sim_start
            if start is not None and start.tzinfo is None:
                start = parse_start(start.isoformat())  # wall time in US/Eastern
            clock = SimClock(start, speed=self.settings.sim_speed)
            store = open_sim_account(self.settings)  # the paper account persists
            self._sim = SimServer(
                Simulator(seed=self.settings.sim_seed, clock=clock, store=store),
                host=_SIM_HOST,
                port=self.settings.sim_port,  # None: no listener (connect_in_process only)
            )
            await self._sim.start()
            self._warn_if_listening()
            await self._connect()
            await self._announce_simulator()
        else:
            try:
                await self._connect()
            except (TWSError, OSError, TimeoutError) as exc:
                log.error(
                    "cannot connect to TWS at %s (%s); serving anyway, retrying in the background",
                    self.address,
                    _why(exc),
                )
            else:
                log.info(
                    "connected to TWS at %s as client %d", self.address, self.settings.client_id
                )
        self._watchdog = asyncio.create_task(self._keep_connected(), name="twsbridge-watchdog")

    async def stop(self) -> None:
        """Disconnect and stop the embedded simulator."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        await self._cancel_on_connect()
        await self.pnl.stop()
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.disconnect()
            self._client = None
        if self._sim is not None:
            await self._sim.stop()
            if self._sim.simulator.store is not None:
                self._sim.simulator.store.close()
            self._sim = None

    async def client(self) -> TWSClient:
        """The connected client; reconnects once if needed, else raises a 503 problem."""
        if self._client is not None and self._client.is_connected:
            return self._client
        try:
            await self._connect()
        except (TWSError, OSError, TimeoutError) as exc:
            raise ProblemError(
                "gateway-unavailable",
                f"not connected to TWS at {self.address}: {exc}",
                code=exc.code if isinstance(exc, TWSError) else None,
            ) from exc
        assert self._client is not None
        return self._client

    def _new_client(self) -> TWSClient:
        """The service's one client object, kept across reconnects (its order book,
        its id sequence and the journal's intercept hooks live on)."""
        client = TWSClient(
            self.host,
            self.port,
            self.settings.client_id,
            timeout=self.settings.connect_timeout,
            connector=None if self._sim is None else self._sim.connect_in_process,
            historical_limits=TWS_HISTORICAL_LIMITS if self.settings.historical_pacing else None,
        )
        if self.journal is not None:
            client.intercept(self.journal.record, *JOURNALED)
            client.intercept(self.journal.error_hook(self.settings.client_id), "error")
        client.intercept(self._connectivity, "error")
        for hook in self.client_hooks:
            hook(client)
        return client

    def _connectivity(self, msg: object) -> None:
        """Error hook: follow TWS's connection to IB (1100 lost; 1101, 1102 restored)."""
        code = getattr(msg, "errorCode", None)
        if code == _CONNECTIVITY_LOST:
            self.tws_connectivity_lost = True
        elif code in _CONNECTIVITY_RESTORED:
            self.tws_connectivity_lost = False

    async def _connect(self) -> None:
        async with self._lock:
            if self._client is not None and self._client.is_connected:
                return
            client = self._client if self._client is not None else self._new_client()
            with contextlib.suppress(Exception):
                await client.disconnect()  # the dead connection, if any
            try:
                async with asyncio.timeout(self.settings.connect_timeout):
                    await client.connect()
            except BaseException as exc:
                self.last_error = _why(exc)
                with contextlib.suppress(Exception):
                    await client.disconnect()
                raise
            self._client = client
            self.last_error = None
            self.tws_connectivity_lost = False
            await self._cancel_on_connect()
            self._on_connect = asyncio.create_task(
                self._connected(client), name="twsbridge-on-connect"
            )

    async def _cancel_on_connect(self) -> None:
        task, self._on_connect = self._on_connect, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _connected(self, client: TWSClient) -> None:
        """After every connect: reconcile the journal, (re)start the P&L subscription."""
        await self.pnl.start(client)
        if self.journal is not None:
            await reconcile(client, self.journal)

    async def reconciled(self) -> None:
        """Wait for the reconciliation after the latest connect (tests, startup)."""
        task = self._on_connect
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)

    async def _keep_connected(self) -> None:
        delay = _RETRY_MIN
        failures = 0
        while True:
            await asyncio.sleep(delay if not self.connected else _RETRY_MIN)
            if self.connected:
                delay, failures = _RETRY_MIN, 0
                self._reconcile_if_needed()
                continue
            try:
                await self._connect()
            except (TWSError, OSError, TimeoutError) as exc:
                failures += 1
                level = logging.WARNING if failures == 1 else logging.DEBUG
                log.log(level, "TWS at %s unreachable, will retry: %s", self.address, _why(exc))
                delay = min(delay * 2, _RETRY_MAX)
            else:
                log.warning("reconnected to TWS at %s", self.address)
                delay, failures = _RETRY_MIN, 0

    def _reconcile_if_needed(self) -> None:
        """Reconcile again when a journal write or the last reconciliation failed."""
        journal, client, task = self.journal, self._client, self._on_connect
        if journal is None or client is None or not journal.needs_reconcile:
            return
        if task is None or task.done():
            log.warning("the journal needs reconciling (a journal write or the last "
                        "reconciliation failed): reconciling it with TWS again")
            self._on_connect = asyncio.create_task(
                self._reconcile(client, journal), name="twsbridge-reconcile"
            )

    @staticmethod
    async def _reconcile(client: TWSClient, journal: Journal) -> None:
        await reconcile(client, journal)

    def _warn_if_listening(self) -> None:
        port = self.sim_port
        if port is not None:
            log.warning(
                "the embedded simulator also listens on %s:%d (--sim-port): anyone on this "
                "machine can trade the simulated account through that port without an API key "
                "and past every guardrail",
                _SIM_HOST,
                port,
            )

    async def _announce_simulator(self) -> None:
        client = self._client
        assert client is not None
        try:
            epoch = await client.reqCurrentTime()
            self.simulated_time = dt.datetime.fromtimestamp(epoch, _SIM_TZ).strftime(
                "%Y-%m-%d %H:%M:%S %Z"
            )
        except (TWSError, TimeoutError) as exc:  # pragma: no cover - the simulator answers
            log.debug("reqCurrentTime failed: %s", exc)
        account = ", ".join(client.accounts) or "DU…"
        log.warning(
            "twsbridge is serving the SIMULATED gateway (paper account %s, simulated clock %s), "
            "%s; pass --gateway HOST:PORT for a real TWS/IB Gateway",
            account,
            self.simulated_time or "unknown",
            "in process, no socket listening"
            if self.sim_port is None
            else f"in process and on {_SIM_HOST}:{self.sim_port}",
        )


def _why(exc: BaseException) -> str:
    """What went wrong, never empty (a TimeoutError's text is)."""
    return str(exc) or type(exc).__name__


def get_gateway(request: Request) -> GatewayManager:
    """Dependency: the application's :class:`GatewayManager`."""
    manager: GatewayManager = request.app.state.gateway
    return manager


GatewayDep = Annotated[GatewayManager, Depends(get_gateway)]


async def get_client(gateway: GatewayDep) -> TWSClient:
    """Dependency: the connected :class:`TWSClient` (503 problem when TWS is unreachable)."""
    return await gateway.client()


ClientDep = Annotated[TWSClient, Depends(get_client)]


def get_journal(request: Request) -> Journal:
    """Dependency: the application's order :class:`Journal`."""
    journal: Journal = request.app.state.journal
    return journal


JournalDep = Annotated[Journal, Depends(get_journal)]
