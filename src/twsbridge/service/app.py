"""The FastAPI application: ``create_app(settings)`` and its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .gateway import GatewayManager
from .middleware import RequestTimeoutMiddleware
from .problems import install_problem_handlers
from .routes import contracts, health, market_data
from .settings import VERSION, ServiceSettings

__all__ = ["create_app"]

_COMMON = """
The Interactive Brokers TWS API over HTTP: contract details, snapshot quotes,
historical bars and head timestamps, with TWS's own field names (`conId`,
`secType`, `barSizeSetting` ...). Errors are RFC 9457 `application/problem+json`
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

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        manager = GatewayManager(settings)
        app.state.gateway = manager
        await manager.start()
        try:
            yield
        finally:
            await manager.stop()

    app = FastAPI(
        title="twsbridge",
        version=VERSION,
        description=_description(settings),
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_problem_handlers(app)
    app.add_middleware(RequestTimeoutMiddleware, timeout=settings.request_timeout)
    app.include_router(health.router)
    app.include_router(contracts.router)
    app.include_router(market_data.router)
    return app
