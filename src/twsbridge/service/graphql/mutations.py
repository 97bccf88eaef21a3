"""GraphQL mutations: preview, place, modify and cancel orders (scope ``trade``).

They run the order operations REST runs (:mod:`twsbridge.service.operations.orders`),
guardrails (:func:`~twsbridge.service.security.check_order`) included; the input
types derive from ``OrderCreate`` / ``OrderUpdate`` and are validated by them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import strawberry
from strawberry.types import Info

from ..operations import orders as order_ops
from ..order_schemas import OrderCreate, OrderUpdate
from .auth import GraphQLContext, TradeScope
from .errors import ProblemErrors
from .limits import TWSCall
from .queries import Decorator
from .types import OrderGQL, OrderInput, OrderPreviewGQL, OrderUpdateInput

__all__ = ["Mutation", "order_create", "order_update"]


def _given(value: Any) -> dict[str, Any]:
    """The fields of a GraphQL input that were given (null = not given)."""
    return {k: v for k, v in dataclasses.asdict(value).items() if v is not None}


def order_create(value: Any) -> OrderCreate:
    """Validate an ``OrderInput`` with the REST model (ValidationError: status 422)."""
    return OrderCreate.model_validate(_given(value))


def order_update(value: Any) -> OrderUpdate:
    """Validate an ``OrderUpdateInput`` with the REST model (status 422 when empty)."""
    return OrderUpdate.model_validate(_given(value))


def trade_mutation(description: str) -> Decorator:
    """A mutation that needs the ``trade`` scope and answers problems as GraphQL errors."""
    decorator: Decorator = strawberry.mutation(
        description=description, permission_classes=[TradeScope],
        extensions=[ProblemErrors(), TWSCall()])  # each sends TWS a request: counted and gated
    return decorator


@strawberry.type(description="Orders: every mutation needs an API key with the trade scope.")
class Mutation:
    """Preview, place, modify and cancel orders of the service's TWS client."""

    @trade_mutation("What-if (placeOrder with whatIf): commission and margin impact; "
                    "nothing is placed.")
    async def previewOrder(
        self, info: Info, input: OrderInput,
    ) -> OrderPreviewGQL:
        context: GraphQLContext = info.context
        principal = context.require("trade")
        body = order_create(input)
        ib = await context.gateway.client()
        preview = await order_ops.preview_order(ib, body, guard=context.connection,
                                                principal=principal)
        return OrderPreviewGQL.from_pydantic(preview)

    @trade_mutation("placeOrder: resolve the contract, check its tick grid and the "
                    "guardrails, journal the order, send it and wait for TWS's "
                    "acknowledgement; a rejection is an error with TWS's code.")
    async def placeOrder(
        self, info: Info, input: OrderInput,
    ) -> OrderGQL:
        context: GraphQLContext = info.context
        principal = context.require("trade")
        body = order_create(input)
        ib = await context.gateway.client()
        order = await order_ops.place_order(ib, context.journal, context.settings, body,
                                            guard=context.connection, principal=principal)
        return OrderGQL.from_pydantic(order)

    @trade_mutation("Modify a working order (sent again with the same orderId), after the "
                    "guardrails; status 404 when unknown, 409 when no longer working.")
    async def modifyOrder(
        self, info: Info, orderId: int, input: OrderUpdateInput,
    ) -> OrderGQL:
        context: GraphQLContext = info.context
        principal = context.require("trade")
        body = order_update(input)
        ib = await context.gateway.client()
        order = await order_ops.modify_order(ib, context.journal, context.settings, orderId,
                                             body, guard=context.connection,
                                             principal=principal)
        return OrderGQL.from_pydantic(order)

    @trade_mutation("cancelOrder; answers the order once TWS confirmed. Code 10147 (404) "
                    "when no such order, 161 (409) when it is done.")
    async def cancelOrder(self, info: Info, orderId: int) -> OrderGQL:
        context: GraphQLContext = info.context
        context.require("trade")
        ib = await context.gateway.client()
        order = await order_ops.cancel_order(ib, context.journal, context.settings, orderId)
        return OrderGQL.from_pydantic(order)
