"""MCP resources with subscriptions: ``quote://{symbol}`` and ``orders://recent``.

Reading a resource needs the ``read`` scope (of the key that opened the MCP
session): ``quote://AAPL`` is the current quote as JSON (as the ``get_quote``
tool), ``orders://recent`` the newest orders of the journal.

Two ways to subscribe, both joining the service's
:class:`~twsbridge.service.streaming.StreamHub` (MCP subscribers share the TWS
subscription with the WebSocket, SSE and GraphQL subscribers):

* ``subscriptions/listen`` (MCP 2026-07-28) with ``resourceSubscriptions``: the
  listen stream itself carries ``notifications/resources/updated``; closing it
  leaves the topics. An unknown resource is refused before the acknowledgement.
* ``resources/subscribe`` (the handshake-era protocol, i.e. a session): the
  session gets the notifications until ``resources/unsubscribe`` or its end.

Either way a URI is notified when the hub delivers ticks / order events, at
most :data:`MIN_INTERVAL` apart per URI (quotes tick often); the client then
reads the resource.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import mcp.types as types
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.subscriptions import ListenHandler, ResourceUpdated, ServerEvent, SubscriptionBus
from mcp.shared.exceptions import MCPError

from ..operations import market_data, orders
from ..problems import ProblemError
from ..routes.common import ContractQuery
from ..security.auth import forbidden
from ..streaming import Sink, SinkDropped, StreamHub, TopicSpec, orders_spec
from ..streaming.endpoints import ResolveError, resolve
from ..streaming.hub import TopicKey
from ..streaming.upstreams import quotes_spec
from .runtime import Call, McpRuntime

__all__ = ["MIN_INTERVAL", "ORDERS_URI", "register_resources"]

log = logging.getLogger("twsbridge.service.mcp")

MIN_INTERVAL = 0.5
"""Seconds between two ``resources/updated`` notifications of one URI (≤ 2/s)."""
ORDERS_URI = "orders://recent"
QUOTE_PREFIX = "quote://"
RECENT_ORDERS = 50
MAX_LISTENS = 256
"""Listen streams with resource subscriptions open at once (more: refused)."""
LIVENESS = 1.0
"""Seconds between two checks that a subscriber's session still exists."""


async def _authorize(runtime: McpRuntime, request: Any) -> Call:
    """The caller, with the ``read`` scope (an MCP error otherwise)."""
    try:
        call = await runtime.call(request)
    except ProblemError as exc:
        raise MCPError(types.INVALID_REQUEST, exc.detail or exc.title) from exc
    if not call.principal.allows("read"):
        raise MCPError(types.INVALID_REQUEST, forbidden(call.principal, "read").detail
                       or "the API key lacks the 'read' scope")
    return call


class _Subscriber:
    """One MCP session's (or listen stream's) subscriptions: a hub sink and the
    task that calls ``notify(uri)``."""

    def __init__(self, hub: StreamHub, notify: Callable[[str], Awaitable[None]], name: str,
                 alive: Callable[[], bool]) -> None:
        self.hub = hub
        self.alive = alive
        self.notify = notify
        self.sink: Sink = hub.sink(name)
        self.uris: dict[TopicKey, str] = {}
        self.last: dict[str, float] = {}
        self.pending: set[str] = set()
        self.delayed: set[asyncio.Task[None]] = set()
        self.task: asyncio.Task[None] = asyncio.create_task(self._pump(), name=name)

    async def _pump(self) -> None:
        try:
            while self.alive():
                try:
                    frames = await asyncio.wait_for(self.sink.next_frames(), LIVENESS)
                except TimeoutError:
                    continue
                for frame in frames:
                    uri = self.uris.get(frame.topic) if frame.topic is not None else None
                    if uri is None:
                        continue
                    if frame.type == "error":
                        self.uris.pop(frame.topic, None)  # type: ignore[arg-type]
                        continue
                    await self._notify(uri)
        except SinkDropped:
            pass
        except Exception as exc:  # the session is gone
            log.debug("MCP resource subscriber %s ends: %r", self.sink.name, exc)
        finally:
            self.hub.close(self.sink)

    async def _notify(self, uri: str) -> None:
        wait = self.last.get(uri, 0.0) + MIN_INTERVAL - time.monotonic()
        if wait > 0:
            if uri not in self.pending:  # one delayed notification covers the burst
                self.pending.add(uri)
                asyncio.get_running_loop().call_later(wait, self._later, uri)
            return
        self.last[uri] = time.monotonic()
        await self.notify(uri)

    def _later(self, uri: str) -> None:
        task = asyncio.ensure_future(self._delayed(uri))
        self.delayed.add(task)  # referenced until done
        task.add_done_callback(self.delayed.discard)

    async def _delayed(self, uri: str) -> None:
        self.pending.discard(uri)
        if uri in self.uris.values() and not self.task.done():
            self.last[uri] = time.monotonic()
            with contextlib.suppress(Exception):
                await self.notify(uri)

    def close(self) -> None:
        self.task.cancel()
        self.hub.close(self.sink)


def _session_key(ctx: ServerRequestContext[Any]) -> Any:
    """The MCP session of a request: its ``mcp-session-id`` over HTTP (the SDK's
    session object is not the same from one request to the next)."""
    headers = getattr(ctx.request, "headers", None)
    session_id = headers.get("mcp-session-id") if headers is not None else None
    return session_id or id(ctx.session)


class _StreamBus:
    """The bus of ONE listen stream: the server's events (``runtime.events``) and
    this stream's resource updates, which no other stream sees."""

    def __init__(self, shared: SubscriptionBus) -> None:
        self.shared = shared
        self.listeners: list[Callable[[ServerEvent], None]] = []

    async def publish(self, event: ServerEvent) -> None:
        for listener in list(self.listeners):
            listener(event)
        await asyncio.sleep(0)

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        self.listeners.append(listener)
        leave_shared = self.shared.subscribe(listener)

        def unsubscribe() -> None:
            leave_shared()
            with contextlib.suppress(ValueError):
                self.listeners.remove(listener)

        return unsubscribe


class _Subscriptions:
    """The ``subscriptions/listen`` and ``resources/subscribe`` / ``unsubscribe``
    handlers of one server."""

    def __init__(self, runtime: McpRuntime) -> None:
        self.runtime = runtime
        self.sessions: dict[Any, _Subscriber] = {}
        self.plain = ListenHandler(runtime.events)
        self.listening: set[_Subscriber] = set()

    def _alive(self, key: Any) -> bool:
        alive = self.runtime.session_alive
        return alive is None or not isinstance(key, str) or alive(key)

    def _hub(self) -> StreamHub:
        hub: StreamHub | None = getattr(self.runtime.state, "stream_hub", None)
        if hub is None:
            raise MCPError(types.INVALID_REQUEST,
                           "resource subscriptions need the service (MCP over /mcp)")
        return hub

    async def _spec(self, call: Call, uri: str) -> TopicSpec:
        if uri == ORDERS_URI:
            return orders_spec()
        if uri.startswith(QUOTE_PREFIX) and len(uri) > len(QUOTE_PREFIX):
            query = ContractQuery(symbol=uri[len(QUOTE_PREFIX):])
            try:
                return quotes_spec(await resolve(call.gateway, query))
            except ResolveError as exc:
                raise MCPError(types.INVALID_PARAMS, f"{uri}: {exc}") from exc
        raise MCPError(types.INVALID_PARAMS, f"no such resource: {uri}")

    async def subscribe(self, ctx: ServerRequestContext[Any],
                        params: types.SubscribeRequestParams) -> types.EmptyResult:
        call = await _authorize(self.runtime, ctx.request)
        hub = self._hub()
        uri = str(params.uri)
        spec = await self._spec(call, uri)
        key = _session_key(ctx)
        subscriber = self.sessions.get(key)
        if subscriber is None or subscriber.task.done():
            name = f"mcp {call.principal.key_id} #{len(self.sessions) + 1}"
            subscriber = _Subscriber(hub, ctx.session.send_resource_updated, name,
                                     lambda: self._alive(key))
            self.sessions[key] = subscriber
            subscriber.task.add_done_callback(lambda _t: self.sessions.pop(key, None))
        subscriber.uris[spec.key] = uri
        hub.subscribe(subscriber.sink, spec)
        return types.EmptyResult()

    async def listen(self, ctx: ServerRequestContext[Any],
                     params: types.SubscriptionsListenRequestParams
                     ) -> types.SubscriptionsListenResult:
        """One listen stream; its ``resourceSubscriptions`` join the hub while it lasts."""
        uris = list(params.notifications.resource_subscriptions or ())
        if not uris:  # list-changed events only: the SDK's handler on the server's bus
            return await self.plain(ctx, params)
        call = await _authorize(self.runtime, ctx.request)
        hub = self._hub()
        if len(self.listening) >= MAX_LISTENS:
            raise MCPError(types.INTERNAL_ERROR, "Subscription limit reached")
        specs = {uri: await self._spec(call, uri) for uri in dict.fromkeys(uris)}
        bus = _StreamBus(self.runtime.events)

        async def notify(uri: str) -> None:
            await bus.publish(ResourceUpdated(uri=uri))

        subscriber = _Subscriber(hub, notify, f"mcp listen {call.principal.key_id}",
                                 lambda: True)
        self.listening.add(subscriber)
        try:
            for uri, spec in specs.items():
                subscriber.uris[spec.key] = uri
                hub.subscribe(subscriber.sink, spec)
            return await ListenHandler(bus)(ctx, params)
        finally:
            self.listening.discard(subscriber)
            subscriber.close()

    async def unsubscribe(self, ctx: ServerRequestContext[Any],
                          params: types.UnsubscribeRequestParams) -> types.EmptyResult:
        await _authorize(self.runtime, ctx.request)
        uri = str(params.uri)
        subscriber = self.sessions.get(_session_key(ctx))
        if subscriber is not None:
            for key in [k for k, u in subscriber.uris.items() if u == uri]:
                del subscriber.uris[key]
                subscriber.hub.unsubscribe(subscriber.sink, key)
            if not subscriber.uris:
                subscriber.close()
        return types.EmptyResult()


def register_resources(server: MCPServer, runtime: McpRuntime) -> None:
    """Add the resources and the subscribe / unsubscribe handlers to ``server``."""

    @server.resource(
        "quote://{symbol}", name="quote", title="Quote", mime_type="application/json",
        description="The current quote of a stock by ticker symbol (TWS reqMktData "
                    "snapshot, as get_quote): bid, ask, last, sizes. Subscribe to be "
                    "notified (at most twice a second) when it changes. Needs 'read'.")
    async def quote_resource(symbol: str, ctx: Context) -> str:
        call = await _authorize(runtime, ctx.request_context.request)
        try:
            quote = await market_data.quote(await call.client(),
                                            ContractQuery(symbol=symbol).to_contract(),
                                            hub=call.hub)
        except ProblemError as exc:
            raise MCPError(types.INVALID_PARAMS, exc.detail or exc.title) from exc
        return quote.model_dump_json()

    @server.resource(
        "orders://{view}", name="orders", title="Recent orders", mime_type="application/json",
        description=f"orders://recent: the newest {RECENT_ORDERS} orders of the service's "
                    "journal (as get_orders status 'all'). Subscribe to be notified of order "
                    "events (status changes, fills). Needs 'read'.")
    async def recent_orders(view: str, ctx: Context) -> str:
        # a template (the SDK gives static resources no Context, hence no caller)
        if view != "recent":
            raise MCPError(types.INVALID_PARAMS, f"no such resource: orders://{view}")
        call = await _authorize(runtime, ctx.request_context.request)
        listed = await orders.list_orders(await call.client(), call.journal, "all",
                                          RECENT_ORDERS)
        return "[" + ",".join(o.model_dump_json() for o in listed) + "]"

    handlers = _Subscriptions(runtime)
    lowlevel = server._lowlevel_server  # the SDK has no public hook for resources/subscribe
    lowlevel.add_request_handler("resources/subscribe", types.SubscribeRequestParams,
                                 handlers.subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", types.UnsubscribeRequestParams,
                                 handlers.unsubscribe)
    lowlevel.add_request_handler("subscriptions/listen", types.SubscriptionsListenRequestParams,
                                 handlers.listen)
