"""Orders over the WebSocket face, and the order and account streams.

The real service on the embedded simulator (with IBM on the deny list), real
WebSocket clients: a trade key places an order on its quotes socket and the
order's events arrive on /ws/orders; a guardrail and a read key refuse;
/ws/account and /sse/account deliver the account values.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

from .support import auth, running_service, sim_settings

pytestmark = pytest.mark.timeout(60)

RECV = 10.0
MARKET = {"symbol": "AAPL", "action": "BUY", "totalQuantity": 10, "orderType": "MKT"}


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with running_service(sim_settings(symbol_denylist=["IBM"])) as base:
        yield base


def ws_url(url: str, path: str) -> str:
    return url.replace("http://", "ws://") + path


def connect(url: str, path: str, scope: str) -> ws_connect:
    return ws_connect(ws_url(url, path), additional_headers=auth(url, scope))


async def recv_json(ws: ClientConnection) -> dict[str, Any]:
    msg: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), RECV))
    return msg


async def answer(ws: ClientConnection, ident: str) -> dict[str, Any]:
    """The answer to the action ``ident`` (ticks of the socket's quotes are skipped)."""
    while True:
        msg = await recv_json(ws)
        if msg.get("id") == ident:
            return msg
        assert msg["type"] in ("ticks", "snapshot"), msg


async def order_count(url: str) -> int:
    async with httpx.AsyncClient(base_url=url, headers=auth(url, "read"), timeout=20) as http:
        r = await http.get("/orders", params={"status": "all"})
        assert r.status_code == 200, r.text
        return len(r.json())


async def test_place_order_on_quotes_socket_events_on_ws_orders(url: str) -> None:
    async with connect(url, "/ws/orders", "read") as events, \
            connect(url, "/ws/quotes?symbol=AAPL", "trade") as ws:
        assert (await recv_json(events))["type"] == "snapshot"
        snap = await recv_json(ws)
        assert snap["type"] == "snapshot" and snap["symbol"] == "AAPL" and snap["ticks"]
        await ws.send(json.dumps({"action": "placeOrder", "id": "c1", "order": MARKET}))
        placed = await answer(ws, "c1")
        assert placed["type"] == "order", placed
        order = placed["order"]
        assert order["contract"]["conId"] == 265598 and order["action"] == "BUY"
        order_id = order["orderId"]
        seen: set[str] = set()
        statuses: list[str] = []
        while not ({"execution", "commission"} <= seen and "Filled" in statuses):
            msg = await recv_json(events)
            assert msg["type"] == "orders", msg
            for event in msg["events"]:
                if event["orderId"] == order_id:
                    seen.add(event["event"])
                    if event["event"] == "status":
                        statuses.append(event["status"])
        # a cancel of an order that is done: TWS's code, as REST answers it
        await ws.send(json.dumps({"action": "cancelOrder", "id": "c2", "orderId": order_id}))
        refused = await answer(ws, "c2")
        assert refused["type"] == "error" and refused["code"] == 161, refused
        assert refused["status"] == 409 and refused["action"] == "cancelOrder"


async def test_guardrail_and_read_key_refuse(url: str) -> None:
    before = await order_count(url)
    async with connect(url, "/ws/quotes", "trade") as ws:
        await ws.send(json.dumps({"action": "placeOrder", "id": "g1",
                                  "order": {**MARKET, "symbol": "IBM"}}))
        msg = await answer(ws, "g1")
        assert msg["type"] == "error" and msg["status"] == 403, msg
        assert msg["rule"] == "symbol_denylist" and "IBM" in msg["message"]
        assert msg["problem"] == "urn:twsbridge:problem:guardrail"
        await ws.send(json.dumps({"action": "placeOrder", "id": "g2",
                                  "order": {**MARKET, "totalQuantity": 0}}))
        invalid = await answer(ws, "g2")
        assert invalid["type"] == "error" and invalid["status"] == 422, invalid
        await ws.send(json.dumps({"action": "previewOrder", "id": "g3", "order": MARKET}))
        preview = await answer(ws, "g3")
        assert preview["type"] == "preview" and preview["preview"], preview
    async with connect(url, "/ws/quotes", "read") as ws:
        for action in ("placeOrder", "previewOrder"):
            await ws.send(json.dumps({"action": action, "id": "r1", "order": MARKET}))
            msg = await answer(ws, "r1")
            assert msg["type"] == "error" and msg["status"] == 403, msg
            assert "trade" in msg["message"] and "rule" not in msg
        await ws.send(json.dumps({"action": "cancelOrder", "id": "r2", "orderId": 1}))
        assert (await answer(ws, "r2"))["status"] == 403
    assert await order_count(url) == before


def _values(updates: list[dict[str, Any]]) -> dict[str, str]:
    return {u["tag"]: u["value"] for u in updates if u["kind"] == "value"}


async def test_ws_and_sse_account(url: str) -> None:
    async with connect(url, "/ws/account", "read") as ws:
        snap = await recv_json(ws)
        assert snap["type"] == "snapshot", snap
        values = _values(snap["updates"])
        assert "NetLiquidation" in values and float(values["NetLiquidation"]) > 0
        assert all(u["account"] for u in snap["updates"])
    async with httpx.AsyncClient(base_url=url, headers=auth(url, "read"), timeout=20) as http:
        async with http.stream("GET", "/sse/account") as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            text = ""
            async for chunk in r.aiter_text():
                text += chunk
                if "\n\n" in text:
                    break
    event, data = text.split("\n")[:2]
    assert event == "event: snapshot"
    assert "NetLiquidation" in _values(json.loads(data.removeprefix("data: "))["updates"])
