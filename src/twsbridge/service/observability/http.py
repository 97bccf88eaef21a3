"""Request ids, the access log and the HTTP latency histogram: one ASGI middleware.

:class:`RequestMiddleware` (the outermost middleware) gives every HTTP request
and WebSocket connection a request id: the client's ``X-Request-ID`` when it
is a sane token (1-128 letters, digits, ``.``, ``_``, ``:``, ``-``), else a new
one. The id is bound to every log line written while the request runs, is in
``request.state.request_id`` and comes back in the ``X-Request-ID`` response
header. When the response ends it observes the latency histogram (by method,
route *template* and status: ``/orders/{orderId}``, never the raw path) and
writes one access line to the ``twsbridge.access`` logger with ``request_id``,
``method``, ``path``, ``route``, ``status``, ``latency_ms``, ``client`` and the
TWS ids of the request (``orderId``, ``conId`` from the path, ``orderId`` of a
created order from its ``Location``).

Pure ASGI, like the request timeout middleware: the endpoint runs in the same
task, so the request id reaches its log lines through a context variable.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..problems import ProblemError, problem_response
from .logs import log_context
from .metrics import ServiceMetrics

__all__ = ["REQUEST_ID_HEADER", "RequestMiddleware", "route_template"]

access_log = logging.getLogger("twsbridge.access")
error_log = logging.getLogger("twsbridge.service")

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_LOCATION_ORDER = re.compile(r"/orders/(\d+)$")
_TWS_IDS = ("orderId", "conId", "clientId", "reqId")
UNMATCHED = "<unmatched>"
"""Route label of requests no route matched (404s of random paths stay one series)."""


def route_template(scope: Scope) -> str:
    """The path template of the route that served ``scope`` (``/orders/{orderId}``),
    the mount's path for a mounted app, or :data:`UNMATCHED`.

    FastAPI names its own routes in ``scope["route"]``; a plain Starlette route
    (the MCP endpoint) or mount is found by matching the application's routes."""
    route = scope.get("route")
    if route is None:
        route = _matching_route(scope)
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not path:
        return UNMATCHED
    return str(scope.get("root_path", "") or "") + str(path)


def _matching_route(scope: Scope) -> Any:
    routes = getattr(getattr(scope.get("app"), "router", None), "routes", ())
    for candidate in routes:
        try:
            match, _ = candidate.matches(scope)
        except Exception:  # a route that cannot judge this scope
            continue
        if match is Match.FULL:
            return candidate
    return None


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = bytes(value).decode("latin-1").strip()
            if _VALID_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


def _id(value: Any) -> Any:
    """A path parameter as an int when it is one (``"77"`` -> 77)."""
    text = str(value)
    return int(text) if text.lstrip("-").isdigit() and len(text) < 20 else value


class RequestMiddleware:
    """Request id, access log and latency metric of every request (see the module doc)."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request with its id bound; account for it when it ends."""
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        facts: dict[str, Any] = {"status": 500}

        async def tracking_send(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
                facts["status"] = message.get("status", 101)
                facts["location"] = headers.get("location")
                facts["started"] = True
            elif message["type"] == "websocket.close":
                facts["close_code"] = message.get("code", 1000)
            await send(message)

        with log_context(request_id=request_id):
            try:
                await self.app(scope, receive, tracking_send)
            except Exception as exc:
                if kind != "http" or facts.get("started"):  # too late for an answer
                    raise
                # answered here, inside the request id's scope: Starlette's own 500
                # (outside every middleware) had no X-Request-ID and dropped keep-alive
                error_log.exception("unhandled error serving %s %s", scope.get("method"),
                                    scope.get("path"))
                response = problem_response(
                    ProblemError("internal-error", type(exc).__name__), Request(scope))
                await response(scope, receive, tracking_send)
            finally:
                self._account(scope, facts, time.perf_counter() - started)

    def _account(self, scope: Scope, facts: dict[str, Any], elapsed: float) -> None:
        route = route_template(scope)
        status = int(facts["status"])
        method = str(scope.get("method", "WS"))
        if self.metrics is not None and scope["type"] == "http":
            self.metrics.http.labels(method, route, str(status)).observe(elapsed)
        extra: dict[str, Any] = {
            "method": method,
            "path": scope.get("path", ""),
            "route": route,
            "status": status,
            "latency_ms": round(elapsed * 1000.0, 3),
        }
        client = scope.get("client")
        if client:
            extra["client"] = f"{client[0]}:{client[1]}"
        params = scope.get("path_params") or {}
        for name in _TWS_IDS:
            if name in params:
                extra[name] = _id(params[name])
        location = facts.get("location")
        if location and "orderId" not in extra:
            found = _LOCATION_ORDER.search(location)
            if found:
                extra["orderId"] = int(found.group(1))
        if "close_code" in facts:
            extra["close_code"] = facts["close_code"]
        level = logging.WARNING if status >= 500 else logging.INFO
        access_log.log(level, "%s %s %d %.1f ms", method, extra["path"], status,
                       elapsed * 1000.0, extra=extra)
