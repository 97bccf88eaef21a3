"""The asyncio TCP server of the simulated TWS.

The state every connection shares is a :class:`~twsbridge.sim.simulator.Simulator`
(instruments, prices, clock, account, broker, faults). :class:`SimServer`
accepts TCP connections and runs one
:class:`~twsbridge.sim.gateway.session.SimSession` per socket, with a read loop and a
poll loop (streaming output); while started it also steps the broker (works
the orders up to the simulated clock) whether or not a client is connected,
as IB's servers work orders while TWS or its clients are away.
``Simulator(store=SimStore.open(path))`` (:mod:`twsbridge.sim.store.sqlite`) keeps
the paper account in a file, so a new process continues it.
:func:`run_sim` runs a server until cancelled. ``Simulator.faults``
(:mod:`twsbridge.sim.faults.injector`) injects faults
(dropped connections, stalls, connectivity loss, restarts ...) and holds
TWS's limits (message rate, historical-data pacing, market data lines); the
server and the sessions consult it.

Clients connect to it exactly as to TWS or IB Gateway (``API\\0`` handshake,
server versions 157-178)::

    async with SimServer(port=0) as server:
        ib = IB()
        await ib.connectAsync("127.0.0.1", server.port, clientId=1)

or, with no TCP listener at all (``port=None``), in process over a socket pair
that carries the same bytes (:meth:`SimServer.connect_in_process`)::

    async with SimServer(port=None) as server:
        async with TWSClient(connector=server.connect_in_process) as ib: ...

As TWS, a connection takes one of the ``max_clients`` API client slots only
when its startApi is accepted, and one that has not completed the handshake
(hello, server version, startApi) within ``handshake_timeout`` seconds is
closed: silent or dripping sockets cannot lock real clients out.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import logging
import socket
from types import TracebackType

from twsbridge.sim.faults.script import FaultScript
from twsbridge.sim.gateway.session import SimSession
from twsbridge.sim.market.clock import SimClock
from twsbridge.sim.simulator import Simulator
from twsbridge.sim.store.sqlite import SimStore

__all__ = [
    "DEFAULT_PORT", "HANDSHAKE_TIMEOUT", "MAX_CLIENTS", "SimServer", "run_sim",
]

log = logging.getLogger("twsbridge.sim")

DEFAULT_PORT = 7497
"""TWS's default paper-trading API port."""
MAX_CLIENTS = 32
"""TWS accepts at most 32 API clients at a time."""
HANDSHAKE_TIMEOUT = 5.0
"""Seconds a connection may take from accept to an accepted startApi (then closed)."""
_READ_SIZE = 1 << 16


class _Conn:
    """One client connection: its socket writer, session and write lock."""

    def __init__(self, writer: asyncio.StreamWriter, session: SimSession) -> None:
        self.writer = writer
        self.session = session
        self._lock = asyncio.Lock()

    async def send(self, data: bytes) -> None:
        if data:
            async with self._lock:
                self.writer.write(data)
                await self.writer.drain()


class SimServer:
    """An asyncio server speaking the TWS API protocol, on TCP and/or in process.

    Args:
        simulator: the shared state (a new :class:`Simulator` by default).
        host: the address to listen on.
        port: the TCP port; 0 picks a free one (read it from :attr:`port` after
            start); None listens on no socket at all: clients connect with
            :meth:`connect_in_process` only (:attr:`port` then reads 0).
        max_clients: API client slots; a slot is taken when a startApi is
            accepted, and a startApi beyond this many is answered by closing
            the connection, as TWS does.
        poll_interval: seconds between two polls of a session's streaming
            output, and between two broker steps (from :meth:`start` to
            :meth:`stop`, also while down for a restart fault).
        handshake_timeout: seconds a connection may take from accept to an
            accepted startApi; it is closed after that (TWS closes such
            sockets too). The clock stops while a stall fault freezes the
            simulator.
    """

    def __init__(
        self,
        simulator: Simulator | None = None,
        *,
        host: str = "127.0.0.1",
        port: int | None = DEFAULT_PORT,
        max_clients: int = MAX_CLIENTS,
        poll_interval: float = 0.05,
        handshake_timeout: float = HANDSHAKE_TIMEOUT,
    ) -> None:
        self.simulator = simulator if simulator is not None else Simulator()
        self.host = host
        #: True when the server listens on TCP (``port`` not None).
        self.listens = port is not None
        self.port = port if port is not None else 0
        self.max_clients = max_clients
        self.poll_interval = poll_interval
        self.handshake_timeout = handshake_timeout
        self._server: asyncio.Server | None = None
        self._up = False  # accepting connections (started, not down for a restart)
        self._conns: dict[asyncio.Task[None], _Conn] = {}
        self._in_process: set[asyncio.Task[None]] = set()
        self._stopped = False
        self._stepper: asyncio.Task[None] | None = None
        self.sessions: set[SimSession] = set()

    async def start(self) -> None:
        """Start serving (listening too unless ``port`` is None); with port 0
        the real port is then in :attr:`port`.

        Raises:
            OSError: when the address cannot be bound.
        """
        self._stopped = False
        if self._up:
            return
        await self._come_up()
        self.simulator.faults.attach(self)
        if self._stepper is None or self._stepper.done():
            self._stepper = asyncio.get_running_loop().create_task(
                self._step_broker(), name=f"sim-broker-step:{self.port}")

    async def _come_up(self) -> None:
        if self.listens:
            self._server = await asyncio.start_server(self._handle, self.host, self.port)
            self.port = self._server.sockets[0].getsockname()[1]
            log.info("TWS simulator listening on %s:%d", self.host, self.port)
        self._up = True

    async def connect_in_process(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A new client connection with no listening socket: one end of a
        ``socket.socketpair()`` is served exactly as an accepted TCP connection
        (same bytes, same faults), the other is returned as the client's
        (reader, writer). Pass it as ``TWSClient(connector=server.connect_in_process)``.

        Raises:
            ConnectionRefusedError: the server is not started, stopped, or
                down for a restart fault (as a TCP connect is refused then).
        """
        if not self._up:
            raise ConnectionRefusedError(errno.ECONNREFUSED,
                                         "the TWS simulator is not accepting connections")
        ours, theirs = socket.socketpair()
        try:
            reader, writer = await asyncio.open_connection(sock=ours)
            served = await asyncio.open_connection(sock=theirs)
        except BaseException:
            ours.close()
            theirs.close()
            raise
        task = asyncio.get_running_loop().create_task(
            self._handle(*served), name="sim-in-process-connection")
        self._in_process.add(task)
        task.add_done_callback(self._in_process.discard)
        return reader, writer

    async def stop(self) -> None:
        """Stop listening and close every connection (and cancel fault scripts);
        the broker is no longer stepped by this server."""
        self._stopped = True
        self.simulator.faults.detach(self)
        stepper, self._stepper = self._stepper, None
        if stepper is not None:
            stepper.cancel()
            await asyncio.wait([stepper])
        await self._shut()
        pending = list(self._in_process)  # in-process connections not yet served
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def _step_broker(self) -> None:
        """Every :attr:`poll_interval`: work the orders up to the simulated clock
        (a step at an instant already stepped to does nothing, so other servers
        and the sessions' polls may step too). A failing step is logged (once
        while it keeps failing the same way) and the loop goes on."""
        broker = self.simulator.broker
        failing: str | None = None
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                broker.step()
            except Exception as e:
                if repr(e) != failing:
                    log.exception("simulated broker step failed (stepping goes on)")
                failing = repr(e)
            else:
                failing = None

    async def _shut(self) -> None:
        """Stop listening, close every connection."""
        self._up = False
        server, self._server = self._server, None
        if server is not None:
            server.close()
        await self.drop_connections()
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)

    async def serve_forever(self) -> None:
        """Start (if needed) and serve until cancelled (also across fault restarts)."""
        await self.start()
        await asyncio.get_running_loop().create_future()

    # ----------------------------------------------- what the faults act on
    @property
    def live_sessions(self) -> list[SimSession]:
        """The sessions of the open connections."""
        return [c.session for c in self._conns.values()]

    async def flush(self) -> None:
        """Write each session's pending output now (nothing during a stall)."""
        if self.simulator.faults.stalled:
            return
        for conn in list(self._conns.values()):
            with contextlib.suppress(ConnectionError):
                await conn.send(conn.session.take_output())

    async def drop_connections(self) -> None:
        """Close every client connection (the server keeps listening)."""
        conns = dict(self._conns)
        for task, conn in conns.items():
            conn.writer.close()
            task.cancel()
        if conns:
            await asyncio.gather(*conns, return_exceptions=True)

    async def go_down(self) -> None:
        """Close every connection and stop listening (a TWS restart)."""
        await self._shut()
        log.info("TWS simulator down (restart)")

    async def come_up(self) -> None:
        """Accept again (listen on the same port) after :meth:`go_down` (not once stopped)."""
        if not self._stopped and not self._up:
            await self._come_up()

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------ per socket
    def _slot_free(self) -> bool:
        """At a startApi: True while fewer than :attr:`max_clients` sessions hold a slot."""
        taken = sum(1 for c in self._conns.values() if c.session.client_id is not None)
        if taken < self.max_clients:
            return True
        log.warning("refusing a startApi: %d API clients already connected", taken)
        return False

    def _handshake_deadline(self, conn: _Conn) -> None:
        """``handshake_timeout`` after accept: close ``conn`` if its startApi
        was not accepted yet (checked again later while a stall lasts)."""
        session = conn.session
        if session.closed or session.client_id is not None:
            return
        if self.simulator.faults.stalled:
            asyncio.get_running_loop().call_later(
                self.poll_interval, self._handshake_deadline, conn)
            return
        log.info("closing a connection that did not complete the handshake within %g s",
                 self.handshake_timeout)
        session.close(f"no handshake within {self.handshake_timeout:g} s")
        conn.writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or "in-process"
        if not self._up:
            log.warning("refusing %s: down", peer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            return
        task = asyncio.current_task()
        assert task is not None
        session = SimSession(self.simulator, slot_free=self._slot_free)
        conn = self._conns[task] = _Conn(writer, session)
        self.sessions.add(session)
        send, faults = conn.send, self.simulator.faults
        deadline = asyncio.get_running_loop().call_later(
            self.handshake_timeout, self._handshake_deadline, conn)

        async def poll_loop() -> None:
            while not session.closed:
                await asyncio.sleep(self.poll_interval)
                if not faults.stalled:
                    await send(session.poll())

        poller = asyncio.create_task(poll_loop())
        try:
            while not session.closed:
                data = await reader.read(_READ_SIZE)
                await faults.wait_unstalled()  # a stall: answered afterwards, in order
                await send(session.receive_data(data))
                if not data:
                    break
        except (ConnectionError, asyncio.IncompleteReadError) as e:
            log.info("client %s at %s: connection lost: %r", session.client_id, peer, e)
        except asyncio.CancelledError:
            pass
        finally:
            deadline.cancel()
            session.close("connection closed")
            self.sessions.discard(session)
            poller.cancel()
            with contextlib.suppress(BaseException):
                await poller
            self._conns.pop(task, None)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1)


async def run_sim(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    seed: int = 0,
    start: dt.datetime | None = None,
    speed: float = 1.0,
    faults: FaultScript | None = None,
    state: str | None = None,
    reset: bool = False,
) -> None:
    """Run a simulated TWS on ``host:port`` until cancelled (logs its address,
    account and simulated clock), running the fault script ``faults`` from
    the start. ``state``: a file where the account persists (continued when it
    exists; ``reset`` first moves it to a timestamped backup).

    Raises:
        OSError: when the address cannot be bound.
        StateError: ``state`` is not a simulator account file.
    """
    store = None if state is None else SimStore.open(state, reset=reset)
    if store is not None and store.backup is not None:
        log.warning("simulator account reset: the previous one is kept in %s", store.backup)
    sim = Simulator(seed=seed, clock=SimClock(start, speed), store=store)
    server = SimServer(sim, host=host, port=port)
    await server.start()
    log.info("simulated TWS on %s:%d: account %s, clock %s (speed %gx), seed %d",
             host, server.port, sim.account.code, sim.clock.now().isoformat(), speed, seed)
    if faults is not None and faults.steps:
        log.info("fault script: %d faults over %.1f s", len(faults), faults.duration)
        sim.faults.schedule(faults)
    try:
        await server.serve_forever()
    finally:
        await server.stop()
        if store is not None:
            store.close()
