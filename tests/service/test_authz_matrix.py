"""The authorization matrix: EVERY route of the application x {no key, read, trade, admin}.

The routes are read from ``app.routes`` (so a route added without a row in
:data:`ROUTES` fails :func:`test_every_route_has_a_row`), and each row is
probed over the real service: plain HTTP, Server-Sent Events and WebSockets.
Expected: no key -> 401 (WebSocket: close 4401); a key without the scope -> 403
(4403); enough scope -> anything but 401/403. Allowed probes send requests that
change nothing (an order body that fails validation, an unknown order or key id).

Faces that authenticate themselves (GraphQL, MCP) have one row per route here
and one row per operation in the EXTENSION POINT tables at the end, which the
completeness tests hold against the live schema / tool list.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import httpx2
import pytest
import pytest_asyncio
from fastapi import FastAPI
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.routing import Mount, Route, WebSocketRoute
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from twsbridge.service import create_app

from .support import KEYS, ServiceKeys, running_service, sim_settings

pytestmark = pytest.mark.timeout(120)

Kind = Literal["http", "sse", "ws", "graphql-ws"]
CALLERS = ("none", "read", "trade", "admin")
_RANK = {"none": -1, "read": 0, "trade": 1, "admin": 2}


@dataclass(frozen=True)
class Probe:
    """How to call one route: the scope it needs (``None``: public) and a harmless call."""

    needs: str | None
    url: str
    body: Any = None
    kind: Kind = "http"


_NO_ORDER = "/orders/999999"  # allowed: 404 (unknown order), nothing changes

ROUTES: dict[tuple[str, str], Probe] = {
    # public: health and the API documentation
    ("GET", "/health"): Probe(None, "/health"),
    ("GET", "/openapi.json"): Probe(None, "/openapi.json"),
    ("GET", "/docs"): Probe(None, "/docs"),
    ("GET", "/docs/oauth2-redirect"): Probe(None, "/docs/oauth2-redirect"),
    ("GET", "/redoc"): Probe(None, "/redoc"),
    ("MOUNT", "/docs/assets"): Probe(None, "/docs/assets/swagger-ui.css"),  # GET
    # read: look-ups, account, journal, streams
    ("GET", "/health/details"): Probe("read", "/health/details"),
    ("GET", "/contracts"): Probe("read", "/contracts?symbol=AAPL"),
    ("GET", "/contracts/search"): Probe("read", "/contracts/search?pattern=AAP"),
    ("GET", "/contracts/{conId}"): Probe("read", "/contracts/265598"),
    ("GET", "/quotes/{conId}"): Probe("read", "/quotes/265598"),
    ("GET", "/quotes"): Probe("read", "/quotes?symbol=AAPL"),
    ("GET", "/bars"): Probe("read", "/bars?symbol=AAPL&durationStr=2%20D&barSizeSetting=1%20day"),
    ("GET", "/head-timestamp"): Probe("read", "/head-timestamp?symbol=AAPL"),
    ("GET", "/ticks/historical"): Probe("read", "/ticks/historical?symbol=AAPL&count=5&end="
                                                "20130301%2009:45:00%20US/Eastern"),
    ("GET", "/market/histogram"): Probe("read", "/market/histogram?symbol=AAPL"),
    ("GET", "/market/rules/{marketRuleId}"): Probe("read", "/market/rules/26"),
    ("GET", "/market/smart-components/{bboExchange}"): Probe(
        "read", "/market/smart-components/9c0001"),
    ("GET", "/market/depth"): Probe("read", "/market/depth?symbol=AAPL&rows=2"),
    ("GET", "/market/depth/exchanges"): Probe("read", "/market/depth/exchanges"),
    ("GET", "/sse/depth"): Probe("read", "/sse/depth?conId=265598", kind="sse"),
    ("WS", "/ws/depth"): Probe("read", "/ws/depth?conId=265598", kind="ws"),
    ("GET", "/orders"): Probe("read", "/orders?status=all&limit=5"),
    ("GET", "/orders/{orderId}"): Probe("read", _NO_ORDER),
    ("GET", "/executions"): Probe("read", "/executions?limit=5"),
    ("GET", "/positions"): Probe("read", "/positions"),
    ("GET", "/account/summary"): Probe("read", "/account/summary"),
    ("GET", "/account/values"): Probe("read", "/account/values"),
    ("GET", "/pnl"): Probe("read", "/pnl"),
    ("GET", "/streams"): Probe("read", "/streams"),
    ("GET", "/sse/quotes"): Probe("read", "/sse/quotes?conId=265598", kind="sse"),
    ("WS", "/ws/quotes"): Probe("read", "/ws/quotes?conId=265598", kind="ws"),
    ("GET", "/sse/ticks"): Probe("read", "/sse/ticks?conId=265598&tickType=MidPoint", kind="sse"),
    ("WS", "/ws/ticks"): Probe("read", "/ws/ticks?conId=265598&tickType=MidPoint", kind="ws"),
    ("WS", "/ws/bars"): Probe("read", "/ws/bars?conId=265598&useRTH=false", kind="ws"),
    ("WS", "/ws/realtime-bars"): Probe("read", "/ws/realtime-bars?conId=265598&useRTH=false",
                                       kind="ws"),
    ("WS", "/ws/orders"): Probe("read", "/ws/orders", kind="ws"),
    ("WS", "/ws/account"): Probe("read", "/ws/account", kind="ws"),
    ("GET", "/sse/orders"): Probe("read", "/sse/orders", kind="sse"),
    ("GET", "/sse/account"): Probe("read", "/sse/account", kind="sse"),
    # trade: bodies that fail validation once allowed, so nothing is placed
    ("POST", "/orders"): Probe("trade", "/orders", body={}),
    ("POST", "/orders/preview"): Probe("trade", "/orders/preview", body={}),
    ("PUT", "/orders/{orderId}"): Probe("trade", _NO_ORDER, body={}),
    ("DELETE", "/orders/{orderId}"): Probe("trade", _NO_ORDER),
    # admin: key management, metrics (unless TWSBRIDGE_METRICS_PUBLIC=true)
    ("GET", "/keys"): Probe("admin", "/keys"),
    ("POST", "/keys"): Probe("admin", "/keys", body={}),
    ("DELETE", "/keys/{keyId}"): Probe("admin", "/keys/000000000000"),
    ("GET", "/metrics"): Probe("admin", "/metrics"),
    # faces that authenticate themselves; their operations: the EXTENSION POINT tables
    ("GET", "/graphql"): Probe(None, "/graphql"),  # the GraphiQL page; queries need a key
    ("POST", "/graphql"): Probe("read", "/graphql", body={"query": "{ __typename }"}),
    ("WS", "/graphql"): Probe("read", "/graphql", kind="graphql-ws"),
    ("*", "/mcp"): Probe("read", "/mcp", body={}),  # any key (tools: MCP_TOOLS)
}
"""(method, path template) -> probe; ``WS``: WebSocket, ``*``: every method."""


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the application serves (HEAD aside), included routers too."""
    found: set[tuple[str, str]] = set()

    def add(route: Any, path: str | None = None) -> None:
        path = path or getattr(route, "path", "")
        if isinstance(route, WebSocketRoute) or type(route).__name__ == "APIWebSocketRoute":
            found.add(("WS", path))
        elif isinstance(route, Mount):
            found.add(("MOUNT", path))
        elif isinstance(route, Route) or getattr(route, "methods", None) is not None:
            methods = getattr(route, "methods", None)
            if not methods:
                found.add(("*", path))
            for method in methods or ():
                if method != "HEAD":
                    found.add((method, path))
        else:
            raise AssertionError(f"unknown kind of route {route!r}: teach app_routes it")

    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is None:
            add(route)
            continue
        for context in contexts():  # FastAPI >= 0.16x: included routers stay lazy
            original = context.original_route
            add(original, context.path or getattr(context.starlette_route, "path", None))
    return found


def test_every_route_has_a_row() -> None:
    served = app_routes(create_app(sim_settings()))
    assert served - set(ROUTES) == set(), "routes without a row in ROUTES (add them)"
    assert set(ROUTES) - served == set(), "rows of ROUTES the application does not serve"


@dataclass(frozen=True)
class Svc:
    url: str
    keys: ServiceKeys

    def key(self, caller: str) -> str | None:
        return None if caller == "none" else str(getattr(self.keys, caller))

    def headers(self, caller: str) -> dict[str, str]:
        key = self.key(caller)
        return {} if key is None else {"X-API-Key": key}


@pytest.fixture(scope="module")
def svc() -> Iterator[Svc]:
    with running_service(sim_settings()) as url:
        yield Svc(url, KEYS[url])


@pytest_asyncio.fixture
async def http(svc: Svc) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=svc.url, timeout=30.0) as client:
        yield client


def _expected(probe: Probe, caller: str) -> int | None:
    """401 / 403 when refused, ``None`` when allowed."""
    if probe.needs is None or _RANK[caller] >= _RANK[probe.needs]:
        return None
    return 401 if caller == "none" else 403


def _check_http(response: httpx.Response, expected: int | None, what: str) -> None:
    if expected is None:
        assert response.status_code not in (401, 403), f"{what}: {response.text[:300]}"
        return
    assert response.status_code == expected, f"{what}: {response.text[:300]}"
    assert response.headers["content-type"].startswith("application/problem+json"), what
    if expected == 401:
        assert response.headers["www-authenticate"].startswith("Bearer"), what


async def _probe_http(http: httpx.AsyncClient, svc: Svc, method: str, probe: Probe,
                      caller: str) -> None:
    method = {"*": "POST", "MOUNT": "GET"}.get(method, method)
    if probe.kind == "sse":
        async with http.stream(method, probe.url, headers=svc.headers(caller)) as r:
            if r.status_code == 200:
                async for chunk in r.aiter_text():  # the stream really started
                    assert "event:" in chunk or chunk.startswith(":")
                    break
            await r.aclose()
        _check_http(r, _expected(probe, caller), f"{method} {probe.url} as {caller}")
        return
    r = await http.request(method, probe.url, headers=svc.headers(caller),
                           **({} if probe.body is None else {"json": probe.body}))
    _check_http(r, _expected(probe, caller), f"{method} {probe.url} as {caller}")


async def _probe_ws(svc: Svc, probe: Probe, caller: str) -> None:
    expected = _expected(probe, caller)
    url = svc.url.replace("http://", "ws://") + probe.url
    graphql = probe.kind == "graphql-ws"
    protocols: Any = ["graphql-transport-ws"] if graphql else None
    headers = {} if graphql else svc.headers(caller)
    try:
        async with connect(url, additional_headers=headers, subprotocols=protocols,
                           open_timeout=10) as ws:
            if graphql:
                payload = {} if caller == "none" else {"X-API-Key": svc.key(caller)}
                await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), 3))
            except TimeoutError:  # open and not closed with 44xx: let in (the first
                message = {"type": "open"}  # live bars of a repeated request wait for pacing)
    except ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd else None
        assert expected is not None, f"WS {probe.url} as {caller}: closed {code}"
        assert code == {401: 4401, 403: 4403}[expected], f"WS {probe.url} as {caller}: {code}"
        return
    assert expected is None, f"WS {probe.url} as {caller}: served {message}"
    assert message.get("type") in ("snapshot", "connection_ack", "open"), message


@pytest.mark.parametrize("caller", CALLERS)
async def test_matrix(http: httpx.AsyncClient, svc: Svc, caller: str) -> None:
    for (method, _path), probe in ROUTES.items():
        if probe.kind in ("ws", "graphql-ws"):
            await _probe_ws(svc, probe, caller)
        else:
            await _probe_http(http, svc, method, probe, caller)


async def test_key_forms_and_where_they_count(http: httpx.AsyncClient, svc: Svc) -> None:
    read = svc.keys.read
    assert (await http.get("/positions", headers={"Authorization": f"Bearer {read}"})
            ).status_code == 200
    assert (await http.get("/positions", headers={"authorization": f"bearer {read}"})
            ).status_code == 200
    # the query parameter is for WebSocket / SSE only (browsers cannot set their headers)
    assert (await http.get("/positions", params={"api_key": read})).status_code == 401
    async with http.stream("GET", "/sse/quotes", params={"conId": 265598, "api_key": read}) as r:
        assert r.status_code == 200
    async with connect(svc.url.replace("http", "ws") + f"/ws/quotes?conId=265598&api_key={read}"
                       ) as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "snapshot"
    for bad in ("twsb_000000000000_" + "x" * 43, "nonsense", read + "x", read[:-1]):
        r = await http.get("/positions", headers={"X-API-Key": bad})
        assert r.status_code == 401, bad
        assert r.json()["type"] == "urn:twsbridge:problem:unauthorized"


async def test_revoked_key_is_refused_at_once_on_every_face(http: httpx.AsyncClient,
                                                            svc: Svc) -> None:
    admin = {"X-API-Key": svc.keys.admin}
    made = (await http.post("/keys", json={"name": "short-lived", "scope": "read"},
                            headers=admin)).json()
    key = {"X-API-Key": made["key"]}
    assert (await http.get("/positions", headers=key)).status_code == 200
    listed = {k["id"]: k for k in (await http.get("/keys", headers=admin)).json()}
    assert listed[made["id"]]["last_used_at"] is not None and "key" not in listed[made["id"]]
    assert (await http.delete(f"/keys/{made['id']}", headers=admin)).json()["active"] is False
    assert (await http.get("/positions", headers=key)).status_code == 401
    assert (await http.post("/graphql", json={"query": "{ __typename }"}, headers=key)
            ).status_code == 401
    assert (await http.post("/mcp", json={}, headers=key)).status_code == 401
    with pytest.raises(ConnectionClosed) as closed:
        async with connect(svc.url.replace("http", "ws") + "/ws/quotes?conId=265598",
                           additional_headers=key) as ws:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


# =============================================================== EXTENSION POINT
# Faces that authenticate themselves list every operation here with the scope it
# needs; the completeness tests below compare these tables with the live schema /
# tool list, so a new operation cannot be forgotten. Each face's own test module
# exercises the rows over its protocol (tests/service/test_graphql.py
# ``test_authorization_matrix``, tests/service/test_mcp.py ``test_authorization_matrix``).

GRAPHQL_OPERATIONS: dict[str, str] = {
    # engineer B (GraphQL): root field -> scope
    "contract": "read", "contracts": "read", "searchContracts": "read", "quote": "read",
    "bars": "read", "orders": "read", "order": "read", "executions": "read",
    "positions": "read", "account": "read", "pnl": "read",
    "historicalTicks": "read", "histogram": "read", "marketRule": "read",
    "smartComponents": "read",
    "previewOrder": "trade", "placeOrder": "trade", "modifyOrder": "trade",
    "cancelOrder": "trade",
    "ticks": "read", "orderEvents": "read",
    "marketDepth": "read", "marketDepthExchanges": "read",  # query and subscription
    "tickByTick": "read",
}

MCP_TOOLS: dict[str, str] = {
    # engineer C (MCP): tool name -> scope
    "search_contracts": "read", "get_contract": "read", "get_quote": "read",
    "get_bars": "read", "get_positions": "read", "get_orders": "read", "get_account": "read",
    "historical_ticks": "read", "market_rule": "read",
    "market_depth": "read",
    "preview_order": "trade", "place_order": "trade", "cancel_order": "trade",
}

MCP_RESOURCES: dict[str, str] = {
    # MCP resource templates (read, resources/subscribe) -> scope
    "quote://{symbol}": "read", "orders://{view}": "read",
}

_SCHEMA = ("{ __schema { queryType { fields { name } } mutationType { fields { name } } "
           "subscriptionType { fields { name } } } }")


async def test_every_graphql_operation_has_a_row(http: httpx.AsyncClient, svc: Svc) -> None:
    r = await http.post("/graphql", json={"query": _SCHEMA}, headers=svc.headers("read"))
    schema = r.json()["data"]["__schema"]
    fields = {f["name"] for kind in schema.values() if kind for f in kind["fields"]}
    assert fields == set(GRAPHQL_OPERATIONS)
    assert set(GRAPHQL_OPERATIONS.values()) <= {"read", "trade", "admin"}


async def test_every_mcp_tool_has_a_row(svc: Svc) -> None:
    async with httpx2.AsyncClient(headers=svc.headers("read"), timeout=30.0) as client:
        async with Client(streamable_http_client(f"{svc.url}/mcp", http_client=client)) as mcp:
            tools = {t.name for t in (await mcp.list_tools()).tools}
            templates = {t.uri_template for t in
                         (await mcp.list_resource_templates()).resource_templates}
    assert tools == set(MCP_TOOLS)
    assert templates == set(MCP_RESOURCES)
    assert set(MCP_RESOURCES.values()) <= {"read", "trade", "admin"}
    assert set(MCP_TOOLS.values()) <= {"read", "trade", "admin"}
