"""The asyncio transport: one TCP connection to TWS over the sans-I/O core.

:class:`Transport` opens the socket (``asyncio.open_connection``, or a
:data:`Connector` of the caller's: e.g. the simulator's in-process
``SimServer.connect_in_process``), runs the
handshake of :class:`~twsbridge.protocol.ClientConnection` (hello, server
version, startApi), then runs two tasks:

* a reader that feeds every chunk to the protocol and hands each decoded
  ``Message``/``Unknown`` to ``on_message``, in order; when ``on_message``
  returns an awaitable (an async intercept hook runs), the reader awaits it
  before it hands over the next message;
* a writer that sends queued frames no faster than a :class:`TokenBucket`
  allows (TWS disconnects clients that exceed 50 messages per second).

The connection ends exactly once, and ``on_close(exc)`` then says why: None
after :meth:`Transport.close`, a :class:`~twsbridge.client.errors.ConnectionLost`
when TWS closed the socket or the network failed, the
:class:`~twsbridge.protocol.ProtocolError` when TWS sent a frame the decoder
rejects (the socket is closed: a stream that lost its framing cannot go on),
or the exception ``on_message`` raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TypeAlias

from twsbridge.protocol import (
    ClientConnection,
    ConnectionClosed,
    Message,
    ProtocolError,
    ServerHello,
    Unknown,
)

from .errors import ConnectionLost, TWSConnectError

__all__ = ["Connector", "TokenBucket", "Transport"]

log = logging.getLogger("twsbridge.client")

_CHUNK = 1 << 16

Connector: TypeAlias = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]
"""Opens one new byte stream to TWS: ``await connector()`` returns its
(StreamReader, StreamWriter), in place of ``asyncio.open_connection(host, port)``.
Called once per connect and per reconnect; it raises ``OSError`` (e.g.
``ConnectionRefusedError``) when nothing accepts, which the client reports
as error 502 exactly as a refused TCP connect."""


def describe(host: str, port: int, connector: Connector | None) -> str:
    """``host:port``, or only ``host`` for a connector with no port (port 0)."""
    return host if connector is not None and not port else f"{host}:{port}"


class TokenBucket:
    """Pacing: at most ``burst`` messages at once, refilled at ``rate`` per second.

    In any window of ``t`` seconds at most ``burst + rate * t`` messages pass.
    ``rate`` <= 0 disables pacing.
    """

    def __init__(self, rate: float, burst: int = 1) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._tokens = float(self.burst)
        self._stamp: float | None = None

    @classmethod
    def per_second(cls, max_rate: float) -> TokenBucket:
        """A bucket that never lets more than ``max_rate`` messages through in any
        one second: bursts of a tenth of it, refilled at the other nine tenths."""
        if max_rate <= 0:
            return cls(0.0)
        burst = max(1, int(max_rate // 10))
        return cls(max(max_rate - burst, 1e-9), burst)

    async def acquire(self) -> None:
        """Wait until one message may be sent, and take its token."""
        if self.rate <= 0:
            return
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            if self._stamp is not None:
                self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            await asyncio.sleep((1 - self._tokens) / self.rate)


class Transport:
    """One TCP connection to TWS at ``host:port`` (or one stream of ``connector``).

    Args:
        on_message: called with each decoded message, in arrival order; it
            must not block. It may return an awaitable, which the reader awaits
            before the next message. An exception from it ends the connection
            and is passed to ``on_close`` (a bug must not be swallowed).
        on_close: called once when the connection ends (see the module doc).
        connect_options: appended to the version range of the hello
            (``"+PACEAPI"`` asks TWS to pace instead of disconnecting).
        bucket: the send pacing.
        connector: opens the byte stream in place of a TCP connect to
            ``host:port`` (see :data:`Connector`); ``host`` and ``port`` then
            only name the peer in messages (port 0: the host alone).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        on_message: Callable[[Message | Unknown], Awaitable[None] | None],
        on_close: Callable[[BaseException | None], None],
        connect_options: str = "",
        min_version: int | None = None,
        max_version: int | None = None,
        bucket: TokenBucket | None = None,
        connector: Connector | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.connector = connector
        self.where = describe(host, port, connector)
        kwargs: dict[str, int] = {}
        if min_version is not None:
            kwargs["min_version"] = min_version
        if max_version is not None:
            kwargs["max_version"] = max_version
        self.protocol = ClientConnection(connect_options=connect_options, **kwargs)
        self.bucket = bucket or TokenBucket.per_second(50.0)
        self._on_message = on_message
        self._on_close = on_close
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._outbox: deque[tuple[bytes, Callable[[], None] | None]] = deque()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._early: list[Message | Unknown] = []
        self.closed = False
        #: Why the connection ended (None while open or after a local close).
        self.close_reason: BaseException | None = None

    @property
    def is_open(self) -> bool:
        """True from the handshake until the connection ends."""
        return self._writer is not None and not self.closed

    async def open(self, client_id: int, optional_capabilities: str = "") -> ServerHello:
        """Connect, exchange the hello and send startApi (message 71).

        Returns the server's hello (version and connection time); messages
        that follow are delivered to ``on_message`` by the reader task.

        Raises:
            TWSConnectError: nothing accepts connections at ``host:port``, or
                the connector raised ``OSError`` (error 502, the OS error chained).
            ConnectionLost: TWS closed the socket before its hello completed
                the handshake (as TWS does when it serves none of the offered
                versions, or when the handshake took too long).
            ProtocolError: the server's hello is malformed or out of range.
        """
        try:
            if self.connector is not None:
                self._reader, self._writer = await self.connector()
            else:
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        except OSError as exc:
            raise TWSConnectError(self.host, self.port) from exc
        try:
            hello = await self._handshake()
            self._writer.write(self.protocol.start_api(client_id, optional_capabilities))
        except BaseException:
            self._abort()
            raise
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._read_loop(), name=f"twsbridge-reader-{self.where}"),
            loop.create_task(self._write_loop(), name=f"twsbridge-writer-{self.where}"),
        ]
        return hello

    async def _handshake(self) -> ServerHello:
        assert self._reader is not None and self._writer is not None
        self._writer.write(self.protocol.hello())
        hello: ServerHello | None = None
        received = 0
        while hello is None:
            try:
                data = await self._reader.read(_CHUNK)
            except ConnectionResetError as exc:
                raise ConnectionLost(self._closed_early(received, "reset")) from exc
            except OSError as exc:
                raise ConnectionLost(f"connection to TWS at {self.where} failed during the "
                                     f"handshake: {exc}") from exc
            received += len(data)
            self.protocol.receive_data(data)
            for event in self.protocol.events():
                if isinstance(event, ServerHello):
                    hello = event
                elif isinstance(event, ConnectionClosed):
                    raise ConnectionLost(self._closed_early(received, "closed"))
                elif isinstance(event, (Message, Unknown)):
                    self._early.append(event)
        return hello

    def _closed_early(self, received: int, how: str) -> str:
        """The text of a connection the server ended before its hello."""
        return (f"TWS at {self.where} {how} the connection before the handshake completed "
                f"(no server hello; {received} bytes received after our hello offering API "
                f"versions {self.protocol.min_version}..{self.protocol.max_version})")

    def send(self, msg: Message | Unknown, on_sent: Callable[[], None] | None = None) -> None:
        """Encode ``msg`` now and queue it for the paced writer; ``on_sent()``
        is called once the writer wrote it (not when the connection ends first).

        Raises:
            ConnectionLost: the connection has ended.
            ProtocolError: ``msg`` cannot be sent (wrong direction, bad value).
        """
        if not self.is_open:
            raise ConnectionLost(f"not connected to TWS at {self.where}: cannot send {msg.NAME}")
        data = self.protocol.send(msg)
        self._outbox.append((data, on_sent))
        self._idle.clear()
        self._wakeup.set()

    async def _write_loop(self) -> None:
        assert self._writer is not None
        try:
            while True:
                if not self._outbox:
                    self._idle.set()
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                await self.bucket.acquire()
                data, on_sent = self._outbox.popleft()
                self._writer.write(data)
                if on_sent is not None:
                    on_sent()
                await self._writer.drain()
        except OSError as exc:
            lost = ConnectionLost(f"connection to TWS at {self.where} lost while sending: {exc}")
            lost.__cause__ = exc
            self._shutdown(lost)

    async def _read_loop(self) -> None:
        assert self._reader is not None
        exc: BaseException
        try:
            early, self._early = self._early, []
            for msg in early:
                pending = self._on_message(msg)
                if pending is not None:
                    await pending
            while True:
                data = await self._reader.read(_CHUNK)
                try:
                    self.protocol.receive_data(data)
                finally:
                    await self._deliver()  # frames decoded before a bad one still count
                if not data:
                    exc = ConnectionLost(f"connection to TWS at {self.where} lost: "
                                         "TWS closed the connection")
                    break
        except asyncio.CancelledError:
            return  # close() is running
        except ProtocolError as err:  # the stream lost its framing: close (the owner logs)
            exc = err
        except OSError as err:
            exc = ConnectionLost(f"connection to TWS at {self.where} lost: {err}")
            exc.__cause__ = err
        except Exception as err:  # a bug in on_message: fail the waiters with it
            log.exception("error while dispatching a message from TWS at %s", self.where)
            exc = err
        self._shutdown(exc)

    async def _deliver(self) -> None:
        for event in self.protocol.events():
            if isinstance(event, (Message, Unknown)):
                pending = self._on_message(event)
                if pending is not None:
                    await pending

    def _shutdown(self, exc: BaseException | None) -> None:
        """End the connection once: stop the tasks, close the socket, tell the owner."""
        if self.closed:
            return
        self.closed = True
        self.close_reason = exc
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        self._abort()
        self._on_close(exc)

    def _abort(self) -> None:
        if self._writer is not None:
            self._writer.close()

    async def close(self, flush_timeout: float = 1.0) -> None:
        """Close the connection from this side; ``on_close(None)`` is called.

        Frames still queued (cancel messages) are sent first, for at most
        ``flush_timeout`` seconds.
        """
        if self.closed:
            return
        if self._outbox:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._idle.wait(), flush_timeout)
        tasks = list(self._tasks)
        self._shutdown(None)
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._writer is not None:
            with contextlib.suppress(OSError, asyncio.TimeoutError):
                await asyncio.wait_for(self._writer.wait_closed(), flush_timeout)
