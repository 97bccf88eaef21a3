"""Market depth routes: ``GET /market/depth``, ``GET /market/depth/exchanges``, the
WebSocket ``/ws/depth`` and SSE ``/sse/depth`` (scope ``read``, as every market route).

Streams (one shared reqMktDepth per conId, exchange, rows and smart; see
:mod:`twsbridge.service.streaming.depth`):

* ``{"type": "snapshot", "conId", "symbol", "exchange", "isSmartDepth", "numRows",
  "t_hub", "levels": [...]}`` first: every level of the book,
* ``{"type": "depth", ..., "levels": [{"side": "bid", "position": 0, "price": 441.5,
  "size": 300, "marketMaker": "ISLAND", "time": "…Z"}, ...]}`` as rows change (a level
  with ``price``/``size`` null is empty now; ``"conflated": n`` when a slow subscriber
  was sent the latest levels only, which are the full book);
* a ``{"gap": reason, "time"}`` item when the book was emptied to be rebuilt;
* ``{"type": "error", ..., "code": 309, "message"}`` when TWS refuses the book: 309
  when 3 distinct securities already have depth on the service's one connection (a
  socket opened for that instrument is closed with 4309), 10092 no depth there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, WebSocket
from fastapi.responses import Response

from twsbridge.client import Contract

from ..depth_schemas import DepthBookPublic, DepthExchangePublic
from ..gateway import ClientDep
from ..operations import depth as ops
from ..problems import problem_responses
from ..security import Principal
from ..streaming import StreamSettings
from ..streaming.deps import HubDep, StreamGatewayDep, require_scope
from ..streaming.depth import depth_spec, smart_default
from ..streaming.endpoints import EventStreamResponse, ResolveError, WebSocketSession
from ..streaming.hub import TopicSpec
from .common import ContractQuery, ContractQueryDep, market_contract, resolve_contract

__all__ = ["router"]

router = APIRouter(tags=["market depth"])

ReadKey = Annotated[Principal, Depends(require_scope("read"))]
Rows = Annotated[int, Query(ge=1, le=ops.MAX_ROWS, description="Rows a side (numRows).")]
Smart = Annotated[bool | None, Query(
    description="isSmartDepth: the SMART book aggregated over exchanges (rows name the "
                "exchange). Default: true when exchange is SMART, else false.")]

_ERRORS = problem_responses(400, 403, 404, 409, 422, 429, 503, 504)


@router.get("/market/depth", summary="Order book snapshot (market depth)",
            responses=_ERRORS)
async def market_depth(ib: ClientDep, hub: HubDep, query: ContractQueryDep,
                       rows: Rows = 5, smart: Smart = None) -> DepthBookPublic:
    """``reqMktDepth`` of the one contract matching ``symbol`` (or ``conId``): bids best
    first, asks best first, ``rows`` a side; ``time`` on the gateway's clock.

    Answered from the live book when the service streams it already (``/ws/depth``,
    SSE, GraphQL). TWS's errors carry TWS's ``code``: 200 → 404, 309 (3 securities
    with depth already on the service's connection) → 409 ``depth-limit``, 10092 (no
    depth for that exchange; SMART needs ``smart=true``) → 400.
    """
    return await ops.market_depth(ib, query.to_contract(), rows, smart, hub)


@router.get("/market/depth/exchanges", summary="Exchanges offering market depth",
            responses=problem_responses(403, 503, 504))
async def depth_exchanges(ib: ClientDep) -> list[DepthExchangePublic]:
    """``reqMktDepthExchanges``: each exchange, secType, listing exchange, service
    (``Deep``/``Deep2``) and aggregation group."""
    return await ops.depth_exchanges(ib)


def _settings(conn: Request | WebSocket) -> StreamSettings:
    settings: StreamSettings = conn.app.state.stream_settings
    return settings


def _depth(contract: Contract, options: Mapping[str, Any]) -> TopicSpec:
    rows = options.get("rows", 5)
    if not isinstance(rows, int) or isinstance(rows, bool) or not 1 <= rows <= ops.MAX_ROWS:
        raise ResolveError(None, 422, f"rows must be an integer from 1 to {ops.MAX_ROWS}")
    smart = options.get("smart")
    if smart is not None and not isinstance(smart, bool):
        raise ResolveError(None, 422, "smart must be true or false")
    return depth_spec(contract, rows, smart_default(contract, smart))


def _initial(query: ContractQuery) -> ContractQuery | None:
    return query if (query.symbol is not None or query.conId is not None) else None


@router.websocket("/ws/depth", name="ws_depth")
async def ws_depth(
    websocket: WebSocket, hub: HubDep, gateway: StreamGatewayDep, query: ContractQueryDep,
    principal: ReadKey, rows: Rows = 5, smart: Smart = None,
) -> None:
    """Streaming order book of ``?conId=`` or ``?symbol=`` (a snapshot, then ``depth``
    messages), and of the books subscribed with ``{"action": "subscribe", "symbol":
    "AAPL", "rows": 5, "smart": true}``."""
    session = WebSocketSession(websocket, hub, gateway, _depth,
                               _settings(websocket).close_timeout, principal)
    await session.run(_initial(query), {"rows": rows, "smart": smart})


@router.get(
    "/sse/depth",
    summary="Streaming order book as Server-Sent Events",
    response_class=Response,
    responses={200: {"content": {"text/event-stream": {}},
                     "description": "event: snapshot, then event: depth ..."},
               **problem_responses(403, 404, 409, 422, 503)},
)
async def sse_depth(request: Request, hub: HubDep, gateway: StreamGatewayDep,
                    query: ContractQueryDep, rows: Rows = 5, smart: Smart = None) -> Response:
    """``text/event-stream`` of one book: ``event: snapshot`` then ``event: depth`` (the
    WebSocket messages as ``data:``); TWS refusing the book (309, 10092) is ``event:
    error`` and the end. An unknown contract is a 404 problem."""
    ib = await gateway.client()
    contract = market_contract(await resolve_contract(ib, query.to_contract()))
    settings = _settings(request)
    client = request.client
    name = f"sse {client.host}:{client.port}" if client else "sse"
    spec = depth_spec(contract, rows, smart_default(contract, smart))
    return EventStreamResponse(hub, spec, name, settings.keepalive, settings.close_timeout)
