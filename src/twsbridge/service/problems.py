"""RFC 9457 problem details (``application/problem+json``) for every error.

A problem has ``type`` (a URN naming the kind of problem), ``title`` (fixed per
type), ``status`` (the HTTP status), ``detail`` (this occurrence, TWS's own
message where TWS said no), ``instance`` (the request path) and two extension
members: ``code``, TWS's error code where there is one, and ``reqId``, the
request id TWS answered to.

TWS error codes map to HTTP statuses as follows (see :func:`tws_status`):

====================================================  ======
200 no security definition                            404
10147 (order to cancel not found)                     404
104, 161, 10148 (order filled / not cancellable)      409
100, 101, pacing violations                           429
354, 10089-10091, 10168 (market data not subscribed)  403
10197 (competing live session)                        409
309 (TWS's limit of 3 securities with market depth)   409
326, 502, 504, 1100, 2110 (gateway unreachable)       503
anything else TWS rejects (162, 320-322, 10314 ...)   400
====================================================  ======

A price the service refuses itself, before sending anything to TWS, because it is
off the instrument's ``minTick`` grid is 400 ``price-off-tick`` ("Price off the
instrument's tick grid (checked before sending)") with the code TWS would have
answered (110): nothing reached TWS, so it is not ``tws-rejected``.

A lost connection is 503 and a request timeout 504; FastAPI's request
validation errors are 422 problems with an ``errors`` member. No valid API key
is 401 (``unauthorized``, with ``WWW-Authenticate: Bearer``), a key without the
scope 403 (``forbidden``), an order refused by a guardrail 403 or 422
(``guardrail``, with the ``rule``); see :mod:`twsbridge.service.security`.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from twsbridge.client import TWSError

__all__ = [
    "PROBLEM_JSON",
    "ProblemError",
    "ProblemPublic",
    "install_problem_handlers",
    "problem_responses",
    "tws_problem",
    "tws_status",
]

log = logging.getLogger("twsbridge.service")

PROBLEM_JSON = "application/problem+json"
_URN = "urn:twsbridge:problem:"

TYPES: dict[str, str] = {
    "contract-not-found": "No such contract",
    "order-not-found": "No such order",
    "order-conflict": "The order's state does not allow this",
    "ambiguous-contract": "The description matches more than one contract",
    "tws-rejected": "TWS rejected the request",
    "price-off-tick": "Price off the instrument's tick grid (checked before sending)",
    "account-not-managed": "Account not managed by this gateway (checked before sending)",
    "market-data-permission": "No market data permission",
    "competing-session": "Competing live session",
    "pacing-violation": "Too many requests (TWS pacing)",
    "depth-limit": "TWS's limit of market depth books reached",
    "gateway-unavailable": "TWS gateway unavailable",
    "gateway-timeout": "TWS gateway did not answer in time",
    "validation-error": "Invalid request",
    "internal-error": "Internal error",
    "unauthorized": "API key missing, unknown or revoked",
    "forbidden": "The API key lacks the scope",
    "guardrail": "Refused by a guardrail",
}
"""Problem type slug (after ``urn:twsbridge:problem:``) -> its fixed title."""

_STATUS_OF_TYPE: dict[str, int] = {
    "contract-not-found": 404,
    "order-not-found": 404,
    "order-conflict": 409,
    "ambiguous-contract": 409,
    "tws-rejected": 400,
    "price-off-tick": 400,
    "account-not-managed": 400,
    "market-data-permission": 403,
    "competing-session": 409,
    "pacing-violation": 429,
    "depth-limit": 409,
    "gateway-unavailable": 503,
    "gateway-timeout": 504,
    "validation-error": 422,
    "internal-error": 500,
    "unauthorized": 401,
    "forbidden": 403,
    "guardrail": 403,
}

_TYPE_OF_CODE: dict[int, str] = {
    200: "contract-not-found",
    10147: "order-not-found",
    104: "order-conflict",
    161: "order-conflict",
    10148: "order-conflict",
    100: "pacing-violation",
    101: "pacing-violation",
    354: "market-data-permission",
    10089: "market-data-permission",
    10090: "market-data-permission",
    10091: "market-data-permission",
    10168: "market-data-permission",
    10197: "competing-session",
    309: "depth-limit",
    326: "gateway-unavailable",
    502: "gateway-unavailable",
    504: "gateway-unavailable",
    1100: "gateway-unavailable",
    2110: "gateway-unavailable",
}


class ProblemPublic(BaseModel):
    """An RFC 9457 problem details object, as served with ``application/problem+json``."""

    model_config = ConfigDict(extra="allow")

    type: str = Field("about:blank", description="URI naming the kind of problem.")
    title: str = Field(description="Short summary, the same for every problem of this type.")
    status: int = Field(description="HTTP status code.")
    detail: str | None = Field(None, description="What went wrong this time.")
    instance: str | None = Field(None, description="Path of the request that failed.")
    code: int | None = Field(None, description="TWS error code, where TWS reported one.")
    reqId: int | None = Field(None, description="TWS request id the error answered.")


class ProblemError(Exception):
    """Raise from a route to answer with a problem.

    ``kind`` is a slug of :data:`TYPES` (its title and status follow) or, for
    plain HTTP problems, ``None`` with an explicit ``status`` and ``title``.
    Keyword ``extensions`` become extra members (``candidates``, ``errors``).
    """

    def __init__(
        self,
        kind: str | None,
        detail: str | None = None,
        *,
        status: int | None = None,
        title: str | None = None,
        code: int | None = None,
        reqId: int | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title or kind or "problem")
        self.type = "about:blank" if kind is None else _URN + kind
        self.title = title or (TYPES[kind] if kind else "Error")
        self.status = status or (_STATUS_OF_TYPE[kind] if kind else 500)
        self.detail = detail
        self.code = code
        self.reqId = reqId
        self.extensions = extensions
        self.headers: dict[str, str] = {}
        """Extra response headers (``WWW-Authenticate`` of a 401 ...)."""

    def to_public(self, instance: str | None = None) -> ProblemPublic:
        """The problem as its public model."""
        return ProblemPublic(
            type=self.type,
            title=self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            code=self.code,
            reqId=self.reqId,
            **self.extensions,
        )


def tws_status(code: int, message: str = "") -> int:
    """HTTP status for TWS error ``code`` (see the module table)."""
    return _STATUS_OF_TYPE[_tws_kind(code, message)]


def _tws_kind(code: int, message: str) -> str:
    if "pacing violation" in message.lower():
        return "pacing-violation"
    return _TYPE_OF_CODE.get(code, "tws-rejected")


def tws_problem(exc: TWSError) -> ProblemError:
    """The problem for a :class:`TWSError` raised by the client."""
    message = str(getattr(exc, "message", "") or exc)
    code = getattr(exc, "code", None)
    req_id = getattr(exc, "reqId", None)
    kind = _tws_kind(code, message) if isinstance(code, int) else "tws-rejected"
    return ProblemError(
        kind,
        message,
        code=code if isinstance(code, int) else None,
        reqId=req_id if isinstance(req_id, int) and req_id >= 0 else None,
    )


def problem_response(problem: ProblemError, request: Request | None = None) -> JSONResponse:
    """A ``application/problem+json`` response for ``problem``."""
    instance = request.url.path if request is not None else None
    body = problem.to_public(instance).model_dump(mode="json", exclude_none=True)
    headers = {"Retry-After": "1"} if problem.status in (429, 503) else {}
    headers.update(getattr(problem, "headers", None) or {})
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting problem answers for ``statuses``."""
    return {
        status: {"model": ProblemPublic, "content": {PROBLEM_JSON: {}}} for status in statuses
    }


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(exc, request)


async def _on_tws_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TWSError)
    return problem_response(tws_problem(exc), request)


async def _on_connection_lost(request: Request, exc: Exception) -> JSONResponse:
    detail = f"connection to TWS lost: {exc}" if str(exc) else "connection to TWS lost"
    return problem_response(ProblemError("gateway-unavailable", detail), request)


async def _on_timeout(request: Request, exc: Exception) -> JSONResponse:
    detail = "TWS did not answer within the request timeout"
    return problem_response(ProblemError("gateway-timeout", detail), request)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = jsonable_encoder(exc.errors(), exclude={"ctx", "url", "input"})
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()))
    detail = f"{where}: {first.get('msg', 'invalid')}" if first else "invalid request"
    return problem_response(ProblemError("validation-error", detail, errors=errors), request)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    problem = ProblemError(
        None, None if exc.detail is None else str(exc.detail), status=exc.status_code,
        title=_reason(exc.status_code),
    )
    response = problem_response(problem, request)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(ProblemError("internal-error", type(exc).__name__), request)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def install_problem_handlers(app: FastAPI) -> None:
    """Register the problem+json exception handlers on ``app``."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(TWSError, _on_tws_error)
    app.add_exception_handler(ConnectionError, _on_connection_lost)
    app.add_exception_handler(TimeoutError, _on_timeout)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
