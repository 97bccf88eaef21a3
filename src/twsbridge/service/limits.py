"""Request bodies: the API key is checked before any is read, and none is larger than a limit.

FastAPI reads a request's whole body before it runs the route's dependencies
(the key check among them), so a client without a key could make the service
hold any amount of memory. Two pure ASGI middlewares run before anything reads
a body:

* :class:`BodyLimitMiddleware` (outer): a ``Content-Length`` over the limit is
  413 at once, unread; a body without a length (``Transfer-Encoding: chunked``)
  is counted as it arrives and cut at the limit with the same 413 (the
  application's own answer to the cut body is dropped). ``max_body_size``
  (1 MiB by default) for every path; ``/mcp`` has its own ``mcp_max_body_size``.
* :class:`KeyFirstMiddleware` (inner): a request carrying a body, to any path
  but the open ones (``/health``, ``/docs``, ``/openapi.json``, and ``/metrics``
  when public), must carry a valid API key, checked by
  :func:`~.security.authenticate_key` (the same check as the routes'; the
  :class:`~.security.Principal` is kept on the request's state, where the route's
  scope check finds it). No key, or an unknown or revoked one, is the 401
  problem before a byte of the body is read. The scope is checked by the route.

Both answers are ``application/problem+json`` with ``Connection: close``: the
body they did not read is not drained.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .mcp.http import MCP_PATH
from .problems import ProblemError, problem_response
from .security import authenticate_key, extract_key
from .settings import ServiceSettings

__all__ = [
    "OPEN_PATHS",
    "BodyLimitMiddleware",
    "KeyFirstMiddleware",
    "body_too_large",
    "install_limits",
]

OPEN_PATHS = frozenset({"/health", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
"""Paths served without an API key (their bodies, if any, are not read either)."""


def body_too_large(limit: int, path: str) -> ProblemError:
    """The 413 problem for a body over ``limit`` bytes."""
    return ProblemError(
        None, f"the request body is larger than the limit of {limit:,} bytes for {path}",
        status=413, title="Content Too Large", limit=limit,
    )


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


def _content_length(scope: Scope) -> int | None:
    """The declared length (the HTTP server has checked its syntax), ``None`` without one."""
    raw = _header(scope, b"content-length")
    if raw is None:
        return None
    try:
        return int(raw.split(b",")[0].strip())
    except ValueError:
        return None


def _has_body(scope: Scope) -> bool:
    length = _content_length(scope)
    return (length is not None and length > 0) or _header(scope, b"transfer-encoding") is not None


async def _refuse(problem: ProblemError, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer ``problem`` and close the connection (the unread body is not drained)."""
    problem.headers = {**problem.headers, "Connection": "close"}
    await problem_response(problem, Request(scope))(scope, receive, send)


class _BodyTooLarge(Exception):
    """Raised into the application by ``receive`` when the body passes the limit."""


class BodyLimitMiddleware:
    """413 for a body over ``limit`` bytes (``path_limits``: other limits for exact paths)."""

    def __init__(self, app: ASGIApp, limit: int, path_limits: Mapping[str, int] | None = None,
                 ) -> None:
        self.app = app
        self.limit = limit
        self.path_limits = dict(path_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse by the declared length, else count the body as the application reads it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limit = self.path_limits.get(path.rstrip("/") or "/", self.limit)
        length = _content_length(scope)
        if length is not None and length > limit:
            await _refuse(body_too_large(limit, path), scope, receive, send)
            return
        if length is not None or _header(scope, b"transfer-encoding") is None:
            # the HTTP server delivers no more than the declared length
            await self.app(scope, receive, send)
            return
        received = 0
        cut = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, cut
            if cut:
                raise _BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    cut = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if cut and not started:
                return  # the application's answer to the cut body: the 413 replaces it
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not cut:
                raise
        if cut and not started:
            await _refuse(body_too_large(limit, path), scope, receive, send)


class KeyFirstMiddleware:
    """401 for a request with a body and without a valid API key, before the body is read."""

    def __init__(self, app: ASGIApp, open_paths: Iterable[str] = OPEN_PATHS) -> None:
        self.app = app
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Authenticate a request that carries a body; then serve it as usual."""
        if scope["type"] == "http" and _has_body(scope) and scope.get("path") not in (
                self.open_paths):
            request = Request(scope)
            try:
                principal = await authenticate_key(request, extract_key(request))
            except ProblemError as exc:
                await _refuse(exc, scope, receive, send)
                return
            request.state.principal = principal  # the routes' check reuses it
        await self.app(scope, receive, send)


def install_limits(app: FastAPI, settings: ServiceSettings) -> None:
    """Add both middlewares to ``app`` (after the ones that read bodies, so they run first)."""
    open_paths = OPEN_PATHS | ({"/metrics"} if settings.metrics_public else set())
    app.add_middleware(KeyFirstMiddleware, open_paths=open_paths)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_size,
                       path_limits={MCP_PATH: settings.mcp_max_body_size})
