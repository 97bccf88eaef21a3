"""Authenticating a request: the key it carries, the :class:`Principal` it is.

A key travels as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``;
WebSocket and Server-Sent-Events connections (whose browser APIs cannot set
headers) may also put it in the ``api_key`` query parameter, which is then
removed from the connection's query string so access logs never show it.

Missing, unknown or revoked keys are 401 (``WWW-Authenticate: Bearer``), a key
without the scope 403, both ``application/problem+json``; a WebSocket is
accepted and closed at once with code 4401 or 4403 (the reason says why).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import Depends
from fastapi.openapi.models import APIKey, APIKeyIn, HTTPBearer
from fastapi.security.base import SecurityBase
from starlette.datastructures import State
from starlette.exceptions import WebSocketException
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket

from ..problems import ProblemError
from .keys import KeyStore
from .principal import Principal, normalize_scope

__all__ = [
    "WS_FORBIDDEN",
    "WS_UNAUTHORIZED",
    "app_state",
    "authenticate_key",
    "extract_key",
    "forbidden",
    "key_store",
    "require_scope",
    "unauthorized",
]

WS_UNAUTHORIZED = 4401
"""WebSocket close code: no valid key (HTTP's 401)."""
WS_FORBIDDEN = 4403
"""WebSocket close code: the key lacks the scope (HTTP's 403)."""
QUERY_PARAM = "api_key"
HOW = "send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"


def unauthorized(detail: str) -> ProblemError:
    """A 401 problem (with ``WWW-Authenticate: Bearer``)."""
    problem = ProblemError("unauthorized", detail)
    problem.headers = {"WWW-Authenticate": 'Bearer realm="twsbridge"'}
    return problem


def forbidden(principal: Principal, scope: str) -> ProblemError:
    """A 403 problem: ``principal`` lacks ``scope``."""
    return ProblemError(
        "forbidden",
        f"API key {principal.key_id} ({principal.name!r}, scope {principal.scope}) lacks the "
        f"{scope!r} scope; create a key with: twsbridge keys create NAME --scope {scope}",
        scope=scope, keyId=principal.key_id,
    )


def app_state(source: Any) -> State:
    """The application state of a request, WebSocket, application or state itself."""
    if isinstance(source, HTTPConnection):
        return source.app.state  # type: ignore[no-any-return]
    if isinstance(source, State):
        return source
    state = getattr(source, "state", None)
    if isinstance(state, State):
        return state
    raise TypeError(f"cannot find the application state in {type(source).__name__}")


def key_store(source: Any) -> KeyStore:
    """The application's :class:`KeyStore` (on the journal's database), made on first use."""
    state = app_state(source)
    store: KeyStore | None = getattr(state, "key_store", None)
    if store is None:
        journal = getattr(state, "journal", None)
        if journal is None:
            raise unauthorized("the service is starting: no key store yet")
        store = KeyStore(journal.engine)
        state.key_store = store
    return store


async def authenticate_key(source: Any, key: str | None) -> Principal:
    """The :class:`Principal` of ``key``; for faces that authenticate outside FastAPI
    dependencies (GraphQL's context, MCP).

    ``source``: a request / WebSocket, the FastAPI application, or ``app.state``.

    Raises:
        ProblemError: 401 when ``key`` is missing, unknown or revoked.
    """
    if key is None or not key.strip():
        raise unauthorized(f"an API key is required: {HOW}")
    info = await key_store(source).verify(key)
    if info is None:
        raise unauthorized("the API key is unknown or revoked")
    return info.principal()


def _streaming(conn: HTTPConnection) -> bool:
    if conn.scope["type"] == "websocket":
        return True
    accept = conn.headers.get("accept", "")
    return "text/event-stream" in accept or conn.url.path.startswith("/sse/")


def _drop_query_key(conn: HTTPConnection) -> None:
    """Remove ``api_key`` from the connection's query string (logs, handlers)."""
    raw: bytes = conn.scope.get("query_string", b"")
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if k != QUERY_PARAM]
    conn.scope["query_string"] = urlencode(kept).encode("latin-1")
    if hasattr(conn, "_query_params"):
        del conn._query_params


def extract_key(conn: HTTPConnection) -> str | None:
    """The key ``conn`` carries (header, or ``api_key`` query parameter when streaming)."""
    auth = conn.headers.get("authorization")
    if auth:
        scheme, _, value = auth.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    header = conn.headers.get("x-api-key")
    if header and header.strip():
        return header.strip()
    if _streaming(conn) and QUERY_PARAM in conn.query_params:
        query_key = conn.query_params.get(QUERY_PARAM)
        _drop_query_key(conn)
        return query_key
    return None


async def _principal(conn: HTTPConnection) -> Principal:
    """Authenticate ``conn`` once (the principal is kept on ``conn.state``)."""
    cached = getattr(conn.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    principal = await authenticate_key(conn, extract_key(conn))
    conn.state.principal = principal
    return principal


class _Documented(SecurityBase):
    """A security scheme for the OpenAPI document only (checks nothing itself)."""

    def __init__(self, model: Any, scheme_name: str) -> None:
        self.model = model
        self.scheme_name = scheme_name

    async def __call__(self, conn: HTTPConnection) -> None:
        return None


_BEARER = _Documented(HTTPBearer(description="Authorization: Bearer <key>"), "bearerAuth")
_HEADER = _Documented(
    APIKey.model_validate(
        {"in": APIKeyIn.header, "name": "X-API-Key", "description": "X-API-Key: <key>"}),
    "apiKeyHeader",
)
_CHECKS: dict[str, Callable[..., Awaitable[Principal]]] = {}


def require_scope(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency: the caller's :class:`Principal`, which must hold ``scope``.

    Works on HTTP and WebSocket routes (as a route, router or application
    dependency, or as a parameter: ``principal: Annotated[Principal,
    Depends(require_scope("trade"))]``). The same callable is returned for the
    same scope, so FastAPI runs it once per request.
    """
    scope = normalize_scope(scope)
    if scope in _CHECKS:
        return _CHECKS[scope]

    async def check(
        conn: HTTPConnection, _b: None = Depends(_BEARER), _h: None = Depends(_HEADER)
    ) -> Principal:
        try:
            principal = await _principal(conn)
            if not principal.allows(scope):
                raise forbidden(principal, scope)
        except ProblemError as exc:
            if isinstance(conn, WebSocket):
                code = WS_UNAUTHORIZED if exc.status == 401 else WS_FORBIDDEN
                await conn.accept()
                raise WebSocketException(code, (exc.detail or exc.title)[:120]) from exc
            raise
        return principal

    check.__name__ = f"require_scope_{scope}"
    check.__qualname__ = check.__name__
    _CHECKS[scope] = check
    return check

