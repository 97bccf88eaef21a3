"""Serving a :class:`~.hub.Sink` over a WebSocket or as Server-Sent Events.

A WebSocket session runs a writer (frames of the sink → ``send_text``) and a
reader (``subscribe`` / ``unsubscribe`` actions) side by side. When the hub
drops the sink (slow consumer) the writer is cancelled even if it is stuck in
a send, and the socket is closed with code 1008 and the reason
``"slow consumer: …"``. A socket opened for one instrument (``?conId=`` or
``?symbol=``) is closed after an error of that instrument, with code
``4000 + TWS code`` (4200: no security definition) or 1008 / 1011.

A message the socket cannot take is answered with an error frame naming the
problem (``status`` 400: not JSON, not an object, nested too deeply; 422: a NUL
character, which would split a TWS field; ``requestId``: the connection's) and
logged with the request id; the socket goes on. A message over
``max_message_bytes`` closes it with 1009. Revoking the socket's key closes it
with 4401 (:mod:`twsbridge.service.security.sessions`), and every action reads
the key again first.

:class:`EventStreamResponse` is the SSE form: ``event: <type>`` and
``data: <the same JSON>``; a dropped subscriber gets a last ``event: error``
(``status`` 401 when its key was revoked).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from twsbridge.client import Contract, TWSError

from ..gateway import GatewayManager
from ..problems import ProblemError, tws_status
from ..routes.common import ContractQuery, market_contract, resolve_contract
from ..security import Principal
from ..security.auth import WS_UNAUTHORIZED
from ..security.sessions import live_sessions, recheck
from .hub import Sink, SinkDropped, StreamHub, TopicKey, TopicSpec, dumps
from .order_actions import ORDER_ACTIONS, order_action

__all__ = [
    "EventStreamResponse",
    "ResolveError",
    "SpecBuilder",
    "WebSocketSession",
    "close_code",
    "contains_nul",
    "resolve",
]

log = logging.getLogger("twsbridge.service.streaming")

SpecBuilder = Callable[[Contract, Mapping[str, Any]], TopicSpec]
"""Builds the topic of a resolved contract from the request's options."""

_MAX_MESSAGE = 1 << 20
_CONTRACT_FIELDS = ("symbol", "conId", "secType", "exchange", "currency", "primaryExchange")


class ResolveError(Exception):
    """A subscription request that cannot be served: TWS ``code`` (if any), HTTP-like
    ``status`` and a message."""

    def __init__(self, code: int | None, status: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message

    def fields(self) -> dict[str, Any]:
        """The members of the error message."""
        return {"code": self.code, "status": self.status, "message": self.message}


def close_code(code: int | None, status: int | None = None) -> int:
    """WebSocket close code of an error: ``4000 + code`` for a TWS code below 1000,
    1008 for a request error (4xx), else 1011."""
    if code is not None and 0 < code < 1000:
        return 4000 + code
    if status is not None and 400 <= status < 500:
        return 1008
    return 1011


def _reason(text: str) -> str:
    """A close reason within the 123 bytes a close frame allows."""
    data = text.encode()
    return text if len(data) <= 123 else data[:120].decode(errors="ignore") + "..."


async def resolve(gateway: GatewayManager, query: ContractQuery) -> Contract:
    """The one contract ``query`` designates, routable for market data.

    Raises:
        ResolveError: unknown (code 200), ambiguous, invalid, or TWS unreachable.
    """
    try:
        ib = await gateway.client()
        details = await resolve_contract(ib, query.to_contract())
    except ProblemError as exc:
        code = exc.code
        if code is None and exc.type.endswith(":contract-not-found"):
            code = 200
        raise ResolveError(code, exc.status, exc.detail or exc.title) from exc
    except TWSError as exc:
        raise ResolveError(exc.code, tws_status(exc.code, exc.message), exc.message) from exc
    except (ConnectionError, TimeoutError) as exc:
        raise ResolveError(None, 503, f"TWS unavailable: {exc}") from exc
    return market_contract(details)


def query_of(fields: Mapping[str, Any]) -> ContractQuery:
    """A :class:`ContractQuery` from the members of a subscribe action.

    Raises:
        ResolveError: a member has the wrong type (status 422).
    """
    values: dict[str, Any] = {}
    for name in _CONTRACT_FIELDS:
        value = fields.get(name)
        expected = int if name == "conId" else str
        if value is not None and (not isinstance(value, expected) or isinstance(value, bool)):
            kind = "an integer" if expected is int else "a string"
            raise ResolveError(None, 422, f"{name} must be {kind}")
        values[name] = value
    return ContractQuery(**values)


def contains_nul(value: Any) -> bool:
    """True when a NUL character is in ``value`` (a JSON document, walked iteratively)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class WebSocketSession:
    """One WebSocket: its sink, its writer and its reader of actions."""

    def __init__(self, ws: WebSocket, hub: StreamHub, gateway: GatewayManager,
                 build: SpecBuilder, close_timeout: float = 10.0,
                 principal: Principal | None = None) -> None:
        self.ws = ws
        self.principal = principal
        self.hub = hub
        self.gateway = gateway
        self.build = build
        self.close_timeout = close_timeout
        self.primary: TopicKey | None = None
        client = ws.client
        where = f"{client.host}:{client.port}" if client else "?"
        self.sink: Sink | None = None
        self.name = f"ws {where} {ws.url.path}"
        settings = getattr(ws.app.state, "stream_settings", None)
        self.max_message: int = getattr(settings, "max_message_bytes", _MAX_MESSAGE)

    async def run(self, initial: ContractQuery | None, options: Mapping[str, Any],
                  topic: TopicSpec | None = None) -> None:
        """Serve the socket until the client leaves, an error closes it or it is dropped;
        ``topic``: a topic without an instrument (orders, account) subscribed at once."""
        await self.ws.accept()
        if initial is not None:
            try:
                contract = await resolve(self.gateway, initial)
            except ResolveError as exc:
                await self._send_and_close(dumps({"type": "error", **exc.fields()}),
                                           close_code(exc.code, exc.status), exc.message,
                                           exc.code)
                return
        try:
            sink = self.sink = self.hub.sink(self.name)
        except SinkDropped as exc:
            await self._close(exc.code, exc.reason)
            return
        dropped: asyncio.Future[SinkDropped] = asyncio.get_running_loop().create_future()

        def on_drop(exc: SinkDropped) -> None:
            if not dropped.done():
                dropped.set_result(exc)

        sink.on_drop = on_drop
        try:
            with self._tracked(sink):
                spec = topic if initial is None else self.build(contract, options)
                if spec is not None:
                    self.primary = spec.key
                    self.hub.subscribe(sink, spec)
                await self._serve(sink, dropped)
        finally:
            self.hub.close(sink)

    def _tracked(self, sink: Sink) -> contextlib.AbstractContextManager[None]:
        """While the socket is open: a revocation of its key drops it (close 4401)."""
        if self.principal is None:
            return contextlib.nullcontext()
        return live_sessions(self.ws).track(
            self.principal.key_id,
            lambda reason: self.hub.drop(sink, reason, WS_UNAUTHORIZED))

    async def _serve(self, sink: Sink, dropped: asyncio.Future[SinkDropped]) -> None:
        writer = asyncio.create_task(self._write(sink))
        reader = asyncio.create_task(self._read(sink))
        try:
            waiting: set[asyncio.Future[Any]] = {writer, reader, dropped}
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (writer, reader):
                task.cancel()
            await asyncio.gather(writer, reader, return_exceptions=True)
        if dropped.done():
            exc = dropped.result()
            await self._close(exc.code, exc.reason)
        elif writer in done and not writer.cancelled():
            failure = writer.exception()
            if failure is None:
                await self._close(*writer.result())
            elif isinstance(failure, SinkDropped):
                await self._close(failure.code, failure.reason)

    async def _write(self, sink: Sink) -> tuple[int, str]:
        """Send what the sink has; return a close (code, reason) after a fatal error."""
        while True:
            for frame in await sink.next_frames():
                await self.ws.send_text(frame.text)
                if frame.type == "error" and frame.topic is not None \
                        and frame.topic == self.primary:
                    message = json.loads(frame.text).get("message", "error")
                    return close_code(frame.code), _error_reason(frame.code, message)

    async def _read(self, sink: Sink) -> None:
        """Handle actions until the client disconnects. A message over
        ``max_message_bytes`` closes the socket with 1009; an action that fails
        unexpectedly is an error frame (status 500) and the socket goes on."""
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode(errors="replace")
            size = len(text) if len(text) * 4 <= self.max_message else len(text.encode())
            if size > self.max_message:
                reason = (f"message of {size} bytes over the limit of {self.max_message} "
                          "(TWSBRIDGE_STREAM_MAX_MESSAGE_BYTES)")
                log.warning("refused a WebSocket message on %s: %s", self.name, reason)
                self.hub.drop(sink, reason, 1009)
                return
            try:
                await self._action(sink, text)
            except SinkDropped:
                return
            except Exception as exc:  # a defect: say so, log it, keep the socket
                log.exception("WebSocket action on %s failed", self.name)
                self._refuse(sink, 500, f"the action failed: {type(exc).__name__}", {})

    def _refuse(self, sink: Sink, status: int, message: str, ident: Mapping[str, Any]) -> None:
        """An error frame for a message the socket cannot take (and a log line; both
        carry the request id)."""
        request_id = (self.ws.scope.get("state") or {}).get("request_id")
        if status < 500:
            log.warning("refused a WebSocket message on %s: %s", self.name, message)
        sink.control("error", **ident, code=None, status=status, message=message,
                     requestId=request_id)

    async def _action(self, sink: Sink, text: str) -> None:
        try:
            msg = json.loads(text)
        except RecursionError:
            self._refuse(sink, 400, "the message is JSON nested too deeply", {})
            return
        except ValueError as exc:
            self._refuse(sink, 400, f"the message is not JSON ({exc}): {_USAGE}", {})
            return
        if not isinstance(msg, dict) or not isinstance(msg.get("action"), str):
            self._refuse(sink, 400, f"the message must be a JSON object: {_USAGE}", {})
            return
        if contains_nul(msg):
            ident = {"id": msg.get("id"), "action": msg["action"]}
            self._refuse(sink, 422, "NUL characters are not allowed in a message: TWS's "
                                    "protocol uses them as field separators", ident)
            return
        action = msg.get("action")
        principal = self.principal
        if principal is not None:  # the key may have been revoked since the socket opened
            try:
                principal = self.principal = await recheck(self.ws, principal, "read")
            except ProblemError as exc:
                self.hub.drop(sink, exc.detail or exc.title, WS_UNAUTHORIZED)
                return
        if action in ORDER_ACTIONS and principal is not None:
            await order_action(self.ws, self.gateway, principal, sink, msg)
            return
        ident = {k: msg[k] for k in ("conId", "symbol") if k in msg}
        try:
            if action == "subscribe":
                contract = await resolve(self.gateway, query_of(msg))
                spec = self.build(contract, msg)
                if self.hub.subscribe(sink, spec):
                    sink.control("subscribed", **spec.header)
                return
            if action == "unsubscribe":
                self._unsubscribe(sink, msg, ident)
                return
            raise ResolveError(None, 400, f"unknown action {action!r}: use 'subscribe', "
                                          "'unsubscribe', 'placeOrder', 'previewOrder' or "
                                          "'cancelOrder'")
        except ResolveError as exc:
            sink.control("error", **ident, **exc.fields())
        except SinkDropped:
            return

    def _unsubscribe(self, sink: Sink, msg: Mapping[str, Any], ident: dict[str, Any]) -> None:
        con_id, symbol = msg.get("conId"), msg.get("symbol")
        keys = [key for key, feed in sink.feeds.items()
                if (con_id is not None and feed.topic.spec.header.get("conId") == con_id)
                or (symbol is not None and isinstance(symbol, str)
                    and feed.topic.spec.header.get("symbol") == symbol.upper())]
        if not keys:
            raise ResolveError(None, 404, "not subscribed to that instrument")
        for key in keys:
            header = sink.feeds[key].topic.spec.header
            self.hub.unsubscribe(sink, key)
            if key == self.primary:
                self.primary = None
            sink.control("unsubscribed", **header)

    async def _send_and_close(self, text: str, code: int, message: str,
                              tws_code: int | None) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self.close_timeout):
                await self.ws.send_text(text)
        await self._close(code, _error_reason(tws_code, message))

    async def _close(self, code: int, reason: str) -> None:
        """Close (waits at most ``close_timeout`` for a client that does not read)."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self.close_timeout):
                await self.ws.close(code, _reason(reason))


_USAGE = ('send {"action": "subscribe"|"unsubscribe", "conId": …} or an order action '
          '(placeOrder, previewOrder, cancelOrder)')


def _error_reason(code: int | None, message: str) -> str:
    return f"TWS error {code}: {message}" if code is not None else message


class EventStreamResponse(Response):
    """``text/event-stream`` of one topic: ``event: snapshot``, then ``event: ticks``
    (or ``bars``) …, keep-alive comments in silences; ``event: error`` then the end
    when the upstream fails or the subscriber is dropped."""

    media_type = "text/event-stream"

    def __init__(self, hub: StreamHub, spec: TopicSpec, name: str, keepalive: float = 15.0,
                 close_timeout: float = 10.0) -> None:
        # Not Response.__init__: it would add "content-length: 0".
        self.status_code = 200
        self.background = None
        self.body = b""
        self.raw_headers = [(b"content-type", b"text/event-stream; charset=utf-8"),
                            (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]
        self.hub = hub
        self.spec = spec
        self.name = name
        self.keepalive = keepalive
        self.close_timeout = close_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the stream until the client leaves, the topic fails or it is dropped."""
        try:
            sink = self.hub.sink(self.name)
        except SinkDropped as exc:  # shutting down
            await Response(exc.reason, 503, media_type="text/plain")(scope, receive, send)
            return
        dropped: asyncio.Future[SinkDropped] = asyncio.get_running_loop().create_future()
        sink.on_drop = lambda exc: None if dropped.done() else dropped.set_result(exc)
        principal = (scope.get("state") or {}).get("principal")
        tracked: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
        if isinstance(principal, Principal):  # a revocation of its key ends the stream
            tracked = live_sessions(scope["app"]).track(
                principal.key_id, lambda reason: self.hub.drop(sink, reason, WS_UNAUTHORIZED))
        try:
            with tracked:
                await self._stream(sink, dropped, receive, send)
        finally:
            self.hub.close(sink)

    async def _stream(self, sink: Sink, dropped: asyncio.Future[SinkDropped],
                      receive: Receive, send: Send) -> None:
        self.hub.subscribe(sink, self.spec)
        await send({"type": "http.response.start", "status": 200,
                    "headers": self.raw_headers})
        pump = asyncio.create_task(self._pump(sink, send))
        watch = asyncio.create_task(_until_disconnect(receive))
        try:
            waiting: set[asyncio.Future[Any]] = {pump, watch, dropped}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pump, watch):
                task.cancel()
            await asyncio.gather(pump, watch, return_exceptions=True)
        if watch.done() and not watch.cancelled():
            return  # the client left: nothing more to send
        last = b""
        if dropped.done():
            reason = dropped.result().reason
            status = 401 if dropped.result().code == WS_UNAUTHORIZED else 503
            last = _sse("error", dumps({"type": "error", "code": None,
                                        "status": status, "message": reason}))
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self.close_timeout):
                await send({"type": "http.response.body", "body": last,
                            "more_body": False})

    async def _pump(self, sink: Sink, send: Send) -> None:
        while True:
            try:
                async with asyncio.timeout(self.keepalive):
                    frames = await sink.next_frames()
            except TimeoutError:
                await send({"type": "http.response.body", "body": b": keepalive\n\n",
                            "more_body": True})
                continue
            except SinkDropped:
                return
            body = b"".join(_sse(f.type, f.text) for f in frames)
            await send({"type": "http.response.body", "body": body, "more_body": True})
            if any(f.type == "error" and f.topic == self.spec.key for f in frames):
                return


def _sse(event: str, data: str) -> bytes:
    return f"event: {event}\ndata: {data}\n\n".encode()


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass

