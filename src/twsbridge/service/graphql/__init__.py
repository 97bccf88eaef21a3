"""GraphQL at ``/graphql`` (Strawberry), in the same application as REST.

* Queries (scope ``read``): ``contract``, ``contracts``, ``searchContracts``,
  ``quote``, ``bars``, ``orders``, ``order``, ``executions``, ``positions``,
  ``account`` (summary and values), ``pnl``.
* Mutations (scope ``trade``): ``previewOrder``, ``placeOrder``, ``modifyOrder``,
  ``cancelOrder``, through the guardrails, as REST.
* Subscriptions (scope ``read``, ``graphql-transport-ws``): ``ticks`` and
  ``orderEvents``, fed by the streaming hub's shared upstreams.

The types derive from the REST models (:mod:`.types`); the resolvers call the
operations REST calls (:mod:`twsbridge.service.operations`); errors carry
``extensions.code`` (TWS's), ``status`` (REST's) and ``rule`` (a guardrail's);
authentication is REST's API keys (:mod:`.auth`). ``GET /graphql`` in a
browser serves GraphiQL.
"""

from __future__ import annotations

from datetime import timedelta

from strawberry.fastapi import GraphQLRouter
from strawberry.schema.config import StrawberryConfig
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from .auth import GraphQLContext, TransportWSHandler, get_context
from .errors import QuietSchema
from .mutations import Mutation
from .queries import Query
from .subscriptions import Subscription
from .types import SCALARS

__all__ = ["PATH", "graphql_router", "schema"]

PATH = "/graphql"

schema = QuietSchema(
    query=Query, mutation=Mutation, subscription=Subscription,
    config=StrawberryConfig(scalar_map=SCALARS),
)
"""The service's GraphQL schema (``print(schema)`` for its SDL)."""


class _Router(GraphQLRouter[GraphQLContext, None]):
    graphql_transport_ws_handler_class = TransportWSHandler


def graphql_router() -> GraphQLRouter[GraphQLContext, None]:
    """The router serving :data:`schema` at :data:`PATH` (HTTP and WebSocket)."""
    return _Router(
        schema,
        path=PATH,
        context_getter=get_context,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        connection_init_wait_timeout=timedelta(seconds=10),
        include_in_schema=False,
    )
