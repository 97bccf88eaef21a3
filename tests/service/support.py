"""Helpers: serve the real application with uvicorn in a thread, on 127.0.0.1 port 0."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from twsbridge.service import ServiceSettings, create_app

START_TIMEOUT = 60.0
@contextmanager
def running_service(settings: ServiceSettings) -> Iterator[str]:
    """Serve ``create_app(settings)`` with uvicorn in a thread; yield its base URL."""
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="twsbridge-test-service", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the service exited during startup (see the log above)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError(f"the service did not start within {START_TIMEOUT} s")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        assert not thread.is_alive(), "the service did not shut down within 30 s"


def temp_journal_url() -> str:
    """A SQLite journal in a fresh temporary directory (never the user's data directory),
    removed when the test run ends."""
    folder = tempfile.mkdtemp(prefix="twsbridge-journal-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return f"sqlite:///{folder}/journal.sqlite3"


def sim_settings(**overrides: object) -> ServiceSettings:
    """Settings for the embedded simulator, independent of TWSBRIDGE_* in the environment;
    the journal is a throw-away SQLite file unless ``journal_url`` is given."""
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": 0,
        "gateway": None,
        "client_id": 17,
        "sim_port": 0,
        "sim_seed": 0,
        "sim_speed": 1.0,
        "connect_timeout": 20.0,
        "request_timeout": 30.0,
        "log_level": "warning",
        "journal_url": None,
    }
    values.update(overrides)
    if values["journal_url"] is None:
        values["journal_url"] = temp_journal_url()
    return ServiceSettings(**values)  # type: ignore[arg-type]
