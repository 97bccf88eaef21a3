"""GraphQL subscription ``tickByTick``: tick-by-tick data from the streaming hub.

Fed by the hub's ``tick_by_tick`` topic (:mod:`twsbridge.service.streaming.ticks`),
the same one ``/ws/ticks`` and ``/sse/ticks`` use: one TWS subscription
(reqTickByTickData, message 97) per (conId, tickType, ignoreSize), shared by
every subscriber. Each tick is one ``TickByTick`` result (first those of the
snapshot: the last ticks the service has seen); a ``Gap`` result after a resume.
Ticks are never conflated: a subscriber too slow is dropped (status 503). TWS's
refusals end the subscription with a GraphQL error carrying TWS's code
(``extensions.code`` 10190: TWS's limit of 3 tick-by-tick subscriptions).
The field is a :class:`TWSStream` (a :class:`~.limits.TWSCall`): counted by
``graphql_max_tws_fields``.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from ..streaming.endpoints import ResolveError, resolve
from ..streaming.ticks import TICK_TYPES, tick_by_tick_spec
from ..tick_by_tick_schemas import TickByTickPublic
from .auth import GraphQLContext, ReadScope
from .errors import to_graphql_error
from .limits import TWSCall
from .queries import (
    ConId,
    Currency,
    Decorator,
    Exchange,
    PrimaryExchange,
    SecType,
    Symbol,
    contract_query,
)
from .subscriptions import _messages, _resolve_problem
from .tick_by_tick_types import TickByTickGQL

__all__ = ["TWSStream", "TickByTickGQL", "TickByTickSubscription"]

TickTypeArg = Annotated[str, strawberry.argument(
    description="Last, AllLast (every trade), BidAsk or MidPoint.")]
IgnoreSizeArg = Annotated[bool, strawberry.argument(
    description="BidAsk: a tick only when a price changes.")]


_subscription: Callable[..., Decorator] = strawberry.subscription


class TWSStream(TWSCall):
    """A subscription that sends TWS a request: counted by ``graphql_max_tws_fields``
    as a :class:`~.limits.TWSCall` field is, but not held to ``graphql_tws_concurrency``
    (it streams for as long as the subscriber stays)."""

    async def resolve_async(
        self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        result = next_(source, info, **kwargs)
        return result if inspect.isasyncgen(result) else await result


@strawberry.type
class TickByTickSubscription:
    """The ``tickByTick`` subscription (a base of the schema's ``Subscription``)."""

    @_subscription(
        description="Every trade, bid/ask or midpoint change of the one contract matching "
                    "conId or symbol (reqTickByTickData), one result per tick; a Gap after "
                    "a resume. One TWS subscription per (conId, tickType, ignoreSize), "
                    "shared; TWS allows 3 (error 10190).",
        permission_classes=[ReadScope], extensions=[TWSStream()])
    async def tickByTick(
        self, info: Info, tickType: TickTypeArg, conId: ConId = None, symbol: Symbol = None,
        secType: SecType = None, exchange: Exchange = None, currency: Currency = None,
        primaryExchange: PrimaryExchange = None, ignoreSize: IgnoreSizeArg = False,
    ) -> AsyncGenerator[TickByTickGQL, None]:
        context: GraphQLContext = info.context
        try:
            context.require("read")
            names = {t.lower(): t for t in TICK_TYPES}
            if tickType.lower() not in names:
                raise ResolveError(None, 422, f"tickType must be one of {', '.join(TICK_TYPES)}")
            query = contract_query(conId, symbol, secType, exchange, currency, primaryExchange)
            contract = await resolve(context.gateway, query)
            spec = tick_by_tick_spec(contract, names[tickType.lower()], ignoreSize)
            async with aclosing(_messages(context, spec)) as stream:
                async for data in stream:
                    for item in data["ticks"]:
                        yield TickByTickGQL.from_pydantic(TickByTickPublic.from_item(data, item))
        except ResolveError as exc:
            raise to_graphql_error(_resolve_problem(exc), info.path.as_list()) from exc
        except Exception as exc:
            raise to_graphql_error(exc, info.path.as_list()) from exc
