"""Observability of the service: Prometheus metrics, request ids, structured logs.

* :func:`install_observability` (called by ``create_app``): a
  :class:`~.metrics.ServiceMetrics` of the app's own (``app.state.metrics``),
  the :class:`~.http.RequestMiddleware` (request id, access log, latency
  histogram) and ``GET /metrics`` (scope ``admin`` unless ``metrics_public``).
* :func:`observe_gateway` (the lifespan): counts the messages of every client
  the gateway manager makes.
* :func:`~.logs.configure_logging` (``run_service``): text or JSON lines.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response

from .http import REQUEST_ID_HEADER, RequestMiddleware, route_template
from .logs import (
    LOG_FORMATS,
    JsonFormatter,
    LogFormat,
    TextFormatter,
    bind_context,
    configure_logging,
    log_context,
)
from .metrics import CONTENT_TYPE, ServiceMetrics

__all__ = [
    "LOG_FORMATS",
    "REQUEST_ID_HEADER",
    "JsonFormatter",
    "LogFormat",
    "RequestMiddleware",
    "ServiceMetrics",
    "TextFormatter",
    "bind_context",
    "configure_logging",
    "install_observability",
    "log_context",
    "metrics_router",
    "observe_gateway",
    "route_template",
]


def metrics_router(public: bool) -> APIRouter:
    """``GET /metrics``: admin scope required unless ``public``."""
    dependencies: list[Any] = []
    if not public:
        from ..security import require_scope

        dependencies.append(Depends(require_scope("admin")))
    router = APIRouter(tags=["operations"])

    @router.get(
        "/metrics",
        summary="Prometheus metrics",
        dependencies=dependencies,
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                         "description": "The Prometheus text exposition format."}},
    )
    async def metrics(request: Request) -> Response:
        """TWS messages in and out by name, HTTP latency by route, streaming upstreams
        and subscribers, connection state, journal lag, orders placed and rejected,
        and the process (``admin`` scope unless ``TWSBRIDGE_METRICS_PUBLIC=true``)."""
        registry: ServiceMetrics = request.app.state.metrics
        return Response(registry.render(), media_type=CONTENT_TYPE)

    return router


def install_observability(app: FastAPI, metrics_public: bool = False) -> ServiceMetrics:
    """Give ``app`` its metrics, the request middleware (add it after every other
    middleware, so it is the outermost) and ``GET /metrics``."""
    metrics = ServiceMetrics()
    metrics.state.bind(app.state)
    app.state.metrics = metrics
    app.add_middleware(RequestMiddleware, metrics=metrics)
    app.include_router(metrics_router(metrics_public))
    return metrics


def observe_gateway(app: FastAPI, gateway: Any) -> None:
    """Count the TWS messages of every client ``gateway`` makes (before it connects), and
    bind its ``clientId`` to the log lines of the lifespan's tasks (the connection's
    reader, the reconnect watchdog, the reconciliation: they start from this task)."""
    bind_context(clientId=gateway.settings.client_id)
    metrics: ServiceMetrics | None = getattr(app.state, "metrics", None)
    if metrics is None:
        return
    hooks = getattr(gateway, "client_hooks", None)
    if hooks is not None:
        hooks.append(metrics.attach)
    current = getattr(gateway, "current", None)
    if current is not None:
        metrics.attach(current)
