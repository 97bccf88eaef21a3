"""Revoking a key ends what it opened: sockets, streams, GraphQL WebSockets, MCP requests.

The real service under uvicorn in front of a simulator in a thread (its order book is
read directly: nothing may reach it after a revocation), real clients (websockets,
httpx streaming SSE, the MCP SDK). Each test makes its own keys (``POST /keys``) and
revokes them three ways: ``DELETE /keys/{id}`` on the service (at once), a second
:class:`KeyStore` on the same SQLite file and the ``twsbridge keys revoke`` command
(another process: found by the service's poll within about a second).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from twsbridge.service.security.keys import open_key_store

from .processes import twsbridge_command
from .streaming_support import Service, SimThread

pytestmark = pytest.mark.timeout(90)

AAPL = 265598
CLOSED_WITHIN = 5.0  # a foreign revocation is polled about once a second
WORKING_BUY = {"symbol": "AAPL", "action": "BUY", "totalQuantity": 1, "orderType": "LMT",
               "lmtPrice": 1.0}
GQL = "graphql-transport-ws"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    s = SimThread(speed=1.0, poll_interval=0.02)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def svc(sim: SimThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    journal = tmp_path_factory.mktemp("revocation") / "journal.sqlite3"
    service = Service(f"127.0.0.1:{sim.server.port}", f"sqlite:///{journal}")
    try:
        yield service
    finally:
        service.stop()


def journal_url(svc: Service) -> str:
    url: str = svc.app.state.settings.journal_url
    return url


async def new_key(svc: Service, scope: str) -> tuple[str, str]:
    """A fresh key of ``scope`` (made by the service's POST /keys): (id, key)."""
    async with httpx.AsyncClient(base_url=svc.url, headers=svc.headers, timeout=20) as http:
        r = await http.post("/keys", json={"name": f"revocation-{scope}", "scope": scope})
    assert r.status_code == 201, r.text
    body = r.json()
    return body["id"], body["key"]


async def revoke_rest(svc: Service, key_id: str) -> None:
    async with httpx.AsyncClient(base_url=svc.url, headers=svc.headers, timeout=20) as http:
        r = await http.delete(f"/keys/{key_id}")
    assert r.status_code == 200 and r.json()["active"] is False, r.text


async def revoke_elsewhere(svc: Service, key_id: str) -> None:
    """Revoke with another KeyStore (own engine, own event loop) on the same database."""

    async def revoke() -> None:
        async with open_key_store(journal_url(svc)) as store:
            assert await store.revoke(key_id) is not None

    with ThreadPoolExecutor(1) as pool:
        await asyncio.wrap_future(pool.submit(asyncio.run, revoke()))


def revoke_by_cli(svc: Service, key_id: str) -> None:
    done = subprocess.run([*twsbridge_command(), "keys", "revoke", key_id,
                           "--journal-url", journal_url(svc)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def ws_url(svc: Service, path: str) -> str:
    return svc.ws + path


async def close_code(ws: ClientConnection, within: float = CLOSED_WITHIN) -> tuple[int, str]:
    """Read until the server closes; its close code and reason (fails after ``within`` s)."""
    deadline = time.monotonic() + within
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"still open {within} s after the revocation"
            try:
                await asyncio.wait_for(ws.recv(), left)
            except TimeoutError:
                raise AssertionError(f"still open {within} s after the revocation") from None
    rcvd = closed.value.rcvd
    assert rcvd is not None, "closed without a close frame (1006)"
    return rcvd.code, rcvd.reason


def sim_orders(sim: SimThread) -> int:
    async def count() -> int:
        return len(sim.server.simulator.broker.orders())

    return int(sim._call(count()))


async def journal_orders(svc: Service) -> int:
    async with httpx.AsyncClient(base_url=svc.url, headers=svc.headers, timeout=20) as http:
        r = await http.get("/orders", params={"status": "all"})
    assert r.status_code == 200, r.text
    return len(r.json())


async def recv_json(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
    return message


# ------------------------------------------------------------------ WebSockets

async def test_rest_revocation_closes_the_keys_sockets_only(svc: Service) -> None:
    key_id, key = await new_key(svc, "trade")
    _, other = await new_key(svc, "read")
    async with ws_connect(ws_url(svc, "/ws/orders"), additional_headers={"X-API-Key": key}
                          ) as orders, \
            ws_connect(ws_url(svc, f"/ws/quotes?conId={AAPL}"),
                       additional_headers={"X-API-Key": key}) as quotes, \
            ws_connect(ws_url(svc, f"/ws/quotes?conId={AAPL}"),
                       additional_headers={"X-API-Key": other}) as bystander:
        for ws in (orders, quotes, bystander):
            assert (await recv_json(ws))["type"] == "snapshot"
        started = time.monotonic()
        await revoke_rest(svc, key_id)
        for ws in (orders, quotes):
            code, reason = await close_code(ws, within=2.0)  # this process: at once
            assert code == 4401 and key_id in reason and "revoked" in reason, (code, reason)
        elapsed = time.monotonic() - started
        print(f"DELETE /keys: both sockets closed 4401 {elapsed * 1000:.0f} ms after the call")
        assert elapsed < 2.0
        # another key's socket streams on
        assert (await recv_json(bystander))["type"] == "ticks"


async def test_rest_revocation_does_not_wait_for_the_poll(sim: SimThread,
                                                         tmp_path: Path) -> None:
    """With the poll a minute apart, DELETE /keys still closes the key's socket at once
    (this process's own revocation); a foreign one waits for the poll - but the next
    action on the socket reads the key again and is refused."""
    slow = Service(f"127.0.0.1:{sim.server.port}", f"sqlite:///{tmp_path / 'j.sqlite3'}",
                   key_poll_interval=60.0, client_id=27)  # beside the module's 17
    try:
        key_id, key = await new_key(slow, "read")
        other_id, other = await new_key(slow, "read")
        async with ws_connect(ws_url(slow, "/ws/orders"), additional_headers={"X-API-Key": key}
                              ) as mine, \
                ws_connect(ws_url(slow, "/ws/orders"),
                           additional_headers={"X-API-Key": other}) as theirs:
            for ws in (mine, theirs):
                assert (await recv_json(ws))["type"] == "snapshot"
            await revoke_rest(slow, key_id)
            assert (await close_code(mine, within=2.0))[0] == 4401
            await revoke_elsewhere(slow, other_id)
            await theirs.send(json.dumps({"action": "unsubscribe", "conId": 1}))
            assert (await close_code(theirs, within=2.0))[0] == 4401
    finally:
        slow.stop()


async def test_order_action_after_a_foreign_revocation_places_nothing(
        svc: Service, sim: SimThread) -> None:
    key_id, key = await new_key(svc, "trade")
    before_sim, before_journal = sim_orders(sim), await journal_orders(svc)
    async with ws_connect(ws_url(svc, "/ws/orders"), additional_headers={"X-API-Key": key}
                          ) as ws:
        assert (await recv_json(ws))["type"] == "snapshot"
        await revoke_elsewhere(svc, key_id)  # no poll has run yet: the action re-checks
        await ws.send(json.dumps({"action": "placeOrder", "id": "p1", "order": WORKING_BUY}))
        code, _ = await close_code(ws)
        assert code == 4401
    await asyncio.sleep(0.5)
    assert sim_orders(sim) == before_sim, "the simulator received an order"
    assert await journal_orders(svc) == before_journal


async def test_cli_revocation_ends_a_quote_stream(svc: Service) -> None:
    key_id, key = await new_key(svc, "read")
    async with ws_connect(ws_url(svc, f"/ws/quotes?conId={AAPL}"),
                          additional_headers={"X-API-Key": key}) as ws:
        assert (await recv_json(ws))["type"] == "snapshot"
        await asyncio.to_thread(revoke_by_cli, svc, key_id)
        revoked_at = time.monotonic()
        code, reason = await close_code(ws)
        assert code == 4401 and "revoked" in reason
        print(f"twsbridge keys revoke: socket closed 4401 "
              f"{(time.monotonic() - revoked_at) * 1000:.0f} ms after the command ended")


async def test_foreign_revocation_ends_an_sse_stream_with_an_error_event(svc: Service) -> None:
    key_id, key = await new_key(svc, "read")
    text = ""
    async with httpx.AsyncClient(base_url=svc.url, headers={"X-API-Key": key},
                                 timeout=20) as http:
        async with http.stream("GET", "/sse/quotes", params={"conId": AAPL}) as r:
            assert r.status_code == 200
            chunks = r.aiter_text()
            while "event: snapshot" not in text:
                text += await asyncio.wait_for(anext(chunks), 10)
            await revoke_elsewhere(svc, key_id)
            revoked_at = time.monotonic()

            async def rest() -> None:
                nonlocal text
                async for chunk in chunks:
                    text += chunk

            await asyncio.wait_for(rest(), CLOSED_WITHIN)  # the stream ENDS
            assert time.monotonic() - revoked_at < CLOSED_WITHIN
    last = [e for e in text.strip().split("\n\n") if e.strip()][-1]
    event, data = last.split("\n")[:2]
    assert event == "event: error", last
    error = json.loads(data.removeprefix("data: "))
    assert error["status"] == 401 and key_id in error["message"]


# --------------------------------------------------------------------- GraphQL

async def gql_ready(svc: Service, key: str) -> ClientConnection:
    ws = await ws_connect(svc.ws + "/graphql", subprotocols=[GQL])  # type: ignore[list-item]
    await ws.send(json.dumps({"type": "connection_init",
                              "payload": {"Authorization": f"Bearer {key}"}}))
    assert (await recv_json(ws))["type"] == "connection_ack"
    return ws


async def test_graphql_subscription_ends_on_revocation(svc: Service) -> None:
    key_id, key = await new_key(svc, "read")
    ws = await gql_ready(svc, key)
    try:
        query = "subscription { ticks(conId: 265598) { type conId } }"
        await ws.send(json.dumps({"id": "t", "type": "subscribe", "payload": {"query": query}}))
        first = await recv_json(ws)
        assert first["type"] == "next", first
        await revoke_elsewhere(svc, key_id)
        code, reason = await close_code(ws)
        assert code == 4401 and "revoked" in reason
    finally:
        await ws.close()


async def test_graphql_place_order_after_revocation_is_refused(svc: Service,
                                                               sim: SimThread) -> None:
    key_id, key = await new_key(svc, "trade")
    before = sim_orders(sim)
    ws = await gql_ready(svc, key)
    try:
        await revoke_elsewhere(svc, key_id)  # before the poll: the subscribe re-checks
        mutation = ("mutation($i: OrderInput!) { placeOrder(input: $i) { orderId } }")
        await ws.send(json.dumps({"id": "m", "type": "subscribe", "payload": {
            "query": mutation, "variables": {"i": WORKING_BUY}}}))
        code, _ = await close_code(ws)
        assert code == 4401
    finally:
        await ws.close()
    await asyncio.sleep(0.5)
    assert sim_orders(sim) == before, "the simulator received an order"


# ------------------------------------------------------------------------- MCP

@asynccontextmanager
async def mcp_client(svc: Service, key: str) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers={"X-API-Key": key}, timeout=30.0) as http:
        async with Client(streamable_http_client(f"{svc.url}/mcp", http_client=http)) as c:
            yield c


async def test_mcp_listen_stream_ends_and_the_key_is_refused(svc: Service) -> None:
    key_id, key = await new_key(svc, "read")
    async with mcp_client(svc, key) as client:
        async with client.listen(resource_subscriptions=["quote://AAPL"]) as sub:
            events = sub.__aiter__()
            await asyncio.wait_for(anext(events), 10)  # it streams
            await revoke_rest(svc, key_id)
            revoked_at = time.monotonic()

            async def drain() -> None:
                async for _ in events:
                    pass

            try:
                await asyncio.wait_for(drain(), CLOSED_WITHIN)
            except TimeoutError:
                pytest.fail(f"the listen stream went on {CLOSED_WITHIN} s after revocation")
            except Exception as exc:  # the SDK may report the cut as an error: ended too
                print("listen stream ended:", repr(exc))
            assert time.monotonic() - revoked_at < CLOSED_WITHIN
    async with httpx.AsyncClient(base_url=svc.url, timeout=20) as http:
        r = await http.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                            headers={"X-API-Key": key,
                                     "Accept": "application/json, text/event-stream"})
    assert r.status_code == 401


async def test_a_socket_is_tracked_while_open_only(svc: Service) -> None:
    """What the poll asks about: the keys of open sessions (a closed socket leaves)."""
    sessions = svc.app.state.live_sessions
    key_id, key = await new_key(svc, "read")
    assert sessions.count(key_id) == 0
    async with ws_connect(ws_url(svc, "/ws/orders"), additional_headers={"X-API-Key": key}):
        for _ in range(50):
            if sessions.count(key_id) == 1:
                break
            await asyncio.sleep(0.05)
        assert key_id in sessions.key_ids() and sessions.count(key_id) == 1
    for _ in range(50):
        if not sessions.count(key_id):
            break
        await asyncio.sleep(0.05)
    assert sessions.count(key_id) == 0 and key_id not in sessions.key_ids()


async def test_mcp_session_stream_ends_and_its_session_is_gone(svc: Service) -> None:
    """A handshake-era session: its GET stream (server-to-client messages) ends when its
    key is revoked by another process, and the session is terminated."""
    key_id, key = await new_key(svc, "read")
    accept = {"Accept": "application/json, text/event-stream", "X-API-Key": key}
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "revocation", "version": "0"}}}
    async with httpx.AsyncClient(base_url=svc.url, timeout=20) as http:
        opened = await http.post("/mcp", json=init, headers=accept)
        assert opened.status_code == 200, opened.text
        session = {**accept, "mcp-session-id": opened.headers["mcp-session-id"],
                   "mcp-protocol-version": "2025-06-18"}
        done = await http.post("/mcp", headers=session, json={
            "jsonrpc": "2.0", "method": "notifications/initialized"})
        assert done.status_code == 202, done.text
        async with http.stream("GET", "/mcp", headers={
                **session, "Accept": "text/event-stream"}) as stream:
            assert stream.status_code == 200
            await revoke_elsewhere(svc, key_id)
            revoked_at = time.monotonic()

            async def drain() -> None:
                async for _ in stream.aiter_raw():
                    pass

            try:
                await asyncio.wait_for(drain(), CLOSED_WITHIN)
            except TimeoutError:
                pytest.fail(f"the session's stream went on {CLOSED_WITHIN} s after revocation")
            except httpx.HTTPError:
                pass  # cut: ended too
            assert time.monotonic() - revoked_at < CLOSED_WITHIN
        assert svc.app.state.live_sessions.count(key_id) == 0
        listing = await http.post("/mcp", headers=session, json={
            "jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        assert listing.status_code == 401


async def test_a_verified_key_is_remembered_briefly_and_forgotten_on_revocation(
        tmp_path: Path) -> None:
    """HTTP requests trust a verified key for VERIFY_TTL without a database read; this
    process's revocation drops it at once, another process's within VERIFY_TTL."""
    from twsbridge.service.security.keys import VERIFY_TTL

    url = f"sqlite:///{tmp_path / 'keys.sqlite3'}"
    async with open_key_store(url) as store, open_key_store(url) as other:
        created = await store.create("cached", "read")
        assert await store.verify(created.key) is not None
        await other.revoke(created.info.id)
        await asyncio.sleep(VERIFY_TTL + 0.1)
        assert await store.verify(created.key) is None  # another process: within the TTL
        second = await store.create("own", "read")
        assert await store.verify(second.key) is not None
        await store.revoke(second.info.id)
        assert await store.verify(second.key) is None  # this process: at once
        assert await store.verify(second.key.replace("_", "-", 1)) is None
