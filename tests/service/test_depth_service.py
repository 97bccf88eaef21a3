"""Market depth in the service: REST /market/depth, /ws/depth, /sse/depth, GraphQL
marketDepth (query and subscription), the market_depth MCP tool, keys, TWS's errors;
the real service on its embedded simulator (replaying 2013-03-01 10:00)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import httpx2
import pytest
import pytest_asyncio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from .support import KEYS, ServiceKeys, running_service, sim_settings

pytestmark = pytest.mark.timeout(60)

AAPL = 265598
MSFT = 272093
RECV = 10.0


@pytest.fixture(scope="module")
def svc() -> Iterator[str]:
    with running_service(sim_settings()) as url:
        yield url


@pytest.fixture
def keys(svc: str) -> ServiceKeys:
    return KEYS[svc]


@pytest_asyncio.fixture
async def http(svc: str, keys: ServiceKeys) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=svc, headers=keys.headers("read"),
                                 timeout=30.0) as client:
        yield client


def ws_url(svc: str, path: str) -> str:
    return svc.replace("http://", "ws://") + path


def connect(svc: str, path: str, keys: ServiceKeys, **kwargs: Any) -> ws_connect:
    return ws_connect(ws_url(svc, path), additional_headers=keys.headers("read"), **kwargs)


async def recv_json(ws: ClientConnection) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), RECV))
    return data


async def depth_upstreams(http: httpx.AsyncClient) -> dict[tuple[Any, ...], int]:
    r = await http.get("/streams")
    assert r.status_code == 200, r.text
    return {tuple(u["topic"]): u["subscribers"] for u in r.json()["upstreams"]
            if u["topic"][0] == "depth"}


async def no_depth_upstreams(http: httpx.AsyncClient) -> None:
    for _ in range(200):
        if not await depth_upstreams(http):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"depth upstreams still run: {await depth_upstreams(http)}")


def check_book(book: dict[str, Any], rows: int) -> None:
    bids, asks = book["bids"], book["asks"]
    assert 1 <= len(bids) <= rows and 1 <= len(asks) <= rows, book
    bid_prices = [r["price"] for r in bids]
    ask_prices = [r["price"] for r in asks]
    assert bid_prices == sorted(bid_prices, reverse=True)
    assert ask_prices == sorted(ask_prices)
    assert bid_prices[0] < ask_prices[0]
    assert all(r["size"] > 0 for r in bids + asks)
    assert dt.datetime.fromisoformat(book["time"]).year == 2013  # the gateway's clock


# ------------------------------------------------------------------ REST


async def test_smart_book_snapshot(http: httpx.AsyncClient) -> None:
    r = await http.get("/market/depth", params={"symbol": "AAPL", "rows": 5})
    assert r.status_code == 200, r.text
    book = r.json()
    check_book(book, 5)
    assert book["contract"]["conId"] == AAPL
    assert book["isSmartDepth"] is True and book["kind"] == "smart"
    assert book["exchange"] == "SMART" and book["numRows"] == 5
    assert all(row["marketMaker"] for row in book["bids"] + book["asks"])  # the venues


async def test_exchange_books_by_conid(http: httpx.AsyncClient) -> None:
    island = (await http.get("/market/depth", params={
        "conId": AAPL, "exchange": "ISLAND", "rows": 3})).json()
    check_book(island, 3)
    assert island["kind"] == "marketMakers" and island["exchange"] == "ISLAND"
    arca = await http.get("/market/depth", params={"symbol": "AAPL", "exchange": "ARCA"})
    assert arca.status_code == 200, arca.text
    assert arca.json()["kind"] == "exchange" and not arca.json()["isSmartDepth"]
    assert all(row["marketMaker"] == "" for row in arca.json()["bids"])


def test_book_top_is_the_quote() -> None:
    """The SMART book's top rows are the quote at the same instant (a frozen clock: the
    same simulated second for both requests)."""

    async def both(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
        async with httpx.AsyncClient(base_url=url, headers=KEYS[url].headers("read"),
                                     timeout=30.0) as client:
            book = await client.get("/market/depth", params={"symbol": "AAPL", "rows": 2})
            quote = await client.get("/quotes", params={"symbol": "AAPL"})
        assert book.status_code == 200 and quote.status_code == 200, (book.text, quote.text)
        return book.json(), quote.json()

    with running_service(sim_settings(sim_speed=0.0)) as url:
        book, quote = asyncio.run(both(url))
    assert book["bids"][0]["price"] == quote["bid"] and book["asks"][0]["price"] == quote["ask"]
    assert book["bids"][0]["size"] == quote["bidSize"]
    assert book["asks"][0]["size"] == quote["askSize"]


async def test_depth_exchanges(http: httpx.AsyncClient) -> None:
    r = await http.get("/market/depth/exchanges")
    assert r.status_code == 200, r.text
    found = {(d["exchange"], d["secType"]) for d in r.json()}
    assert ("ISLAND", "STK") in found and ("IDEALPRO", "CASH") in found
    assert {d["serviceDataType"] for d in r.json()} <= {"Deep", "Deep2"}


async def test_errors_are_problems_with_tws_codes(http: httpx.AsyncClient) -> None:
    unknown = await http.get("/market/depth", params={"symbol": "NOSUCHSYM"})
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    no_depth = await http.get("/market/depth", params={"symbol": "AAPL", "smart": "false"})
    assert no_depth.status_code == 400, no_depth.text  # SMART without isSmartDepth
    assert no_depth.json()["code"] == 10092
    assert (await http.get("/market/depth", params={"symbol": "AAPL", "rows": 0})
            ).status_code == 422
    assert (await http.get("/market/depth")).status_code == 422  # neither symbol nor conId


async def test_keys(svc: str, keys: ServiceKeys) -> None:
    async with httpx.AsyncClient(base_url=svc, timeout=30.0) as anonymous:
        r = await anonymous.get("/market/depth", params={"symbol": "AAPL"})
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        assert (await anonymous.get("/market/depth/exchanges")).status_code == 401
        assert (await anonymous.get("/sse/depth", params={"symbol": "AAPL"})).status_code == 401
        bad = {"X-API-Key": "twsb_000000000000_" + "x" * 43}
        assert (await anonymous.get("/market/depth/exchanges", headers=bad)).status_code == 401
        for scope in ("read", "trade", "admin"):  # every scope includes read
            ok = await anonymous.get("/market/depth/exchanges", headers=keys.headers(scope))
            assert ok.status_code == 200, (scope, ok.text)
    with pytest.raises(ConnectionClosed) as closed:
        async with ws_connect(ws_url(svc, "/ws/depth?symbol=AAPL")) as ws:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_openapi(http: httpx.AsyncClient) -> None:
    spec = (await http.get("/openapi.json")).json()
    for path in ("/market/depth", "/market/depth/exchanges", "/sse/depth"):
        assert "get" in spec["paths"][path], path
    op = spec["paths"]["/market/depth"]["get"]
    assert {"409", "400", "404"} <= set(op["responses"])
    schemas = spec["components"]["schemas"]
    assert schemas["DepthBookPublic"]["examples"][0]["kind"] == "smart"
    assert "examples" in schemas["DepthExchangePublic"]


# --------------------------------------------------------------- streams


def check_levels(msg: dict[str, Any], kind: str) -> None:
    assert msg["type"] == kind, msg
    assert msg["conId"] == AAPL and msg["isSmartDepth"] is True and msg["numRows"] == 5
    assert isinstance(msg["t_hub"], int) and msg["levels"], msg
    for level in msg["levels"]:
        if "gap" in level:
            continue
        assert level["side"] in ("bid", "ask") and 0 <= level["position"] < 5


async def test_ws_snapshot_then_updates_shared(svc: str, keys: ServiceKeys,
                                               http: httpx.AsyncClient) -> None:
    await no_depth_upstreams(http)
    async with connect(svc, "/ws/depth?symbol=AAPL&rows=5", keys) as a:
        snap = await recv_json(a)
        check_levels(snap, "snapshot")
        rows = {(lv["side"], lv["position"]): lv for lv in snap["levels"]}
        assert rows[("bid", 0)]["price"] < rows[("ask", 0)]["price"]
        async with connect(svc, f"/ws/depth?conId={AAPL}", keys) as b:
            check_levels(await recv_json(b), "snapshot")
            assert await depth_upstreams(http) == {("depth", AAPL, "SMART", 5, True): 2}
            # the REST snapshot comes from the live book: no fourth request at TWS
            book = (await http.get("/market/depth", params={"symbol": "AAPL", "rows": 3})
                    ).json()
            check_book(book, 3)
            check_levels(await recv_json(a), "depth")  # the book moves each second
            check_levels(await recv_json(b), "depth")
        await a.send(json.dumps({"action": "unsubscribe", "conId": AAPL}))
        while (await recv_json(a))["type"] != "unsubscribed":
            pass
    await no_depth_upstreams(http)


async def test_sse_depth(http: httpx.AsyncClient) -> None:
    async with http.stream("GET", "/sse/depth", params={"symbol": "AAPL"}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = aiter(r.aiter_lines())
        event = await asyncio.wait_for(anext(lines), RECV)
        data = await asyncio.wait_for(anext(lines), RECV)
        assert event == "event: snapshot"
        check_levels(json.loads(data.removeprefix("data: ")), "snapshot")
    unknown = await http.get("/sse/depth", params={"symbol": "NOSUCHSYM"})
    assert unknown.status_code == 404


async def test_fourth_security_is_refused_with_309(svc: str, keys: ServiceKeys,
                                                   http: httpx.AsyncClient) -> None:
    """TWS allows 3 securities with depth on the service's one connection."""
    await no_depth_upstreams(http)
    async with connect(svc, "/ws/depth?symbol=AAPL", keys) as aapl, \
            connect(svc, "/ws/depth?symbol=MSFT", keys) as msft, \
            connect(svc, "/ws/depth?symbol=IBM", keys) as ibm:
        for ws in (aapl, msft, ibm):
            assert (await recv_json(ws))["type"] == "snapshot"
        # more books of a security already deep are allowed
        island = await http.get("/market/depth", params={"symbol": "AAPL",
                                                         "exchange": "ISLAND"})
        assert island.status_code == 200, island.text
        refused = await http.get("/market/depth", params={"symbol": "GOOG"})
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == 309
        assert refused.json()["type"].endswith(":depth-limit")
        with pytest.raises(ConnectionClosed) as closed:
            async with connect(svc, "/ws/depth?symbol=GOOG", keys) as goog:
                error = await recv_json(goog)
                assert error["type"] == "error" and error["code"] == 309, error
                await recv_json(goog)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4309
        # on a socket of several books, the refusal is an error frame; the socket goes on
        await aapl.send(json.dumps({"action": "subscribe", "symbol": "GOOG"}))
        while (msg := await recv_json(aapl))["type"] != "error":
            assert msg["type"] in ("depth", "subscribed"), msg
        assert msg["code"] == 309 and msg["symbol"] == "GOOG"
        assert (await recv_json(aapl))["type"] == "depth"
    await no_depth_upstreams(http)


async def test_ws_bad_options(svc: str, keys: ServiceKeys) -> None:
    async with connect(svc, "/ws/depth", keys) as ws:
        await ws.send(json.dumps({"action": "subscribe", "symbol": "AAPL", "rows": "five"}))
        error = await recv_json(ws)
        assert error["type"] == "error" and error["status"] == 422, error


# --------------------------------------------------------------- GraphQL

BOOK = ("query($s: String, $r: Int!) { marketDepth(symbol: $s, rows: $r) { kind numRows "
        "exchange time bids { price size marketMaker } asks { price size } } }")


async def gql(http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None,
              ) -> dict[str, Any]:
    r = await http.post("/graphql", json={"query": query, "variables": variables or {}})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_graphql_query(http: httpx.AsyncClient) -> None:
    book = (await gql(http, BOOK, {"s": "AAPL", "r": 4}))["data"]["marketDepth"]
    check_book(book, 4)
    assert book["kind"] == "smart" and book["numRows"] == 4
    exchanges = await gql(http, "{ marketDepthExchanges { exchange serviceDataType } }")
    assert {"exchange": "ISLAND", "serviceDataType": "Deep2"} in \
        exchanges["data"]["marketDepthExchanges"]
    refused = await gql(http, BOOK, {"s": "NOSUCHSYM", "r": 4})
    assert refused["errors"][0]["extensions"]["status"] == 404
    no_depth = await gql(http, 'query { marketDepth(symbol: "AAPL", smart: false) { kind } }')
    assert no_depth["errors"][0]["extensions"]["code"] == 10092


async def test_graphql_counts_depth_as_tws_fields(http: httpx.AsyncClient) -> None:
    aliases = " ".join(f'b{i}: marketDepth(symbol: "AAPL") {{ numRows }}' for i in range(11))
    r = await http.post("/graphql", json={"query": "{ " + aliases + " }"})
    assert r.status_code == 400, r.text  # refused before any resolver runs
    error = r.json()["errors"][0]
    assert error["extensions"]["limit"] == "graphql_max_tws_fields", error
    assert "marketDepth" in error["message"]


async def test_graphql_subscription(svc: str, keys: ServiceKeys,
                                    http: httpx.AsyncClient) -> None:
    await no_depth_upstreams(http)
    async with ws_connect(ws_url(svc, "/graphql"), subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                          ) as ws:
        await ws.send(json.dumps({"type": "connection_init",
                                  "payload": {"Authorization": f"Bearer {keys.read}"}}))
        assert (await recv_json(ws))["type"] == "connection_ack"
        query = ("subscription { marketDepth(symbol: \"AAPL\") { type conId numRows "
                 "isSmartDepth conflated levels { side position price size marketMaker gap "
                 "time } } }")
        await ws.send(json.dumps({"id": "d", "type": "subscribe", "payload": {"query": query}}))
        first = await recv_json(ws)
        assert first["type"] == "next", first
        snap = first["payload"]["data"]["marketDepth"]
        assert snap["type"] == "snapshot" and snap["conId"] == AAPL and snap["isSmartDepth"]
        assert {lv["side"] for lv in snap["levels"]} == {"bid", "ask"}
        second = (await recv_json(ws))["payload"]["data"]["marketDepth"]
        assert second["type"] == "depth" and second["levels"]
        assert await depth_upstreams(http) == {("depth", AAPL, "SMART", 5, True): 1}
        await ws.send(json.dumps({"id": "d", "type": "complete"}))
    await no_depth_upstreams(http)


# ------------------------------------------------------------------- MCP


async def test_mcp_tool(svc: str, keys: ServiceKeys) -> None:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {keys.read}"},
                                  timeout=30.0) as client:
        async with Client(streamable_http_client(f"{svc}/mcp", http_client=client)) as mcp:
            tools = {t.name: t for t in (await mcp.list_tools()).tools}
            assert tools["market_depth"].annotations is not None
            assert tools["market_depth"].annotations.read_only_hint
            result = await mcp.call_tool("market_depth", {"symbol": "AAPL", "rows": 3})
            assert not result.is_error
            book = result.structured_content
            assert book is not None
            check_book(book, 3)
            unknown = await mcp.call_tool("market_depth", {"symbol": "NOSUCHSYM"})
            assert unknown.is_error


# ------------------------------------------- the depth topic's levels (no TWS)


def _book() -> Any:
    from twsbridge.client import Contract, OrderBook
    from twsbridge.protocol.catalogue import depth as wire

    contract = Contract(conId=AAPL, symbol="AAPL", exchange="SMART")

    def renew(rid: int | None) -> tuple[Any, Any]:
        return (wire.ReqMktDepth(reqId=rid or 1, contract=contract, numRows=5,
                                 isSmartDepth=True),
                wire.CancelMktDepth(reqId=rid or 1, isSmartDepth=True))

    return OrderBook(1, contract, 5, True, renew)


def _row(book: Any, position: int, operation: int, side: int, price: float,
         size: int = 100, mm: str = "ARCA") -> None:
    from decimal import Decimal

    from twsbridge.protocol.catalogue import depth as wire

    book.feed(wire.UpdateMktDepthL2(reqId=1, position=position, marketMaker=mm,
                                    operation=operation, side=side, price=price,
                                    size=Decimal(size), isSmartDepth=True))


def _apply(state: dict[Any, dict[str, Any]], items: list[dict[str, Any]]) -> None:
    from twsbridge.service.streaming.depth import level_key

    for item in items:
        state[level_key(item)] = item


def _sides(state: dict[Any, dict[str, Any]]) -> dict[str, list[float]]:
    out: dict[str, list[tuple[int, float]]] = {"bid": [], "ask": []}
    for item in state.values():
        if item.get("side") and item["price"] is not None:
            out[item["side"]].append((item["position"], item["price"]))
    return {side: [p for _, p in sorted(rows)] for side, rows in out.items()}


def test_levels_follow_row_operations_and_gaps() -> None:
    from twsbridge.service.streaming.depth import _Levels

    book, levels, state = _book(), _Levels(), {}
    t = "2013-03-01T15:00:00.000Z"
    for position, operation, side, price in [(0, 0, 1, 100.0), (0, 0, 1, 100.01),
                                             (0, 0, 0, 100.05), (1, 0, 0, 100.06),
                                             (0, 2, 1, 0.0), (1, 1, 0, 100.07)]:
        _row(book, position, operation, side, price)
        _apply(state, levels.changed(book, "bid" if side == 1 else "ask", position, t))
        assert _sides(state) == {"bid": [r.price for r in book.bids],
                                 "ask": [r.price for r in book.asks]}
    assert _sides(state) == {"bid": [100.0], "ask": [100.05, 100.07]}
    assert state[("bid", 1)]["price"] is None  # the deleted row's level is empty now
    emptied = levels.emptied("TWS error 317: reset", t)
    assert emptied[0] == {"gap": "TWS error 317: reset", "time": t}
    _apply(state, emptied)
    assert _sides(state) == {"bid": [], "ask": []}


async def test_slow_subscriber_gets_the_full_book_conflated() -> None:
    """The hub's quotes rules apply to depth: past max_queue batches, a subscriber is
    sent the latest level per (side, position), which is the current book."""
    from twsbridge.service.streaming.depth import DEPTH, _Levels, depth_spec, level_key
    from twsbridge.service.streaming.hub import StreamHub, TopicKind

    book, levels = _book(), _Levels()
    go, done = asyncio.Event(), asyncio.Event()
    t = "2013-03-01T15:00:00.000Z"

    async def upstream(emit: Any) -> None:
        _row(book, 0, 0, 1, 100.0)
        _row(book, 0, 0, 0, 100.05)
        emit(levels.changed(book, "bid", 0, t) + levels.changed(book, "ask", 0, t))
        await go.wait()
        for i in range(20):  # 20 loop steps: 20 batches
            _row(book, 0, 0 if i % 3 else 1, 1, 99.0 + i / 100)
            emit(levels.changed(book, "bid", 0, t))
            await asyncio.sleep(0)
        done.set()
        await asyncio.Event().wait()

    hub = StreamHub(max_queue=2, drop_after=60.0)
    hub.register(TopicKind(DEPTH, lambda spec: upstream, message="depth", field="levels",
                           key=level_key))
    sink = hub.sink("slow")
    from twsbridge.client import Contract

    hub.subscribe(sink, depth_spec(Contract(conId=AAPL, symbol="AAPL", exchange="SMART"),
                                   5, True))
    state: dict[Any, dict[str, Any]] = {}
    (snapshot,) = await asyncio.wait_for(sink.next_frames(), RECV)
    assert snapshot.type == "snapshot"
    _apply(state, json.loads(snapshot.text)["levels"])
    go.set()
    await asyncio.wait_for(done.wait(), RECV)
    await asyncio.sleep(0)
    frames = await asyncio.wait_for(sink.next_frames(), RECV)
    assert [f.type for f in frames] == ["depth"]
    message = json.loads(frames[0].text)
    assert message["conflated"] > 0
    _apply(state, message["levels"])
    assert _sides(state) == {"bid": [r.price for r in book.bids],
                             "ask": [r.price for r in book.asks]}
    await hub.stop()


async def test_gap_then_rebuilt_book_after_gateway_restart(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """The service's connection to TWS drops: the same socket gets a gap item (every
    level empty), then the re-requested book."""
    from .streaming_support import Service, SimThread

    own_sim = SimThread(speed=150.0, poll_interval=0.005)
    try:
        own = Service(f"127.0.0.1:{own_sim.server.port}",
                      str(tmp_path_factory.mktemp("depth") / "journal.sqlite3"))
        try:
            async with ws_connect(f"{own.ws}/ws/depth?conId={AAPL}&rows=3",
                                  additional_headers=own.keys.headers("read")) as ws:
                assert (await recv_json(ws))["type"] == "snapshot"
                own_sim.restart()
                state: dict[Any, dict[str, Any]] = {}
                while True:  # until the gap
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    assert msg["type"] == "depth", msg
                    gaps = [i for i, lv in enumerate(msg["levels"]) if "gap" in lv]
                    if gaps:
                        after = msg["levels"][gaps[-1]:]
                        break
                firsts: dict[Any, Any] = {}
                for lv in after[1:]:  # the gap empties every level first
                    firsts.setdefault((lv["side"], lv["position"]), lv["price"])
                assert firsts[("bid", 0)] is None and firsts[("ask", 0)] is None, after
                _apply(state, after)
                while not (_sides(state)["bid"] and _sides(state)["ask"]):  # rebuilt
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    _apply(state, msg["levels"])
                book = _sides(state)
                assert book["bid"][0] < book["ask"][0] and len(book["bid"]) <= 3
                assert own.hub.upstream_count(kind="depth") == 1
        finally:
            own.stop()
    finally:
        own_sim.stop()
