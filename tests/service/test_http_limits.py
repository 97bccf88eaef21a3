"""Request bodies and slow clients against a real ``twsbridge serve`` (issue 9, items 4 and 5).

Raw sockets on 127.0.0.1: a body over the limit is refused (413) before it is
read, by its Content-Length or, chunked, cut as it streams; the key is checked
before any body is read (the service's RSS, read from /proc, does not grow with
the body); a request whose headers or body drip in is closed after its timeout
while normal requests are answered. Small limits come from a --config file.
"""

from __future__ import annotations

import json
import os
import re
import resource
import selectors
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from websockets.sync.client import connect

from .processes import Process, free_port, twsbridge_command, wait_for_port

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")

HEADER_TIMEOUT = 1.5
BODY_TIMEOUT = 2.0
MIB = 1 << 20


@dataclass
class Served:
    """A running ``twsbridge serve``: its process, port and a trade key."""

    proc: Process
    port: int
    key: str


def make_key(journal: str, scope: str = "trade") -> str:
    """A fresh API key in ``journal`` (``twsbridge keys create``)."""
    return subprocess.run(
        [*twsbridge_command(), "keys", "create", "limits", "--scope", scope, "--quiet",
         "--journal-url", journal], capture_output=True, text=True, timeout=60, check=True,
    ).stdout.strip()


def wait_healthy(port: int, proc: Process, timeout: float = 60.0) -> None:
    """Until GET /health answers 200."""
    wait_for_port(port, proc, timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if exchange(port, get("/health"))[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"/health not 200 within {timeout} s:\n{proc.output()}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``twsbridge serve`` with short header and body timeouts (the default 1 MiB body limit)."""
    tmp = tmp_path_factory.mktemp("limits")
    journal = str(tmp / "journal.sqlite3")
    key = make_key(journal)
    config = tmp / "limits.toml"
    config.write_text(f"header_timeout = {HEADER_TIMEOUT}\nbody_timeout = {BODY_TIMEOUT}\n"
                      "limit_log_interval = 1.0\n")
    port = free_port()
    proc = Process(["serve", "--port", str(port), "--journal-url", journal,
                    "--config", str(config)], tmp / "serve.log")
    try:
        wait_healthy(port, proc)
        yield Served(proc, port, key)
    finally:
        proc.stop()


# --- raw HTTP/1.1 ---------------------------------------------------------------------------

def get(path: str) -> bytes:
    """A complete GET request."""
    return f"GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n".encode()


def head(path: str, key: str | None, **headers: str | int) -> bytes:
    """The head of a POST request (JSON, with ``key`` as X-API-Key)."""
    lines = [f"POST {path} HTTP/1.1", "host: 127.0.0.1", "content-type: application/json"]
    if key is not None:
        lines.append(f"x-api-key: {key}")
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_response(sock: socket.socket, timeout: float) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one response (by its Content-Length, or to EOF)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a response: {data!r}")
        data += chunk
    raw_head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = raw_head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    length = int(headers.get("content-length", "-1"))
    while length < 0 or len(body) < length:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        body += chunk
    return int(status_line.split()[1]), headers, body


def exchange(port: int, request: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` on a new connection; its response."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        return read_response(sock, timeout)


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM: the peak RSS) of process ``pid`` in MB, from /proc/PID/status."""
    fields = dict(line.split(":", 1)
                  for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def stream_body(sock: socket.socket, total: int, chunked: bool) -> int:
    """Send ``total`` bytes of body (chunks of 256 KiB) until done or the server closes;
    the bytes sent."""
    block = b"[" + b"1," * (128 * 1024 - 1) + b"1"  # 256 KiB of a JSON array
    sent = 0
    try:
        while sent < total:
            part = block[:min(len(block), total - sent)]
            sock.sendall(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
            sent += len(part)
        if chunked:
            sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server refused the rest (what the tests want)
    return sent


def problem(headers: dict[str, str], body: bytes) -> dict[str, object]:
    """The problem+json body of a response."""
    assert headers["content-type"] == "application/problem+json", headers
    answer: dict[str, object] = json.loads(body)
    return answer


# --- item 4: bodies ---------------------------------------------------------------------------

@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_no_key_50_mb_body_is_refused_without_memory(served: Served, chunked: bool) -> None:
    for _ in range(5):  # warm: the first requests of a route import and cache things
        assert exchange(served.port, get("/health"))[0] == 200
    _, peak_before = memory_mb(served.proc.pid)
    size = 50 * MIB
    with socket.create_connection(("127.0.0.1", served.port), timeout=30) as sock:
        framing = {"transfer_encoding": "chunked"} if chunked else {"content_length": size}
        sock.sendall(head("/orders", None, **framing))
        started = time.monotonic()
        sent = stream_body(sock, size, chunked)
        status, headers, body = read_response(sock, 30)
        took = time.monotonic() - started
    _, peak_after = memory_mb(served.proc.pid)
    assert peak_after - peak_before < 10, (peak_before, peak_after, sent)
    # no key: 401 before the body is read (chunked); over the limit: 413 unread (length)
    assert status == (401 if chunked else 413), (status, body)
    assert problem(headers, body)["status"] == status
    assert headers["connection"] == "close"
    assert sent < size and took < 10, (sent, took)


def test_an_oversized_content_length_is_413_at_once(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(head("/orders", served.key, content_length=MIB + 1))  # no body sent
        started = time.monotonic()
        status, headers, body = read_response(sock, BODY_TIMEOUT)  # before any body timeout
        took = time.monotonic() - started
    assert status == 413 and took < 1.0, (status, took)
    answer = problem(headers, body)
    assert answer["limit"] == MIB and "1,048,576 bytes" in str(answer["detail"])


def test_a_chunked_body_is_cut_at_the_limit(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(head("/orders", served.key, transfer_encoding="chunked"))
        sent = stream_body(sock, 64 * MIB, chunked=True)
        status, headers, body = read_response(sock, 10)
    assert status == 413 and problem(headers, body)["limit"] == MIB
    assert sent < 64 * MIB  # the server stopped reading: the client could not send it all


def test_bodies_under_the_limit_still_reach_the_routes(served: Served) -> None:
    order = json.dumps({"symbol": "AAPL", "action": "BUY", "totalQuantity": 0,
                        "orderType": "MKT"}).encode()
    for framing in ({"content_length": len(order)}, {"transfer_encoding": "chunked"}):
        payload = order if "content_length" in framing else (
            b"%x\r\n%s\r\n0\r\n\r\n" % (len(order), order))
        status, headers, body = exchange(
            served.port, head("/orders", served.key, **framing) + payload)
        assert status == 422, (framing, body)  # the route validated it: totalQuantity 0
        assert "totalQuantity" in body.decode()
    # a body without a key is 401 (before reading it), however small
    status, headers, body = exchange(
        served.port, head("/orders", None, content_length=len(order)) + order)
    assert status == 401 and headers["www-authenticate"].startswith("Bearer")


def test_mcp_has_its_own_limit(served: Served) -> None:
    status, headers, body = exchange(
        served.port, head("/mcp", served.key, content_length=4 * MIB + 1,
                          accept="application/json, text/event-stream"))
    assert status == 413 and problem(headers, body)["limit"] == 4 * MIB
    # 2 MiB is within MCP's limit (not the REST one): the SDK reads and answers it
    payload = b" " * (2 * MIB - 2) + b"{}"
    status, _, body = exchange(
        served.port, head("/mcp", served.key, content_length=len(payload),
                          accept="application/json, text/event-stream") + payload)
    assert status != 413 and status < 500, (status, body[:200])


# --- item 5: slow clients ---------------------------------------------------------------------

def test_dripping_headers_are_closed_while_requests_are_served(served: Served) -> None:
    count = 100
    drippers = [socket.create_connection(("127.0.0.1", served.port), timeout=5)
                for _ in range(count)]
    partial = b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nx-drip: "
    started = time.monotonic()
    closed: set[int] = set()
    answers = 0
    try:
        for i in range(int((HEADER_TIMEOUT + 2.5) / 0.25)):
            for n, sock in enumerate(drippers):
                if n in closed:
                    continue
                try:
                    sock.sendall(partial[i:i + 1] or b"a")
                except OSError:
                    closed.add(n)
            if i % 2 == 0:  # a normal request is answered all along
                assert exchange(served.port, get("/health"), timeout=2)[0] == 200
                answers += 1
            time.sleep(0.25)
        elapsed = time.monotonic() - started
        statuses = []
        for sock in drippers:
            try:
                statuses.append(read_response(sock, 1)[0])
            except (OSError, ConnectionError):
                statuses.append(0)  # closed (reset while we were sending)
    finally:
        for sock in drippers:
            sock.close()
    assert answers >= 6
    assert all(s in (408, 0) for s in statuses), statuses  # every one closed, none held
    assert statuses.count(408) >= count // 2, statuses
    assert elapsed < HEADER_TIMEOUT + 4
    log = served.proc.output()
    assert "request headers did not arrive within 1.5 s" in log


def test_a_kept_alive_connection_dripping_its_next_request_is_closed(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(get("/health"))
        assert read_response(sock, 5)[0] == 200
        partial = b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nx-drip: "
        started = time.monotonic()
        status = None
        for i in range(int((HEADER_TIMEOUT + 3) / 0.2)):  # a byte every 0.2 s
            try:
                sock.sendall(partial[i:i + 1] or b"a")
            except OSError:
                break
            sock.settimeout(0.2)
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    status = read_response(sock, 1)[0]
                    break
            except TimeoutError:
                continue
        took = time.monotonic() - started
    assert status == 408, status  # the clock starts again at the next request's first byte
    assert HEADER_TIMEOUT - 0.2 < took < HEADER_TIMEOUT + 1.5, took


def test_a_dripping_body_is_closed_after_the_body_timeout(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(head("/orders", served.key, content_length=1000))
        started = time.monotonic()
        status = None
        for _ in range(int((BODY_TIMEOUT + 3) / 0.2)):
            try:
                sock.sendall(b" ")
            except OSError:
                break
            sock.settimeout(0.2)
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    status = read_response(sock, 1)[0]
                    break
            except TimeoutError:
                continue
        took = time.monotonic() - started
    assert status == 408, status
    assert BODY_TIMEOUT - 0.2 < took < BODY_TIMEOUT + 1.5, took


def test_a_websocket_outlives_the_header_timeout(served: Served) -> None:
    url = f"ws://127.0.0.1:{served.port}/ws/quotes?conId=265598"
    with connect(url, additional_headers={"X-API-Key": served.key}, open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"
        time.sleep(HEADER_TIMEOUT + BODY_TIMEOUT)
        ws.ping().wait(5)  # still open: its HTTP request was complete at the upgrade


# --- item 5: the connection cap under a small open-files limit ------------------------------

CAP_HEADER_TIMEOUT = 6.0


class LimitedProcess(Process):
    """``twsbridge serve`` started with ``RLIMIT_NOFILE`` soft 128, hard 256."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.args = args
        self.log = log
        env = {k: v for k, v in os.environ.items() if not k.startswith("TWSBRIDGE_")}
        env["PYTHONUNBUFFERED"] = "1"
        self._fh = log.open("w")
        self.proc = subprocess.Popen(
            [*twsbridge_command(), *args], stdout=self._fh, stderr=subprocess.STDOUT, env=env,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (128, 256)),
        )


@pytest.fixture(scope="module")
def few_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``twsbridge serve`` with 128 open files (hard limit 256) and max_connections 1000."""
    tmp = tmp_path_factory.mktemp("fds")
    journal = str(tmp / "journal.sqlite3")
    key = make_key(journal)
    config = tmp / "limits.toml"
    config.write_text(f"header_timeout = {CAP_HEADER_TIMEOUT}\nlimit_log_interval = 1.0\n")
    port = free_port()
    proc = LimitedProcess(["serve", "--port", str(port), "--journal-url", journal,
                           "--config", str(config)], tmp / "serve.log")
    try:
        wait_healthy(port, proc)
        yield Served(proc, port, key)
    finally:
        proc.stop()


def test_the_open_files_limit_is_raised_and_the_cap_kept_below_it(few_files: Served) -> None:
    limits = Path(f"/proc/{few_files.proc.pid}/limits").read_text()
    [line] = [x for x in limits.splitlines() if x.startswith("Max open files")]
    assert line.split()[3:5] == ["256", "256"], line  # soft raised to the hard limit
    assert "max_connections 1000 lowered to 144" in few_files.proc.output()


def open_idle(port: int, count: int) -> list[socket.socket]:
    """``count`` connections to ``port``, connecting without waiting for each other."""
    socks = []
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        socks.append(sock)
    return socks


def first_bytes(socks: list[socket.socket], timeout: float) -> dict[socket.socket, bytes]:
    """What each socket received (to EOF) within ``timeout`` s; sockets silent are absent."""
    got: dict[socket.socket, bytes] = {}
    with selectors.DefaultSelector() as sel:
        for sock in socks:
            sel.register(sock, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while sel.get_map() and time.monotonic() < deadline:
            for event, _ in sel.select(max(0.0, deadline - time.monotonic())):
                sock = event.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                got[sock] = got.get(sock, b"") + data
                if not data:
                    sel.unregister(sock)
    return got


def test_connections_beyond_the_cap_are_refused_and_logged_once_per_interval(
        few_files: Served) -> None:
    before = len(few_files.proc.output())
    started = time.monotonic()
    held: list[socket.socket] = []
    extra: list[socket.socket] = []
    try:
        for _ in range(144):  # the cap, each served once and then idle (kept alive)
            sock = socket.create_connection(("127.0.0.1", few_files.port), timeout=5)
            held.append(sock)
            sock.sendall(get("/health"))
            assert read_response(sock, 5)[0] == 200
        refusals = []
        for _ in range(150):  # one by one: each refused at once, with a problem
            sock = socket.create_connection(("127.0.0.1", few_files.port), timeout=5)
            extra.append(sock)
            status, headers, body = read_response(sock, 2)
            refusals.append(status)
            assert headers["retry-after"] == "1" and problem(headers, body)["status"] == 503
        assert refusals == [503] * 150
        burst = open_idle(few_files.port, 300)  # all at once: more than the open-files limit
        extra += burst
        answers = first_bytes(burst, 2.0)
        assert not first_bytes(held, 0.1), "a connection within the cap was closed"
    finally:
        for sock in held + extra:
            sock.close()
    seen = sum(data.startswith(b"HTTP/1.1 503 ") for data in answers.values())
    time.sleep(1.5)  # the tally's interval ends: the count of the rest is logged
    elapsed = time.monotonic() - started
    log = few_files.proc.output()[before:]
    assert "Too many open files" not in log and "accept() failed" not in log
    counts = [int(n) for n in re.findall(r"refused (\d+) connection\(s\) in 1 s", log)]
    assert sum(counts) >= 150 + seen, (counts, seen)
    assert len(counts) <= elapsed + 2, (counts, elapsed)  # a line per interval, not per refusal
    assert exchange(few_files.port, get("/health"))[0] == 200
