"""Who calls the GraphQL endpoint: the context getter, scope permissions, WebSocket auth.

* HTTP: the key travels as for REST (``Authorization: Bearer <key>`` or
  ``X-API-Key``); none, unknown or revoked is a 401 problem before any
  GraphQL runs. Only the GraphiQL page (a ``GET`` without a query) is served
  without a key.
* WebSocket (``graphql-transport-ws``): the key comes in the
  ``connection_init`` payload (``{"Authorization": "Bearer <key>"}``,
  ``{"X-API-Key": "<key>"}`` or ``{"api_key": "<key>"}``), or as for REST
  WebSockets (headers, ``?api_key=``). Without a valid key the socket is
  closed with 4401 (as REST WebSockets are).
* Every field needs a scope (:class:`ReadScope`, :class:`TradeScope`): a key
  without it gets a GraphQL error with ``extensions.status`` 403.
* Revoking the key of an open WebSocket closes it with 4401; every ``subscribe``
  reads the key again first (:class:`TransportWSHandler`).
* A WebSocket message that is not a protocol message (not an object, nested too
  deeply, a ``subscribe`` without a string ``id`` or an object payload with a
  ``query``) closes the socket with 4400 and a reason saying what was wrong, and
  is logged with the request id; a NUL character in an operation is an ``error``
  message for that operation (422), and the socket goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket
from strawberry.exceptions import StrawberryGraphQLError
from strawberry.fastapi import BaseContext
from strawberry.permission import BasePermission
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.types import Info

from ..gateway import GatewayManager
from ..journal import Journal
from ..problems import ProblemError
from ..security import Principal, authenticate_key, extract_key
from ..security.auth import WS_FORBIDDEN, WS_UNAUTHORIZED, forbidden
from ..security.sessions import live_sessions, recheck
from ..settings import ServiceSettings
from ..streaming import StreamHub
from ..streaming.endpoints import contains_nul

log = logging.getLogger("twsbridge.service.graphql")

__all__ = [
    "GraphQLContext",
    "ReadScope",
    "TradeScope",
    "TransportWSHandler",
    "get_context",
]


class GraphQLContext(BaseContext):
    """The context of one GraphQL request or WebSocket: the principal and the service."""

    def __init__(self, principal: Principal | None, auth_error: ProblemError | None = None,
                 ) -> None:
        super().__init__()
        self.principal = principal
        self.auth_error = auth_error

    @property
    def connection(self) -> HTTPConnection:
        """The HTTP request or the WebSocket (what the guardrails read the state from)."""
        assert self.request is not None
        return self.request

    @property
    def gateway(self) -> GatewayManager:
        """The service's connection manager."""
        manager: GatewayManager = self.connection.app.state.gateway
        return manager

    @property
    def journal(self) -> Journal:
        """The order journal."""
        journal: Journal = self.connection.app.state.journal
        return journal

    @property
    def settings(self) -> ServiceSettings:
        """The service's settings."""
        settings: ServiceSettings = self.connection.app.state.settings
        return settings

    @property
    def hub(self) -> StreamHub:
        """The streaming hub (shared upstreams)."""
        hub: StreamHub = self.connection.app.state.stream_hub
        return hub

    def require(self, scope: str) -> Principal:
        """The principal, which must hold ``scope``; a GraphQL error (401 / 403) if not."""
        principal = self.principal
        if principal is None:
            problem = self.auth_error or ProblemError("unauthorized", "an API key is required")
            raise _scope_error(problem)
        if not principal.allows(scope):
            raise _scope_error(forbidden(principal, scope))
        return principal


def _scope_error(problem: ProblemError) -> StrawberryGraphQLError:
    extensions = {"code": None, "status": problem.status, "type": problem.type,
                  **problem.extensions}
    return StrawberryGraphQLError(problem.detail or problem.title, extensions=extensions)


async def get_context(conn: HTTPConnection) -> GraphQLContext:
    """FastAPI dependency of the GraphQL routes: authenticate the caller.

    Raises:
        ProblemError: 401 for an HTTP request without a valid key.
    """
    key = extract_key(conn)
    if isinstance(conn, WebSocket) or conn.scope["type"] == "websocket":
        if key is None:
            return GraphQLContext(None)  # the key may come with connection_init
        try:
            return GraphQLContext(await authenticate_key(conn, key))
        except ProblemError as exc:
            return GraphQLContext(None, exc)
    if key is None and conn.scope.get("method") == "GET" and "query" not in conn.query_params:
        return GraphQLContext(None)  # the GraphiQL page
    return GraphQLContext(await authenticate_key(conn, key))


def _payload_key(payload: Mapping[str, Any]) -> str | None:
    """The key in a ``connection_init`` payload (header-like names, any case)."""
    fields = {str(k).lower(): v for k, v in payload.items()}
    headers = fields.get("headers")
    if isinstance(headers, Mapping):
        fields = {**{str(k).lower(): v for k, v in headers.items()}, **fields}
    auth = fields.get("authorization")
    if isinstance(auth, str):
        scheme, _, value = auth.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    for name in ("x-api-key", "api_key", "apikey"):
        member = fields.get(name)
        if isinstance(member, str) and member.strip():
            return member.strip()
    return None


class TransportWSHandler(BaseGraphQLTransportWSHandler[GraphQLContext, None]):
    """``graphql-transport-ws`` with authentication at ``connection_init``: a payload
    key replaces the connection's; no valid key closes the socket with 4401.

    Once acknowledged, the socket is tracked by the key's open sessions
    (:mod:`twsbridge.service.security.sessions`): revoking the key closes it with
    4401 (its subscriptions end), and every ``subscribe`` (query, mutation or
    subscription) reads the key again first: revoked, the socket closes with 4401;
    the fields' scopes are then checked with the key as it is now."""

    _tracking: contextlib.ExitStack | None = None
    _closing: asyncio.Task[None] | None = None

    async def handle(self) -> None:
        try:
            await super().handle()
        except RecursionError:  # json.loads of a message nested too deeply
            await self._invalid("the message is JSON nested too deeply")
        finally:
            if self._tracking is not None:
                self._tracking.close()

    async def _invalid(self, reason: str) -> None:
        """Close with 4400 and ``reason`` (graphql-transport-ws's invalid message)."""
        log.warning("refused a GraphQL WebSocket message: %s", reason)
        with contextlib.suppress(Exception):
            await self.websocket.close(code=4400, reason=reason[:120])

    async def handle_invalid_message(self, error_message: str) -> None:
        await self._invalid(error_message)

    async def handle_message(self, message: Any) -> None:
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self._invalid("a message must be a JSON object with a string 'type'")
            return
        if message["type"] in ("subscribe", "complete") and not isinstance(
                message.get("id"), str):
            await self._invalid(f"a {message['type']} message needs a string 'id'")
            return
        if message["type"] == "subscribe":
            payload = message.get("payload")
            if not isinstance(payload, dict) or not isinstance(payload.get("query"), str) \
                    or not isinstance(payload.get("variables") or {}, dict):
                await self._invalid("a subscribe payload must be an object with a string "
                                    "'query' (and an object 'variables')")
                return
        await super().handle_message(message)  # type: ignore[arg-type]

    def _revoked(self, reason: str) -> None:
        """Closer of the key's open sessions: close the socket with 4401."""
        if self._closing is None:
            self._closing = asyncio.create_task(self._close_revoked(reason))

    async def _close_revoked(self, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.websocket.close(code=WS_UNAUTHORIZED, reason=reason[:120])

    def _track(self) -> None:
        principal = self.context.principal
        if principal is None or self._tracking is not None:
            return
        self._tracking = contextlib.ExitStack()
        self._tracking.enter_context(
            live_sessions(self.context.connection).track(principal.key_id, self._revoked))

    async def handle_subscribe(self, message: Any) -> None:
        principal = self.context.principal
        if principal is not None and self.connection_acknowledged:
            try:
                self.context.principal = await recheck(self.context.connection, principal,
                                                       "read")
            except ProblemError as exc:
                log.warning("GraphQL WebSocket of key %s: %s", principal.key_id, exc.detail,
                            extra={"keyId": principal.key_id})
                await self.websocket.close(code=WS_UNAUTHORIZED,
                                           reason=(exc.detail or exc.title)[:120])
                return
        if self.connection_acknowledged and contains_nul(message.get("payload")):
            log.warning("refused a GraphQL WebSocket message: NUL in operation %s",
                        message.get("id"))
            await self.send_message({"id": message["id"], "type": "error", "payload": [{
                "message": "NUL characters are not allowed: TWS's protocol uses them as "
                           "field separators",
                "extensions": {"code": None, "status": 422,
                               "type": "urn:twsbridge:problem:validation-error"}}]})
            return
        await super().handle_subscribe(message)

    async def handle_connection_init(self, message: Any) -> None:
        await self._connection_init(message)
        if self.connection_acknowledged:
            self._track()

    async def _connection_init(self, message: Any) -> None:
        payload = message.get("payload") or {}
        context = self.context
        if (isinstance(payload, Mapping) and not self.connection_init_received
                and not self.connection_timed_out):
            key = _payload_key(payload)
            if key is not None:
                try:
                    context.principal = await authenticate_key(context.connection, key)
                    context.auth_error = None
                except ProblemError as exc:
                    context.principal, context.auth_error = None, exc
            if context.principal is None:
                problem = context.auth_error or ProblemError(
                    "unauthorized", "an API key is required: send it in the connection_init "
                                    "payload as {\"Authorization\": \"Bearer <key>\"}")
                self.connection_init_received = True
                if self.connection_init_timeout_task is not None:
                    self.connection_init_timeout_task.cancel()
                code = WS_UNAUTHORIZED if problem.status == 401 else WS_FORBIDDEN
                reason = (problem.detail or problem.title)[:120]
                await self.websocket.close(code=code, reason=reason)
                return
        await super().handle_connection_init(message)


class _Scope(BasePermission):
    """The caller must hold :attr:`scope` (GraphQL error with status 401 / 403 if not)."""

    scope: ClassVar[str] = "admin"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        context: GraphQLContext = info.context
        context.require(self.scope)
        return True


class ReadScope(_Scope):
    """Needs an API key with scope ``read`` (or stronger)."""

    scope = "read"


class TradeScope(_Scope):
    """Needs an API key with scope ``trade`` (or ``admin``)."""

    scope = "trade"
