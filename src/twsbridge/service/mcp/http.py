"""The MCP face over streamable HTTP at ``/mcp``, inside the service's FastAPI app.

Every HTTP request to ``/mcp`` is authenticated with the service's API keys
(``Authorization: Bearer <key>`` or ``X-API-Key: <key>``) before the MCP SDK
sees it: no key, an unknown or a revoked key is a 401 ``application/problem+json``
answer. The :class:`Principal` goes on ``request.state.principal`` (where the
tools read it) and, as the SDK's ``scope["user"]``, binds the MCP session to
the key: a session opened with one key cannot be used with another (the SDK
answers 404 "Session not found").

The SDK's session manager runs inside the application's lifespan
(:meth:`McpHttp.running`); a fresh one per lifespan, as the SDK requires.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.authentication import AuthCredentials
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from ..problems import ProblemError, problem_response
from ..security import Principal, authenticate_key, extract_key
from ..security.auth import unauthorized
from ..security.sessions import live_sessions
from ..settings import ServiceSettings
from .runtime import McpRuntime
from .tools import build_server

__all__ = ["MCP_PATH", "McpHttp"]

MCP_PATH = "/mcp"

log = logging.getLogger("twsbridge.service.mcp")


class McpHttp:
    """The MCP server of one FastAPI application, served at :data:`MCP_PATH`."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.runtime = McpRuntime(settings)
        self.server: MCPServer = build_server(self.runtime)
        self._manager: StreamableHTTPSessionManager | None = None
        self._sessions: dict[str, Callable[[], None]] = {}
        """``mcp-session-id`` -> how to stop tracking it (in the key's live sessions)."""

    def install(self, app: FastAPI) -> None:
        """Route :data:`MCP_PATH` (every method) to the MCP endpoint of ``app``."""
        self.runtime.state = app.state
        app.router.routes.append(
            Route(MCP_PATH, endpoint=_Endpoint(self), name="mcp", include_in_schema=False)
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the SDK's session manager (within the application's lifespan)."""
        settings = self.runtime.settings
        # A fresh session manager. The SDK's DNS-rebinding check (Host / Origin allow
        # lists) is off: it guards servers with ambient authority, while every request
        # here needs an API key a rebinding page cannot have; and it would refuse the
        # service behind a reverse proxy (another Host), which the REST API allows.
        self.server.streamable_http_app(
            streamable_http_path=MCP_PATH, host=settings.host,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        manager = self.server.session_manager
        # resource subscriptions end with their session (the SDK has no hook for it)
        self.runtime.session_alive = lambda sid: sid in manager._server_instances
        async with manager.run():
            self._manager = manager
            try:
                yield
            finally:
                self._manager = None
                self.runtime.session_alive = None

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Authenticate the request, then hand it to the SDK."""
        request = Request(scope, receive)
        manager = self._manager
        if scope["type"] != "http" or manager is None:
            problem = ProblemError("gateway-unavailable", "the MCP endpoint is not running")
            await problem_response(problem, request)(scope, receive, send)
            return
        try:
            principal = await authenticate_key(request, extract_key(request))
        except ProblemError as exc:
            await problem_response(exc, request)(scope, receive, send)
            return
        request.state.principal = principal
        scope["user"] = _user(principal)
        scope["auth"] = AuthCredentials(sorted(principal.scopes))
        await self._serve(manager, principal, scope, receive, send)

    async def _serve(self, manager: StreamableHTTPSessionManager, principal: Principal,
                     scope: Scope, receive: Receive, send: Send) -> None:
        """Let the SDK answer; a revocation of the key meanwhile cuts the answer short
        (a 401 problem, or the end of a stream already started) and ends the key's
        MCP sessions."""
        response = {"started": False, "ended": False}

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["started"] = True
                for name, value in message.get("headers", ()):
                    if name.lower() == b"mcp-session-id":
                        self._track_session(manager, value.decode("latin-1"), principal)
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                response["ended"] = True
            await send(message)

        task = asyncio.ensure_future(manager.handle_request(scope, receive, tracking_send))
        revoked: list[str] = []

        def end(reason: str) -> None:
            revoked.append(reason)
            task.cancel()

        with live_sessions(self.runtime.state).track(principal.key_id, end):
            try:
                await asyncio.wait({task})
            except asyncio.CancelledError:  # the request itself is cancelled
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                raise
        if not revoked or not task.cancelled():
            task.result()  # the SDK's own failure, if any
            return
        log.warning("MCP request of key %s cut short: %s", principal.key_id, revoked[0],
                    extra={"keyId": principal.key_id})
        if not response["started"]:
            await problem_response(unauthorized(revoked[0]), Request(scope))(scope, receive,
                                                                           send)
        elif not response["ended"]:
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _track_session(self, manager: StreamableHTTPSessionManager, session_id: str,
                       principal: Principal) -> None:
        """A session the SDK opened for ``principal``'s key: revoking the key ends it."""
        if session_id in self._sessions:
            return
        for gone in [s for s in self._sessions if s not in manager._server_instances]:
            self._sessions.pop(gone)()  # ended meanwhile (DELETE, idle timeout)

        def end(reason: str) -> None:
            untrack = self._sessions.pop(session_id, None)
            if untrack is not None:
                untrack()
            transport = manager._server_instances.get(session_id)
            if transport is not None:
                log.warning("MCP session of key %s ended: %s", principal.key_id, reason,
                            extra={"keyId": principal.key_id})
                task = asyncio.ensure_future(manager._discard_session(session_id, transport))
                _ENDING.add(task)
                task.add_done_callback(_ENDING.discard)

        self._sessions[session_id] = live_sessions(self.runtime.state).add(principal.key_id,
                                                                           end)


_ENDING: set[asyncio.Task[None]] = set()  # session terminations under way


class _Endpoint:
    """The ASGI app of the ``/mcp`` route (a class instance: Starlette calls it as ASGI)."""

    def __init__(self, face: McpHttp) -> None:
        self.face = face

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.face.handle(scope, receive, send)


def _user(principal: Principal) -> AuthenticatedUser:
    """The SDK's user for ``principal``: sessions are bound to the key id."""
    token = AccessToken(token=f"twsbridge-key:{principal.key_id}", client_id=principal.key_id,
                        scopes=sorted(principal.scopes))
    return AuthenticatedUser(token)
