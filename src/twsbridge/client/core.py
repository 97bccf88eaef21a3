"""The connection core of a TWSClient: transport, message pipeline, request plumbing.

:class:`ClientCore` owns one connection at a time (:class:`Transport`), the
pending requests (:class:`Router`), the handlers (:class:`Dispatcher`), the
id sequence (:class:`IdAllocator`, kept across reconnects) and the intercept
hooks. The components of the client (market data, orders, account) send
through it and subscribe to the messages they track.

Every incoming message passes these stages, in this order, one message at a
time and in arrival order:

1. intercept hooks registered for its name (``TWSClient.intercept``); an
   async hook is awaited before anything else happens, and the reader reads
   no further message meanwhile; a hook that raises closes the connection
   (:class:`InterceptError`);
2. the client's own state (``accounts``, ``next_order_id``, the id
   allocator) and the components' listeners (trades, account values);
3. the request waiting for it (:class:`Router`);
4. handlers registered with ``register``/``registerAll``.

Error frames (message 4) take the same path; at stage 2 they are sorted as
:mod:`.errors` describes, an error whose id is an order of this client going
to that order's :class:`~twsbridge.client.trade.Trade` log. Some are acted on
first: 1100-1102 (:mod:`.resume`), 100 and historical pacing violations
(:mod:`.pacing`).

With a :class:`~twsbridge.client.reconnect.ReconnectPolicy` a dropped
connection is not the end: the core keeps the live subscriptions
(:class:`~twsbridge.client.resume.Resumer`) and its
:class:`~twsbridge.client.reconnect.Reconnector` connects again.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from twsbridge.protocol import Message, Unknown, incoming

from .broadcast import ConnectionEventStream, ErrorStream
from .callbacks import Dispatcher, Name, message_name
from .connection import Connector, TokenBucket, Transport, describe
from .errors import ConnectionLost, InterceptError, NotConnected, TWSError, TWSTimeoutError
from .events import ConnectionEvent, utcnow
from .ids import IdAllocator
from .pacing import (
    MESSAGE_RATE_EXCEEDED,
    RECOVER_AFTER,
    RECOVER_STEP,
    TWS_HISTORICAL_LIMITS,
    HistoricalLimits,
    Pacing,
    default_rate,
    is_pacing_violation,
)
from .reconnect import Reconnector, ReconnectPolicy
from .requests import Request, Router
from .resume import Resumer
from .submit import Submitter

__all__ = ["CLIENT_ID_IN_USE", "ClientCore", "Hook"]

log = logging.getLogger("twsbridge.client")

T = TypeVar("T")
R = TypeVar("R", bound=Request[Any])

#: Error code of "client id already in use": TWS sends it, then closes.
CLIENT_ID_IN_USE = 326

#: An intercept hook: ``fn(msg)``, returning None or an awaitable.
Hook = Callable[[Message | Unknown], Any]

Listener = Callable[[Any], object]


class ClientCore:
    """One client's connection and message pipeline (see the module doc).

    The arguments are those of :class:`~twsbridge.client.TWSClient`.
    """

    def __init__(
        self, host: str, port: int, client_id: int, *, timeout: float, connect_options: str,
        optional_capabilities: str, max_rate: float | None,
        reconnect: ReconnectPolicy | None = None,
        historical_limits: HistoricalLimits | None = TWS_HISTORICAL_LIMITS,
        connector: Connector | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.connector = connector
        self.client_id = client_id
        self.timeout = timeout
        self.connect_options = connect_options
        self.optional_capabilities = optional_capabilities
        self.pacing = Pacing(default_rate(max_rate, connect_options), historical_limits)
        self.reconnect = reconnect
        self.events = ConnectionEventStream()
        self.reconnector = Reconnector(lambda: self.where, self.open_session,
                                       self._resume_session, self.announce, self._give_up)
        self.server_version = 0
        self.connection_time = ""
        self.accounts: list[str] = []
        self.next_order_id = 0
        self.notices: deque[TWSError] = deque(maxlen=200)
        self.errors = ErrorStream()
        self.ids = IdAllocator()
        self.dispatcher = Dispatcher()
        self.router = Router(self.ids)
        self.submitter = Submitter(lambda: self.router, self.ids, self.pacing)
        self.resumer = Resumer(lambda: self.router, self.ids, self._resend, lambda: self.state)
        self._hooks: dict[str, tuple[Hook, ...]] = {}
        self._listeners: dict[type[Message], list[Listener]] = {}
        self._error_claims: list[Callable[[TWSError], bool]] = []
        self._close_listeners: list[Callable[[BaseException | None], None]] = []
        self._suspend_listeners: list[Callable[[BaseException], None]] = []
        self._recoveries: list[Callable[[], Awaitable[None]]] = []
        self._transport: Transport | None = None
        self._ready: asyncio.Future[None] | None = None
        self._connected = False
        self._seen: set[str] = set()
        self._connect_error: TWSError | None = None
        self._closed = asyncio.Event()
        self._lost: BaseException | None = None  # why the client stopped for good
        self._drop: BaseException | None = None  # why the connection dropped (reconnecting)
        self._rate_timer: asyncio.TimerHandle | None = None

    @property
    def where(self) -> str:
        """``host:port`` (``host`` alone for a connector with port 0)."""
        return describe(self.host, self.port, self.connector)

    @property
    def is_connected(self) -> bool:
        """True from the ready state until the connection ends."""
        return self._connected

    @property
    def reconnecting(self) -> bool:
        """True between a drop and the reconnect (or the give-up)."""
        return self.reconnector.running

    @property
    def state(self) -> str:
        """``'connected'``, ``'reconnecting'`` or ``'disconnected'``."""
        if self._connected:
            return "connected"
        return "reconnecting" if self.reconnecting else "disconnected"

    @property
    def max_rate(self) -> float:
        """The writer's message rate now (0: no local limit)."""
        return self.pacing.max_rate

    @max_rate.setter
    def max_rate(self, rate: float) -> None:
        self.pacing.max_rate = rate
        if self._transport is not None:
            self._transport.bucket = TokenBucket.per_second(rate)

    @property
    def close_reason(self) -> BaseException | None:
        """Why the last connection ended (None while open or after disconnect());
        while reconnecting, why it dropped; after a give-up, the give-up."""
        if self._connected:
            return None
        if self._lost is not None:
            return self._lost
        if self.reconnecting:
            return self._drop
        return self._transport.close_reason if self._transport is not None else None

    # components ------------------------------------------------------------------

    def listen(self, cls: type[Message], listener: Listener) -> None:
        """Call ``listener(msg)`` for each message of type ``cls``, before the
        router and the handlers see it (stage 2)."""
        self._listeners.setdefault(cls, []).append(listener)

    def claim_errors(self, claim: Callable[[TWSError], bool]) -> None:
        """Offer every error frame to ``claim``; one that returns True is the
        claimer's (not raised to a request, not on ``errors``)."""
        self._error_claims.append(claim)

    def on_close(self, listener: Callable[[BaseException | None], None]) -> None:
        """Call ``listener(reason)`` when the client stops (after the router
        failed its requests): the connection ended and will not be reconnected,
        or reconnecting gave up; ``reason`` None after ``disconnect()``."""
        self._close_listeners.append(listener)

    def on_suspend(self, listener: Callable[[BaseException], None]) -> None:
        """Call ``listener(reason)`` when the connection dropped and the client
        reconnects (instead of the close listeners)."""
        self._suspend_listeners.append(listener)

    def on_reconnect(self, recover: Callable[[], Awaitable[None]]) -> None:
        """Await ``recover()`` after every reconnect, once the subscriptions
        were sent again, before the ``'connected'`` event."""
        self._recoveries.append(recover)

    def announce(self, event: ConnectionEvent) -> None:
        """Publish a connection event to ``connection_events()`` loops and handlers."""
        self.events.publish(event)
        self.dispatcher.dispatch_event(event)

    def intercept(self, hook: Hook, names: tuple[Name, ...]) -> None:
        """Run ``hook`` first for every message named in ``names`` (stage 1).

        Raises:
            ValueError: a name no incoming message carries, or no name.
        """
        if not names:
            raise ValueError("intercept() needs at least one message name")
        for text in [message_name(n) for n in names]:
            hooks = self._hooks.get(text, ())
            if hook not in hooks:
                self._hooks[text] = (*hooks, hook)

    # connection -------------------------------------------------------------------

    async def connect(self) -> None:
        """See ``TWSClient.connect``."""
        if self._transport is not None and not self._transport.closed:
            raise RuntimeError(f"TWSClient {self.where} client_id={self.client_id} is "
                               "already connected")
        if self.reconnecting:
            raise RuntimeError(f"TWSClient {self.where} client_id={self.client_id} is "
                               "reconnecting; disconnect() first")
        self._lost = None
        await self.open_session()
        self.announce(ConnectionEvent("connected", utcnow()))

    async def open_session(self) -> None:
        """Connect, handshake, startApi and wait for the ready state (the
        errors of ``TWSClient.connect``)."""
        self.router = Router(self.ids)
        self.server_version, self.connection_time = 0, ""
        self._seen.clear()
        self._connect_error = None
        self._closed = asyncio.Event()
        ready = self._ready = asyncio.get_running_loop().create_future()
        transport = self._transport = Transport(
            self.host, self.port, on_message=self._on_message, on_close=self._on_close,
            connect_options=self.connect_options,
            bucket=TokenBucket.per_second(self.pacing.max_rate), connector=self.connector,
        )
        try:
            async with asyncio.timeout(self.timeout):
                hello = await transport.open(self.client_id, self.optional_capabilities)
                self.server_version = hello.serverVersion
                self.connection_time = hello.connectionTime
                await ready
        except TimeoutError as exc:
            await transport.close(flush_timeout=0)
            missing = [n for n in ("nextValidId", "managedAccounts") if n not in self._seen]
            what = "the server hello" if not self.server_version else " and ".join(missing)
            raise TWSTimeoutError(
                f"TWS at {self.where} did not complete the connection within "
                f"{self.timeout} s (waiting for {what})"
            ) from exc
        except BaseException:
            await transport.close(flush_timeout=0)
            raise
        finally:
            if ready.done() and not ready.cancelled():
                ready.exception()  # retrieved: no "never retrieved" warning
        if transport.closed:  # ready, then closed in the same read
            raise transport.close_reason or ConnectionLost(f"TWS at {self.where} closed")
        self._connected = True
        log.info("connected to TWS at %s: server version %d, client id %d, accounts %s",
                 self.where, self.server_version, self.client_id, ",".join(self.accounts))

    async def _resume_session(self) -> None:
        """Reconnected: send the subscriptions again, then recover (trades)."""
        reason = f"connection to TWS lost: {self._drop}" if self._drop else "reconnected"
        self.resumer.resubscribe_suspended(reason)
        for recover in self._recoveries:
            await recover()
        self._drop = None

    async def close(self) -> None:
        """Stop reconnecting, close the connection (if any) and cancel running
        coroutine handlers."""
        was_reconnecting = self.reconnecting
        await self.reconnector.cancel()
        if self._transport is not None and not self._transport.closed:
            await self._transport.close()
        elif was_reconnecting:  # between two attempts: nothing to close but the state
            self._finish(None)
        self.dispatcher.cancel_tasks()

    async def wait_closed(self) -> BaseException | None:
        """Wait until the current connection ends; its :attr:`close_reason`."""
        await self._closed.wait()
        return self.close_reason

    # incoming messages ---------------------------------------------------------------

    def _on_message(self, msg: Message | Unknown) -> Awaitable[None] | None:
        hooks = self._hooks.get(msg.NAME) if self._hooks else None
        if hooks:
            for i, hook in enumerate(hooks):
                pending = _run_hook(hook, msg)
                if inspect.isawaitable(pending):
                    return self._intercepted(msg, hook, pending, hooks[i + 1:])
        self._process(msg)
        return None

    async def _intercepted(self, msg: Message | Unknown, hook: Hook, pending: Awaitable[Any],
                           rest: tuple[Hook, ...]) -> None:
        await _await_hook(hook, msg, pending)
        for later in rest:
            result = _run_hook(later, msg)
            if inspect.isawaitable(result):
                await _await_hook(later, msg, result)
        self._process(msg)

    def _process(self, msg: Message | Unknown) -> None:
        if isinstance(msg, incoming.ErrorMessage):
            self._on_error(msg)
        elif isinstance(msg, Message):
            if isinstance(msg, incoming.ManagedAccounts):
                self.accounts = [a for a in msg.accountsList.split(",") if a]
                self._mark_seen("managedAccounts")
            elif isinstance(msg, incoming.NextValidId):
                self.next_order_id = msg.orderId
                self.ids.raise_to(msg.orderId)
                self._mark_seen("nextValidId")
            for listener in self._listeners.get(type(msg), ()):
                listener(msg)
            self.router.route(msg)
        self.dispatcher.dispatch(msg)

    def _schedule_rate_recovery(self, delay: float) -> None:
        """Check back in ``delay`` seconds whether the rate may climb (:mod:`.pacing`)."""
        if self._rate_timer is not None:
            self._rate_timer.cancel()
        self._rate_timer = asyncio.get_running_loop().call_later(delay, self._recover_rate)

    def _recover_rate(self) -> None:
        self._rate_timer = None
        loop = asyncio.get_running_loop()
        rate = self.pacing.recover(loop.time())
        if rate is not None:
            self.max_rate = rate
        if 0 < self.pacing.max_rate < self.pacing.configured_rate or (
                self.pacing.configured_rate <= 0 < self.pacing.max_rate):
            wait = RECOVER_AFTER - (loop.time() - self.pacing.last_exceeded)
            self._schedule_rate_recovery(max(wait, RECOVER_STEP))

    def _mark_seen(self, name: str) -> None:
        self._seen.add(name)
        ready = self._ready
        if len(self._seen) == 2 and ready is not None and not ready.done():
            ready.set_result(None)

    def _on_error(self, msg: incoming.ErrorMessage) -> None:
        err = TWSError(msg.errorCode, msg.errorString, msg.reqId, msg.advancedOrderRejectJson)
        if err.code == MESSAGE_RATE_EXCEEDED:
            self.notices.append(err)  # a notice: the client slows down; TWS dropped the
            loop = asyncio.get_running_loop()  # message: its request fails, not hangs
            self.max_rate = self.pacing.slow_down(loop.time())
            self._schedule_rate_recovery(RECOVER_AFTER)
            if not self.resumer.retry_later(err):  # a live subscription is sent again
                self.router.route_error(err)
            return
        if (is_pacing_violation(err.code, err.message) and self._transport is not None
                and self.submitter.retry(err, self._transport)):
            self.notices.append(err)
            return
        self.resumer.connectivity(err)  # 1100-1102
        if self.resumer.paused(err):  # 10197: the subscription waits, on errors too
            log.warning("%s", err)
            self.errors.publish(err)
            return
        if self.resumer.retry_later(err):  # 101, pacing: a live subscription waits
            self.notices.append(err)
            return
        claimed = False
        for claim in self._error_claims:
            claimed = claim(err) or claimed
        if err.is_notice:
            self.notices.append(err)
            log.info("%s", err)
            return
        if claimed:
            log.warning("%s", err)  # in its trade's log; Trade.done() raises a rejection
            return
        if self.router.route_error(err):
            return  # raised to the request's caller
        ready = self._ready
        if ready is not None and not ready.done():
            self._connect_error = err
            if err.code == CLIENT_ID_IN_USE:
                ready.set_exception(err)  # raised from connect()
                return
        log.warning("%s", err)
        self.errors.publish(err)

    def _on_close(self, exc: BaseException | None) -> None:
        was_ready = self._connected
        self._connected = False
        ready = self._ready
        if ready is not None and not ready.done():
            ready.set_exception(self._connect_error or exc or ConnectionLost(
                f"connection to TWS at {self.where} closed before the ready state"))
        if exc is not None:
            log.warning("TWS connection ended: %s", exc)
        self.submitter.connection_ended()
        drop = (self.reconnect is not None and was_ready and isinstance(exc, ConnectionLost))
        if drop or self.reconnecting:  # the client goes on: keep the subscriptions
            self.resumer.suspend(self.router.close(exc, self.where,
                                                   keep=lambda r: r.resumable),
                                 f"connection to TWS lost: {exc}")
            if was_ready:
                assert exc is not None
                self._drop = exc
                for suspend in self._suspend_listeners:
                    suspend(exc)
                self.announce(ConnectionEvent("disconnected", utcnow(), error=exc,
                                              will_reconnect=True))
                if self.reconnect is not None and not self.reconnecting:
                    self.reconnector.start(self.reconnect, exc)
        else:
            self.router.close(exc, self.where)
            self._finish(exc, announce=was_ready)
        self._closed.set()

    def _finish(self, exc: BaseException | None, announce: bool = True) -> None:
        """The client stopped: fail (or end) everything that waits."""
        self._lost = exc
        self.resumer.end(exc)
        self.errors.close(exc)
        for listener in self._close_listeners:
            listener(exc)
        if announce:
            self.announce(ConnectionEvent("disconnected", utcnow(), error=exc))
            if exc is None:  # disconnect(): connection_events() loops end
                self.events.close()

    def _give_up(self, exc: BaseException) -> None:
        """The reconnector gave up with ``exc``."""
        self._finish(exc)
        self.events.close()

    # request plumbing ------------------------------------------------------------------

    def ensure_connected(self) -> None:
        """Raise unless connected.

        Raises:
            ConnectionLost: the connection ended, or the client is reconnecting
                (the reason chained).
            NotConnected: never connected, or closed by disconnect().
        """
        if self._transport is not None and self._connected:
            return
        reason = self.close_reason
        if self.reconnecting:
            raise ConnectionLost(f"not connected to TWS at {self.where}: reconnecting (attempt "
                                 f"{self.reconnector.attempts}) after: {reason}") from reason
        if reason is not None:
            raise ConnectionLost(f"not connected to TWS at {self.where}: {reason}") from reason
        raise NotConnected(f"not connected to TWS at {self.where}; call connect() first")

    def live(self, check_handlers: bool = True) -> Transport:
        """The open transport, for an API call.

        Raises:
            HandlerError: a handler raised since the last API call (unless
                ``check_handlers`` is False: the client's own requests).
            ConnectionLost, NotConnected: see :meth:`ensure_connected`.
        """
        if check_handlers:
            failure = self.dispatcher.pop_failure()
            if failure is not None:
                raise failure
        self.ensure_connected()
        assert self._transport is not None
        return self._transport

    def next_id(self) -> int:
        """A fresh request id (from the id sequence shared with order ids)."""
        self.live()
        return self.ids.next()

    def start(self, req: R, msg: Message, check_handlers: bool = True) -> R:
        """Route answers to ``req`` and send ``msg`` (when the historical pacing
        allows, for a request with a ``pace`` key)."""
        self.submitter.submit(req, msg, self.live(check_handlers))
        return req

    async def call(self, req: Request[T], msg: Message, check_handlers: bool = True) -> list[T]:
        """:meth:`start`, then every item once the request ended."""
        return await self.start(req, msg, check_handlers).wait()

    def send(self, msg: Message) -> None:
        """Send ``msg`` fire-and-forget (paced)."""
        self.live().send(msg)

    def send_quietly(self, msg: Message) -> None:
        """Send ``msg`` when connected, else nothing (a cancel after the answer)."""
        if self._connected and self._transport is not None:
            self._transport.send(msg)

    def _resend(self, req: Request[Any], msg: Message) -> None:
        """Send a renewed subscription on the current connection (the resumer)."""
        assert self._transport is not None
        self.submitter.submit(req, msg, self._transport)


def _run_hook(hook: Hook, msg: Message | Unknown) -> Any:
    try:
        return hook(msg)
    except Exception as exc:
        raise InterceptError(hook, msg) from exc


async def _await_hook(hook: Hook, msg: Message | Unknown, pending: Awaitable[Any]) -> None:
    try:
        await pending
    except Exception as exc:
        raise InterceptError(hook, msg) from exc
