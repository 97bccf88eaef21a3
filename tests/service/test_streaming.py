"""Streaming: WebSocket and SSE quotes and bars through the fan-out hub.

The real service runs under uvicorn on 127.0.0.1 (port 0) in gateway mode,
talking to a real simulator that runs in its own thread with a fast clock
(150 simulated seconds per real second, polled every 5 ms: about 1,000 AAPL
ticks per second), so that buffers fill and bars update within seconds.
Clients are real WebSocket (``websockets``) and HTTP (``httpx``) clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from .streaming_support import Service, SimThread
from .support import auth


def connect(url: str, **kwargs: Any) -> ws_connect:
    """A WebSocket connection to a test service, with its admin key."""
    return ws_connect(url, additional_headers=auth(url), **kwargs)

pytestmark = pytest.mark.timeout(90)

AAPL, MSFT = 265598, 272093
QUOTES_AAPL = ("quotes", AAPL, "")
RECV = 10.0  # seconds allowed for one message


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    s = SimThread(speed=150.0, poll_interval=0.005)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def svc(sim: SimThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    journal = str(tmp_path_factory.mktemp("streaming") / "journal.sqlite3")
    s = Service(f"127.0.0.1:{sim.server.port}", journal)
    try:
        yield s
    finally:
        s.stop()


async def recv_json(ws: ClientConnection, timeout: float = RECV) -> dict[str, Any]:
    msg: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return msg


async def wait_for(predicate: Any, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def released(svc: Service, sim: SimThread, key: tuple[Any, ...], con_id: int) -> None:
    """The hub's upstream of ``key`` and the simulator's subscription are gone."""
    await wait_for(lambda: svc.hub.upstream_count(key) == 0, what=f"{key} released")
    await wait_for(lambda: sim.market_data(con_id) == 0, what="cancelMktData at the sim")


def check_ticks(msg: dict[str, Any], kind: str) -> None:
    assert msg["type"] == kind, msg
    assert msg["conId"] == AAPL and msg["symbol"] == "AAPL"
    assert isinstance(msg["t_hub"], int)
    assert msg["ticks"], msg
    for tick in msg["ticks"]:
        assert set(tick) == {"name", "value", "time"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", tick["time"])


async def test_ws_snapshot_then_ticks(svc: Service, sim: SimThread) -> None:
    async with connect(f"{svc.ws}/ws/quotes?symbol=AAPL") as ws:
        snap = await recv_json(ws)
        check_ticks(snap, "snapshot")
        values = {t["name"]: t["value"] for t in snap["ticks"]}
        assert {"bid", "ask", "last", "bidSize", "askSize", "volume"} <= set(values)
        assert 0 < values["bid"] <= values["ask"] < 10_000
        for _ in range(5):
            check_ticks(await recv_json(ws), "ticks")
    await released(svc, sim, QUOTES_AAPL, AAPL)


async def test_two_clients_share_one_upstream(svc: Service, sim: SimThread) -> None:
    hub = svc.hub
    async with connect(f"{svc.ws}/ws/quotes?conId={AAPL}") as a:
        check_ticks(await recv_json(a), "snapshot")
        async with connect(f"{svc.ws}/ws/quotes?symbol=AAPL") as b:
            check_ticks(await recv_json(b), "snapshot")
            await recv_json(a)
            await recv_json(b)
            assert hub.upstream_count(QUOTES_AAPL) == 1
            assert hub.upstream_count(kind="quotes") == 1
            assert hub.upstream_count(conId=AAPL) == 1
            assert hub.subscriber_count(QUOTES_AAPL) == 2
            assert sim.market_data(AAPL) == 1
            async with httpx.AsyncClient(base_url=svc.url, headers=svc.headers) as http:
                stats = (await http.get("/streams")).json()
            assert stats["upstreams"] == [{"topic": list(QUOTES_AAPL), "subscribers": 2,
                                           "batches": stats["upstreams"][0]["batches"],
                                           "items": stats["upstreams"][0]["items"]}]
            assert stats["sinks"] == 2
        await wait_for(lambda: hub.subscriber_count(QUOTES_AAPL) == 1, what="b left")
        assert hub.upstream_count(QUOTES_AAPL) == 1
        check_ticks(await recv_json(a), "ticks")  # a is still served
        assert sim.market_data(AAPL) == 1
    await released(svc, sim, QUOTES_AAPL, AAPL)
    assert hub.upstream_count() == 0


async def test_subscribe_actions_over_one_socket(svc: Service, sim: SimThread) -> None:
    async with connect(f"{svc.ws}/ws/quotes") as ws:
        await ws.send(json.dumps({"action": "subscribe", "conId": AAPL}))
        await ws.send(json.dumps({"action": "subscribe", "symbol": "MSFT"}))
        await ws.send(json.dumps({"action": "subscribe", "symbol": "NOSUCHSYMBOL"}))
        seen: dict[tuple[str, int | None], int] = {}
        errors: list[dict[str, Any]] = []
        deadline = time.monotonic() + 15
        while not ({("snapshot", AAPL), ("snapshot", MSFT), ("ticks", MSFT)} <= set(seen)
                   and errors):
            assert time.monotonic() < deadline, seen
            msg = await recv_json(ws)
            if msg["type"] == "error":
                errors.append(msg)
            key = (msg["type"], msg.get("conId"))
            if msg["type"] == "snapshot":
                assert ("subscribed", key[1]) in seen, "the ack comes before the snapshot"
            seen[key] = seen.get(key, 0) + 1
        assert errors[0]["code"] == 200 and errors[0]["symbol"] == "NOSUCHSYMBOL"
        assert svc.hub.upstream_count(kind="quotes") == 2

        await ws.send(json.dumps({"action": "unsubscribe", "conId": AAPL}))
        while (msg := await recv_json(ws))["type"] != "unsubscribed":
            pass
        assert msg["conId"] == AAPL
        await released(svc, sim, QUOTES_AAPL, AAPL)
        msg = await recv_json(ws)  # MSFT goes on; AAPL does not
        while msg["conId"] == AAPL:  # at most what was already on its way
            msg = await recv_json(ws)
        assert msg["type"] == "ticks" and msg["conId"] == MSFT
        assert sim.market_data(MSFT) == 1
    await released(svc, sim, ("quotes", MSFT, ""), MSFT)


async def test_unknown_symbol_error_then_close(svc: Service) -> None:
    async with connect(f"{svc.ws}/ws/quotes?symbol=NOSUCHSYMBOL") as ws:
        msg = await recv_json(ws)
        assert msg["type"] == "error"
        assert msg["code"] == 200 and msg["status"] == 404
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), RECV)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4200
    assert "TWS error 200" in closed.value.rcvd.reason
    assert svc.hub.upstream_count() == 0


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    event = ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            yield event, json.loads(line[6:])


async def test_sse_quotes(svc: Service, sim: SimThread) -> None:
    async with httpx.AsyncClient(base_url=svc.url, headers=svc.headers, timeout=RECV) as http:
        async with http.stream("GET", "/sse/quotes", params={"conId": AAPL}) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            got: list[tuple[str, dict[str, Any]]] = []
            async for event, data in sse_events(r):
                got.append((event, data))
                if len(got) == 4:
                    break
        assert got[0][0] == "snapshot"
        check_ticks(got[0][1], "snapshot")
        for event, data in got[1:]:
            assert event == "ticks"
            check_ticks(data, "ticks")
        await released(svc, sim, QUOTES_AAPL, AAPL)

        r2 = await http.get("/sse/quotes", params={"symbol": "NOSUCHSYMBOL"})
        assert r2.status_code == 404
        assert r2.headers["content-type"].startswith("application/problem+json")
        assert r2.json()["code"] == 200


async def test_bars_over_websocket(svc: Service, sim: SimThread) -> None:
    url = f"{svc.ws}/ws/bars?conId={AAPL}&barSizeSetting=5%20secs&useRTH=false"
    async with connect(url) as a, connect(url) as b:
        for ws in (a, b):
            snap = await recv_json(ws)
            assert snap["type"] == "snapshot", snap
            assert snap["barSizeSetting"] == "5 secs" and snap["whatToShow"] == "TRADES"
            assert len(snap["bars"]) > 10
            assert {"date", "open", "high", "low", "close", "volume"} <= set(snap["bars"][-1])
        updates = [await recv_json(a) for _ in range(3)]
        for msg in updates:
            assert msg["type"] == "bars" and msg["conId"] == AAPL
            for bar in msg["bars"]:
                assert bar["low"] <= bar["close"] <= bar["high"]
        assert svc.hub.upstream_count(kind="bars") == 1
        assert svc.hub.subscriber_count(("bars", AAPL, "5 secs", "TRADES", False)) == 2
    await wait_for(lambda: svc.hub.upstream_count(kind="bars") == 0, what="bars released")


async def test_realtime_bars_over_websocket(svc: Service, sim: SimThread) -> None:
    url = f"{svc.ws}/ws/realtime-bars?conId={AAPL}&whatToShow=TRADES&useRTH=false"
    async with connect(url) as ws:
        snap = await recv_json(ws)
        assert snap["type"] == "snapshot" and snap["conId"] == AAPL, snap
        msg = snap
        while msg["type"] != "realtimeBars" or not msg["bars"]:
            msg = await recv_json(ws)
        assert msg["conId"] == AAPL and msg["symbol"] == "AAPL"
        bar = msg["bars"][-1]
        assert set(bar) == {"time", "open", "high", "low", "close", "volume", "wap", "count"}
        assert bar["low"] <= bar["close"] <= bar["high"] and bar["volume"] >= 0
        assert bar["time"].endswith("Z")
        assert svc.hub.upstream_count(kind="realtime_bars") == 1
    await wait_for(lambda: svc.hub.upstream_count(kind="realtime_bars") == 0,
                   what="realtime bars released")


def _tiny_socket(port: int) -> socket.socket:
    """A connected client socket with a tiny receive buffer (a reader that stalls soon)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


async def test_slow_consumer_conflated_then_dropped(svc: Service, sim: SimThread) -> None:
    hub = svc.hub
    limits = hub.max_queue, hub.drop_after
    hub.max_queue, hub.drop_after = 8, 1.5
    dropped_before = hub.dropped
    try:
        url = f"{svc.ws}/ws/quotes?conId={AAPL}"
        async with connect(url) as fast, \
                connect(url, sock=_tiny_socket(svc.port), max_queue=1,
                        compression=None) as slow:
            check_ticks(await recv_json(fast), "snapshot")
            topic = hub.topics[QUOTES_AAPL]
            items_before, started = topic.items, time.monotonic()
            received = conflated = 0
            while hub.dropped == dropped_before:  # the slow one never reads meanwhile
                assert time.monotonic() - started < 45, "the slow consumer was not dropped"
                msg = await recv_json(fast)
                received += len(msg["ticks"])
                conflated += msg.get("conflated", 0)
            upstream = topic.items - items_before
            elapsed = time.monotonic() - started
            # The fast one kept up with the upstream, at full rate, never conflated.
            assert upstream / elapsed > 300, f"{upstream} ticks in {elapsed:.1f} s"
            assert received >= 0.95 * upstream - 50, (received, upstream)
            assert conflated == 0
            assert hub.subscriber_count(QUOTES_AAPL) == 1
            # The slow one reads now: what was buffered, then the close with the reason.
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(slow.recv(), 15)
            rcvd = closed.value.rcvd
            assert rcvd is not None and rcvd.code == 1008
            assert rcvd.reason.startswith("slow consumer: "), rcvd.reason
            match = re.search(r"(\d+) updates conflated", rcvd.reason)
            assert match and int(match.group(1)) > 0, rcvd.reason
            check_ticks(await recv_json(fast), "ticks")  # still served
    finally:
        hub.max_queue, hub.drop_after = limits
    await released(svc, sim, QUOTES_AAPL, AAPL)


async def test_stalled_reader_gets_conflated_latest_values(svc: Service, sim: SimThread) -> None:
    """A reader that stalls for a while, then catches up, gets one merged message with
    the latest value of every tick (``conflated``: how many updates it skipped)."""
    hub = svc.hub
    limits = hub.max_queue, hub.drop_after
    hub.max_queue, hub.drop_after = 8, 30.0
    try:
        sock = _tiny_socket(svc.port)
        name = f"ws 127.0.0.1:{sock.getsockname()[1]} /ws/quotes"
        url = f"{svc.ws}/ws/quotes?conId={AAPL}"
        async with connect(url, sock=sock, max_queue=1, compression=None) as ws:
            check_ticks(await recv_json(ws), "snapshot")
            await wait_for(lambda: any(s.name == name and s.conflating for s in hub.sinks),
                           timeout=30, what="the stalled reader to be conflated")
            merged = None
            for _ in range(2000):  # what the buffers held, then the merged message
                msg = await recv_json(ws)
                if msg.get("conflated"):
                    merged = msg
                    break
            assert merged is not None
            check_ticks(merged, "ticks")
            names = [t["name"] for t in merged["ticks"]]
            assert len(names) == len(set(names)), "one value per tick name"
            assert merged["conflated"] > 0
            for _ in range(3):  # caught up: ordinary messages again, not dropped
                check_ticks(await recv_json(ws), "ticks")
            assert not any(s.name == name and s.dropped for s in hub.sinks)
    finally:
        hub.max_queue, hub.drop_after = limits
    await released(svc, sim, QUOTES_AAPL, AAPL)


async def test_sse_slow_consumer_gets_error_event_then_end(svc: Service, sim: SimThread) -> None:
    hub = svc.hub
    limits = hub.max_queue, hub.drop_after
    hub.max_queue, hub.drop_after = 8, 1.5
    dropped_before = hub.dropped
    try:
        reader, writer = await asyncio.open_connection(sock=_tiny_socket(svc.port), limit=1024)
        writer.write(f"GET /sse/quotes?conId={AAPL} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     f"X-API-Key: {svc.keys.read}\r\n"
                     "Accept: text/event-stream\r\n\r\n".encode())
        await writer.drain()
        await wait_for(lambda: hub.dropped > dropped_before, timeout=45,
                       what="the stalled SSE reader to be dropped")
        data = await asyncio.wait_for(reader.read(), 20)  # all of it, to the end
        writer.close()
        assert data.startswith(b"HTTP/1.1 200")
        assert b"event: snapshot" in data
        tail = data[data.rindex(b"event: "):]
        assert tail.startswith(b"event: error\n"), tail[:80]
        error = json.loads(tail.split(b"data: ", 1)[1].split(b"\n", 1)[0])
        assert error["type"] == "error"
        assert error["message"].startswith("slow consumer: ")
        assert data.endswith(b"0\r\n\r\n"), data[-40:]  # the chunked body ended
    finally:
        hub.max_queue, hub.drop_after = limits
    await released(svc, sim, QUOTES_AAPL, AAPL)


@contextlib.contextmanager
def own_gateway(tmp_path_factory: pytest.TempPathFactory,
                name: str) -> Iterator[tuple[SimThread, Service]]:
    """A simulator of the test's own (fast clock) and a service on it (SQLite journal)."""
    own_sim = SimThread(speed=150.0, poll_interval=0.005)
    try:
        journal = str(tmp_path_factory.mktemp(name) / "journal.sqlite3")
        own = Service(f"127.0.0.1:{own_sim.server.port}", journal)
        try:
            yield own_sim, own
        finally:
            own.stop()
    finally:
        own_sim.stop()


async def test_upstream_subscribes_again_after_gateway_restart(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    with own_gateway(tmp_path_factory, "restart") as (own_sim, own):
        async with connect(f"{own.ws}/ws/quotes?conId={AAPL}") as ws:
            check_ticks(await recv_json(ws), "snapshot")
            check_ticks(await recv_json(ws), "ticks")
            own_sim.restart()  # the service's connection to TWS drops
            await wait_for(lambda: own_sim.market_data(AAPL) == 1, timeout=30,
                           what="the upstream to subscribe again")
            assert own.hub.upstream_count() == 1
            fresh = 0
            until = time.monotonic() + 1.0
            while time.monotonic() < until:  # the same socket, fed by the new subscription
                check_ticks(await recv_json(ws), "ticks")
                fresh += 1
            assert fresh >= 10
        await wait_for(lambda: own_sim.market_data(AAPL) == 0, what="cancelled")


async def test_account_stream_subscribes_again_after_gateway_restart(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    with own_gateway(tmp_path_factory, "account") as (own_sim, own):
        async with connect(f"{own.ws}/ws/account") as ws:
            assert (await recv_json(ws))["type"] == "snapshot"
            assert (await recv_json(ws))["type"] == "account"
            with contextlib.suppress(TimeoutError):  # no trading: TWS goes quiet
                while True:
                    await recv_json(ws, timeout=1.0)
            assert own_sim.account_subscribers() == 1
            own_sim.restart()  # the service's connection to TWS drops; its
            # reqAccountUpdates subscription goes with it
            await wait_for(lambda: own_sim.account_subscribers() == 1, timeout=30,
                           what="the account upstream to subscribe again")
            fresh = await recv_json(ws, timeout=30)  # the new subscription's download
            assert fresh["type"] == "account"
            assert {u["tag"] for u in fresh["updates"] if u["kind"] == "value"} >= {
                "NetLiquidation", "TotalCashValue"}


async def test_live_quotes_outlast_a_refusal_by_a_passing_limit(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """TWS drops the lines (1101) while a market data lines window refuses new ones
    (101): the live topic subscribes again after the window, on the same socket."""
    with own_gateway(tmp_path_factory, "limits") as (own_sim, own):
        faults = own_sim.server.simulator.faults
        async with connect(f"{own.ws}/ws/quotes?conId={AAPL}") as ws:
            check_ticks(await recv_json(ws), "snapshot")
            check_ticks(await recv_json(ws), "ticks")

            async def window() -> None:
                lines = asyncio.create_task(faults.market_data_lines(2.0, lines=0))
                await asyncio.sleep(0.05)
                await faults.connectivity_loss(0.1, data_lost=True)
                await lines

            await asyncio.to_thread(own_sim._call, window())
            await wait_for(lambda: own_sim.market_data(AAPL) == 1, timeout=30,
                           what="the topic to subscribe again after the window")
            until = time.monotonic() + 0.5
            while time.monotonic() < until:  # ticks again; never an error
                message = await recv_json(ws)
                assert message["type"] == "ticks", message
