"""The ``twsbridge`` command: look-ups with --sim, and ``serve`` as a real subprocess."""

from __future__ import annotations

import csv
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from twsbridge.cli import app

runner = CliRunner()


def test_contract_sim() -> None:
    result = runner.invoke(app, ["contract", "AMD", "--sim"])
    assert result.exit_code == 0, result.output
    assert "4391" in result.output
    assert "AMD" in result.output


def test_quote_sim() -> None:
    result = runner.invoke(app, ["quote", "AAPL", "--sim"])
    assert result.exit_code == 0, result.output
    assert "265598" in result.output
    assert "bid" in result.output and "ask" in result.output


def test_bars_sim_to_csv(tmp_path: Path, real_closes: dict[tuple[str, str], float]) -> None:
    out = tmp_path / "x.csv"
    result = runner.invoke(
        app,
        ["bars", "AAPL", "--sim", "--duration", "5 D", "--bar-size", "1 day", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "wrote 5 bars" in result.output
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 5
    assert list(rows[0]) == ["date", "open", "high", "low", "close", "volume", "wap", "barCount"]
    assert rows[-1]["date"] == "20130301"
    for row in rows[:-1]:
        assert math.isclose(float(row["close"]), real_closes[("AAPL", row["date"])], abs_tol=1e-6)


def test_unknown_symbol_fails_with_code() -> None:
    result = runner.invoke(app, ["contract", "XXX", "--sim"])
    assert result.exit_code == 1
    assert "error: TWS error 200" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_no_gateway_fails_with_502() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = runner.invoke(app, ["quote", "AAPL", "--gateway", f"127.0.0.1:{port}"])
    assert result.exit_code == 1
    assert "502" in result.output


def _twsbridge_command() -> list[str]:
    script = Path(sys.executable).with_name("twsbridge")
    if script.exists():
        return [str(script)]
    found = shutil.which("twsbridge")
    return [found] if found else [sys.executable, "-m", "twsbridge.cli"]


def test_serve_subprocess(tmp_path: Path) -> None:
    """The README's main command: ``KEY=$(twsbridge keys create demo --scope trade --quiet)``,
    ``twsbridge serve --port N``, then a quote over HTTP with ``X-API-Key: $KEY``."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWSBRIDGE_")}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")  # the default journal (and keys) land here
    created = subprocess.run(
        [*_twsbridge_command(), "keys", "create", "demo", "--scope", "trade", "--quiet"],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )
    key = created.stdout.strip()
    assert key.startswith("twsb_") and len(key.splitlines()) == 1, created.stdout
    log = tmp_path / "serve.log"
    with log.open("w") as log_fh:
        proc = subprocess.Popen(
            [*_twsbridge_command(), "serve", "--port", str(port)],
            stdout=log_fh,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            health = None
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            assert health is not None, f"service never answered:\n{log.read_text()}"
            assert health.status_code == 200
            assert health.json()["mode"] == "simulator"
            assert health.json()["status"] == "up"
            url = f"http://127.0.0.1:{port}/quotes?symbol=AAPL"
            r = httpx.get(url, headers={"X-API-Key": key}, timeout=30)
            assert r.status_code == 200, r.text
            assert 0 < r.json()["bid"] < r.json()["ask"]
            refused = httpx.get(url, timeout=30)  # no key
            assert refused.status_code == 401, refused.text
            assert refused.headers["www-authenticate"].startswith("Bearer")
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
    text = log.read_text()
    assert (tmp_path / "data" / "twsbridge" / "journal.sqlite3").exists(), text
    assert "SIMULATED gateway" in text
    assert "--gateway HOST:PORT" in text
