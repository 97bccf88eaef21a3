"""Bad WebSocket input: an error frame naming the problem (the socket stays), or a close
with a code and a reason - never a dropped connection (1006) - and a log line with the
request id.

The real service under uvicorn on the embedded simulator, the ``websockets`` client, on
every WebSocket face: /ws/quotes, /ws/bars, /ws/realtime-bars, /ws/orders, /ws/account
and the GraphQL WebSocket.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from twsbridge.service.observability.logs import JsonFormatter

from .processes import free_port, twsbridge_command
from .support import auth, running_service, sim_settings

pytestmark = pytest.mark.timeout(90)

FACES = ["/ws/quotes", "/ws/bars", "/ws/realtime-bars", "/ws/orders", "/ws/account"]
DEEP = 100_000
NUL_SUBSCRIBE = json.dumps({"action": "subscribe", "symbol": "AA\x00PL"})
NUL_PREVIEW = json.dumps({"action": "previewOrder", "id": "n1", "order": {
    "symbol": "AAPL\x00", "action": "BUY", "totalQuantity": 1, "orderType": "MKT"}})


class JsonLines(logging.Handler):
    """The service's own JSON log lines, formatted when written (in the service's task,
    where the request id is bound)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def logged() -> Iterator[JsonLines]:
    handler = JsonLines()
    loggers = [logging.getLogger(n) for n in ("twsbridge.service.streaming",
                                              "twsbridge.service.graphql")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with running_service(sim_settings()) as base:
        yield base


def ws(url: str, path: str, request_id: str, scope: str = "trade") -> Any:
    return ws_connect(url.replace("http://", "ws://") + path, max_size=None,
                      additional_headers={**auth(url, scope), "X-Request-ID": request_id})


async def error_frame(sock: ClientConnection) -> dict[str, Any]:
    """The next error frame (snapshots and ticks are skipped); fails on a close."""
    while True:
        try:
            raw = await asyncio.wait_for(sock.recv(), 10)
        except ConnectionClosed as exc:
            rcvd = exc.rcvd
            raise AssertionError(f"closed instead of answering: {rcvd}") from exc
        msg: dict[str, Any] = json.loads(raw)
        if msg["type"] == "error":
            return msg


async def still_serves(sock: ClientConnection) -> None:
    """The socket still takes actions: an unsubscribe of nothing is answered 404."""
    await sock.send(json.dumps({"action": "unsubscribe", "conId": 1}))
    answer = await error_frame(sock)
    assert answer["status"] == 404, answer


def deep(n: int) -> str:
    return '{"action": "subscribe", "x": ' + "[" * n + "]" * n + "}"


@pytest.mark.parametrize("path", FACES)
async def test_bad_messages_get_error_frames_and_the_socket_stays(
        url: str, path: str, logged: JsonLines) -> None:
    rid = f"bad-input-{path.rsplit('/', 1)[-1]}"
    async with ws(url, path, rid) as sock:
        await sock.send(NUL_SUBSCRIBE)
        nul = await error_frame(sock)
        assert nul["status"] == 422 and "NUL" in nul["message"], nul
        assert nul["requestId"] == rid
        await sock.send(NUL_PREVIEW)
        preview = await error_frame(sock)
        assert preview["status"] == 422 and "NUL" in preview["message"], preview
        assert preview["id"] == "n1" and preview["action"] == "previewOrder"
        await sock.send(deep(DEEP))
        nested = await error_frame(sock)
        assert nested["status"] == 400 and "nested" in nested["message"], nested
        for text in ('{"action": ["subscribe"]}', "[1, 2]", "not json", '{"action": 5}'):
            await sock.send(text)
            other = await error_frame(sock)
            assert other["status"] == 400, (text, other)
        await still_serves(sock)
    refused = [x for x in logged.lines if "refused a WebSocket message" in x["message"]]
    assert len(refused) >= 7, logged.lines
    assert {x.get("request_id") for x in refused} == {rid}
    assert any("NUL" in x["message"] for x in refused)
    assert any("nested" in x["message"] for x in refused)


async def test_a_message_over_the_limit_closes_1009(url: str) -> None:
    async with ws(url, "/ws/quotes", "too-big") as sock:
        await sock.send(json.dumps({"action": "subscribe", "pad": "x" * (2 << 20)}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(sock.recv(), 10)
    assert closed.value.rcvd is not None, "no close frame"
    assert closed.value.rcvd.code == 1009 and "limit" in closed.value.rcvd.reason


# --------------------------------------------------------------------- GraphQL

async def gql(url: str, request_id: str) -> ClientConnection:
    sock = await ws_connect(url.replace("http://", "ws://") + "/graphql", max_size=None,
                            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                            additional_headers={"X-Request-ID": request_id})
    await sock.send(json.dumps({"type": "connection_init", "payload": auth(url, "trade")}))
    assert json.loads(await asyncio.wait_for(sock.recv(), 10))["type"] == "connection_ack"
    return sock


async def gql_close(sock: ClientConnection) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(sock.recv(), 10)
    assert closed.value.rcvd is not None, "closed without a close frame (1006)"
    return closed.value.rcvd.code, closed.value.rcvd.reason


@pytest.mark.parametrize(("message", "reason"), [
    (deep(DEEP), "nest"),  # "nested too deeply" / "nests N levels deep (limit ...)"
    (json.dumps({"type": "subscribe", "id": "s", "payload": "not an object"}), "payload"),
    (json.dumps({"type": "subscribe", "id": 5, "payload": {"query": "{ __typename }"}}), "id"),
    (json.dumps([1, 2, 3]), "object"),
])
async def test_graphql_ws_bad_messages_close_4400_with_a_reason(
        url: str, message: str, reason: str, logged: JsonLines) -> None:
    sock = await gql(url, "gql-bad")
    try:
        await sock.send(message)
        code, text = await gql_close(sock)
    finally:
        await sock.close()
    assert code == 4400 and reason in text, (code, text)
    refused = [x for x in logged.lines if "refused a GraphQL WebSocket message" in x["message"]]
    assert refused and {x.get("request_id") for x in refused} == {"gql-bad"}, logged.lines


async def test_graphql_ws_nul_in_variables_is_an_error_not_a_drop(url: str) -> None:
    sock = await gql(url, "gql-nul")
    try:
        query = "subscription($s: String) { ticks(symbol: $s) { type } }"
        await sock.send(json.dumps({"id": "n", "type": "subscribe", "payload": {
            "query": query, "variables": {"s": "AA\x00PL"}}}))
        message = json.loads(await asyncio.wait_for(sock.recv(), 10))
        assert message["type"] in ("next", "error"), message
        errors = message["payload"]["errors"] if message["type"] == "next" \
            else message["payload"]
        assert "NUL" in json.dumps(errors), errors
        await sock.send(json.dumps({"id": "t", "type": "subscribe",
                                    "payload": {"query": "{ __typename }"}}))
        while True:  # the socket goes on
            answer = json.loads(await asyncio.wait_for(sock.recv(), 10))
            if answer.get("id") == "t":
                assert answer["type"] == "next", answer
                break
    finally:
        await sock.close()


# ------------------------------------------------------ the limit in `twsbridge serve`

def test_serve_bounds_one_incoming_frame(tmp_path: Path) -> None:
    """``twsbridge serve`` gives uvicorn the limit: a frame over it is refused by the
    WebSocket protocol itself (1009) before the application sees (or buffers) it - on
    every face, GraphQL's included."""
    journal = f"sqlite:///{tmp_path / 'journal.sqlite3'}"
    key = subprocess.run(
        [*twsbridge_command(), "keys", "create", "frames", "--scope", "read", "--quiet",
         "--journal-url", journal], capture_output=True, text=True, timeout=60, check=True,
    ).stdout.strip()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWSBRIDGE_")}
    env.update(TWSBRIDGE_STREAM_MAX_MESSAGE_BYTES="65536", PYTHONUNBUFFERED="1")
    log = tmp_path / "serve.log"
    with log.open("w") as fh:
        proc = subprocess.Popen([*twsbridge_command(), "serve", "--port", str(port),
                                 "--journal-url", journal], stdout=fh,
                                stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code \
                            == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)

            async def probe(path: str, size: int) -> int | None:
                headers = {"X-API-Key": key}
                protocols = ["graphql-transport-ws"] if path == "/graphql" else None
                async with ws_connect(f"ws://127.0.0.1:{port}{path}", max_size=None,
                                      subprotocols=protocols,  # type: ignore[arg-type]
                                      additional_headers=headers) as sock:
                    await sock.send(json.dumps({"action": "unsubscribe", "conId": 1,
                                                "pad": "x" * size}))
                    try:
                        while True:
                            msg = json.loads(await asyncio.wait_for(sock.recv(), 10))
                            if msg["type"] == "error":
                                return None  # answered: the frame was taken
                    except ConnectionClosed as exc:
                        return exc.rcvd.code if exc.rcvd is not None else 1006

            assert asyncio.run(probe("/ws/orders", 1000)) is None
            assert asyncio.run(probe("/ws/orders", 100_000)) == 1009
            assert asyncio.run(probe("/graphql", 100_000)) == 1009
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
