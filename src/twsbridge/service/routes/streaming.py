"""Streaming routes: WebSocket ``/ws/quotes``, ``/ws/bars``, ``/ws/realtime-bars`` and
SSE ``/sse/quotes``.

Every subscriber of one instrument shares one TWS subscription (see
:mod:`twsbridge.service.streaming.hub`). Messages are JSON objects:

* ``{"type": "snapshot", "conId", "symbol", "t_hub", "ticks": [...]}`` first:
  the latest value of every tick, then
* ``{"type": "ticks", "conId", "symbol", "t_hub", "ticks": [{"name": "bid",
  "value": 441.5, "time": "2024-05-01T14:30:00.123Z"}, ...]}`` as they come
  (several ticks per message), with ``"conflated": n`` when a slow subscriber
  was sent the latest values only (``n`` updates skipped);
* bars: ``snapshot`` / ``bars`` messages with ``"bars": [{"date", "open", ...}]``;
* real-time bars: ``snapshot`` / ``realtimeBars`` messages with ``"bars": [{"time",
  "open", "high", "low", "close", "volume", "wap", "count"}]`` (5-second bars);
* ``{"type": "subscribed" | "unsubscribed", "conId", "symbol", ...}`` answering actions;
* ``{"type": "error", "code", "status", "message"}``; ``code`` is TWS's;
* ``/ws/orders`` and ``/sse/orders``: ``snapshot`` / ``orders`` messages with
  ``"events": [...]`` (the service's order statuses, executions, commissions);
* ``/ws/account`` and ``/sse/account``: ``snapshot`` / ``account`` messages with
  ``"updates": [...]`` (account values and portfolio, reqAccountUpdates).

``t_hub`` is when the service received the (oldest) update from TWS, in epoch
nanoseconds. Over one WebSocket, send ``{"action": "subscribe", "conId": 265598}``
(or ``"symbol": "AAPL"``, with ``secType``/``exchange``/``currency``, and the
route's options) and ``{"action": "unsubscribe", "conId": 265598}``. Every
WebSocket also takes ``placeOrder`` / ``previewOrder`` / ``cancelOrder`` actions
when its key has the ``trade`` scope (see
:mod:`twsbridge.service.streaming.order_actions`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, WebSocket
from fastapi.responses import Response

from twsbridge.client import Contract

from ..problems import problem_responses
from ..security import Principal
from ..streaming import StreamSettings, orders_spec
from ..streaming.account import account_spec
from ..streaming.deps import HubDep, StreamGatewayDep, require_scope
from ..streaming.endpoints import (
    EventStreamResponse,
    ResolveError,
    WebSocketSession,
)
from ..streaming.hub import TopicSpec
from ..streaming.upstreams import bars_spec, quotes_spec, realtime_bars_spec
from .common import ContractQuery, ContractQueryDep, market_contract, resolve_contract

__all__ = ["router"]

router = APIRouter(tags=["streaming"], dependencies=[Depends(require_scope("read"))])

ReadKey = Annotated[Principal, Depends(require_scope("read"))]
"""The socket's key (the router's check, run once): order actions need its ``trade``."""

GenericTicks = Annotated[
    str, Query(description="TWS genericTickList, comma-separated (e.g. '236').")
]
BarSize = Annotated[str, Query(description="TWS bar size: '5 secs', '1 min', '5 mins' ...")]
WhatToShow = Annotated[str, Query(description="TRADES, MIDPOINT, BID, ASK ...")]
UseRTH = Annotated[bool, Query(description="Regular trading hours only.")]
Duration = Annotated[
    str, Query(description="History in the snapshot (of the first subscriber), e.g. '1800 S'.")
]


def _settings(conn: Request | WebSocket) -> StreamSettings:
    settings: StreamSettings = conn.app.state.stream_settings
    return settings


def _str(options: Mapping[str, Any], name: str, default: str) -> str:
    value = options.get(name, default)
    if not isinstance(value, str):
        raise ResolveError(None, 422, f"{name} must be a string")
    return value


def _quotes(contract: Contract, options: Mapping[str, Any]) -> TopicSpec:
    return quotes_spec(contract, _str(options, "genericTickList", ""))


def _bars(contract: Contract, options: Mapping[str, Any]) -> TopicSpec:
    rth = options.get("useRTH", True)
    if not isinstance(rth, bool):
        raise ResolveError(None, 422, "useRTH must be true or false")
    return bars_spec(contract, _str(options, "barSizeSetting", "5 secs"),
                     _str(options, "whatToShow", "TRADES"), rth,
                     _str(options, "durationStr", "1800 S"))


def _realtime_bars(contract: Contract, options: Mapping[str, Any]) -> TopicSpec:
    rth = options.get("useRTH", True)
    if not isinstance(rth, bool):
        raise ResolveError(None, 422, "useRTH must be true or false")
    what = _str(options, "whatToShow", "TRADES").upper()
    if what not in ("TRADES", "MIDPOINT", "BID", "ASK"):
        raise ResolveError(None, 422, "whatToShow must be TRADES, MIDPOINT, BID or ASK")
    return realtime_bars_spec(contract, what, rth)


def _initial(query: ContractQuery) -> ContractQuery | None:
    return query if (query.symbol is not None or query.conId is not None) else None


@router.websocket("/ws/quotes", name="ws_quotes")
async def ws_quotes(
    websocket: WebSocket, hub: HubDep, gateway: StreamGatewayDep, query: ContractQueryDep,
    principal: ReadKey, genericTickList: GenericTicks = "",
) -> None:
    """Streaming quotes of ``?conId=`` or ``?symbol=`` (a snapshot, then ticks), and of
    the instruments subscribed with ``{"action": "subscribe", ...}`` messages."""
    session = WebSocketSession(websocket, hub, gateway, _quotes,
                               _settings(websocket).close_timeout, principal)
    await session.run(_initial(query), {"genericTickList": genericTickList})


@router.websocket("/ws/bars", name="ws_bars")
async def ws_bars(
    websocket: WebSocket, hub: HubDep, gateway: StreamGatewayDep, query: ContractQueryDep,
    principal: ReadKey, barSizeSetting: BarSize = "5 secs", whatToShow: WhatToShow = "TRADES",
    useRTH: UseRTH = True, durationStr: Duration = "1800 S",
) -> None:
    """Live bars (reqHistoricalData keepUpToDate): a snapshot of the history, then
    each update of the current bar."""
    session = WebSocketSession(websocket, hub, gateway, _bars,
                               _settings(websocket).close_timeout, principal)
    options = {"barSizeSetting": barSizeSetting, "whatToShow": whatToShow,
               "useRTH": useRTH, "durationStr": durationStr}
    await session.run(_initial(query), options)


@router.websocket("/ws/realtime-bars", name="ws_realtime_bars")
async def ws_realtime_bars(
    websocket: WebSocket, hub: HubDep, gateway: StreamGatewayDep, query: ContractQueryDep,
    principal: ReadKey, whatToShow: WhatToShow = "TRADES", useRTH: UseRTH = True,
) -> None:
    """Real-time 5-second bars (reqRealTimeBars): a snapshot of the recent bars, then
    ``realtimeBars`` messages as each bar completes."""
    session = WebSocketSession(websocket, hub, gateway, _realtime_bars,
                               _settings(websocket).close_timeout, principal)
    await session.run(_initial(query), {"whatToShow": whatToShow, "useRTH": useRTH})


@router.get(
    "/sse/quotes",
    summary="Streaming quotes as Server-Sent Events",
    response_class=Response,
    responses={200: {"content": {"text/event-stream": {}},
                     "description": "event: snapshot, then event: ticks ..."},
               **problem_responses(403, 404, 409, 422, 503)},
)
async def sse_quotes(
    request: Request, hub: HubDep, gateway: StreamGatewayDep, query: ContractQueryDep,
    genericTickList: GenericTicks = "",
) -> Response:
    """``text/event-stream`` of one instrument: ``event: snapshot`` then ``event: ticks``
    (the WebSocket messages as ``data:``); a subscriber too slow to keep up gets
    ``event: error`` and the end of the stream. An unknown contract is a 404 problem."""
    ib = await gateway.client()
    contract = market_contract(await resolve_contract(ib, query.to_contract()))
    settings = _settings(request)
    client = request.client
    name = f"sse {client.host}:{client.port}" if client else "sse"
    return EventStreamResponse(hub, quotes_spec(contract, genericTickList), name,
                               settings.keepalive, settings.close_timeout)


@router.websocket("/ws/orders", name="ws_orders")
async def ws_orders(websocket: WebSocket, hub: HubDep, gateway: StreamGatewayDep,
                    principal: ReadKey) -> None:
    """Events of the service's orders (status, executions, commissions): a snapshot of
    the latest per order and execution, then ``orders`` messages."""
    session = WebSocketSession(websocket, hub, gateway, _quotes,
                               _settings(websocket).close_timeout, principal)
    await session.run(None, {}, orders_spec())


@router.websocket("/ws/account", name="ws_account")
async def ws_account(websocket: WebSocket, hub: HubDep, gateway: StreamGatewayDep,
                     principal: ReadKey) -> None:
    """Account values and portfolio of the first managed account (reqAccountUpdates):
    a snapshot, then ``account`` messages."""
    session = WebSocketSession(websocket, hub, gateway, _quotes,
                               _settings(websocket).close_timeout, principal)
    await session.run(None, {}, account_spec())


def _sse(request: Request, hub: HubDep, spec: TopicSpec) -> Response:
    settings = _settings(request)
    client = request.client
    name = f"sse {client.host}:{client.port}" if client else "sse"
    return EventStreamResponse(hub, spec, name, settings.keepalive, settings.close_timeout)


_SSE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "event: snapshot, then ..."},
    **problem_responses(403),
}


@router.get("/sse/orders", summary="Order events as Server-Sent Events",
            response_class=Response, responses=_SSE_RESPONSES)
async def sse_orders(request: Request, hub: HubDep) -> Response:
    """``event: snapshot`` then ``event: orders`` (the /ws/orders messages as ``data:``)."""
    return _sse(request, hub, orders_spec())


@router.get("/sse/account", summary="Account updates as Server-Sent Events",
            response_class=Response, responses=_SSE_RESPONSES)
async def sse_account(request: Request, hub: HubDep) -> Response:
    """``event: snapshot`` then ``event: account`` (the /ws/account messages as ``data:``)."""
    return _sse(request, hub, account_spec())


@router.get("/streams", summary="Streaming upstreams and subscribers")
async def streams(hub: HubDep) -> dict[str, Any]:
    """The upstream subscriptions running (``topic``: kind and parameters, e.g.
    ``["quotes", 265598, ""]``), their subscribers, batches and items so far; how many
    connections stream now, how many are conflated, and how many were dropped as slow."""
    return hub.stats()
