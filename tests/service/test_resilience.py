"""Gateway down, gateway coming back, and request timeouts: all as problem+json."""

from __future__ import annotations

import asyncio
import socket

import httpx

from twsbridge.service import ServiceSettings
from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.market.clock import REPLAY_START, SimClock

from .support import auth, running_service, sim_settings, temp_journal_url

PROBLEM_JSON = "application/problem+json"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_gateway_down_then_up() -> None:
    port = _free_port()
    settings = ServiceSettings(
        host="127.0.0.1", port=0, gateway=f"127.0.0.1:{port}", client_id=17,
        connect_timeout=5.0, request_timeout=20.0, log_level="warning",
        journal_url=temp_journal_url(),
    )
    with running_service(settings) as url:
        async with httpx.AsyncClient(base_url=url, headers=auth(url), timeout=30.0) as http:
            r = await http.get("/health")
            assert r.status_code == 200
            assert r.json()["mode"] == "gateway" and r.json()["status"] == "down"
            health = (await http.get("/health/details")).json()
            assert health["mode"] == "gateway"
            assert health["simulated"] is False
            assert health["status"] == "down"
            assert health["reasons"] and "not connected" in health["reasons"][0]
            assert health["connected"] is False
            assert health["gateway"] == f"127.0.0.1:{port}"
            assert health["error"]

            r = await http.get("/quotes", params={"symbol": "AAPL"})
            assert r.status_code == 503
            assert r.headers["content-type"].startswith(PROBLEM_JSON)
            assert r.json()["code"] == 502
            assert r.json()["type"] == "urn:twsbridge:problem:gateway-unavailable"

            spec = (await http.get("/openapi.json")).json()
            assert "GATEWAY" in spec["info"]["description"]

            # A gateway appears on that port: the next request connects to it.
            sim = Simulator(seed=0, clock=SimClock(REPLAY_START))
            srv = SimServer(sim, host="127.0.0.1", port=port)
            await srv.start()
            try:
                r = await http.get("/contracts/4391")
                assert r.status_code == 200, r.text
                assert r.json()["contract"]["symbol"] == "AMD"
                assert (await http.get("/health")).json()["status"] == "up"
                health = (await http.get("/health/details")).json()
                assert health["status"] == "up"
                assert any(a.startswith("DU") for a in health["accounts"])
            finally:
                await srv.stop()

            # ... and when it goes away, health says so (bounded wait).
            for _ in range(100):
                if (await http.get("/health/details")).json()["connected"] is False:
                    break
                await asyncio.sleep(0.1)
            assert (await http.get("/health")).json()["status"] == "down"


async def test_request_timeout_is_504_problem() -> None:
    with running_service(sim_settings(request_timeout=1e-6)) as url:
        async with httpx.AsyncClient(base_url=url, headers=auth(url), timeout=30.0) as http:
            r = await http.get("/contracts/4391")
            assert r.status_code == 504
            assert r.headers["content-type"].startswith(PROBLEM_JSON)
            problem = r.json()
            assert problem["type"] == "urn:twsbridge:problem:gateway-timeout"
            assert problem["status"] == 504
