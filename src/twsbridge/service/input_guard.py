"""Refuse NUL characters in requests before they reach TWS (or the journal).

TWS's wire protocol ends every field with a NUL byte, and the encoder sends a
text field as it is: a NUL inside a symbol, a ``secType``, an ``orderRef`` ...
would end the field early and shift every later field of the message, which
TWS answers by closing the connection (every client of the service loses its
requests and subscriptions), and PostgreSQL refuses NUL in text too. So a NUL
in the query string (``%00``), the path, or a JSON body (``\\u0000``) is a 422
``application/problem+json`` here, for every face mounted on the application.

Pure ASGI; a JSON body (small: orders, GraphQL, MCP) is read once and handed on.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import ProblemError, problem_response

__all__ = ["NulGuardMiddleware", "has_nul"]

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_NUL_ESCAPES = (b"\\u0000", b"\\U0000")  # JSON's spelling of a NUL character
MAX_CHECKED_BODY = 4 << 20
"""Bodies up to this size are checked (4 MiB); the API takes nothing larger."""


def has_nul(raw: bytes, *, json: bool = False) -> bool:
    """True when ``raw`` holds a NUL byte, or (``json``) JSON's ``\\u0000`` escape."""
    return b"\x00" in raw or (json and any(e in raw for e in _NUL_ESCAPES))


def _problem(where: str) -> ProblemError:
    return ProblemError(
        "validation-error",
        f"NUL characters are not allowed in the {where}: TWS's protocol uses them as "
        "field separators",
    )


class NulGuardMiddleware:
    """422 for a request carrying a NUL character (see the module doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the path, the query string and a JSON body; then serve as usual."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        query = unquote_to_bytes(bytes(scope.get("query_string", b"")))
        where = None
        if has_nul(query):
            where = "query string"
        elif "\x00" in str(scope.get("path", "")):
            where = "path"
        if where is None and scope["type"] == "http" and scope.get("method") in _BODY_METHODS:
            headers = dict(scope.get("headers", ()))
            if b"json" in headers.get(b"content-type", b"").lower():
                body, receive = await _read_body(receive)
                if body is not None and has_nul(body, json=True):
                    where = "request body"
        if where is None:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008,
                        "reason": f"NUL characters are not allowed in the {where}"})
            return
        response = problem_response(_problem(where), Request(scope))
        await response(scope, receive, send)


async def _read_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole body (None past :data:`MAX_CHECKED_BODY`) and a ``receive`` replaying it."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if not message.get("more_body", False) or size > MAX_CHECKED_BODY:
            break
    complete = size <= MAX_CHECKED_BODY and messages[-1]["type"] == "http.request" and not (
        messages[-1].get("more_body", False))
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")

    async def replay() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    return (body if complete else None), replay
