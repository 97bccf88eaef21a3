"""twsbridge.service: the REST service over the TWS client (FastAPI).

``create_app(settings)`` builds the application; ``run_service(settings)`` serves
it with uvicorn. Without a gateway the service starts the embedded simulated
gateway and says so in its log, its OpenAPI description and every ``/health``.
"""

from __future__ import annotations

import logging

from .app import create_app
from .settings import ServiceSettings

__all__ = ["ServiceSettings", "create_app", "run_service"]


def run_service(settings: ServiceSettings | None = None) -> None:
    """Serve the application with uvicorn until interrupted (blocking)."""
    import uvicorn

    settings = settings if settings is not None else ServiceSettings()
    level = settings.log_level.upper()
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=logging.WARNING,
            format="%(asctime)s %(levelname)-8s %(name)s: %(message)s",
        )
    logging.getLogger("twsbridge").setLevel(level)
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        lifespan="on",
        timeout_graceful_shutdown=5,  # open SSE/WebSocket streams must not hold shutdown
    )
    uvicorn.Server(config).run()
