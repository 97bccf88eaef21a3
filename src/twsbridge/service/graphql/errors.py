"""GraphQL errors from the service's problems: the same codes and statuses as REST.

Every error a resolver raises becomes a GraphQL error whose ``message`` is the
problem's ``detail`` and whose ``extensions`` carry ``code`` (TWS's error
code, ``null`` when TWS gave none), ``status`` (the HTTP status REST answers
with), ``type`` (the problem type URN) and, for a guardrail, ``rule`` - plus
the problem's other members (``candidates`` of an ambiguous contract, a
guardrail's ``limit`` ...).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from fastapi.encoders import jsonable_encoder
from graphql import GraphQLError
from pydantic import ValidationError
from strawberry.extensions import FieldExtension
from strawberry.types import ExecutionContext, Info

from twsbridge.client import TWSError

from ..problems import ProblemError, tws_problem

__all__ = ["ProblemErrors", "QuietSchema", "graphql_error", "problem_of", "to_graphql_error"]

log = logging.getLogger("twsbridge.service.graphql")


def _validation_problem(exc: ValidationError) -> ProblemError:
    errors = jsonable_encoder(exc.errors(), exclude={"ctx", "url", "input"})
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()))
    text = first.get("msg", "invalid")
    detail = f"input.{where}: {text}" if where else f"input: {text}"
    return ProblemError("validation-error", detail, errors=errors)


def problem_of(exc: BaseException) -> ProblemError | None:
    """The problem REST would answer for ``exc`` (``None``: an unexpected error)."""
    if isinstance(exc, ProblemError):
        return exc
    if isinstance(exc, TWSError):
        return tws_problem(exc)
    if isinstance(exc, ValidationError):
        return _validation_problem(exc)
    if isinstance(exc, ConnectionError):
        detail = f"connection to TWS lost: {exc}" if str(exc) else "connection to TWS lost"
        return ProblemError("gateway-unavailable", detail)
    if isinstance(exc, TimeoutError):
        return ProblemError("gateway-timeout", "TWS did not answer within the request timeout")
    return None


def graphql_error(problem: ProblemError, path: list[str | int] | None = None) -> GraphQLError:
    """A GraphQL error carrying ``problem``'s code, status, type and members."""
    extensions: dict[str, Any] = {
        "code": problem.code,
        "status": problem.status,
        "type": problem.type,
        **jsonable_encoder(problem.extensions),
    }
    if problem.reqId is not None:
        extensions["reqId"] = problem.reqId
    return GraphQLError(problem.detail or problem.title, path=path, extensions=extensions,
                        original_error=problem)


def to_graphql_error(exc: Exception, path: list[str | int] | None = None) -> GraphQLError:
    """``exc`` as a GraphQL error (unexpected errors: status 500, logged)."""
    if isinstance(exc, GraphQLError):
        return exc
    problem = problem_of(exc)
    if problem is None:
        log.exception("unexpected error in a GraphQL resolver", exc_info=exc)
        problem = ProblemError("internal-error", type(exc).__name__)
    return graphql_error(problem, path)


class QuietSchema(strawberry.Schema):
    """A schema that logs only unexpected errors: not the problems answered to the client
    (they carry ``extensions.status``; a 500 was logged when it was converted), nor the
    client's syntax and validation errors."""

    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        unexpected = [e for e in errors if e.original_error is not None
                      and "status" not in (e.extensions or {})]
        super().process_errors(unexpected, execution_context)


class ProblemErrors(FieldExtension):
    """Field extension: what the resolver raises becomes a GraphQL error with the
    problem's ``extensions`` (see the module doc)."""

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        try:
            return await next_(source, info, **kwargs)
        except Exception as exc:
            raise to_graphql_error(exc) from exc
