"""Tick-by-tick streaming routes: WebSocket ``/ws/ticks`` and SSE ``/sse/ticks``.

Every trade, bid/ask change or midpoint change TWS reports (reqTickByTickData,
message 97; see :mod:`twsbridge.service.streaming.ticks`). One TWS subscription
per (conId, tickType, ignoreSize), shared by every subscriber. Messages:

* ``{"type": "snapshot", "conId", "symbol", "tickType", "ignoreSize", "t_hub",
  "ticks": [...]}`` first: the last ticks the service has seen (at most 100;
  none when the subscription has just started), then
* ``{"type": "tickByTick", ..., "ticks": [{"tickType": "AllLast", "time":
  "2013-03-01T15:00:01Z", "price": 441.5, "size": 100, "exchange": "NASDAQ",
  "specialConditions": "", "pastLimit": false, "unreported": false}]}``;
  BidAsk items: ``bidPrice``, ``askPrice``, ``bidSize``, ``askSize``,
  ``bidPastLow``, ``askPastHigh``; MidPoint items: ``midPoint``; a
  ``{"tickType": "Gap", "since", "until", "reason"}`` item when the
  subscription was resumed (ticks in between are lost);
* ``{"type": "error", "conId", "symbol", "tickType", "code", "message"}`` with
  TWS's code: 10190 "Max number of tick-by-tick requests has been reached." (TWS
  allows 3), 200 no security definition, 10189 not available.

Ticks are never conflated: a subscriber that falls ``TWSBRIDGE_STREAM_MAX_QUEUE``
messages behind is dropped (close 1008 ``"slow consumer: …"``; SSE: ``event:
error``). Over one WebSocket send ``{"action": "subscribe", "symbol": "AAPL",
"tickType": "AllLast", "ignoreSize": false}`` (or ``"conId"``), and
``{"action": "unsubscribe", "symbol": "AAPL"}`` (every tick type of it). The
``read`` scope is needed (WebSocket: 4401 without a valid key, 4403 without
the scope; revoking the key closes the socket with 4401).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, WebSocket
from fastapi.responses import Response

from twsbridge.client import Contract

from ..problems import ProblemError, problem_responses
from ..security import Principal
from ..streaming import StreamSettings
from ..streaming.deps import HubDep, StreamGatewayDep, require_scope
from ..streaming.endpoints import EventStreamResponse, ResolveError, WebSocketSession
from ..streaming.hub import TopicSpec
from ..streaming.ticks import TICK_TYPES, tick_by_tick_spec
from .common import ContractQuery, ContractQueryDep, market_contract, resolve_contract

__all__ = ["router"]

router = APIRouter(tags=["streaming"], dependencies=[Depends(require_scope("read"))])

ReadKey = Annotated[Principal, Depends(require_scope("read"))]
TickType = Annotated[str, Query(description="Last, AllLast, BidAsk or MidPoint.")]
IgnoreSize = Annotated[bool, Query(
    description="BidAsk: a tick only when a price changes, not for size changes.")]


def _settings(conn: Request | WebSocket) -> StreamSettings:
    settings: StreamSettings = conn.app.state.stream_settings
    return settings


def _tick_type(value: object) -> str:
    if not isinstance(value, str):
        raise ResolveError(None, 422, "tickType must be a string")
    for name in TICK_TYPES:
        if value.lower() == name.lower():
            return name
    raise ResolveError(None, 422, f"tickType must be one of {', '.join(TICK_TYPES)}")


def _ticks(contract: Contract, options: Mapping[str, Any]) -> TopicSpec:
    ignore = options.get("ignoreSize", False)
    if not isinstance(ignore, bool):
        raise ResolveError(None, 422, "ignoreSize must be true or false")
    return tick_by_tick_spec(contract, _tick_type(options.get("tickType", "Last")), ignore)


def _initial(query: ContractQuery) -> ContractQuery | None:
    return query if (query.symbol is not None or query.conId is not None) else None


@router.websocket("/ws/ticks", name="ws_ticks")
async def ws_ticks(
    websocket: WebSocket, hub: HubDep, gateway: StreamGatewayDep, query: ContractQueryDep,
    principal: ReadKey, tickType: TickType = "Last", ignoreSize: IgnoreSize = False,
) -> None:
    """Tick-by-tick data of ``?conId=`` or ``?symbol=`` (``tickType``), and of the
    instruments subscribed with ``{"action": "subscribe", "tickType": ...}`` messages."""
    session = WebSocketSession(websocket, hub, gateway, _ticks,
                               _settings(websocket).close_timeout, principal)
    await session.run(_initial(query), {"tickType": tickType, "ignoreSize": ignoreSize})


@router.get(
    "/sse/ticks",
    summary="Tick-by-tick data as Server-Sent Events",
    response_class=Response,
    responses={200: {"content": {"text/event-stream": {}},
                     "description": "event: snapshot (the last ticks seen, at most 100), then "
                                    "event: tickByTick, each data a JSON message with a "
                                    "ticks array (see the description)"},
               **problem_responses(403, 404, 409, 422, 503)},
)
async def sse_ticks(
    request: Request, hub: HubDep, gateway: StreamGatewayDep, query: ContractQueryDep,
    tickType: TickType = "Last", ignoreSize: IgnoreSize = False,
) -> Response:
    """``text/event-stream`` of one instrument's tick-by-tick data (reqTickByTickData):
    ``event: snapshot``, then ``event: tickByTick`` messages whose ``ticks`` are trades
    (``Last``/``AllLast``: time, price, size, exchange, specialConditions, pastLimit,
    unreported), ``BidAsk`` (bidPrice, askPrice, bidSize, askSize, bidPastLow, askPastHigh)
    or ``MidPoint`` (midPoint) items, and a ``Gap`` item after a resume. Ticks are never
    conflated: a subscriber too slow gets ``event: error`` and the end. TWS's refusals
    come as ``event: error`` with TWS's ``code`` (10190: TWS's limit of 3 tick-by-tick
    subscriptions). An unknown contract is a 404 problem; a bad tickType 422."""
    try:
        tick_type = _tick_type(tickType)
    except ResolveError as exc:
        raise ProblemError("validation-error", exc.message, status=422,
                           title="Invalid tickType") from exc
    ib = await gateway.client()
    contract = market_contract(await resolve_contract(ib, query.to_contract()))
    settings = _settings(request)
    client = request.client
    name = f"sse {client.host}:{client.port}" if client else "sse"
    return EventStreamResponse(hub, tick_by_tick_spec(contract, tick_type, ignoreSize), name,
                               settings.keepalive, settings.close_timeout)
