"""Metrics, request ids and structured logs of the real service (embedded simulator)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from twsbridge.service.observability import JsonFormatter, log_context

from .processes import eventually, free_port, twsbridge_command
from .support import auth

PROMETHEUS = "text/plain; version=0.0.4"


def _sample(text: str, metric_name: str, /, **labels: str) -> float | None:
    """The value of sample ``metric_name{labels}`` in a Prometheus text page (None: absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(metric_name):
            continue
        head, _, value = line.rpartition(" ")
        metric, _, label_text = head.partition("{")
        if metric != metric_name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', label_text))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return None


async def _metrics(http: httpx.AsyncClient) -> str:
    r = await http.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(PROMETHEUS)
    return r.text


async def test_metrics_need_the_admin_scope(service_url: str) -> None:
    async with httpx.AsyncClient(base_url=service_url, timeout=30) as bare:
        assert (await bare.get("/metrics")).status_code == 401
        refused = await bare.get("/metrics", headers=auth(service_url, "read"))
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert (await bare.get("/metrics", headers=auth(service_url, "admin"))).status_code == 200


async def test_metrics_count_messages_latency_and_connection(http: httpx.AsyncClient) -> None:
    r = await http.get("/quotes", params={"symbol": "AAPL"})
    assert r.status_code == 200, r.text
    assert (await http.get("/orders/2147483647")).status_code == 404
    text = await _metrics(http)
    assert (_sample(text, "twsbridge_tws_messages_sent_total", name="reqMktData") or 0) >= 1
    assert (_sample(text, "twsbridge_tws_messages_sent_total", name="reqContractDetails")
            or 0) >= 1
    assert (_sample(text, "twsbridge_tws_messages_received_total", name="tickPrice") or 0) >= 1
    assert (_sample(text, "twsbridge_tws_messages_received_total", name="nextValidId")
            or 0) >= 1
    count = "twsbridge_http_request_duration_seconds_count"
    assert (_sample(text, count, method="GET", route="/quotes", status="200") or 0) >= 1
    # the route template, never the raw path
    assert (_sample(text, count, method="GET", route="/orders/{orderId}", status="404")
            or 0) >= 1
    assert "/orders/2147483647" not in text
    assert _sample(text, "twsbridge_tws_connected") == 1
    assert _sample(text, "twsbridge_tws_connection_state", state="connected") == 1
    assert (_sample(text, "twsbridge_tws_server_version") or 0) >= 157
    assert _sample(text, "twsbridge_tws_connection_info", mode="simulator",
                   client_id="17") == 1
    assert _sample(text, "twsbridge_journal_lag_seconds_count") is not None
    assert _sample(text, "twsbridge_journal_write_failures_total") == 0
    assert _sample(text, "process_resident_memory_bytes") is not None


async def test_metrics_count_orders_placed_and_rejected(http: httpx.AsyncClient) -> None:
    before = await _metrics(http)
    trade = auth(str(http.base_url), "trade")
    placed = await http.post("/orders", headers=trade, json={
        "symbol": "MSFT", "action": "BUY", "totalQuantity": 10, "orderType": "LMT",
        "lmtPrice": 1.0})
    assert placed.status_code == 201, placed.text
    rejected = await http.post("/orders", headers=trade, json={  # beyond the margin: 201
        "symbol": "GOOG", "action": "BUY", "totalQuantity": 100_000, "orderType": "MKT"})
    assert rejected.status_code == 400 and rejected.json()["code"] == 201, rejected.text
    cancelled = await http.delete(f"/orders/{placed.json()['orderId']}", headers=trade)
    assert cancelled.status_code == 200, cancelled.text
    after = await _metrics(http)

    def grew(metric: str, /, **labels: str) -> float:
        return (_sample(after, metric, **labels) or 0) - (_sample(before, metric, **labels) or 0)

    assert grew("twsbridge_orders_placed_total") == 2
    assert grew("twsbridge_orders_rejected_total", code="201") == 1
    assert grew("twsbridge_orders_cancel_requests_total") == 1
    assert grew("twsbridge_tws_messages_sent_total", name="placeOrder") == 2
    assert grew("twsbridge_tws_messages_received_total", name="orderStatus") >= 1
    assert grew("twsbridge_journal_lag_seconds_count") >= 2
    assert (_sample(after, "twsbridge_journal_lag_seconds", quantile="0.99") or 0) > 0


async def test_metrics_show_streaming_upstreams_and_subscribers(
    http: httpx.AsyncClient, service_url: str,
) -> None:
    async with httpx.AsyncClient(base_url=service_url, timeout=30,
                                 headers=auth(service_url, "read")) as sse, \
            sse.stream("GET", "/sse/quotes", params={"symbol": "IBM"}) as stream:
        assert stream.status_code == 200
        lines = stream.aiter_lines()
        async with asyncio.timeout(20):
            async for line in lines:
                if line.startswith("data:"):
                    break

        async def subscribed() -> str | None:
            text = await _metrics(http)
            found = _sample(text, "twsbridge_stream_subscribers", kind="quotes")
            return text if found == 1 else None

        text = await eventually(subscribed, "the subscriber in the metrics", 10)
        assert (_sample(text, "twsbridge_stream_upstreams", kind="quotes") or 0) >= 1
        assert (_sample(text, "twsbridge_stream_sinks") or 0) >= 1
        topics = re.findall(r'twsbridge_stream_subscribers\{kind="quotes",topic="([^"]+)"', text)
        assert any(t.startswith("quotes/8314") for t in topics), topics


async def test_request_id_in_and_out(http: httpx.AsyncClient) -> None:
    given = await http.get("/health", headers={"X-Request-ID": "trace-42.a:b"})
    assert given.headers["x-request-id"] == "trace-42.a:b"
    made = await http.get("/health")
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    unsafe = await http.get("/health", headers={"X-Request-ID": "no spaces\tor tabs"})
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe.headers["x-request-id"])
    problem = await http.get("/contracts/0")  # a problem answer carries it too
    assert problem.status_code == 404 and problem.headers["x-request-id"]


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def access_lines() -> Iterator[_Lines]:
    handler = _Lines()
    logger = logging.getLogger("twsbridge.access")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


async def test_access_log_lines_are_json_with_context(
    http: httpx.AsyncClient, access_lines: _Lines,
) -> None:
    r = await http.get("/orders/77", params={"clientId": 17}, headers={"X-Request-ID": "rq-77"})
    assert r.status_code == 404

    async def logged() -> list[dict[str, object]] | None:  # written once the response ended
        found = [json.loads(line) for line in access_lines.lines]
        return [x for x in found if x.get("request_id") == "rq-77"] or None

    [line] = await eventually(logged, "the access line", 5, every=0.02)
    assert line["logger"] == "twsbridge.access" and line["level"] == "INFO"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["ts"])
    assert line["method"] == "GET" and line["path"] == "/orders/77"
    assert line["route"] == "/orders/{orderId}" and line["status"] == 404
    assert line["orderId"] == 77 and line["latency_ms"] >= 0
    assert line["message"].startswith("GET /orders/77 404")


def test_json_formatter_context_extra_and_exception() -> None:
    record = logging.LogRecord("twsbridge.client", logging.WARNING, __file__, 1,
                               "order %d refused", (12,), None)
    record.orderId = 12
    record.clientId = 17
    with log_context(request_id="abc", reqId=None):
        line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "order 12 refused" and line["level"] == "WARNING"
    assert line["request_id"] == "abc" and "reqId" not in line
    assert line["orderId"] == 12 and line["clientId"] == 17
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    assert "ValueError: boom" in json.loads(JsonFormatter().format(failed))["exc"]


def test_serve_json_logs_and_public_metrics(tmp_path: Path) -> None:
    """``twsbridge serve --log-format json`` with TWSBRIDGE_METRICS_PUBLIC=true: every
    line is a JSON object; /metrics answers without a key."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWSBRIDGE_")}
    env.update(TWSBRIDGE_METRICS_PUBLIC="true", PYTHONUNBUFFERED="1")
    log = tmp_path / "serve.log"
    args = ["serve", "--port", str(port), "--log-format", "json",
            "--journal-url", f"sqlite:///{tmp_path / 'journal.sqlite3'}"]
    with log.open("w") as fh:
        proc = subprocess.Popen([*twsbridge_command(), *args], stdout=subprocess.DEVNULL,
                                stderr=fh, env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                try:
                    if httpx.get(f"{base}/health", timeout=5).json()["status"] == "up":
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            r = httpx.get(f"{base}/metrics", headers={"X-Request-ID": "serve-1"}, timeout=10)
            assert r.status_code == 200 and "twsbridge_tws_connected 1.0" in r.text
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert lines and all({"ts", "level", "logger", "message"} <= set(x) for x in lines)
    assert any("SIMULATED gateway" in x["message"] for x in lines)
    [access] = [x for x in lines if x.get("request_id") == "serve-1"]
    assert access["route"] == "/metrics" and access["status"] == 200
    assert any(x["logger"].startswith("uvicorn") for x in lines)
