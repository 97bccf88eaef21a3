"""twsbridge.service: the REST service over the TWS client (FastAPI).

``create_app(settings)`` builds the application; ``run_service(settings)`` serves
it with uvicorn. Without a gateway the service starts the embedded simulated
gateway and says so in its log, its OpenAPI description and every ``/health``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .settings import ServiceSettings

if TYPE_CHECKING:
    from .app import create_app

__all__ = ["ServiceSettings", "create_app", "run_service"]


def __getattr__(name: str) -> Any:
    """``create_app`` on first use: the application (FastAPI, GraphQL, MCP ...) takes
    seconds to import, which the command's look-ups, using only the schemas, skip."""
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run_service(settings: ServiceSettings | None = None) -> None:
    """Serve the application with uvicorn until interrupted (blocking)."""
    from .app import create_app
    from .http_server import LimitedServer, uvicorn_config
    from .observability import configure_logging

    settings = settings if settings is not None else ServiceSettings()
    # every logger (twsbridge, uvicorn, the client ...) in one shape: text or JSON lines;
    # requests are logged by twsbridge.access (uvicorn's access log is off)
    configure_logging(settings.log_level, settings.log_format)
    # bounded connections, header and body deadlines, a tally of refusals (http_server.py)
    config, limits = uvicorn_config(create_app(settings), settings)
    LimitedServer(config, limits).run()
