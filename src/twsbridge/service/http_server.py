"""The service's HTTP server: uvicorn, with bounds on connections and on slow clients.

uvicorn times out idle keep-alive connections (``timeout_keep_alive``) but not a
request that is still arriving: a client that sends its headers or its body a
byte at a time holds its connection (and a file descriptor) for good, and
nothing bounds how many connections are open (uvicorn's ``limit_concurrency``
answers 503 only to a complete request, so silent connections never meet it).
Past the process's open-files limit, asyncio's accept loop logs every failed
``accept()`` with its traceback (about 2,000 a second).

Here (all settings of :class:`~.settings.ServiceSettings`):

* :class:`GuardedH11Protocol`, uvicorn's h11 protocol with three bounds:
  a connection beyond ``max_connections`` is answered 503 and closed at once;
  a request's headers must be complete within ``header_timeout`` seconds of
  its first byte (or of the connection); its body within ``body_timeout``
  seconds of its headers (while the application reads it). Past either
  deadline the client gets a 408 ``application/problem+json`` (unless a
  response has started) and the connection is closed.
* The soft ``RLIMIT_NOFILE`` is raised to the hard limit at start, and the
  connection cap kept below it (:func:`connection_cap`), so connections cannot
  starve the journal, the TWS socket or the accept loop of descriptors.
* Refused connections, timeouts and failed ``accept()`` calls are logged by
  a :class:`Tally`: the first at once, then one line per ``limit_log_interval``
  with the count, never one line per attempt.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .streaming import StreamSettings

if TYPE_CHECKING:
    import socket

    from .settings import ServiceSettings

__all__ = [
    "ConnectionLimits",
    "GuardedH11Protocol",
    "LimitedServer",
    "Tally",
    "accept_backlog",
    "connection_cap",
    "guarded_protocol",
    "raise_open_files_limit",
    "uvicorn_config",
]

log = logging.getLogger("twsbridge.service.http")

ACCEPT_EXHAUSTED = "socket.accept() out of system resource"
"""The message of asyncio's exception handler context when ``accept()`` fails with
EMFILE, ENFILE, ENOBUFS or ENOMEM (``selector_events._accept_connection``)."""


class Tally:
    """Count one kind of event and log it at most once per ``interval`` seconds.

    The first event is logged at once; later ones within the interval are
    counted and logged as one line when it ends (``message % (count, interval)``),
    so a flood of refusals is a line per interval, never a line per attempt.
    ``total`` counts every event since the start. Call :meth:`note` from the
    event loop's thread.
    """

    def __init__(self, message: str, interval: float, level: int = logging.WARNING) -> None:
        self.message = message
        self.interval = interval
        self.level = level
        self.total = 0
        self._pending = 0
        self._window: asyncio.TimerHandle | None = None

    def note(self, count: int = 1) -> None:
        """Count ``count`` events (logged now, or at the end of the current interval)."""
        self.total += count
        self._pending += count
        if self._window is None:
            self._flush()

    def _flush(self) -> None:
        self._window = None
        if self._pending == 0:
            return  # a quiet interval ends the window: the next event is logged at once
        log.log(self.level, self.message, self._pending, self.interval)
        self._pending = 0
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a test calling note() directly): log every event
            return
        self._window = loop.call_later(self.interval, self._flush)


@dataclass
class ConnectionLimits:
    """The bounds one server enforces, and the tallies of what they refused.

    ``max_connections``: open HTTP and WebSocket connections (the effective cap,
    see :func:`connection_cap`); ``header_timeout`` / ``body_timeout``: seconds;
    ``backlog``: the listen backlog (:func:`accept_backlog`).
    """

    max_connections: int
    header_timeout: float
    body_timeout: float
    log_interval: float = 10.0
    backlog: int = 2048
    refused: Tally = field(init=False)
    slow_headers: Tally = field(init=False)
    slow_bodies: Tally = field(init=False)
    accept_failures: Tally = field(init=False)

    def __post_init__(self) -> None:
        cap, every = self.max_connections, self.log_interval
        self.refused = Tally(
            f"refused %d connection(s) in %g s: {cap} connections are open, the limit "
            "(max_connections)", every)
        self.slow_headers = Tally(
            f"closed %d connection(s) in %g s whose request headers did not arrive within "
            f"{self.header_timeout:g} s (header_timeout)", every)
        self.slow_bodies = Tally(
            f"closed %d connection(s) in %g s whose request body did not arrive within "
            f"{self.body_timeout:g} s (body_timeout)", every)
        self.accept_failures = Tally(
            "accept() failed %d time(s) in %g s: the process is out of file descriptors "
            "(raise the open-files limit or lower max_connections)", every, logging.ERROR)

    @classmethod
    def from_settings(cls, settings: ServiceSettings, open_files: int | None) -> ConnectionLimits:
        """The limits of ``settings``, the cap kept below ``open_files`` (the soft limit)."""
        cap = connection_cap(settings.max_connections, open_files)
        return cls(
            max_connections=cap,
            header_timeout=settings.header_timeout,
            body_timeout=settings.body_timeout,
            log_interval=settings.limit_log_interval,
            backlog=accept_backlog(settings.http_backlog, cap, open_files),
        )


def raise_open_files_limit() -> int | None:
    """Raise the soft ``RLIMIT_NOFILE`` to the hard limit; the soft limit now in force.

    ``None`` where the platform has no ``resource`` module. A hard limit of
    ``RLIM_INFINITY`` (macOS) is tried as 65,536 (and left as it is if refused).
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return None if soft == resource.RLIM_INFINITY else soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        log.warning("cannot raise the open-files limit from %d to %d: %s", soft, target, exc)
        return soft
    return target


BASE_RESERVE = 64
"""File descriptors kept for the process itself: the journal's database, the TWS
connection, the listening sockets, logs."""


def connection_cap(requested: int, open_files: int | None) -> int:
    """``requested`` connections, kept below the open-files limit ``open_files``.

    Past :data:`BASE_RESERVE`, a quarter of the descriptors stays free for the
    connections accepted only to be refused (see :func:`accept_backlog`).
    """
    if open_files is None:
        return requested
    spare = max(4, open_files - BASE_RESERVE)
    return max(1, min(requested, spare * 3 // 4))


def accept_backlog(requested: int, cap: int, open_files: int | None) -> int:
    """The listen backlog (also how many connections asyncio accepts at a time).

    A refused connection holds its descriptor for a few loop iterations after it
    was accepted, so the burst stays within a quarter of what the cap leaves free.
    """
    if open_files is None:
        return requested
    free = max(0, open_files - BASE_RESERVE - cap)
    return max(8, min(requested, free // 4))


def _raw_problem(status: int, reason: str, detail: str, extra: bytes = b"") -> bytes:
    body = json.dumps({"type": "about:blank", "title": reason, "status": status,
                       "detail": detail}).encode()
    return (f"HTTP/1.1 {status} {reason}\r\n".encode() + b"content-type: application/problem+json"
            b"\r\nconnection: close\r\n" + extra
            + f"content-length: {len(body)}\r\n\r\n".encode() + body)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the connection cap and the header / body deadlines.

    Use :func:`guarded_protocol` for a class bound to a :class:`ConnectionLimits`
    (uvicorn builds a protocol per connection from the class given as ``http=``).
    A request's deadline is absolute: bytes arriving do not extend it. It is
    disarmed when the request is complete or the connection becomes a
    WebSocket; idle time between requests is uvicorn's ``timeout_keep_alive``.
    A body the application is not reading yet (uvicorn paused the socket) does
    not time out: the application's own request timeout bounds that.
    """

    limits: ClassVar[ConnectionLimits]
    _deadline: asyncio.TimerHandle | None = None
    _phase: str = ""
    _refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Refuse the connection beyond the cap; else serve it and start the header clock."""
        assert isinstance(transport, asyncio.Transport)
        limits = self.limits
        if len(self.connections) >= limits.max_connections:
            self._refused = True
            self.transport = transport
            limits.refused.note()
            transport.write(_raw_problem(
                503, "Service Unavailable",
                f"the service has {limits.max_connections} connections open, its limit; "
                "retry later", b"retry-after: 1\r\n"))
            transport.close()
            return
        super().connection_made(transport)
        self._arm("headers")

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock; a refused connection was never counted."""
        self._disarm()
        if self._refused:
            return
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Start the header clock at a request's first byte; follow the request's phase."""
        if self._refused:
            return
        if self._deadline is None and self.conn.their_state is h11.IDLE:
            self._arm("headers")  # the next request on a kept-alive connection
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        """After a response: the next (pipelined) request may already be under way."""
        super().on_response_complete()
        self._follow()

    def _follow(self) -> None:
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            self._disarm()  # closed, or upgraded to a WebSocket
            return
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            if self._phase != "body":
                self._arm("body")
        elif state is not h11.IDLE:  # DONE, MUST_CLOSE, CLOSED, ERROR: nothing more to wait for
            self._disarm()
        # IDLE: the headers are still arriving (the clock runs), or the connection waits
        # for its next request (no clock: uvicorn's keep-alive timeout runs)

    def _arm(self, phase: str) -> None:
        self._disarm()
        self._phase = phase
        delay = self.limits.header_timeout if phase == "headers" else self.limits.body_timeout
        self._deadline = self.loop.call_later(delay, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = None
        self._phase = ""

    def _expired(self) -> None:
        self._deadline = None
        phase, self._phase = self._phase, ""
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            return
        limits = self.limits
        if phase == "body" and self.flow.read_paused:
            self._arm("body")  # the application is not reading: not the client's delay
            return
        (limits.slow_headers if phase == "headers" else limits.slow_bodies).note()
        cycle = self.cycle
        current = cycle is not None and not cycle.response_complete
        if phase == "headers" or (current and not cycle.response_started):
            seconds = limits.header_timeout if phase == "headers" else limits.body_timeout
            self.transport.write(_raw_problem(
                408, "Request Timeout",
                f"the request's {phase} did not arrive within {seconds:g} s"))
        if current:
            cycle.disconnected = True  # the application's answer, if any, goes nowhere
            cycle.message_event.set()
        self.transport.close()


def guarded_protocol(limits: ConnectionLimits) -> type[GuardedH11Protocol]:
    """A :class:`GuardedH11Protocol` class enforcing ``limits`` (uvicorn's ``http=``)."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"limits": limits})


class LimitedServer(uvicorn.Server):
    """uvicorn's server, with failed ``accept()`` calls tallied instead of logged each."""

    def __init__(self, config: uvicorn.Config, limits: ConnectionLimits) -> None:
        super().__init__(config)
        self.limits = limits

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Install the accept-failure tally on the loop, then start as uvicorn does."""
        loop = asyncio.get_running_loop()
        previous = loop.get_exception_handler()
        tally = self.limits.accept_failures

        def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            if context.get("message") == ACCEPT_EXHAUSTED:
                tally.note()
            elif previous is not None:
                previous(loop, context)
            else:
                loop.default_exception_handler(context)

        loop.set_exception_handler(handler)
        await super().startup(sockets)


def uvicorn_config(app: Any, settings: ServiceSettings) -> tuple[uvicorn.Config, ConnectionLimits]:
    """uvicorn's configuration for ``app`` under ``settings``, and the limits it enforces.

    Raises the open-files limit first (:func:`raise_open_files_limit`).
    """
    open_files = raise_open_files_limit()
    limits = ConnectionLimits.from_settings(settings, open_files)
    if limits.max_connections < settings.max_connections:
        log.warning("max_connections %d lowered to %d: the open-files limit is %s",
                    settings.max_connections, limits.max_connections, open_files)
    log.info("HTTP limits: %d connections (open files %s, backlog %d), headers within %g s, "
             "bodies within %g s and up to %d bytes (/mcp %d)", limits.max_connections,
             open_files, limits.backlog, limits.header_timeout, limits.body_timeout,
             settings.max_body_size, settings.mcp_max_body_size)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=guarded_protocol(limits),
        backlog=limits.backlog,
        log_level=settings.log_level.lower(),
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,  # open SSE/WebSocket streams must not hold shutdown
        ws_max_size=StreamSettings().max_message_bytes,  # one frame: 1009 past it
        ssl_certfile=settings.ssl_certfile,  # HTTPS / WSS when both are given
        ssl_keyfile=settings.ssl_keyfile,
    )
    return config, limits
