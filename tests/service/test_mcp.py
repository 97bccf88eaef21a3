"""MCP: the real service on the embedded simulator, the MCP SDK's own clients.

Streamable HTTP at ``/mcp`` with the SDK's ``Client`` (``mode="auto"``, i.e. the
2026 protocol, and ``mode="legacy"``, the initialize handshake with sessions);
stdio by launching ``twsbridge mcp --sim`` with the SDK's stdio client. The
service's read / trade / admin keys come from :mod:`.support`; the guardrails
deny IBM.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult

from twsbridge.service.security.keys import key_id_of, open_key_store

from .processes import twsbridge_command
from .support import KEYS, provision_keys, running_service, sim_settings, temp_journal_url

pytestmark = pytest.mark.timeout(60)

AAPL = 265598
TOOLS = {
    "search_contracts": "read", "get_contract": "read", "get_quote": "read", "get_bars": "read",
    "get_positions": "read", "get_orders": "read", "get_account": "read",
    "historical_ticks": "read", "market_rule": "read",
    "market_depth": "read",
    "preview_order": "trade", "place_order": "trade", "cancel_order": "trade",
}
WORKING_BUY = {"symbol": "AAPL", "action": "BUY", "totalQuantity": 1, "orderType": "LMT",
               "lmtPrice": 1.0}  # far below the market: stays working
ARGUMENTS: dict[str, dict[str, Any]] = {
    "search_contracts": {"pattern": "AAP"},
    "get_contract": {"conId": AAPL},
    "get_quote": {"symbol": "AAPL"},
    "get_bars": {"symbol": "AAPL", "durationStr": "5 D", "barSizeSetting": "1 day"},
    "get_positions": {},
    "historical_ticks": {"symbol": "AAPL", "count": 5, "end": "20130301 09:45:00 US/Eastern"},
    "market_rule": {"marketRuleId": 26},
    "market_depth": {"symbol": "AAPL", "rows": 2},
    "get_orders": {"status": "all", "limit": 5},
    "get_account": {"tags": "NetLiquidation"},
    "preview_order": {"order": WORKING_BUY},
    "place_order": {"order": WORKING_BUY},
    "cancel_order": {"orderId": 999_999},
}
_RANK = {"read": 0, "trade": 1, "admin": 2}


@dataclass(frozen=True)
class Svc:
    url: str
    keys: dict[str, str]


@pytest.fixture(scope="module")
def svc() -> Iterator[Svc]:
    with running_service(sim_settings(symbol_denylist=["IBM"])) as url:
        keys = KEYS[url]
        yield Svc(url, {"read": keys.read, "trade": keys.trade, "admin": keys.admin})


@asynccontextmanager
async def mcp(url: str, key: str | None, *, bearer: bool = True,
              mode: str = "auto") -> AsyncIterator[Client]:
    """The SDK's client on ``url``/mcp, sending ``key``."""
    headers = {} if key is None else (
        {"Authorization": f"Bearer {key}"} if bearer else {"X-API-Key": key})
    async with httpx2.AsyncClient(headers=headers, timeout=30.0) as http:
        async with Client(streamable_http_client(f"{url}/mcp", http_client=http),
                          mode=mode) as client:
            yield client


def text(result: CallToolResult) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


def structured(result: CallToolResult) -> Any:
    assert not result.is_error, text(result)
    assert result.structured_content is not None
    return result.structured_content


async def rest_orders(svc: Svc, status: str = "all") -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=svc.url, timeout=30.0) as http:
        response = await http.get("/orders", params={"status": status},
                                  headers={"X-API-Key": svc.keys["read"]})
    assert response.status_code == 200, response.text
    orders: list[dict[str, Any]] = response.json()
    return orders


async def test_lists_the_tools_with_descriptions_and_schemas(svc: Svc) -> None:
    async with mcp(svc.url, svc.keys["read"]) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == set(TOOLS)
    for tool in tools.values():
        assert tool.description and len(tool.description) > 80, tool.name
        assert tool.output_schema is not None, tool.name
    place = tools["place_order"]
    assert "REAL MONEY" in (place.description or "")
    assert place.annotations is not None and place.annotations.destructive_hint
    assert tools["get_quote"].annotations is not None
    assert tools["get_quote"].annotations.read_only_hint
    assert "order" in place.input_schema["properties"]


async def test_get_quote_bid_below_ask(svc: Svc) -> None:
    async with mcp(svc.url, svc.keys["read"], bearer=False) as client:
        quote = structured(await client.call_tool("get_quote", {"symbol": "AAPL"}))
    assert quote["conId"] == AAPL and quote["symbol"] == "AAPL"
    assert quote["bid"] is not None and quote["ask"] is not None
    assert 0 < quote["bid"] < quote["ask"]


async def test_trade_key_places_an_order_seen_by_rest_and_cancels_it(svc: Svc) -> None:
    async with mcp(svc.url, svc.keys["trade"]) as client:
        preview = structured(await client.call_tool("preview_order", {"order": WORKING_BUY}))
        assert preview["contract"]["conId"] == AAPL and preview["action"] == "BUY"
        placed = structured(await client.call_tool("place_order", {"order": WORKING_BUY}))
        order_id = placed["orderId"]
        assert placed["status"] in ("Submitted", "PreSubmitted")
        assert placed["contract"]["symbol"] == "AAPL" and placed["lmtPrice"] == 1.0
        assert order_id in [o["orderId"] for o in await rest_orders(svc, "open")]
        listed = structured(await client.call_tool("get_orders", {"status": "open"}))
        assert order_id in [o["orderId"] for o in listed["result"]]
        cancelled = structured(await client.call_tool("cancel_order", {"orderId": order_id}))
    assert cancelled["orderId"] == order_id and cancelled["status"] == "Cancelled"
    assert order_id not in [o["orderId"] for o in await rest_orders(svc, "open")]


async def test_read_key_cannot_trade_and_nothing_is_done(svc: Svc) -> None:
    before = len(await rest_orders(svc))
    async with mcp(svc.url, svc.keys["read"]) as client:
        result = await client.call_tool("place_order", {"order": WORKING_BUY})
    assert result.is_error
    assert "lacks the 'trade' scope" in text(result) and "nothing was done" in text(result)
    assert len(await rest_orders(svc)) == before


async def test_guardrail_refuses_a_denied_symbol(svc: Svc) -> None:
    order = {**WORKING_BUY, "symbol": "IBM", "lmtPrice": 100.0}
    async with mcp(svc.url, svc.keys["admin"]) as client:
        result = await client.call_tool("place_order", {"order": order})
    assert result.is_error
    assert "guardrail symbol_denylist" in text(result) and "IBM" in text(result)
    assert all(o["contract"]["symbol"] != "IBM" for o in await rest_orders(svc))


async def test_tws_errors_are_tool_errors_with_the_code(svc: Svc) -> None:
    async with mcp(svc.url, svc.keys["read"]) as client:
        unknown = await client.call_tool("get_quote", {"symbol": "NOSUCHSYM"})
        bars = structured(await client.call_tool("get_bars", ARGUMENTS["get_bars"]))
    assert unknown.is_error and "TWS error code 200" in text(unknown)
    assert bars["count"] == len(bars["bars"]) > 0
    assert all(b["low"] <= b["high"] for b in bars["bars"])


async def test_no_key_or_a_bad_key_is_401(svc: Svc) -> None:
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Accept": "application/json, text/event-stream"}
    async with httpx.AsyncClient(base_url=svc.url, timeout=30.0) as http:
        missing = await http.post("/mcp", json=call, headers=headers)
        bad = await http.post("/mcp", json=call, headers={
            **headers, "Authorization": "Bearer twsb_000000000000_" + "x" * 43})
    for response in (missing, bad):
        assert response.status_code == 401, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["www-authenticate"].startswith("Bearer")
    with pytest.raises(Exception):  # noqa: B017 - the SDK client cannot even connect
        async with mcp(svc.url, None):
            pass


async def test_legacy_session_is_bound_to_its_key(svc: Svc) -> None:
    async with mcp(svc.url, svc.keys["trade"], mode="legacy") as client:
        assert len((await client.list_tools()).tools) == len(TOOLS)
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"}}}
    headers = {"Accept": "application/json, text/event-stream"}
    async with httpx.AsyncClient(base_url=svc.url, timeout=30.0) as http:
        opened = await http.post("/mcp", json=init,
                                 headers={**headers, "X-API-Key": svc.keys["trade"]})
        assert opened.status_code == 200, opened.text
        session = opened.headers["mcp-session-id"]
        listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
        other = await http.post("/mcp", json=listing, headers={
            **headers, "X-API-Key": svc.keys["read"], "mcp-session-id": session,
            "mcp-protocol-version": "2025-06-18"})
        assert other.status_code == 404  # another key cannot use the session
        await http.delete("/mcp", headers={"X-API-Key": svc.keys["trade"],
                                           "mcp-session-id": session})


@pytest.mark.parametrize("caller", ["read", "trade", "admin"])
async def test_authorization_matrix(svc: Svc, caller: str) -> None:
    """Every tool x {read, trade, admin} (no key: 401 above). Allowed calls run (an
    unknown order is its own TWS error, 10147); refused ones name the scope."""
    async with mcp(svc.url, svc.keys[caller]) as client:
        for name, needs in TOOLS.items():
            result = await client.call_tool(name, ARGUMENTS[name])
            if _RANK[caller] < _RANK[needs]:
                assert result.is_error and f"lacks the '{needs}' scope" in text(result), name
            elif name == "cancel_order":
                assert result.is_error and "TWS error code 10147" in text(result)
            else:
                data = structured(result)
                if name == "place_order":
                    cancel = {"orderId": data["orderId"]}
                    structured(await client.call_tool("cancel_order", cancel))


# ------------------------------------------------------------------------ stdio


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWSBRIDGE_")}
    env.update(extra)
    return env


async def test_stdio_twsbridge_mcp_sim() -> None:
    journal = temp_journal_url()
    keys = provision_keys(journal)
    command, *prefix = twsbridge_command()
    params = StdioServerParameters(
        command=command, args=[*prefix, "mcp", "--sim", "--journal-url", journal],
        env=_env(TWSBRIDGE_API_KEY=keys.trade, TWSBRIDGE_SYMBOL_DENYLIST="IBM"))
    async with Client(params) as client:
        quote = structured(await client.call_tool("get_quote", {"symbol": "AAPL"}))
        assert 0 < quote["bid"] < quote["ask"]
        placed = structured(await client.call_tool("place_order", {"order": WORKING_BUY}))
        assert placed["clientId"] == 18 and placed["status"] in ("Submitted", "PreSubmitted")
        denied = await client.call_tool(
            "place_order", {"order": {**WORKING_BUY, "symbol": "IBM", "lmtPrice": 100.0}})
        assert denied.is_error and "guardrail symbol_denylist" in text(denied)
        structured(await client.call_tool("cancel_order", {"orderId": placed["orderId"]}))
        async with open_key_store(journal) as store:  # revoked: refused at the next call
            assert await store.revoke(key_id_of(keys.trade) or "") is not None
        revoked = await client.call_tool("get_quote", {"symbol": "AAPL"})
        assert revoked.is_error and "unknown or revoked" in text(revoked)


def test_stdio_needs_a_valid_key() -> None:
    base = [*twsbridge_command(), "mcp", "--sim", "--journal-url", temp_journal_url()]
    missing = subprocess.run(base, env=_env(), capture_output=True, text=True, timeout=30,
                             stdin=subprocess.DEVNULL)
    assert missing.returncode == 2 and "API key is required" in missing.stderr
    bad = subprocess.run([*base, "--api-key", "twsb_000000000000_" + "x" * 43], env=_env(),
                         capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert bad.returncode == 1 and "unknown or revoked" in bad.stderr
    assert bad.stdout == ""  # stdout is the protocol's
