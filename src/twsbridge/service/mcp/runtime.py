"""What the MCP tools run against, and how a tool call becomes the caller's principal.

Over streamable HTTP the runtime is the FastAPI application's: ``app.state``
holds the gateway, the journal and the key store, and every HTTP request was
authenticated by :class:`~twsbridge.service.mcp.http.McpEndpoint` (the
:class:`Principal` is on ``request.state.principal``). Over stdio the runtime
is the ``twsbridge mcp`` process's own (its own TWS connection or embedded
simulator) and the principal is the API key given at start, verified again on
every call (a revoked key stops working at once, as over HTTP).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mcp.server.subscriptions import InMemorySubscriptionBus
from starlette.datastructures import State
from starlette.requests import Request

from twsbridge.client import TWSClient

from ..gateway import GatewayManager
from ..journal import Journal
from ..problems import ProblemError
from ..security import Principal, authenticate_key
from ..settings import ServiceSettings
from ..streaming import StreamHub

__all__ = ["Call", "McpRuntime"]


@dataclass
class McpRuntime:
    """The service state the tools use: ``state.gateway``, ``state.journal`` (and the
    key store A's :func:`~twsbridge.service.security.authenticate_key` keeps there)."""

    settings: ServiceSettings
    state: State = field(default_factory=State)
    api_key: str | None = None
    """stdio: the key given at start (``None`` over HTTP, where each request carries one)."""
    transport: str = "streamable-http"
    session_alive: Callable[[str], bool] | None = None
    """HTTP: whether the MCP session of an ``mcp-session-id`` still exists."""
    events: InMemorySubscriptionBus = field(default_factory=InMemorySubscriptionBus)
    """The server's ``subscriptions/listen`` bus (events for every listen stream)."""

    async def call(self, request: Any) -> Call:
        """The context of one tool call; ``request`` is the HTTP request (``None`` on stdio).

        Raises:
            ProblemError: 401 when there is no valid key (stdio: revoked since the start).
        """
        if isinstance(request, Request):
            principal = getattr(request.state, "principal", None)
            if not isinstance(principal, Principal):  # the endpoint authenticates first
                raise ProblemError("unauthorized", "the request carries no API key")
            return Call(self, principal, request)
        return Call(self, await authenticate_key(self.state, self.api_key), self.state)


@dataclass(frozen=True)
class Call:
    """One tool call: who calls, and what the guardrails read the service's state from."""

    runtime: McpRuntime
    principal: Principal
    source: Any
    """The HTTP request, or the runtime's state (what ``check_order`` takes)."""

    @property
    def settings(self) -> ServiceSettings:
        """The service's settings."""
        return self.runtime.settings

    @property
    def gateway(self) -> GatewayManager:
        """The connection manager."""
        manager: GatewayManager = self.runtime.state.gateway
        return manager

    @property
    def journal(self) -> Journal:
        """The order journal."""
        journal: Journal = self.runtime.state.journal
        return journal

    @property
    def hub(self) -> StreamHub | None:
        """The streaming hub (its live quotes answer ``get_quote``), if it runs."""
        return getattr(self.runtime.state, "stream_hub", None)

    async def client(self) -> TWSClient:
        """The connected client (reconnecting once; a 503 problem when TWS is down)."""
        return await self.gateway.client()
