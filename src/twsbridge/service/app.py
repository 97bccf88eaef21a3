"""The FastAPI application: ``create_app(settings)`` and its lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from .docs_assets import install_docs
from .gateway import GatewayManager
from .graphql import graphql_router
from .input_guard import NulGuardMiddleware
from .journal import Journal
from .limits import install_limits
from .mcp import McpHttp
from .middleware import RequestTimeoutMiddleware
from .observability import install_observability, observe_gateway
from .problems import install_problem_handlers
from .routes import account, contracts, health, keys, market_data, orders
from .routes import depth as depth_routes
from .routes import streaming as streaming_routes
from .routes import tick_by_tick as tick_by_tick_routes
from .routes import ticks as tick_routes
from .security import require_scope
from .security.sessions import watch_revocations
from .settings import VERSION, ServiceSettings
from .streaming import stream_hub

__all__ = ["create_app"]

log = logging.getLogger("twsbridge.service")

_COMMON = """
The Interactive Brokers TWS API over HTTP: contract details, snapshot quotes,
market depth (order books),
historical bars and head timestamps, orders (placed, previewed, modified,
cancelled), executions with commissions, positions, account values and P&L,
with TWS's own field names (`conId`, `secType`, `totalQuantity`, `lmtPrice` ...).
Every order message TWS sends is committed to the order journal before the
service acts on it, and the journal is reconciled with TWS after every connect.
Every route but `/health` needs an API key (`twsbridge keys create NAME --scope
read|trade|admin`) as `X-API-Key: <key>` or `Authorization: Bearer <key>`: no valid key
is 401, a key without the scope 403; orders pass the guardrails (403 / 422 naming the `rule`).
Errors are RFC 9457 `application/problem+json`
with TWS's error `code` where there is one (`200`: no security definition → 404).
Sizes are JSON numbers; unknown values are `null`.
"""


def _description(settings: ServiceSettings) -> str:
    if settings.simulated:
        mode = (
            "**Mode: SIMULATOR.** This instance serves the embedded simulated TWS gateway "
            "(paper account `DU…`, simulated clock from 2013-03-01 10:00 US/Eastern, real daily "
            "prices for AAPL, GOOG, IBM and MSFT). Start it with `--gateway HOST:PORT` to talk "
            "to a real TWS / IB Gateway."
        )
    else:
        mode = (
            "**Mode: GATEWAY.** This instance talks to the TWS / IB Gateway at "
            f"`{settings.gateway}`."
        )
    return mode + "\n" + _COMMON


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """Build the service; the lifespan starts the simulator (if no gateway) and connects.

    ``settings`` defaults to :class:`ServiceSettings` read from the environment.
    """
    settings = settings if settings is not None else ServiceSettings()
    mcp = McpHttp(settings)  # MCP over streamable HTTP at /mcp (same API keys)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        journal = Journal(settings.journal_url)
        try:
            await journal.open()
        except Exception as exc:
            log.error("cannot open the order journal at %s: %s", journal.display_url, exc)
            raise
        manager = GatewayManager(settings, journal)
        observe_gateway(app, manager)  # count TWS messages (before it connects)
        app.state.journal = journal
        app.state.gateway = manager
        try:
            await manager.start()
            try:
                # revoked keys: their open sockets, streams and MCP sessions end
                async with watch_revocations(app, settings.key_poll_interval), \
                        stream_hub(app, manager), mcp.running():
                    yield
            finally:
                await manager.stop()
        finally:
            await journal.close()

    app = FastAPI(
        title="twsbridge",
        version=VERSION,
        description=_description(settings),
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc: served from local assets (docs_assets.py)
        redoc_url=None,
    )
    app.state.settings = settings
    install_problem_handlers(app)
    app.add_middleware(RequestTimeoutMiddleware, timeout=settings.request_timeout)
    app.add_middleware(NulGuardMiddleware)  # a NUL would split a TWS field: 422
    install_limits(app, settings)  # bodies: 413 over the limit, the key checked before reading
    # request ids, access log, HTTP latency (outermost: added after every other
    # middleware) and GET /metrics ("admin" scope unless metrics_public)
    install_observability(app, settings.metrics_public)
    install_docs(app)  # /docs, /redoc and their assets: no key, no CDN
    app.include_router(health.router)  # the only route without a key (and /docs)
    read = [Depends(require_scope("read"))]  # every route below needs a key
    app.include_router(contracts.router, dependencies=read)
    app.include_router(market_data.router, dependencies=read)
    app.include_router(tick_routes.router, dependencies=read)  # ticks, histograms, rules
    app.include_router(depth_routes.router, dependencies=read)  # /market/depth, /ws/depth
    app.include_router(orders.router, dependencies=read)  # writes: "trade" (orders.py)
    app.include_router(account.router, dependencies=read)
    app.include_router(streaming_routes.router, dependencies=read)
    app.include_router(tick_by_tick_routes.router, dependencies=read)  # /ws/ticks, /sse/ticks
    app.include_router(keys.router)  # "admin"
    app.include_router(graphql_router(settings))  # /graphql: its own key check (HTTP, WS init)
    mcp.install(app)  # /mcp: a key for every request; tools check read / trade
    return app
