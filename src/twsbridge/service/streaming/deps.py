"""Dependencies of the streaming routes: the hub, the gateway, and the scope check.

:func:`require_scope` and :class:`Principal` are
:mod:`twsbridge.service.security`'s (re-exported here): a WebSocket without a
valid key is closed with code 4401, one whose key lacks the scope with 4403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from ..gateway import GatewayManager
from ..security import Principal, require_scope
from .hub import StreamHub

__all__ = [
    "HubDep",
    "Principal",
    "StreamGatewayDep",
    "get_hub",
    "get_stream_gateway",
    "require_scope",
]


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
