"""Tick-by-tick streams: ``/ws/ticks``, ``/sse/ticks`` and GraphQL ``tickByTick``.

The real service (uvicorn, gateway mode) in front of a real simulator in its own
thread replaying 2013-03-01 from 10:00 at 20 simulated seconds per real second,
so that AAPL trades, bid/ask and midpoint changes arrive within a fraction of a
second. The simulator's tick-by-tick subscriptions are counted in its sessions.
The hub's never-conflating topic kind is also tested on a bare StreamHub.
"""

from __future__ import annotations

import asyncio
import datetime as dt
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

from twsbridge.service.graphql import build_schema
from twsbridge.service.graphql.limits import GraphQLLimits, check_operations
from twsbridge.service.streaming import StreamHub, TopicKind, TopicSpec
from twsbridge.service.streaming.hub import Emit, SinkDropped
from twsbridge.sim.gateway.families.tick_by_tick import TickByTick

from .streaming_support import Service, SimThread, next_message
from .support import auth

pytestmark = pytest.mark.timeout(90)

AAPL, MSFT = 265598, 272093
RECV = 10.0
ISO_SECOND = r"2013-03-01T\d\d:\d\d:\d\dZ"
TRADE_FIELDS = {"tickType", "time", "price", "size", "exchange", "specialConditions",
                "pastLimit", "unreported"}
BIDASK_FIELDS = {"tickType", "time", "bidPrice", "askPrice", "bidSize", "askSize",
                 "bidPastLow", "askPastHigh"}


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def connect(url: str, **kwargs: Any) -> ws_connect:
    return ws_connect(url, additional_headers=auth(url, "read"), **kwargs)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    s = SimThread(speed=20.0, poll_interval=0.01)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def svc(sim: SimThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    journal = str(tmp_path_factory.mktemp("ticks") / "journal.sqlite3")
    s = Service(f"127.0.0.1:{sim.server.port}", journal)
    try:
        yield s
    finally:
        s.stop()


def tbt_subscriptions(sim: SimThread) -> list[tuple[int, int]]:
    """(conId, tickType) of every tick-by-tick subscription the simulator holds now."""

    async def collect() -> list[tuple[int, int]]:
        return [(sub.inst.conId, sub.tickType) for s in sim.server.sessions
                for f in s.families if isinstance(f, TickByTick) for sub in f.subs.values()]

    return list(sim._call(collect()))


async def wait_for(predicate: Any, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def all_released(svc: Service, sim: SimThread) -> None:
    await wait_for(lambda: svc.hub.upstream_count(kind="tick_by_tick") == 0, "upstreams gone")
    await wait_for(lambda: not tbt_subscriptions(sim), "cancelTickByTickData at the sim")


async def recv_json(ws: ClientConnection) -> dict[str, Any]:
    msg: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), RECV))
    return msg


async def ticks_of(ws: ClientConnection, n: int) -> list[dict[str, Any]]:
    """The next ``n`` tick items (of tickByTick messages), each message checked."""
    items: list[dict[str, Any]] = []
    while len(items) < n:
        msg = await recv_json(ws)
        assert msg["type"] == "tickByTick", msg
        assert isinstance(msg["t_hub"], int) and msg["ticks"]
        items += msg["ticks"]
    return items


async def test_ws_all_last_snapshot_then_trades(svc: Service, sim: SimThread) -> None:
    async with connect(f"{svc.ws}/ws/ticks?symbol=AAPL&tickType=AllLast") as ws:
        snap = await recv_json(ws)
        assert snap["type"] == "snapshot" and snap["ticks"] == []  # a new topic: no ticks yet
        assert (snap["conId"], snap["symbol"], snap["tickType"], snap["ignoreSize"]) == \
            (AAPL, "AAPL", "AllLast", False)
        trades = await ticks_of(ws, 10)
        assert tbt_subscriptions(sim) == [(AAPL, 2)]
        for t in trades:
            assert set(t) == TRADE_FIELDS and t["tickType"] == "AllLast", t
            assert re.fullmatch(ISO_SECOND, t["time"]), t
            assert 100 < t["price"] < 1000 and t["size"] > 0 and t["exchange"]
            assert isinstance(t["pastLimit"], bool) and isinstance(t["unreported"], bool)
        times = [t["time"] for t in trades]
        assert times == sorted(times)  # TWS's order
    await all_released(svc, sim)


async def test_two_subscribers_share_one_upstream(svc: Service, sim: SimThread) -> None:
    hub, key = svc.hub, ("tick_by_tick", AAPL, "BidAsk", False)
    async with connect(f"{svc.ws}/ws/ticks?conId={AAPL}&tickType=BidAsk") as a:
        assert (await recv_json(a))["type"] == "snapshot"
        first = await ticks_of(a, 1)
        async with connect(f"{svc.ws}/ws/ticks") as b:
            await b.send(json.dumps({"action": "subscribe", "symbol": "AAPL",
                                     "tickType": "bidask"}))
            subscribed = await recv_json(b)
            assert subscribed["type"] == "subscribed" and subscribed["tickType"] == "BidAsk"
            snap = await recv_json(b)  # the ticks the topic has seen: a's first ones among them
            assert snap["type"] == "snapshot" and first[0] in snap["ticks"]
            both = await ticks_of(a, 3), await ticks_of(b, 3)
            for t in both[0] + both[1]:
                assert set(t) == BIDASK_FIELDS, t
                assert 0 < t["bidPrice"] <= t["askPrice"] < 1000, t
            assert hub.upstream_count(key) == 1 and hub.subscriber_count(key) == 2
            assert tbt_subscriptions(sim) == [(AAPL, 3)]
            async with httpx.AsyncClient(base_url=svc.url, headers=svc.headers) as http:
                stats = (await http.get("/streams")).json()
            assert [u["subscribers"] for u in stats["upstreams"]
                    if u["topic"] == list(key)] == [2]
            await b.send(json.dumps({"action": "unsubscribe", "symbol": "AAPL"}))
            while (msg := await recv_json(b))["type"] != "unsubscribed":
                assert msg["type"] == "tickByTick"
            await wait_for(lambda: hub.subscriber_count(key) == 1, "b left")
            assert tbt_subscriptions(sim) == [(AAPL, 3)]  # a is still served
            await ticks_of(a, 1)
    await all_released(svc, sim)


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    event = ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            yield event, json.loads(line[6:])


async def test_sse_midpoints(svc: Service, sim: SimThread) -> None:
    async with httpx.AsyncClient(base_url=svc.url, headers=svc.headers, timeout=RECV) as http:
        params = {"symbol": "AAPL", "tickType": "MidPoint"}
        async with http.stream("GET", "/sse/ticks", params=params) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            got: list[tuple[str, dict[str, Any]]] = []
            async for event, data in sse_events(r):
                got.append((event, data))
                if len(got) == 3:
                    break
        assert got[0][0] == "snapshot" and got[0][1]["tickType"] == "MidPoint"
        for event, data in got[1:]:
            assert event == "tickByTick" and data["type"] == "tickByTick"
            for t in data["ticks"]:
                assert set(t) == {"tickType", "time", "midPoint"} and 100 < t["midPoint"] < 1000
        await all_released(svc, sim)
        bad = await http.get("/sse/ticks", params={"symbol": "AAPL", "tickType": "Trades"})
        assert bad.status_code == 422 and "tickType" in bad.json()["detail"]
        unknown = await http.get("/sse/ticks", params={"symbol": "NOSUCHSYMBOL",
                                                      "tickType": "Last"})
        assert unknown.status_code == 404 and unknown.json()["code"] == 200


async def test_keys_are_checked(svc: Service) -> None:
    async with httpx.AsyncClient(base_url=svc.url, timeout=RECV) as http:
        r = await http.get("/sse/ticks", params={"conId": AAPL, "tickType": "Last"})
        assert r.status_code == 401
        r = await http.get("/sse/ticks", params={"conId": AAPL, "tickType": "Last"},
                           headers={"X-API-Key": "not-a-key"})
        assert r.status_code == 401
    with pytest.raises(ConnectionClosed) as closed:
        async with ws_connect(f"{svc.ws}/ws/ticks?conId={AAPL}&tickType=Last") as ws:
            await asyncio.wait_for(ws.recv(), RECV)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_fourth_subscription_gets_10190_and_errors_carry_tws_codes(
        svc: Service, sim: SimThread) -> None:
    await all_released(svc, sim)
    async with connect(f"{svc.ws}/ws/ticks") as ws:
        for tick_type in ("Last", "AllLast", "BidAsk"):
            await ws.send(json.dumps({"action": "subscribe", "conId": AAPL,
                                      "tickType": tick_type}))
        await wait_for(lambda: len(tbt_subscriptions(sim)) == 3, "three subscriptions")
        await ws.send(json.dumps({"action": "subscribe", "conId": MSFT,
                                  "tickType": "MidPoint"}))
        while True:
            msg = await recv_json(ws)
            if msg["type"] == "error":
                break
        assert msg["code"] == 10190, msg
        assert msg["message"] == "Max number of tick-by-tick requests has been reached."
        assert (msg["conId"], msg["tickType"]) == (MSFT, "MidPoint")
        assert svc.hub.upstream_count(kind="tick_by_tick") == 3  # the others go on
        await ws.send(json.dumps({"action": "subscribe", "conId": 1, "tickType": "Last"}))
        while (msg := await recv_json(ws))["type"] != "error":
            pass
        assert msg["code"] == 200 and msg["status"] == 404, msg
        await ws.send(json.dumps({"action": "subscribe", "conId": AAPL, "tickType": "Trades"}))
        while (msg := await recv_json(ws))["type"] != "error":
            pass
        assert msg["status"] == 422 and "tickType" in msg["message"], msg
    await all_released(svc, sim)
    # an instrument socket closes after its error with 4000 + TWS's code
    async with connect(f"{svc.ws}/ws/ticks?symbol=NOSUCHSYMBOL&tickType=Last") as ws:
        assert (await recv_json(ws))["code"] == 200
        with pytest.raises(ConnectionClosed) as closed:
            await recv_json(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4200


async def test_graphql_tick_by_tick(svc: Service, sim: SimThread) -> None:
    headers = auth(svc.url, "read")
    async with ws_connect(f"{svc.ws}/graphql", subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": headers}))
        assert json.loads(await asyncio.wait_for(ws.recv(), RECV))["type"] == "connection_ack"
        query = ('subscription { tickByTick(symbol: "AAPL", tickType: "Last") '
                 "{ conId symbol tickType time price size exchange pastLimit bidPrice } }")
        await ws.send(json.dumps({"id": "t", "type": "subscribe", "payload": {"query": query}}))
        for _ in range(5):
            message = await next_message(ws, "t")
            assert message["type"] == "next", message
            tick = message["payload"]["data"]["tickByTick"]
            assert (tick["conId"], tick["symbol"], tick["tickType"]) == (AAPL, "AAPL", "Last")
            assert 100 < tick["price"] < 1000 and tick["size"] > 0 and tick["bidPrice"] is None
            assert tick["time"].startswith("2013-03-01T")
        assert svc.hub.upstream_count(("tick_by_tick", AAPL, "Last", False)) == 1
        await ws.send(json.dumps({"id": "t", "type": "complete"}))
        await all_released(svc, sim)
        bad = ('subscription { tickByTick(symbol: "AAPL", tickType: "Trades") { price } }')
        await ws.send(json.dumps({"id": "b", "type": "subscribe", "payload": {"query": bad}}))
        while True:  # results of "t" sent before the complete arrived may still come
            message = json.loads(await asyncio.wait_for(ws.recv(), RECV))
            if message.get("id") == "b":
                break
            assert message.get("id") == "t" or message["type"] == "ping", message
        error = message["payload"]["errors"][0]
        assert error["extensions"]["status"] == 422 and error["path"] == ["tickByTick"]


def test_graphql_subscription_counts_as_a_tws_field() -> None:
    from graphql import parse

    schema = build_schema()._schema
    doc = parse('subscription { tickByTick(conId: 265598, tickType: "Last") { price } }')
    assert check_operations(schema, doc, GraphQLLimits(max_tws_fields=1)) is None
    error = check_operations(schema, doc, GraphQLLimits(max_tws_fields=0))
    assert error is not None and error.extensions["limit"] == "graphql_max_tws_fields"
    ticks = parse("subscription { ticks(conId: 265598) { type } }")  # not a TWSCall
    assert check_operations(schema, ticks, GraphQLLimits(max_tws_fields=0)) is None


async def test_hub_never_conflates_ticks_and_drops_a_slow_sink() -> None:
    """A kind with ``conflate=False``: every item reaches a reader that keeps up; one
    ``max_queue`` messages behind is dropped with the slow-consumer reason, unmerged."""
    hub = StreamHub(max_queue=4, drop_after=60.0)
    step = asyncio.Event()

    async def upstream(emit: Emit) -> None:
        n = 0
        while True:
            await step.wait()
            step.clear()
            emit(({"tickType": "Last", "n": n},))
            n += 1

    hub.register(TopicKind("tick_by_tick", lambda spec: upstream, message="tickByTick",
                           key=id, max_state=10, conflate=False))
    spec = TopicSpec("tick_by_tick", (1, "Last", False), {"conId": 1})
    fast, slow = hub.sink("fast"), hub.sink("slow")
    reasons: list[SinkDropped] = []
    slow.on_drop = reasons.append
    hub.subscribe(fast, spec)
    hub.subscribe(slow, spec)
    try:
        seen: list[int] = []
        for i in range(8):
            step.set()
            frames = await fast.next_frames()
            for frame in frames:
                seen += [t["n"] for t in json.loads(frame.text)["ticks"]]
            if i == 0:  # the slow one takes its snapshot, then never reads again
                assert [f.type for f in await slow.next_frames()] == ["snapshot"]
        assert seen == list(range(8))
        assert len(reasons) == 1 and reasons[0].code == 1008
        assert reasons[0].reason.startswith("slow consumer: 4 messages unsent"), reasons
        assert hub.dropped == 1 and hub.subscriber_count(spec.key) == 1
        with pytest.raises(SinkDropped):
            await slow.next_frames()
    finally:
        await hub.stop()


async def test_gap_item_after_the_gateway_restarts(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    own_sim = SimThread(speed=20.0, poll_interval=0.01)
    try:
        own = Service(f"127.0.0.1:{own_sim.server.port}",
                      str(tmp_path_factory.mktemp("gap") / "journal.sqlite3"))
        try:
            async with connect(f"{own.ws}/ws/ticks?conId={AAPL}&tickType=MidPoint") as ws:
                assert (await recv_json(ws))["type"] == "snapshot"
                before = await ticks_of(ws, 2)
                own_sim.restart()  # the service's connection to TWS drops
                items: list[dict[str, Any]] = []
                while not any(t["tickType"] == "MidPoint" for t in items):  # a fresh tick
                    msg = await recv_json(ws)
                    assert msg["type"] == "tickByTick", msg
                    items += [t for t in msg["ticks"] if t["tickType"] == "Gap" or items]
                gap = items[0]
                assert gap["tickType"] == "Gap" and gap["reason"], items
                since, until = when(gap["since"]), when(gap["until"])
                assert when(before[-1]["time"]) <= since <= until  # the gateway's clock
                assert since.date() == dt.date(2013, 3, 1)
                assert when(items[-1]["time"]) >= when(before[-1]["time"])
                assert tbt_subscriptions(own_sim) == [(AAPL, 4)]  # subscribed again
        finally:
            own.stop()
    finally:
        own_sim.stop()


async def test_revoking_the_key_closes_the_socket_and_openapi_documents_sse(
        svc: Service, sim: SimThread) -> None:
    async with httpx.AsyncClient(base_url=svc.url, headers=svc.headers, timeout=RECV) as http:
        made = (await http.post("/keys", json={"name": "ticks", "scope": "read"})).json()
        key = {"X-API-Key": made["key"]}
        url = f"{svc.ws}/ws/ticks?conId={AAPL}&tickType=BidAsk"
        async with ws_connect(url, additional_headers=key) as ws:
            assert (await recv_json(ws))["type"] == "snapshot"
            await ticks_of(ws, 1)
            assert (await http.delete(f"/keys/{made['id']}")).json()["active"] is False
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await recv_json(ws)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        await all_released(svc, sim)
        spec = (await http.get("/openapi.json")).json()
        sse = spec["paths"]["/sse/ticks"]["get"]
        assert {p["name"] for p in sse["parameters"]} >= {"symbol", "conId", "tickType",
                                                          "ignoreSize"}
        assert "10190" in sse["description"] and "text/event-stream" in \
            sse["responses"]["200"]["content"]


def tiny_socket(port: int) -> socket.socket:
    """A connected client socket with a tiny receive buffer (a reader that stalls soon)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


async def test_a_slow_websocket_is_dropped_not_conflated(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    fast_sim = SimThread(speed=300.0, poll_interval=0.005)  # many ticks a second
    try:
        own = Service(f"127.0.0.1:{fast_sim.server.port}",
                      str(tmp_path_factory.mktemp("slow") / "journal.sqlite3"))
        try:
            await slow_consumer_dropped(own)
        finally:
            own.stop()
    finally:
        fast_sim.stop()


async def slow_consumer_dropped(svc: Service) -> None:
    hub, key = svc.hub, ("tick_by_tick", AAPL, "BidAsk", False)
    hub.max_queue, hub.drop_after = 4, 600.0  # a tick stream is dropped by count, not time
    url = f"{svc.ws}/ws/ticks?conId={AAPL}&tickType=BidAsk"
    async with connect(url) as fast, \
            connect(url, sock=tiny_socket(svc.port), max_queue=1, compression=None) as slow:
        assert (await recv_json(fast))["type"] == "snapshot"
        while hub.dropped == 0:  # the slow one never reads meanwhile
            msg = await recv_json(fast)
            assert msg["type"] == "tickByTick" and "conflated" not in msg, msg
        assert hub.subscriber_count(key) == 1
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                msg = json.loads(await asyncio.wait_for(slow.recv(), 15))
                assert "conflated" not in msg, msg
        rcvd = closed.value.rcvd
        assert rcvd is not None and rcvd.code == 1008, rcvd
        assert rcvd.reason.startswith("slow consumer: ") and "not conflated" in rcvd.reason
        assert (await recv_json(fast))["type"] == "tickByTick"  # still served
