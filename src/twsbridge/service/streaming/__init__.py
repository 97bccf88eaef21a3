"""Streaming: WebSocket and Server-Sent Events fed by one upstream per topic.

:class:`~.hub.StreamHub` fans one TWS subscription out to every subscriber
(see :mod:`.hub`); :mod:`.upstreams` feeds it market data and live bars,
:mod:`.ticks` tick-by-tick data (never conflated),
:mod:`.orders` the events of the service's orders, :mod:`.account` the account
updates (:mod:`.order_actions`: orders placed over a WebSocket);
the routes are in :mod:`twsbridge.service.routes.streaming`. The application
lifespan runs the hub with :func:`stream_hub`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ..gateway import GatewayManager
from .account import ACCOUNT, account_spec, register_account_upstream
from .depth import register_depth_upstream
from .hub import Frame, Sink, SinkDropped, StreamError, StreamHub, TopicKind, TopicSpec
from .orders import ORDERS, orders_spec, register_order_upstream
from .ticks import register_tick_by_tick_upstream
from .upstreams import BARS, QUOTES, register_market_upstreams

__all__ = [
    "ACCOUNT",
    "BARS",
    "ORDERS",
    "QUOTES",
    "Frame",
    "Sink",
    "SinkDropped",
    "StreamError",
    "StreamHub",
    "StreamSettings",
    "TopicKind",
    "TopicSpec",
    "account_spec",
    "orders_spec",
    "stream_hub",
]


class StreamSettings(BaseSettings):
    """Limits of the streaming hub (env prefix ``TWSBRIDGE_STREAM_``)."""

    model_config = SettingsConfigDict(env_prefix="TWSBRIDGE_STREAM_", extra="ignore")

    max_queue: int = Field(
        default=256, ge=1,
        description="Update batches a subscriber may have unsent before it is conflated.")
    drop_after: float = Field(
        default=5.0, gt=0,
        description="Seconds a conflated subscriber may stay behind before it is dropped.")
    close_timeout: float = Field(
        default=10.0, gt=0,
        description="Seconds allowed for the close message to a dropped subscriber.")
    keepalive: float = Field(
        default=15.0, gt=0, description="Seconds of silence before an SSE keep-alive comment.")
    max_message_bytes: int = Field(
        default=1 << 20, ge=1024,
        description="Largest message a client may send on a WebSocket (every face, "
                    "GraphQL's too): ``twsbridge serve`` gives it to uvicorn, which closes "
                    "the socket with 1009 before buffering more; the streaming routes "
                    "check it again.")


@asynccontextmanager
async def stream_hub(app: FastAPI, gateway: GatewayManager) -> AsyncIterator[StreamHub]:
    """Run the application's hub (``app.state.stream_hub``) fed by ``gateway``."""
    settings = StreamSettings()
    hub = StreamHub(max_queue=settings.max_queue, drop_after=settings.drop_after)
    register_market_upstreams(hub, gateway)
    register_tick_by_tick_upstream(hub, gateway)
    register_order_upstream(hub, gateway)
    register_account_upstream(hub, gateway)
    register_depth_upstream(hub, gateway)  # /ws/depth, /sse/depth (streaming/depth.py)
    app.state.stream_hub = hub
    app.state.stream_settings = settings
    try:
        yield hub
    finally:
        await hub.stop()
