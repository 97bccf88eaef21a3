"""GraphQL subscriptions (``graphql-transport-ws``), fed by the streaming hub.

* ``ticks``: market data of one instrument, from the same hub topic the
  WebSocket ``/ws/quotes`` and SSE routes use: every subscriber of one conId
  (GraphQL or not) shares one TWS subscription. First a ``snapshot`` (the
  latest value of every tick), then ``ticks`` as TWS sends them.
* ``orderEvents``: status changes, executions, commissions and errors of the
  service's orders, from the hub's one ``orders`` topic (one set of client
  handlers, shared by every subscriber); events from the moment of subscribing.

A subscriber too slow to keep up is conflated, then dropped with an error
(status 503), as on the WebSocket routes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from twsbridge.client import TWSError

from ..event_schemas import OrderEventPublic, TickPublic, TicksPublic
from ..problems import ProblemError, tws_problem
from ..security.auth import WS_UNAUTHORIZED
from ..security.sessions import live_sessions
from ..streaming import SinkDropped, TopicSpec, orders_spec
from ..streaming.endpoints import ResolveError, resolve
from ..streaming.upstreams import quotes_spec
from .auth import GraphQLContext, ReadScope
from .errors import to_graphql_error
from .queries import (
    ConId,
    Currency,
    Decorator,
    Exchange,
    GenericTicks,
    PrimaryExchange,
    SecType,
    Symbol,
    contract_query,
)
from .types import OrderEventGQL, TicksGQL

__all__ = ["Subscription"]

OrderIdFilter = Annotated[int | None, strawberry.argument(
    description="Only the events of this orderId (default: every order of the service).")]


def _resolve_problem(exc: ResolveError) -> ProblemError:
    if exc.code is not None:
        return tws_problem(TWSError(exc.code, exc.message))
    if exc.status == 503:
        return ProblemError("gateway-unavailable", exc.message)
    kind = "validation-error" if exc.status == 422 else "ambiguous-contract" \
        if exc.status == 409 else None
    return ProblemError(kind, exc.message, status=exc.status, title="Cannot subscribe")


def _stream_problem(data: dict[str, Any]) -> ProblemError:
    code, message = data.get("code"), str(data.get("message") or "the stream failed")
    if isinstance(code, int):
        return tws_problem(TWSError(code, message))
    return ProblemError("gateway-unavailable", message)


def _ended(exc: SinkDropped) -> ProblemError:
    if exc.code == WS_UNAUTHORIZED:
        return ProblemError("unauthorized", exc.reason, closeCode=exc.code)
    return ProblemError(None, exc.reason, status=503, title="Stream ended", closeCode=exc.code)


async def _messages(context: GraphQLContext, spec: TopicSpec
                    ) -> AsyncGenerator[dict[str, Any], None]:
    """The hub's messages of ``spec`` for one subscriber (snapshot, updates);
    an upstream error, a drop or the revocation of the caller's key ends it with a
    problem. Close it (``aclosing``) to leave the topic at once."""
    hub = context.hub
    try:
        sink = hub.sink(_subscriber(context))
    except SinkDropped as exc:  # the service is shutting down
        raise _ended(exc) from exc
    principal = context.principal
    try:
        with contextlib.ExitStack() as tracking:
            if principal is not None:  # revoking the key ends the subscription (401)
                tracking.enter_context(live_sessions(context.connection).track(
                    principal.key_id, lambda reason: hub.drop(sink, reason, WS_UNAUTHORIZED)))
            hub.subscribe(sink, spec)
            while True:
                for frame in await sink.next_frames():
                    data: dict[str, Any] = json.loads(frame.text)
                    if frame.type == "error":
                        raise _stream_problem(data)
                    yield data
    except SinkDropped as exc:
        raise _ended(exc) from exc
    finally:
        hub.close(sink)


def read_subscription(description: str) -> Decorator:
    """A subscription that needs the ``read`` scope."""
    decorator: Decorator = strawberry.subscription(description=description,
                                                   permission_classes=[ReadScope])
    return decorator


def _hub_time(ns: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ns / 1e9, dt.UTC)


def _subscriber(context: GraphQLContext) -> str:
    principal = context.principal
    return f"graphql {principal.name if principal else 'anonymous'}"


@strawberry.type(description="Streams: every subscription needs an API key with the read "
                             "scope.")
class Subscription:
    """Market data ticks and the service's order events, over graphql-transport-ws."""

    @read_subscription(
        "Ticks of the one contract matching conId or symbol: a snapshot, then updates. "
        "One TWS subscription per conId, shared by every subscriber.")
    async def ticks(
        self, info: Info, conId: ConId = None, symbol: Symbol = None, secType: SecType = None,
        exchange: Exchange = None, currency: Currency = None,
        primaryExchange: PrimaryExchange = None, genericTickList: GenericTicks = "",
    ) -> AsyncGenerator[TicksGQL, None]:
        context: GraphQLContext = info.context
        try:
            context.require("read")
            query = contract_query(conId, symbol, secType, exchange, currency,
                                   primaryExchange)
            try:
                contract = await resolve(context.gateway, query)
            except ResolveError as exc:
                raise _resolve_problem(exc) from exc
            spec = quotes_spec(contract, genericTickList)
            async with aclosing(_messages(context, spec)) as stream:
                async for data in stream:
                    if not data["ticks"]:
                        continue
                    ticks = TicksPublic(
                        type=data["type"], conId=data["conId"], symbol=data["symbol"],
                        tHub=_hub_time(data["t_hub"]), conflated=data.get("conflated", 0),
                        ticks=[TickPublic.from_item(t) for t in data["ticks"]])
                    yield TicksGQL.from_pydantic(ticks)
        except Exception as exc:
            raise to_graphql_error(exc, info.path.as_list()) from exc

    @read_subscription(
        "Status changes, executions, commissions and errors of the service's "
                    "orders, from now on (query orders for their current state).")
    async def orderEvents(
        self, info: Info, orderId: OrderIdFilter = None,
    ) -> AsyncGenerator[OrderEventGQL, None]:
        context: GraphQLContext = info.context
        try:
            context.require("read")
            messages = _messages(context, orders_spec())
            async with aclosing(messages) as stream:
                async for data in stream:
                    if data["type"] == "snapshot":
                        continue  # what happened before this subscription: not its event
                    for item in data["events"]:
                        if orderId is None or item.get("orderId") == orderId:
                            event = OrderEventPublic.model_validate(item)
                            yield OrderEventGQL.from_pydantic(event)
        except Exception as exc:
            raise to_graphql_error(exc, info.path.as_list()) from exc

