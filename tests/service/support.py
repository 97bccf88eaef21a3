"""Helpers: serve the real application with uvicorn in a thread, on 127.0.0.1 port 0.

Every service started here gets three API keys (``read``, ``trade``, ``admin``)
created in its database before it starts; :func:`auth` gives a client's headers.
"""

from __future__ import annotations

import asyncio
import atexit
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from twsbridge.service import ServiceSettings, create_app
from twsbridge.service.security.keys import open_key_store
from twsbridge.sim.market.clock import REPLAY_START

START_TIMEOUT = 60.0


@dataclass(frozen=True)
class ServiceKeys:
    """One API key of each scope, made for a test service."""

    read: str
    trade: str
    admin: str

    def headers(self, scope: str = "admin") -> dict[str, str]:
        """``X-API-Key`` header of the ``scope`` key."""
        return {"X-API-Key": str(getattr(self, scope))}


KEYS: dict[str, ServiceKeys] = {}
"""Base URL of a running test service -> its keys."""


def provision_keys(journal_url: str | None) -> ServiceKeys:
    """Create a read, a trade and an admin key in the database at ``journal_url``
    (works from inside a running event loop: it runs in a thread of its own)."""

    async def make() -> ServiceKeys:
        async with open_key_store(journal_url) as store:
            made = [(await store.create(f"test-{s}", s)).key for s in ("read", "trade", "admin")]
        return ServiceKeys(*made)

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, make()).result(60)


def auth(url: str, scope: str = "admin") -> dict[str, str]:
    """Headers authenticating a client of the test service at ``url`` (``http://`` or
    ``ws://``, any path) with ``scope``."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return KEYS[f"{scheme}://{parts.netloc}"].headers(scope)

@contextmanager
def running_service(settings: ServiceSettings) -> Iterator[str]:
    """Serve ``create_app(settings)`` with uvicorn in a thread; yield its base URL
    (its API keys: ``KEYS[url]`` / :func:`auth`)."""
    keys = provision_keys(settings.journal_url)
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
    url = f"http://127.0.0.1:{port}"
    KEYS[url] = keys
    try:
        yield url
    finally:
        KEYS.pop(url, None)
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
        "sim_port": None,  # no listener: the service reaches its simulator in process
        "sim_seed": 0,
        "sim_speed": 1.0,
        "sim_start": REPLAY_START,  # the replay of the last real data day, market open
        "connect_timeout": 20.0,
        "request_timeout": 30.0,
        "log_level": "warning",
        "journal_url": None,
        # the guardrails off (orders are the tests' business), whatever the environment says
        "trading_enabled": False,
        "max_order_quantity": None,
        "max_order_notional": None,
        "symbol_allowlist": None,
        "symbol_denylist": [],
        "orders_per_minute": None,
        "require_preview": False,
    }
    values.update(overrides)
    if values["journal_url"] is None:
        values["journal_url"] = temp_journal_url()
    return ServiceSettings(**values)  # type: ignore[arg-type]
