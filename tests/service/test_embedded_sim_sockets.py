"""The embedded simulator of a real ``twsbridge serve`` opens no door (issue 9, item 2).

With no options the process listens on exactly one TCP socket, its HTTP port (read from
/proc/PID/fd and /proc/net/tcp{,6}), and still quotes and trades: the service reaches the
simulator in process. With ``--sim-port N`` the simulator also listens, on 127.0.0.1:N only,
the log warns, and an unmodified ib_async connects there.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from .processes import Process, eventually, free_port, listening, twsbridge_command

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux's /proc"),
]

def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWSBRIDGE_")}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")  # the default journal (and keys) land here
    return env


def _trade_key(tmp_path: Path) -> str:
    created = subprocess.run(
        [*twsbridge_command(), "keys", "create", "t", "--scope", "trade", "--quiet"],
        capture_output=True, text=True, env=_env(tmp_path), timeout=60, check=True,
    )
    return created.stdout.strip()


def _serve(tmp_path: Path, port: int, *extra: str) -> Process:
    return Process(["serve", "--port", str(port), "--log-level", "info", *extra],
                   tmp_path / "serve.log", env={"XDG_DATA_HOME": str(tmp_path / "data")})


async def _up(http: httpx.AsyncClient) -> dict[str, Any] | None:
    r = await http.get("/health")
    body: dict[str, Any] = r.json()
    return body if r.status_code == 200 and body["status"] == "up" else None


async def _quote_and_trade(http: httpx.AsyncClient) -> None:
    quote = (await http.get("/quotes", params={"symbol": "AAPL"})).json()
    assert 0 < quote["bid"] < quote["ask"], quote
    r = await http.post("/orders", json={"symbol": "AAPL", "action": "BUY", "totalQuantity": 1,
                                         "orderType": "MKT"})
    assert r.status_code == 201, r.text
    order_id = r.json()["orderId"]

    async def filled() -> bool:
        return (await http.get(f"/orders/{order_id}")).json()["status"] == "Filled"

    await eventually(filled, "the order filled", 60)


async def test_serve_listens_on_its_http_port_only_and_still_trades(tmp_path: Path) -> None:
    key = _trade_key(tmp_path)
    port = free_port()
    serve = _serve(tmp_path, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30.0,
                                     headers={"X-API-Key": key}) as http:
            await eventually(lambda: _up(http), "the service up", 90)
            assert listening(serve.pid) == {("127.0.0.1", port)}, serve.output()
            await _quote_and_trade(http)
            details = (await http.get("/health/details")).json()
            assert details["gateway"] == "in-process simulator" and details["simPort"] is None
            assert listening(serve.pid) == {("127.0.0.1", port)}
        assert "no socket listening" in serve.output()
    finally:
        serve.stop()


async def test_sim_port_listens_on_loopback_warns_and_serves_ib_async(tmp_path: Path) -> None:
    from ib_async import IB

    key = _trade_key(tmp_path)
    port, sim_port = free_port(), free_port()
    serve = _serve(tmp_path, port, "--sim-port", str(sim_port))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30.0,
                                     headers={"X-API-Key": key}) as http:
            await eventually(lambda: _up(http), "the service up", 90)
            assert listening(serve.pid) == {("127.0.0.1", port), ("127.0.0.1", sim_port)}
            log = serve.output()
            assert f"127.0.0.1:{sim_port}" in log and "anyone on this machine" in log, log
            assert "WARNING" in log
            details = (await http.get("/health/details")).json()
            assert details["simPort"] == sim_port
            ib = IB()
            await ib.connectAsync("127.0.0.1", sim_port, clientId=5, timeout=20)
            try:
                assert ib.isConnected() and ib.managedAccounts()[0].startswith("DU")
            finally:
                ib.disconnect()
            await _quote_and_trade(http)  # the service itself goes on in process
    finally:
        serve.stop()


def test_sim_port_with_a_gateway_is_refused() -> None:
    from typer.testing import CliRunner

    from twsbridge.cli import app

    result = CliRunner().invoke(app, ["serve", "--gateway", "127.0.0.1:7497",
                                      "--sim-port", "7000"])
    assert result.exit_code == 2
    assert "--sim-port" in result.output and "not with --gateway" in result.output
