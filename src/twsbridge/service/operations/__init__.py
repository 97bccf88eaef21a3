"""Operations shared by the service's faces (REST routes, GraphQL, MCP tools).

Each operation is a plain async function taking what it needs (the connected
:class:`~twsbridge.client.TWSClient`, the order :class:`~twsbridge.service.journal.Journal`,
the :class:`~twsbridge.service.settings.ServiceSettings`, the caller's
:class:`~twsbridge.service.security.Principal`) and returning the service's Public
pydantic models. Failures are raised as :class:`~twsbridge.service.problems.ProblemError`
(or :class:`~twsbridge.client.TWSError`), which each face renders its own way
(``application/problem+json``, a GraphQL error, an MCP tool error).

Authentication and scopes are the face's job; the order guardrails
(:func:`~twsbridge.service.security.check_order`) are run by the order
operations themselves, so no face can place an order without them.

Modules: :mod:`.contracts`, :mod:`.market_data`, :mod:`.account`, :mod:`.orders`
(imported on use: ``from twsbridge.service.operations import orders``).
"""

from __future__ import annotations

__all__: list[str] = []
