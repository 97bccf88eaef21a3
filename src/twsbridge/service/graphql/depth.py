"""GraphQL market depth: the ``marketDepth`` query (a book snapshot, as ``GET
/market/depth``), ``marketDepthExchanges``, and the ``marketDepth`` subscription (the
hub's shared depth topic, as ``/ws/depth``: a snapshot of every level, then the levels
that change, a gap item when the book is rebuilt).

Both need the ``read`` scope, and both are counted by the cost limits as fields that
send TWS a request (:class:`~.limits.TWSCall`, ``graphql_max_tws_fields``). TWS's
refusals are errors with ``extensions.code`` (309: 3 securities with depth already on
the service's connection, ``status`` 409; 10092 no depth there, 400; 200, 404).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from ..depth_schemas import DepthLevelPublic, DepthMessagePublic
from ..operations import depth as depth_ops
from ..streaming.depth import depth_spec, smart_default
from ..streaming.endpoints import ResolveError, resolve
from .auth import GraphQLContext, ReadScope
from .depth_types import DepthBookGQL, DepthExchangeGQL, DepthMessageGQL
from .errors import to_graphql_error
from .limits import TWSCall
from .queries import (
    ConId,
    Currency,
    Exchange,
    PrimaryExchange,
    SecType,
    Symbol,
    _client,
    contract_query,
    read_field,
)
from .subscriptions import _hub_time, _messages, _resolve_problem

__all__ = ["DepthQuery", "DepthSubscription", "TWSStream"]


Rows = Annotated[int, strawberry.argument(description="Rows a side (numRows), 1-50.")]
Smart = Annotated[bool | None, strawberry.argument(
    description="isSmartDepth: the SMART book aggregated over exchanges; default: true "
                "when exchange is SMART.")]


@strawberry.type
class DepthQuery:
    """The depth fields of ``Query``."""

    @read_field("Order book snapshot (reqMktDepth) of the one contract matching conId or "
                "symbol: bids and asks best first; TWS's refusals are errors with its code "
                "(309 status 409, 10092 status 400).", tws=True)
    async def marketDepth(
        self, info: Info, conId: ConId = None, symbol: Symbol = None, secType: SecType = None,
        exchange: Exchange = None, currency: Currency = None,
        primaryExchange: PrimaryExchange = None, rows: Rows = 5, smart: Smart = None,
    ) -> DepthBookGQL:
        query = contract_query(conId, symbol, secType, exchange, currency, primaryExchange)
        book = await depth_ops.market_depth(await _client(info), query.to_contract(), rows,
                                            smart, info.context.hub)
        return DepthBookGQL.from_pydantic(book)

    @read_field("The exchanges offering market depth (reqMktDepthExchanges).", tws=True)
    async def marketDepthExchanges(self, info: Info) -> list[DepthExchangeGQL]:
        found = await depth_ops.depth_exchanges(await _client(info))
        return [DepthExchangeGQL.from_pydantic(d) for d in found]


def _message(data: dict[str, Any]) -> DepthMessagePublic:
    return DepthMessagePublic(
        type=data["type"], conId=data["conId"], symbol=data["symbol"],
        exchange=data["exchange"], isSmartDepth=data["isSmartDepth"],
        numRows=data["numRows"], tHub=_hub_time(data["t_hub"]),
        conflated=data.get("conflated", 0),
        levels=[DepthLevelPublic.model_validate(i) for i in data["levels"]])


class TWSStream(TWSCall):
    """A subscription that starts a TWS request: counted as :class:`TWSCall` is by the
    cost limits, without its concurrency gate (the stream outlives the request)."""

    async def resolve_async(
        self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        result = next_(source, info, **kwargs)
        return await result if inspect.isawaitable(result) else result


@strawberry.type
class DepthSubscription:
    """The depth fields of ``Subscription``."""

    @strawberry.subscription(  # type: ignore[untyped-decorator]
        description="Order book of the one contract matching conId or symbol: a snapshot "
                    "of every level, then the levels that change. One TWS subscription "
                    "per book, shared by every subscriber (TWS allows 3 securities).",
        permission_classes=[ReadScope], extensions=[TWSStream()])
    async def marketDepth(
        self, info: Info, conId: ConId = None, symbol: Symbol = None, secType: SecType = None,
        exchange: Exchange = None, currency: Currency = None,
        primaryExchange: PrimaryExchange = None, rows: Rows = 5, smart: Smart = None,
    ) -> AsyncGenerator[DepthMessageGQL, None]:
        context: GraphQLContext = info.context
        try:
            context.require("read")
            if not 1 <= rows <= depth_ops.MAX_ROWS:
                raise ResolveError(None, 422, f"rows: between 1 and {depth_ops.MAX_ROWS}")
            query = contract_query(conId, symbol, secType, exchange, currency,
                                   primaryExchange)
            try:
                contract = await resolve(context.gateway, query)
            except ResolveError as exc:
                raise _resolve_problem(exc) from exc
            spec = depth_spec(contract, rows, smart_default(contract, smart))
            async with aclosing(_messages(context, spec)) as stream:
                async for data in stream:
                    if data["levels"]:
                        yield DepthMessageGQL.from_pydantic(_message(data))
        except ResolveError as exc:
            raise to_graphql_error(_resolve_problem(exc), info.path.as_list()) from exc
        except Exception as exc:
            raise to_graphql_error(exc, info.path.as_list()) from exc
