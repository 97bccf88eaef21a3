"""Dependencies of the streaming routes: the hub, the gateway, and the scope check.

:func:`require_scope` is the one place where streaming access is decided.
Authentication comes later (issue 4 part 2); until then every connection is
allowed as an anonymous principal holding every scope.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from ..gateway import GatewayManager
from .hub import StreamHub

__all__ = [
    "HubDep",
    "Principal",
    "StreamGatewayDep",
    "get_hub",
    "get_stream_gateway",
    "require_scope",
]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is connected, and the scopes they hold (``"*"``: all)."""

    subject: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        """True when the principal holds ``scope``."""
        return "*" in self.scopes or scope in self.scopes


ANONYMOUS = Principal("anonymous", frozenset({"*"}))


def require_scope(scope: str) -> Callable[[HTTPConnection], Awaitable[Principal]]:
    """Dependency factory: the caller must hold ``scope`` (``"read"``, ``"trade"`` …).

    A placeholder: it allows everything for now. Works for HTTP and WebSocket
    routes alike (it takes the :class:`HTTPConnection`).
    """

    async def check_scope(conn: HTTPConnection) -> Principal:
        principal = ANONYMOUS
        assert principal.allows(scope)
        return principal

    check_scope.__name__ = f"require_scope_{scope}"
    return check_scope


def get_hub(conn: HTTPConnection) -> StreamHub:
    """Dependency: the application's :class:`StreamHub` (HTTP and WebSocket)."""
    hub: StreamHub = conn.app.state.stream_hub
    return hub


def get_stream_gateway(conn: HTTPConnection) -> GatewayManager:
    """Dependency: the :class:`GatewayManager`, for HTTP and WebSocket routes."""
    gateway: GatewayManager = conn.app.state.gateway
    return gateway


HubDep = Annotated[StreamHub, Depends(get_hub)]
StreamGatewayDep = Annotated[GatewayManager, Depends(get_stream_gateway)]
