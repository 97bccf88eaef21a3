"""GraphQL at ``/graphql`` (Strawberry), in the same application as REST.

* Queries (scope ``read``): ``contract``, ``contracts``, ``searchContracts``,
  ``quote``, ``bars``, ``orders``, ``order``, ``executions``, ``positions``,
  ``account`` (summary and values), ``pnl``, ``marketDepth``, ``marketDepthExchanges``;
  ``historicalTicks``, ``histogram``, ``marketRule``, ``smartComponents`` (:mod:`.tick_queries`).
* Mutations (scope ``trade``): ``previewOrder``, ``placeOrder``, ``modifyOrder``,
  ``cancelOrder``, through the guardrails, as REST.
* Subscriptions (scope ``read``, ``graphql-transport-ws``): ``ticks``,
  ``orderEvents``, ``marketDepth`` (:mod:`.depth`) and ``tickByTick``
  (:mod:`.tick_by_tick`), fed by the streaming hub's shared upstreams.

The types derive from the REST models (:mod:`.types`); the resolvers call the
operations REST calls (:mod:`twsbridge.service.operations`); errors carry
``extensions.code`` (TWS's), ``status`` (REST's) and ``rule`` (a guardrail's);
authentication is REST's API keys (:mod:`.auth`); what one request may cost
(nesting, tokens, fields, aliases, TWS requests, the JSON of its variables) is
bounded by settings (:mod:`.limits`). ``GET /graphql`` in a browser serves GraphiQL.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import strawberry
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.fastapi import GraphQLRouter
from strawberry.schema.config import StrawberryConfig
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET

from ..settings import ServiceSettings
from .auth import GraphQLContext, TransportWSHandler, get_context
from .depth import DepthQuery, DepthSubscription
from .errors import QuietSchema
from .limits import GraphQLLimits, RequestRefused, decode_request_json, schema_extensions
from .mutations import Mutation
from .queries import Query
from .subscriptions import Subscription
from .tick_by_tick import TickByTickSubscription
from .tick_queries import TickQuery
from .types import SCALARS

__all__ = ["PATH", "build_schema", "graphql_router", "schema"]

PATH = "/graphql"


def _description(cls: type) -> str | None:
    definition = getattr(cls, "__strawberry_definition__", None)
    return None if definition is None else definition.description


@strawberry.type(name="Query", description=_description(Query))
class _Query(Query, DepthQuery, TickQuery):
    """The queries of :mod:`.queries`, the depth ones of :mod:`.depth` and the historical
    tick ones of :mod:`.tick_queries`."""


@strawberry.type(name="Subscription",
                 description=_description(Subscription))
class _Subscription(Subscription, DepthSubscription, TickByTickSubscription):
    """The subscriptions of :mod:`.subscriptions`, ``marketDepth`` (:mod:`.depth`) and
    ``tickByTick`` (:mod:`.tick_by_tick`)."""


def build_schema(limits: GraphQLLimits | None = None) -> QuietSchema:
    """The service's GraphQL schema enforcing ``limits`` (default: the settings' defaults)."""
    return QuietSchema(
        query=_Query, mutation=Mutation, subscription=_Subscription,
        config=StrawberryConfig(scalar_map=SCALARS),
        extensions=schema_extensions(limits or GraphQLLimits()),
    )


log = logging.getLogger("twsbridge.service.graphql")

schema = build_schema()
"""The service's GraphQL schema with the default limits (``print(schema)`` for its SDL)."""


class _WebSocketAdapter(ASGIWebSocketAdapter):
    """A ``graphql-transport-ws`` message over a JSON limit closes the socket with 4400
    (the protocol's invalid message) and the limit in the reason."""

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> Any:
        try:
            async for message in super().iter_json(ignore_parsing_errors=ignore_parsing_errors):
                yield message
        except RequestRefused as refused:
            log.warning("refused a GraphQL WebSocket message: %s", refused.error.message)
            await self.close(4400, refused.error.message[:120])


class _Router(GraphQLRouter[GraphQLContext, None]):
    graphql_transport_ws_handler_class = TransportWSHandler
    websocket_adapter_class = _WebSocketAdapter
    limits = GraphQLLimits()

    def decode_json(self, data: str | bytes) -> object:
        """The request's JSON, refused before decoding when over a limit (:mod:`.limits`)."""
        return decode_request_json(data, self.limits)

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET,
                  ) -> Any:
        """Strawberry's, with an HTTP request over a JSON limit answered 400."""
        try:
            return await super().run(request, context=context, root_value=root_value)
        except RequestRefused as refused:
            if isinstance(request, WebSocket):  # pragma: no cover - the adapter closes it
                raise
            response: Response = JSONResponse({"errors": [refused.error.formatted]},
                                              status_code=400)
            return response


def graphql_router(settings: ServiceSettings | None = None) -> GraphQLRouter[GraphQLContext, None]:
    """The router serving the schema at :data:`PATH` (HTTP and WebSocket), with the
    limits of ``settings`` (default: the settings' defaults)."""
    limits = GraphQLLimits.of(settings) if settings is not None else GraphQLLimits()
    router = _Router(
        build_schema(limits) if settings is not None else schema,
        path=PATH,
        context_getter=get_context,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        connection_init_wait_timeout=timedelta(seconds=10),
        include_in_schema=False,
    )
    router.limits = limits
    return router
