"""Helpers of the fault tests: our ClientConnection over a real loopback socket,
a settable wall clock for the pacing rules, and event filters."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from twsbridge.protocol import ClientConnection, Contract, ServerHello, incoming
from twsbridge.protocol.spec import Message
from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.market.clock import SimClock
from twsbridge.sim.reference.calendar import SIM_TZ

__all__ = ["AAPL", "SPY", "TIMEOUT", "Client", "Wall", "errors", "of", "serve", "sim_at"]

TIMEOUT = 5.0
AAPL = Contract(symbol="AAPL", secType="STK", exchange="SMART", currency="USD")
SPY = Contract(symbol="SPY", secType="STK", exchange="SMART", currency="USD")
T = TypeVar("T")


def of(events: list[Any], cls: type[T]) -> list[T]:
    """The events of one message class."""
    return [e for e in events if isinstance(e, cls)]


def errors(events: list[Any], code: int | None = None) -> list[incoming.ErrorMessage]:
    """The error frames (of one code)."""
    return [e for e in of(events, incoming.ErrorMessage) if code is None or e.errorCode == code]


def sim_at(text: str = "2013-03-01 10:00", speed: float = 0.0) -> Simulator:
    """A simulator whose clock starts at ``text`` (US/Eastern)."""
    start = dt.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SIM_TZ)
    return Simulator(clock=SimClock(start, speed=speed))


@asynccontextmanager
async def serve(sim: Simulator | None = None, poll: float = 0.02) -> AsyncIterator[SimServer]:
    """A SimServer on 127.0.0.1, port 0."""
    async with SimServer(sim if sim is not None else sim_at(), port=0,
                         poll_interval=poll) as server:
        yield server


class Wall:
    """A wall clock for ``sim.faults.wall_clock`` that moves only when told."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class Client:
    """Our ClientConnection over an asyncio socket; ``events`` keeps everything read."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 conn: ClientConnection) -> None:
        self.reader, self.writer, self.conn = reader, writer, conn
        self.events: list[Any] = []
        self.eof = False

    @classmethod
    async def open(cls, port: int, options: str = "") -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, ClientConnection(connect_options=options))

    @classmethod
    async def connected(cls, port: int, client_id: int = 1, options: str = "") -> Client:
        client = await cls.open(port, options)
        await client.connect(client_id)
        return client

    async def _read(self) -> None:
        data = await self.reader.read(65536)
        if not data:
            self.eof = True
            raise EOFError
        self.conn.receive_data(data)
        self.events.extend(self.conn.events())

    async def until(self, done: Callable[[list[Any]], object],
                    timeout: float = TIMEOUT) -> list[Any]:
        """Read until ``done(events)``; EOFError when the server closes first."""
        async with asyncio.timeout(timeout):
            while not done(self.events):
                await self._read()
        return self.events

    async def collect(self, seconds: float) -> list[Any]:
        """Read for ``seconds`` (or until EOF); returns what arrived meanwhile."""
        mark = len(self.events)
        try:
            async with asyncio.timeout(seconds):
                while True:
                    await self._read()
        except (TimeoutError, EOFError):
            pass
        return self.events[mark:]

    async def connect(self, client_id: int) -> list[Any]:
        """Handshake and startApi, up to the last farm notice (2158) or 326."""
        self.writer.write(self.conn.hello())
        await self.until(lambda ev: any(isinstance(e, ServerHello) for e in ev))
        self.writer.write(self.conn.start_api(client_id))
        return await self.until(lambda ev: any(e.errorCode in (2158, 326)
                                               for e in errors(ev)))

    def send(self, *msgs: Message) -> int:
        """Send ``msgs`` in one write; returns the index of the next event."""
        self.writer.write(b"".join(self.conn.send(m) for m in msgs))
        return len(self.events)

    async def ask(self, msg: Message, done: Callable[[list[Any]], object]) -> list[Any]:
        """Send ``msg`` and read until ``done(new events)``; returns the new events."""
        mark = self.send(msg)
        await self.until(lambda ev: done(ev[mark:]))
        return self.events[mark:]

    async def closed_by_server(self, timeout: float = TIMEOUT) -> bool:
        """True when the server closes the socket within ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self._read()
        except (EOFError, ConnectionResetError):
            return True
        except TimeoutError:
            return False

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass
