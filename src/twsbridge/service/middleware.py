"""A time budget for every HTTP request: past it, a 504 problem.

Pure ASGI (no ``BaseHTTPMiddleware``), so the endpoint runs in the same task
and ``asyncio.timeout`` cancels the pending TWS request itself.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import ProblemError, problem_response

__all__ = ["RequestTimeoutMiddleware"]


class RequestTimeoutMiddleware:
    """Answer 504 ``application/problem+json`` when a request outlives ``timeout`` seconds.

    A response that has already started is not replaced; the timeout then
    propagates as usual.
    """

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request under the time budget."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        budget: asyncio.Timeout | None = None

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = dict(message.get("headers", []))
                if headers.get(b"content-type", b"").startswith(b"text/event-stream"):
                    # a stream (SSE) lives as long as its client: no request budget
                    if budget is not None:
                        budget.reschedule(None)
            await send(message)

        try:
            async with asyncio.timeout(self.timeout) as budget:
                await self.app(scope, receive, tracking_send)
        except TimeoutError:
            if started:
                raise
            problem = ProblemError(
                "gateway-timeout",
                f"TWS did not answer within the request timeout of {self.timeout:g} s",
            )
            response = problem_response(problem, Request(scope))
            await response(scope, receive, send)
