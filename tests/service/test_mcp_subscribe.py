"""MCP resources and subscriptions: the real service on the simulator, the SDK's client.

``quote://{symbol}`` and ``orders://{view}`` (``orders://recent``) are resource
templates; a session (``mode="legacy"``: the handshake-era ``resources/subscribe``)
subscribes to ``quote://AAPL`` and gets ``notifications/resources/updated`` for it
from the StreamHub's shared upstream, at most twice a second.
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

from .support import KEYS, running_service, sim_settings

pytestmark = pytest.mark.timeout(60)

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
    times = [t for t, _ in updates]
    assert all(b - a >= 0.4 for a, b in itertools.pairwise(times)), times
    assert 0 < quote["bid"] < quote["ask"]


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
