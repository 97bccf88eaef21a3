"""GraphQL cost limits (issue 9, item 7): the real service on the embedded simulator.

Two services: one with the default limits (the issue's attacks: variables nested
1,000 deep, 1,000 aliases, 100,000 tokens, a fragment bomb), one with small limits
to check each limit at its value (works) and one past it (a 400 GraphQL error
naming the setting), over HTTP POST, GET and the ``graphql-transport-ws`` WebSocket.
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
from graphql import get_introspection_query
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, nodes, queries
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from twsbridge.service.graphql import schema

from .streaming_support import next_message
from .support import KEYS, running_service, sim_settings

pytestmark = pytest.mark.timeout(90)

PROTOCOL = "graphql-transport-ws"
SMALL = {"graphql_max_depth": 2, "graphql_max_aliases": 5, "graphql_max_tokens": 200,
         "graphql_max_query_length": 5000, "graphql_max_nesting": 8,
         "graphql_max_json_values": 50, "graphql_max_fields": 100,
         "graphql_max_tws_fields": 3, "graphql_tws_concurrency": 1}


@dataclass(frozen=True)
class Svc:
    url: str
    key: str

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"


@pytest.fixture(scope="module")
def default_svc() -> Iterator[Svc]:
    with running_service(sim_settings()) as url:
        yield Svc(url, KEYS[url].read)


@pytest.fixture(scope="module")
def small_svc() -> Iterator[Svc]:
    with running_service(sim_settings(**SMALL)) as url:
        yield Svc(url, KEYS[url].read)


@pytest_asyncio.fixture
async def default(default_svc: Svc) -> AsyncIterator[tuple[httpx.AsyncClient, Svc]]:
    async with httpx.AsyncClient(base_url=default_svc.url, timeout=30.0,
                                 headers={"Authorization": f"Bearer {default_svc.key}"}) as c:
        yield c, default_svc


@pytest_asyncio.fixture
async def small(small_svc: Svc) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=small_svc.url, timeout=30.0,
                                 headers={"Authorization": f"Bearer {small_svc.key}"}) as c:
        yield c


def nested(depth: int) -> str:
    """A JSON array nested ``depth`` levels deep, as text (json.dumps would recurse)."""
    return "[" * depth + "1" + "]" * depth


def raw_body(query: str, variables_json: str = "{}") -> bytes:
    return ('{"query": ' + json.dumps(query) + ', "variables": ' + variables_json + "}").encode()


async def post(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None,
               ) -> httpx.Response:
    return await client.post("/graphql", json={"query": query, "variables": variables or {}})


def refused(response: httpx.Response, limit: str) -> dict[str, Any]:
    """The error of a request refused by ``limit``: status 400, a GraphQL error naming it."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers.get("x-request-id")
    errors = response.json()["errors"]
    error: dict[str, Any] = errors[0]
    assert error["extensions"]["limit"] == limit, error
    assert error["extensions"]["status"] == 400
    assert limit in error["message"]
    return error


def data_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body
    data: dict[str, Any] = body["data"]
    return data


def aliases(count: int, field: str = "__typename") -> str:
    return "{ " + " ".join(f"a{i}: {field}" for i in range(count)) + " }"


def quotes(count: int) -> str:
    return aliases(count, 'quote(symbol: "AAPL") { conId bid }')


def fragment_bomb(levels: int, width: int = 2) -> str:
    """Each fragment spreads the next ``width`` times: ``width**levels`` fields once
    expanded, in a document of ~10 tokens a level."""
    chain = " ".join(f"fragment F{i} on Query {{ " + f"...F{i + 1} " * width + "}"
                     for i in range(levels))
    return f"{{ ...F0 }} {chain} fragment F{levels} on Query {{ __typename }}"


# ------------------------------------------------------------- the issue's attacks, defaults

@pytest.mark.parametrize("depth", [1000, 100_000])
async def test_deeply_nested_variables_are_400_with_a_request_id(
        default: tuple[httpx.AsyncClient, Svc], depth: int) -> None:
    client, _ = default
    body = raw_body("query($x: [Int]) { __typename }", '{"x": ' + nested(depth) + "}")
    response = await client.post("/graphql", content=body,
                                 headers={"content-type": "application/json"})
    error = refused(response, "graphql_max_nesting")
    assert "nests" in error["message"]
    assert "close" not in response.headers.get("connection", "")
    assert data_of(await post(client, "{ __typename }")) == {"__typename": "Query"}


async def test_an_unterminated_string_of_escapes_is_a_quick_400(
        default: tuple[httpx.AsyncClient, Svc]) -> None:
    """The nesting is counted without decoding: a string never closed (a quadratic case for
    a scan that retries from each quote) is still one pass, then JSON's own 400."""
    client, _ = default
    body = '{"query": "{ __typename }", "variables": {"x": "' + '\\"' * 300_000
    response = await client.post("/graphql", content=body.encode(),
                                 headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert "JSON" in response.text


async def test_deep_variables_in_a_get_are_400(default: tuple[httpx.AsyncClient, Svc]) -> None:
    client, _ = default
    response = await client.get("/graphql", params={
        "query": "query($x: [Int]) { __typename }", "variables": '{"x": ' + nested(1000) + "}"})
    refused(response, "graphql_max_nesting")


async def test_a_thousand_aliases_of_quote_are_refused(
        default: tuple[httpx.AsyncClient, Svc]) -> None:
    client, _ = default
    refused(await post(client, quotes(1000)), "graphql_max_tokens")
    refused(await post(client, aliases(1000, "bars(symbol: \"AAPL\") { bars { close } }")),
            "graphql_max_tokens")


async def test_a_hundred_thousand_tokens_are_refused(
        default: tuple[httpx.AsyncClient, Svc]) -> None:
    client, _ = default
    response = await post(client, "{" + " a" * 100_000 + " }")  # 200 kB: under a body limit
    refused(response, "graphql_max_query_length")


async def test_a_fragment_bomb_is_refused(default: tuple[httpx.AsyncClient, Svc]) -> None:
    """30 fragments spreading the next twice: 2**30 fields once expanded (Strawberry's depth
    and alias rules would walk every one of them)."""
    client, _ = default
    error = refused(await post(client, fragment_bomb(30)), "graphql_max_fields")
    assert str(2**30) in error["message"]


async def test_an_unknown_fragment_is_a_validation_error(
        default: tuple[httpx.AsyncClient, Svc]) -> None:
    client, _ = default
    response = await post(client, "{ ...Nope }")  # Strawberry's depth rule: KeyError
    assert response.status_code == 200, response.text
    error = response.json()["errors"][0]
    assert error["message"] == "Unknown fragment 'Nope'."
    assert error["locations"] == [{"line": 1, "column": 6}]  # as graphql-core's rule says


async def test_the_introspection_query_works_with_the_defaults(
        default: tuple[httpx.AsyncClient, Svc]) -> None:
    client, _ = default
    schema = data_of(await post(client, get_introspection_query(descriptions=True)))
    assert schema["__schema"]["queryType"]["name"] == "Query"


# ------------------------------------------------------------- each limit at and past its value

async def test_aliases(small: httpx.AsyncClient) -> None:
    assert len(data_of(await post(small, aliases(5)))) == 5
    refused(await post(small, aliases(6)), "graphql_max_aliases")
    refused(await small.get("/graphql", params={"query": aliases(6)}), "graphql_max_aliases")


async def test_depth(small: httpx.AsyncClient) -> None:
    data_of(await post(small, '{ orders(status: "all") { executions { execId } } }'))
    refused(await post(small, '{ orders(status: "all") { executions { commission '
                              "{ commission } } } }"), "graphql_max_depth")


async def test_tokens(small: httpx.AsyncClient) -> None:
    fields = "__typename @include(if: true) " * 24  # 8 tokens each: 2 + 192
    data_of(await post(small, "{ " + fields + "__typename " * 6 + "}"))  # 200 tokens
    refused(await post(small, "{ " + fields + "__typename " * 7 + "}"), "graphql_max_tokens")


async def test_query_length(small: httpx.AsyncClient) -> None:
    query = "{ __typename }"
    data_of(await post(small, query + " " * (5000 - len(query))))
    refused(await post(small, query + " " * (5001 - len(query))), "graphql_max_query_length")
    named = "query Named { __typename }" + " " * 5000  # refused before the operation is found
    response = await small.post("/graphql", json={"query": named, "operationName": "Named"})
    refused(response, "graphql_max_query_length")


async def test_query_nesting(small: httpx.AsyncClient) -> None:
    deep = "{ __typename " + "a { " * 8 + "b" + " }" * 8 + " }"  # 9 braces deep
    error = refused(await post(small, deep), "graphql_max_nesting")
    assert "query" in error["message"]


async def test_fragment_nesting(small: httpx.AsyncClient) -> None:
    """A chain of fragments nests as deep as it is long, though each is one brace deep."""
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(8))
    response = await post(small, f"{{ ...F0 }} {chain} fragment F8 on Query {{ __typename }}")
    error = refused(response, "graphql_max_nesting")
    assert "fragments" in error["message"]


async def test_variables_nesting(small: httpx.AsyncClient) -> None:
    """The body nests 2 + the variable's depth (body, variables, then the value)."""
    query = "{ __typename }"
    for depth, status in ((6, 200), (7, 400)):
        body = raw_body(query, '{"pad": ' + nested(depth) + "}")
        response = await small.post("/graphql", content=body,
                                    headers={"content-type": "application/json"})
        if status == 200:
            data_of(response)
        else:
            refused(response, "graphql_max_nesting")


async def test_variables_size(small: httpx.AsyncClient) -> None:
    """Values: the body, its query, its variables, the list, then the list's items."""
    data_of(await post(small, "{ __typename }", {"pad": [0] * 46}))
    refused(await post(small, "{ __typename }", {"pad": [0] * 47}), "graphql_max_json_values")


async def test_fields(small: httpx.AsyncClient) -> None:
    data_of(await post(small, "{ " + "__typename " * 100 + "}"))
    refused(await post(small, "{ " + "__typename " * 101 + "}"), "graphql_max_fields")


async def test_tws_fields(small: httpx.AsyncClient) -> None:
    data = data_of(await post(small, quotes(3)))
    assert [q["conId"] for q in data.values()] == [265598] * 3
    refused(await post(small, quotes(4)), "graphql_max_tws_fields")


async def test_tws_fields_count_fragments_where_used(small: httpx.AsyncClient) -> None:
    query = ("{ a: account { ...S } b: account { ...S } } "
             "fragment S on Account { s: summary(tags: \"NetLiquidation\") { tag } "
             "v: values { key } }")
    refused(await post(small, query), "graphql_max_tws_fields")
    data = data_of(await post(small, "{ a: account { ...S } } fragment S on Account "
                                     "{ s: summary(tags: \"NetLiquidation\") { tag } }"))
    assert data["a"]["s"]


# ------------------------------------------------------------- the WebSocket face

async def ws_ready(svc: Svc) -> ClientConnection:
    ws = await connect(svc.ws, subprotocols=[PROTOCOL])  # type: ignore[list-item]
    await ws.send(json.dumps({"type": "connection_init",
                              "payload": {"Authorization": f"Bearer {svc.key}"}}))
    ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert ack["type"] == "connection_ack", ack
    return ws


async def subscribe(ws: ClientConnection, op: str, query: str) -> dict[str, Any]:
    await ws.send(json.dumps({"id": op, "type": "subscribe", "payload": {"query": query}}))
    return await next_message(ws, op)


def ws_refused(message: dict[str, Any], limit: str) -> None:
    assert message["type"] == "error", message
    assert message["payload"][0]["extensions"]["limit"] == limit, message


async def test_ws_refuses_queries_and_subscriptions_over_a_limit(small_svc: Svc) -> None:
    ws = await ws_ready(small_svc)
    try:
        ws_refused(await subscribe(ws, "q1", aliases(6)), "graphql_max_aliases")
        ws_refused(await subscribe(ws, "q2", quotes(4)), "graphql_max_tws_fields")
        ws_refused(await subscribe(ws, "q3", fragment_bomb(5, 3)), "graphql_max_fields")
        ws_refused(await subscribe(ws, "q4", "{ " + " a" * 300 + " }"), "graphql_max_tokens")
        ticks = ('subscription { ticks(symbol: "AAPL") { '
                 + " ".join(f"t{i}: type" for i in range(6)) + " } }")
        ws_refused(await subscribe(ws, "s1", ticks), "graphql_max_aliases")
        # the socket stays open and serves what is within the limits
        ok = await subscribe(ws, "q5", aliases(5))
        assert ok["type"] == "next" and len(ok["payload"]["data"]) == 5
        assert (await next_message(ws, "q5"))["type"] == "complete"
    finally:
        await ws.close()


async def test_ws_message_nested_too_deep_closes_4400_naming_the_limit(
        default_svc: Svc) -> None:
    ws = await ws_ready(default_svc)
    message = ('{"id": "d", "type": "subscribe", "payload": {"query": "{ __typename }", '
               '"variables": {"x": ' + nested(100_000) + "}}}")
    await ws.send(message)
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 10)
    assert ws.close_code == 4400
    assert "graphql_max_nesting" in (ws.close_reason or "")


# ------------------------------------------------------------- generated queries: never a 500

@pytest.mark.parametrize("mode", [Mode.POSITIVE, Mode.NEGATIVE])
def test_generated_queries_never_answer_500(small_svc: Svc, mode: Mode) -> None:
    """Queries hypothesis-graphql generates from the schema (valid ones, then invalid ones)
    answer 200 or a 4xx, within the small limits or refused by one."""
    headers = {"Authorization": f"Bearer {small_svc.key}"}
    sdl = str(schema)
    scalars = {"Size": st.integers(0, 10**6).map(nodes.Int)}
    with httpx.Client(base_url=small_svc.url, timeout=60.0, headers=headers) as client:

        @settings(max_examples=40, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(query=queries(sdl, custom_scalars=scalars, mode=mode))
        def check(query: str) -> None:
            response = client.post("/graphql", json={"query": query})
            assert response.status_code < 500, (query, response.text)

        check()


async def test_mutations_count_as_tws_fields(small_svc: Svc) -> None:
    """Each order mutation sends TWS a request: a batch of them is bounded like queries."""
    order = ('{symbol: "AAPL", action: "BUY", totalQuantity: 1, orderType: "LMT", '
             'lmtPrice: 100.0}')

    def previews(n: int) -> str:
        return "mutation { " + " ".join(
            f"p{i}: previewOrder(input: {order}) {{ status }}" for i in range(n)) + " }"

    async with httpx.AsyncClient(base_url=small_svc.url, timeout=30.0, headers={
            "Authorization": f"Bearer {KEYS[small_svc.url].trade}"}) as trade:
        assert len(data_of(await post(trade, previews(3)))) == 3
        refused(await post(trade, previews(4)), "graphql_max_tws_fields")
