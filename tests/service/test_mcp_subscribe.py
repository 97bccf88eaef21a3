"""MCP resources and subscriptions: the real service on the simulator, the SDK's client.

``quote://{symbol}`` and ``orders://{view}`` (``orders://recent``) are resource
templates; a session (``mode="legacy"``: the handshake-era ``resources/subscribe``)
subscribes to ``quote://AAPL`` and gets ``notifications/resources/updated`` for it
from the StreamHub's shared upstream, at most twice a second; a 2026-07-28 client
gets them on its ``subscriptions/listen`` stream.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from twsbridge.service.mcp.resources import MIN_INTERVAL

from .support import KEYS, running_service, sim_settings

pytestmark = pytest.mark.timeout(60)
#: the handshake-era tests use resources/subscribe on purpose: the service serves both protocols
LEGACY = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")

QUOTE = "quote://AAPL"


@pytest.fixture(scope="module")
def svc() -> Iterator[tuple[str, dict[str, str]]]:
    with running_service(sim_settings()) as url:
        keys = KEYS[url]
        yield url, {"read": keys.read, "trade": keys.trade}


@asynccontextmanager
async def session(url: str, key: str, handler: Any = None) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers={"X-API-Key": key}, timeout=30.0) as http:
        async with Client(streamable_http_client(f"{url}/mcp", http_client=http),
                          mode="legacy", message_handler=handler) as client:
            yield client


def contents(result: types.ReadResourceResult) -> Any:
    return json.loads(getattr(result.contents[0], "text", ""))


async def quote_upstreams(url: str, key: str) -> list[int]:
    """Subscribers of each AAPL quotes upstream of the hub (``GET /streams``)."""
    async with httpx.AsyncClient(base_url=url, timeout=30.0) as http:
        stats = (await http.get("/streams", headers={"X-API-Key": key})).json()
    return [u["subscribers"] for u in stats["upstreams"]
            if u["topic"][:2] == ["quotes", 265598]]


def assert_throttled(times: list[float]) -> None:
    """At most one notification per MIN_INTERVAL, measured where the client receives
    them: delivery jitter on a loaded machine may bring two closer than MIN_INTERVAL
    (seen: 0.1 s), so the bound is on the count over the span, with one of slack."""
    assert len(times) >= 2, times
    span = times[-1] - times[0]
    assert len(times) <= span / MIN_INTERVAL + 2, (len(times), span, times)


async def test_templates_and_reads(svc: tuple[str, dict[str, str]]) -> None:
    url, keys = svc
    async with session(url, keys["read"]) as client:
        templates = {t.uri_template for t in
                     (await client.list_resource_templates()).resource_templates}
        assert {"quote://{symbol}", "orders://{view}"} <= templates
        quote = contents(await client.read_resource(QUOTE))
        orders = contents(await client.read_resource("orders://recent"))
    assert quote["symbol"] == "AAPL" and 0 < quote["bid"] < quote["ask"]
    assert isinstance(orders, list)


@LEGACY
async def test_read_key_subscribes_and_gets_throttled_updates(
        svc: tuple[str, dict[str, str]]) -> None:
    url, keys = svc
    updates: list[tuple[float, str]] = []
    got = asyncio.Event()

    async def handler(message: Any) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            updates.append((time.monotonic(), str(message.params.uri)))
            got.set()

    async with session(url, keys["read"], handler) as client:
        await client.subscribe_resource(QUOTE)
        await asyncio.wait_for(got.wait(), timeout=8.0)
        async with session(url, keys["trade"]) as other:  # shares the hub's upstream
            await other.subscribe_resource(QUOTE)
            assert await quote_upstreams(url, keys["read"]) == [2]
        await asyncio.sleep(1.6)  # the simulator ticks faster than the throttle
        quote = contents(await client.read_resource(QUOTE))
        await client.unsubscribe_resource(QUOTE)
        await asyncio.sleep(0.8)
        after = len(updates)
        await asyncio.sleep(1.2)
        assert len(updates) == after  # nothing once unsubscribed
        assert await quote_upstreams(url, keys["read"]) == []  # released
    assert {uri for _, uri in updates} == {QUOTE}
    assert_throttled([t for t, _ in updates])
    assert 0 < quote["bid"] < quote["ask"]


@LEGACY
async def test_subscribe_orders_and_unknown_resources(svc: tuple[str, dict[str, str]]) -> None:
    url, keys = svc
    async with session(url, keys["read"]) as client:
        await client.subscribe_resource("orders://recent")
        with pytest.raises(Exception, match="no such resource"):
            await client.subscribe_resource("nothing://here")
        await client.unsubscribe_resource("orders://recent")


async def test_no_key_is_401(svc: tuple[str, dict[str, str]]) -> None:
    url, _ = svc
    call = {"jsonrpc": "2.0", "id": 1, "method": "resources/subscribe",
            "params": {"uri": QUOTE}}
    async with httpx.AsyncClient(base_url=url, timeout=30.0) as http:
        response = await http.post("/mcp", json=call, headers={
            "Accept": "application/json, text/event-stream"})
    assert response.status_code == 401, response.text


@asynccontextmanager
async def modern(url: str, key: str) -> AsyncIterator[Client]:
    """A 2026-07-28 session (``subscriptions/listen``; no resources/subscribe)."""
    async with httpx2.AsyncClient(headers={"X-API-Key": key}, timeout=30.0) as http:
        async with Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client:
            yield client


async def test_listen_streams_throttled_quote_updates_and_releases_the_topic(
        svc: tuple[str, dict[str, str]]) -> None:
    url, keys = svc
    seen: list[tuple[float, str]] = []
    async with modern(url, keys["read"]) as client:
        async with client.listen(resource_subscriptions=[QUOTE]) as sub:
            assert sub.honored.resource_subscriptions == [QUOTE]
            assert await quote_upstreams(url, keys["read"]) == [1]  # joined the hub

            async def collect() -> None:
                async for event in sub:
                    seen.append((time.monotonic(), getattr(event, "uri", repr(event))))
                    if len(seen) >= 5:
                        return

            await asyncio.wait_for(collect(), timeout=15.0)
            quote = contents(await client.read_resource(QUOTE))
        await asyncio.sleep(0.5)
        assert await quote_upstreams(url, keys["read"]) == []  # the stream's end left it
    assert {uri for _, uri in seen} == {QUOTE}
    assert_throttled([t for t, _ in seen])
    assert 0 < quote["bid"] < quote["ask"]


async def test_listen_streams_share_the_upstream_not_the_notifications(
        svc: tuple[str, dict[str, str]]) -> None:
    """Two streams on one URI share the hub's upstream; each gets its own throttled
    updates (not the other's as well), and a stream's other URIs stay its own."""
    url, keys = svc
    got: dict[str, list[tuple[float, str]]] = {"a": [], "b": []}

    async def collect(name: str, sub: Any) -> None:
        async for event in sub:
            got[name].append((time.monotonic(), getattr(event, "uri", repr(event))))

    async with modern(url, keys["read"]) as one, modern(url, keys["trade"]) as two:
        async with one.listen(resource_subscriptions=[QUOTE, "orders://recent"]) as a, \
                two.listen(resource_subscriptions=[QUOTE]) as b:
            tasks = [asyncio.create_task(collect("a", a)), asyncio.create_task(collect("b", b))]
            await asyncio.sleep(3.0)
            assert await quote_upstreams(url, keys["read"]) == [2]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    for name, events in got.items():
        quotes = [t for t, uri in events if uri == QUOTE]
        assert len(quotes) >= 4, got
        assert all(y - x >= 0.4 for x, y in itertools.pairwise(quotes)), (name, quotes)
    assert {uri for _, uri in got["a"]} <= {QUOTE, "orders://recent"}
    assert {uri for _, uri in got["b"]} == {QUOTE}


async def test_listen_to_an_unknown_resource_is_refused(svc: tuple[str, dict[str, str]]) -> None:
    url, keys = svc
    async with modern(url, keys["read"]) as client:
        with pytest.raises(Exception, match="no such resource"):
            async with client.listen(resource_subscriptions=["nothing://here"]):
                pass
        async with client.listen(tools_list_changed=True) as sub:  # the SDK's own kinds
            assert sub.honored.tools_list_changed
