"""Out of file descriptors: asyncio's accept loop fails, and the log says so once per interval.

A real uvicorn process (:class:`~twsbridge.service.http_server.LimitedServer`
with the guarded protocol) under ``RLIMIT_NOFILE`` 64, its cap set above what
fits on purpose, so ``accept()`` fails with EMFILE. asyncio's own handler logs
each failure with a traceback (about 2,000 a second); here they are counted.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .processes import free_port

SERVER = """
import logging, resource, sys
import uvicorn
from twsbridge.service.http_server import ConnectionLimits, LimitedServer, guarded_protocol

resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(name)s: %(message)s")

async def app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})

limits = ConnectionLimits(max_connections=10_000, header_timeout=2.0, body_timeout=2.0,
                          log_interval=1.0)
config = uvicorn.Config(app, host="127.0.0.1", port=int(sys.argv[1]), lifespan="off",
                        http=guarded_protocol(limits), log_config=None, backlog=128)
LimitedServer(config, limits).run()
"""


def test_failed_accepts_are_logged_once_per_interval(tmp_path: Path) -> None:
    if sys.platform != "linux":
        pytest.skip("EMFILE from accept() is provoked with Linux's RLIMIT_NOFILE")
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], stdout=out,
                                stderr=subprocess.STDOUT)
    socks: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 30
        while "Uvicorn running" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        started = time.monotonic()
        for _ in range(150):  # more than 64 descriptors: accept() fails with EMFILE
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            socks.append(sock)
        time.sleep(3.5)  # the held connections time out (2 s); the queued ones get in
        for sock in socks:
            sock.close()
        socks.clear()
        time.sleep(1.5)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 200")  # the server recovered
        elapsed = time.monotonic() - started
    finally:
        for sock in socks:
            sock.close()
        proc.terminate()
        proc.wait(10)
    text = log.read_text()
    assert "out of system resource" not in text and "Traceback" not in text, text[-2000:]
    failures = re.findall(r"accept\(\) failed (\d+) time\(s\) in 1 s", text)
    assert failures, text[-2000:]  # EMFILE happened, and was said
    assert len(failures) <= elapsed + 2, (failures, elapsed)
