"""GraphQL at /graphql: the real service on the embedded simulator, real clients.

HTTP with httpx (POST), subscriptions over ``graphql-transport-ws`` with the
``websockets`` client; the service's read / trade / admin keys come from
:mod:`.support`; the guardrails deny IBM.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from twsbridge.service.order_schemas import OrderCreate

from .streaming_support import next_message
from .support import KEYS, running_service, sim_settings
from .test_authz_matrix import GRAPHQL_OPERATIONS

pytestmark = pytest.mark.timeout(60)

AAPL = 265598
PROTOCOL = "graphql-transport-ws"
QUOTE = "{ quote(symbol: \"AAPL\") { conId symbol bid ask last bidSize } }"
PLACE = """mutation($input: OrderInput!) {
  placeOrder(input: $input) { orderId status action totalQuantity lmtPrice
                              contract { conId symbol } }
}"""
CANCEL = "mutation($id: Int!) { cancelOrder(orderId: $id) { orderId status } }"
WORKING_BUY = {"symbol": "AAPL", "action": "buy", "totalQuantity": 1, "orderType": "LMT",
               "lmtPrice": 1.0}


@dataclass(frozen=True)
class Svc:
    url: str
    keys: dict[str, str]

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"


@pytest.fixture(scope="module")
def svc() -> Iterator[Svc]:
    settings = sim_settings(symbol_denylist=["IBM"])
    with running_service(settings) as url:
        keys = KEYS[url]
        yield Svc(url, {"read": keys.read, "trade": keys.trade, "admin": keys.admin})


@pytest_asyncio.fixture
async def http(svc: Svc) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=svc.url, timeout=30.0) as client:
        yield client


async def gql(http: httpx.AsyncClient, key: str | None, query: str,
              variables: dict[str, Any] | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return await http.post("/graphql", json={"query": query, "variables": variables or {}},
                           headers=headers)


async def ok(http: httpx.AsyncClient, key: str, query: str,
             variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await gql(http, key, query, variables)
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body
    data: dict[str, Any] = body["data"]
    return data


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    errors = response.json()["errors"]
    assert errors, response.text
    first: dict[str, Any] = errors[0]
    return first


async def test_quote_query(http: httpx.AsyncClient, svc: Svc) -> None:
    quote = (await ok(http, svc.keys["read"], QUOTE))["quote"]
    assert quote["conId"] == AAPL and quote["symbol"] == "AAPL"
    assert quote["bid"] is not None and quote["ask"] is not None
    assert quote["bid"] <= quote["ask"]
    assert isinstance(quote["bidSize"], int | float | None)  # a Size is a JSON number


async def test_unknown_contract_is_an_error_with_tws_code(http: httpx.AsyncClient,
                                                          svc: Svc) -> None:
    error = error_of(await gql(http, svc.keys["read"],
                               "{ contract(conId: 999999991) { longName } }"))
    assert error["extensions"]["code"] == 200
    assert error["extensions"]["status"] == 404


async def test_no_key_is_401(http: httpx.AsyncClient, svc: Svc) -> None:
    response = await gql(http, None, QUOTE)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (await gql(http, "twsb_000000000000_" + "x" * 43, QUOTE)).status_code == 401


async def test_schema_introspection(http: httpx.AsyncClient, svc: Svc) -> None:
    query = """{ __schema { queryType { name } mutationType { name }
                            subscriptionType { fields { name } } types { name } } }"""
    schema = (await ok(http, svc.keys["read"], query))["__schema"]
    names = {t["name"] for t in schema["types"]}
    assert {"Quote", "Order", "OrderInput", "OrderUpdateInput", "Size", "Ticks",
            "OrderEvent", "ContractDetails", "Account"} <= names
    assert schema["mutationType"]["name"] == "Mutation"
    assert {f["name"] for f in schema["subscriptionType"]["fields"]} == {
        "ticks", "orderEvents", "marketDepth", "tickByTick"}
    fields = await ok(http, svc.keys["read"],
                      '{ __type(name: "OrderInput") { inputFields { name } } }')
    # derived from OrderCreate: the REST request model's fields, all of them
    assert {f["name"] for f in fields["__type"]["inputFields"]} == set(OrderCreate.model_fields)


async def test_place_order_needs_trade_scope(http: httpx.AsyncClient, svc: Svc) -> None:
    refused = error_of(await gql(http, svc.keys["read"], PLACE, {"input": WORKING_BUY}))
    assert refused["extensions"]["status"] == 403
    assert refused["path"] == ["placeOrder"]
    placed = (await ok(http, svc.keys["trade"], PLACE, {"input": WORKING_BUY}))["placeOrder"]
    assert placed["status"] in ("Submitted", "PreSubmitted")
    assert placed["action"] == "BUY" and placed["totalQuantity"] == 1
    assert placed["contract"] == {"conId": AAPL, "symbol": "AAPL"}
    # the same order over REST (one journal, one set of models)
    rest = await http.get(f"/orders/{placed['orderId']}",
                          headers={"Authorization": f"Bearer {svc.keys['read']}"})
    assert rest.status_code == 200 and rest.json()["lmtPrice"] == 1.0
    cancelled = (await ok(http, svc.keys["trade"], CANCEL, {"id": placed["orderId"]}))
    assert cancelled["cancelOrder"]["status"] == "Cancelled"
    again = error_of(await gql(http, svc.keys["trade"], CANCEL, {"id": placed["orderId"]}))
    assert again["extensions"]["code"] == 161 and again["extensions"]["status"] == 409


async def test_guardrail_refusal(http: httpx.AsyncClient, svc: Svc) -> None:
    order = {**WORKING_BUY, "symbol": "IBM"}
    error = error_of(await gql(http, svc.keys["trade"], PLACE, {"input": order}))
    assert error["extensions"]["rule"] == "symbol_denylist"
    assert error["extensions"]["status"] == 403
    assert "IBM" in error["message"]


async def test_invalid_input_is_422(http: httpx.AsyncClient, svc: Svc) -> None:
    order = {**WORKING_BUY, "lmtPrice": None}
    error = error_of(await gql(http, svc.keys["trade"], PLACE, {"input": order}))
    assert error["extensions"]["status"] == 422
    assert "lmtPrice" in error["message"]


# ------------------------------------------------------------- subscriptions

async def ws_open(svc: Svc, payload: dict[str, Any] | None) -> ClientConnection:
    ws = await connect(svc.ws, subprotocols=[PROTOCOL])  # type: ignore[list-item]
    init: dict[str, Any] = {"type": "connection_init"}
    if payload is not None:
        init["payload"] = payload
    await ws.send(json.dumps(init))
    return ws


async def ws_ready(svc: Svc, key: str) -> ClientConnection:
    ws = await ws_open(svc, {"Authorization": f"Bearer {key}"})
    ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert ack["type"] == "connection_ack", ack
    return ws


async def streams(svc: Svc) -> dict[tuple[Any, ...], int]:
    """The hub's upstreams (topic -> subscribers), from GET /streams."""
    async with httpx.AsyncClient(base_url=svc.url) as http:
        response = await http.get("/streams", headers={"X-API-Key": svc.keys["read"]})
    assert response.status_code == 200, response.text
    return {tuple(u["topic"]): u["subscribers"] for u in response.json()["upstreams"]}


async def test_ticks_subscription(svc: Svc) -> None:
    ws = await ws_ready(svc, svc.keys["read"])
    try:
        query = "subscription($s: String) { ticks(symbol: $s) { type conId symbol tHub " \
                "ticks { name value time } } }"
        for op in ("t1", "t2"):  # two subscriptions of AAPL: one upstream
            await ws.send(json.dumps({"id": op, "type": "subscribe", "payload": {
                "query": query, "variables": {"s": "AAPL"}}}))
        seen: dict[str, list[dict[str, Any]]] = {"t1": [], "t2": []}
        while len(seen["t1"]) < 2 or not seen["t2"]:
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert message["type"] == "next", message
            seen[message["id"]].append(message["payload"]["data"]["ticks"])
        first, second = seen["t1"][:2]
        assert first["type"] == "snapshot" and second["type"] == "ticks"
        assert first["conId"] == AAPL and first["symbol"] == "AAPL"
        assert {t["name"] for t in first["ticks"]} & {"bid", "ask", "last"}
        assert seen["t2"][0]["type"] == "snapshot"
        upstreams = await streams(svc)
        assert upstreams[("quotes", AAPL, "")] == 2  # shared by both subscriptions
        assert sum(1 for topic in upstreams if topic[:2] == ("quotes", AAPL)) == 1
        await ws.send(json.dumps({"id": "t1", "type": "complete"}))
        for _ in range(100):  # completing a subscription leaves the topic at once
            if (await streams(svc)).get(("quotes", AAPL, "")) == 1:
                break
            await asyncio.sleep(0.02)
        assert (await streams(svc))[("quotes", AAPL, "")] == 1
    finally:
        await ws.close()


async def test_ticks_of_unknown_symbol_is_an_error(svc: Svc) -> None:
    ws = await ws_ready(svc, svc.keys["read"])
    try:
        query = "subscription { ticks(symbol: \"NOSUCHSYMBOL\") { type } }"
        await ws.send(json.dumps({"id": "x", "type": "subscribe", "payload": {"query": query}}))
        message = await next_message(ws, "x")
        error = message["payload"]["errors"][0]
        assert error["extensions"]["code"] == 200 and error["extensions"]["status"] == 404
        assert error["path"] == ["ticks"]
        assert (await next_message(ws, "x"))["type"] == "complete"
    finally:
        await ws.close()


async def order_statuses(ws: ClientConnection, op: str, order_id: int) -> list[str]:
    """The statuses of ``order_id`` an orderEvents subscription sends, until Cancelled."""
    statuses: list[str] = []
    while "Cancelled" not in statuses:
        message = await next_message(ws, op)
        assert message["type"] == "next", message
        event = message["payload"]["data"]["orderEvents"]
        if event["orderId"] == order_id and event["event"] == "status":
            statuses.append(event["status"])
    return statuses


async def test_order_events_subscription(http: httpx.AsyncClient, svc: Svc) -> None:
    a = await ws_ready(svc, svc.keys["read"])
    b = await ws_ready(svc, svc.keys["trade"])
    try:
        query = "subscription { orderEvents { event orderId status remaining } }"
        for ws in (a, b):
            await ws.send(json.dumps({"id": "o1", "type": "subscribe",
                                      "payload": {"query": query}}))
        for _ in range(100):  # the subscriptions start (no ack in the protocol)
            if (await streams(svc)).get(("orders",)) == 2:
                break
            await asyncio.sleep(0.05)
        assert (await streams(svc))[("orders",)] == 2  # one upstream for both
        placed = (await ok(http, svc.keys["trade"], PLACE, {"input": WORKING_BUY}))
        order_id = placed["placeOrder"]["orderId"]
        await ok(http, svc.keys["trade"], CANCEL, {"id": order_id})
        for ws in (a, b):
            statuses = await order_statuses(ws, "o1", order_id)
            assert statuses[0] in ("PreSubmitted", "Submitted", "PendingSubmit")
            assert statuses.count("Cancelled") == 1
    finally:
        await a.close()
        await b.close()


@pytest.mark.parametrize("payload", [None, {}, {"Authorization": "Bearer nonsense"}])
async def test_ws_without_valid_key_closes_4401(svc: Svc, payload: dict[str, Any] | None
                                                ) -> None:
    ws = await ws_open(svc, payload)
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_ws_key_as_api_key_member(svc: Svc) -> None:
    ws = await ws_open(svc, {"api_key": svc.keys["admin"]})
    try:
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
    finally:
        await ws.close()


# -------------------------------------------------------- authorization matrix
# Every operation of GRAPHQL_OPERATIONS (the authorization-matrix extension table,
# held against the live schema there) x {no key, read, trade, admin}; allowed calls
# change nothing lasting (an order placed here is cancelled at once).

_ORDER_VARS = {"input": {**WORKING_BUY, "lmtPrice": 2.0}}
OPERATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "contract": ("{ contract(conId: 265598) { contract { symbol } } }", {}),
    "contracts": ("{ contracts(symbol: \"AAPL\") { longName } }", {}),
    "searchContracts": ("{ searchContracts(pattern: \"AAP\") { contract { conId } } }", {}),
    "quote": (QUOTE, {}),
    "bars": ("{ bars(conId: 265598, durationStr: \"2 D\", barSizeSetting: \"1 day\") "
             "{ count } }", {}),
    "orders": ("{ orders(status: \"all\", limit: 5) { orderId } }", {}),
    "order": ("{ order(orderId: 999999) { orderId } }", {}),  # allowed: 404
    "executions": ("{ executions(limit: 5) { execId } }", {}),
    "positions": ("{ positions { account position } }", {}),
    "account": ("{ account { account values { tag } } }", {}),
    "pnl": ("{ pnl { account } }", {}),
    "historicalTicks": ("{ historicalTicks(conId: 265598, count: 5, "
                        "end: \"20130301 09:45:00 US/Eastern\") { count } }", {}),
    "histogram": ("{ histogram(conId: 265598) { count } }", {}),
    "marketRule": ("{ marketRule(marketRuleId: 26) { marketRuleId } }", {}),
    "smartComponents": ("{ smartComponents(bboExchange: \"9c0001\") { bboExchange } }", {}),
    "previewOrder": ("mutation($input: OrderInput!) { previewOrder(input: $input) "
                     "{ status } }", _ORDER_VARS),
    "placeOrder": (PLACE, _ORDER_VARS),
    "modifyOrder": ("mutation { modifyOrder(orderId: 999999, input: {lmtPrice: 1.5}) "
                    "{ orderId } }", {}),  # allowed: 404
    "cancelOrder": ("mutation { cancelOrder(orderId: 999999) { orderId } }", {}),  # 404
    "ticks": ("subscription { ticks(conId: 265598) { type } }", {}),
    "tickByTick": ("subscription { tickByTick(conId: 265598, tickType: \"MidPoint\") "
                   "{ tickType } }", {}),
    "orderEvents": ("subscription { orderEvents { event } }", {}),
    # the query (the marketDepth subscription: tests/service/test_depth_service.py)
    "marketDepth": ("{ marketDepth(conId: 265598, rows: 2) { numRows } }", {}),
    "marketDepthExchanges": ("{ marketDepthExchanges { exchange } }", {}),
}
_NOT_FOUND = {"order", "modifyOrder", "cancelOrder"}
_RANK = {"none": -1, "read": 0, "trade": 1, "admin": 2}


def test_operations_are_the_extension_table() -> None:
    assert set(OPERATIONS) == set(GRAPHQL_OPERATIONS)


async def _probe_subscription(svc: Svc, caller: str, query: str) -> list[dict[str, Any]]:
    """Subscribe as ``caller``; the errors of the first message ([] when data came)."""
    payload = {} if caller == "none" else {"X-API-Key": svc.keys[caller]}
    ws = await ws_open(svc, payload)
    try:
        ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        await ws.send(json.dumps({"id": "m", "type": "subscribe",
                                  "payload": {"query": query}}))
        if "orderEvents" in query:  # no event without an order: allowed = still open
            try:
                message = await next_message_within(ws, 0.5)
            except TimeoutError:
                return []
        else:
            message = await next_message(ws, "m")
        errors: list[dict[str, Any]] = message["payload"].get("errors") or []
        return errors
    finally:
        await ws.close()


async def next_message_within(ws: ClientConnection, seconds: float) -> dict[str, Any]:
    async with asyncio.timeout(seconds):
        return json.loads(await ws.recv())  # type: ignore[no-any-return]


@pytest.mark.parametrize("caller", ["none", "read", "trade", "admin"])
@pytest.mark.parametrize("name", list(OPERATIONS))
async def test_authorization_matrix(http: httpx.AsyncClient, svc: Svc, caller: str,
                                    name: str) -> None:
    query, variables = OPERATIONS[name]
    needs = GRAPHQL_OPERATIONS[name]
    if query.startswith("subscription"):
        if caller == "none":
            with pytest.raises(ConnectionClosed) as closed:
                await _probe_subscription(svc, caller, query)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
            return
        errors = await _probe_subscription(svc, caller, query)
    else:
        response = await gql(http, svc.keys.get(caller), query, variables)
        if caller == "none":
            assert response.status_code == 401
            return
        assert response.status_code == 200, response.text
        errors = response.json().get("errors") or []
    if _RANK[caller] < _RANK[needs]:
        assert errors and errors[0]["extensions"]["status"] == 403, errors
        return
    # allowed: the operation ran (an unknown order is its own 404, not a refusal)
    assert all(e["extensions"]["status"] not in (401, 403) for e in errors), errors
    if name in _NOT_FOUND:
        assert errors[0]["extensions"]["status"] == 404, errors
    else:
        assert not errors, errors
    if name == "placeOrder":
        order_id = response.json()["data"]["placeOrder"]["orderId"]
        await ok(http, svc.keys["trade"], CANCEL, {"id": order_id})
