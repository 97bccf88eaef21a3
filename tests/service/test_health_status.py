"""``/health``'s up / degraded / down on the embedded simulator, reached in process
(issue 9, items 2 and 3): its faults act on the service as over TCP.

The service runs under uvicorn in a thread; the simulator's faults are run on the
service's event loop (the simulator lives there).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from twsbridge.sim import SimServer

from .processes import eventually
from .streaming_support import Service

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    svc = Service(None, f"sqlite:///{tmp_path / 'journal.sqlite3'}")  # type: ignore[arg-type]
    try:
        yield svc
    finally:
        svc.stop()


def _sim(service: Service) -> SimServer:
    sim: SimServer | None = service.app.state.gateway.sim_server
    assert sim is not None
    return sim


async def _on_service_loop(service: Service, coro: Coroutine[Any, Any, Any]) -> Any:
    loop = service.app.state.gateway.loop
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))


async def _status(http: httpx.AsyncClient, want: str) -> dict[str, Any] | None:
    public = (await http.get("/health", headers={"X-API-Key": ""})).json()
    details: dict[str, Any] = (await http.get("/health/details")).json()
    return details if public["status"] == details["status"] == want else None


async def test_1100_is_degraded_until_1102(service: Service) -> None:
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers,
                                 timeout=30.0) as http:
        await eventually(lambda: _status(http, "up"), "up", 30)
        assert not _sim(service).listens
        loss = asyncio.ensure_future(_on_service_loop(
            service, _sim(service).simulator.faults.connectivity_loss(3.0, data_lost=False)))
        degraded = await eventually(lambda: _status(http, "degraded"), "degraded", 10, 0.05)
        assert any("1100" in r for r in degraded["reasons"]), degraded
        assert degraded["connected"] is True
        await loss
        await eventually(lambda: _status(http, "up"), "up after 1102", 10)


async def test_a_drop_is_down_then_up_again_in_process(service: Service) -> None:
    async with httpx.AsyncClient(base_url=service.url, headers=service.headers,
                                 timeout=30.0) as http:
        await eventually(lambda: _status(http, "up"), "up", 30)
        sim = _sim(service)

        async def drop_and_refuse() -> None:  # a restart: down for 2 s, refusing
            await sim.simulator.faults.restart(down_seconds=2.0)

        restart = asyncio.ensure_future(_on_service_loop(service, drop_and_refuse()))
        down = await eventually(lambda: _status(http, "down"), "down", 10, 0.05)
        assert down["connected"] is False and "not connected" in down["reasons"][0]
        await restart
        await eventually(lambda: _status(http, "up"), "up after the restart", 40)
        quote = (await http.get("/quotes", params={"symbol": "AAPL"})).json()
        assert 0 < quote["bid"] < quote["ask"]
        assert not sim.listens


async def test_a_failed_journal_write_is_degraded(service: Service, tmp_path: Path) -> None:
    async with httpx.AsyncClient(base_url=service.url, headers=service.keys.headers("trade"),
                                 timeout=30.0) as http:
        await eventually(lambda: _status(http, "up"), "up", 30)
        db = sqlite3.connect(tmp_path / "journal.sqlite3")  # commissions: unwritable
        try:
            db.execute("CREATE TRIGGER refuse BEFORE INSERT ON commissions "
                       "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
            db.commit()
        finally:
            db.close()
        r = await http.post("/orders", json={"symbol": "AAPL", "action": "BUY",
                                             "totalQuantity": 1, "orderType": "MKT"})
        assert r.status_code == 201, r.text
        degraded = await eventually(lambda: _status(http, "degraded"), "degraded", 60, 0.05)
        assert any("journal" in r or "reconciliation" in r for r in degraded["reasons"])
