"""API keys from the command line (stored hashed), and the service over TLS.

``twsbridge keys create|list|revoke`` run for real (Typer's runner and a
subprocess); ``twsbridge serve --certfile --keyfile --config`` is a real
subprocess with a self-signed certificate made here (``cryptography``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import ipaddress
import json
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import create_engine, text
from typer.testing import CliRunner
from websockets.asyncio.client import connect

from twsbridge.cli import app

from .processes import Process, eventually, free_port, twsbridge_command, wait_for_port

pytestmark = pytest.mark.timeout(120)

runner = CliRunner()


def test_keys_create_list_revoke_store_only_the_hash(tmp_path: Path) -> None:
    db = tmp_path / "keys.sqlite3"
    url = ["--journal-url", str(db)]
    made = runner.invoke(app, ["keys", "create", "notebook", "--scope", "trade", "--quiet", *url])
    assert made.exit_code == 0, made.output
    key = made.stdout.strip()
    assert key.startswith("twsb_") and len(key) > 50 and "\n" not in key
    key_id = key.split("_")[1]
    loud = runner.invoke(app, ["keys", "create", "ops", "--scope", "admin", *url])
    assert loud.exit_code == 0 and "created API key" in loud.stdout and "scope admin" in loud.stdout
    listed = runner.invoke(app, ["keys", "list", *url])
    assert listed.exit_code == 0
    assert key_id in listed.stdout and "notebook" in listed.stdout and "trade" in listed.stdout
    assert key not in listed.stdout and key.split("_", 2)[2] not in listed.stdout
    with create_engine(f"sqlite:///{db}").connect() as conn:
        rows = conn.execute(text("SELECT * FROM api_keys")).mappings().all()
    assert len(rows) == 2
    row = next(r for r in rows if r["id"] == key_id)
    assert row["hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert all(key.split("_", 2)[2] not in str(v) for r in rows for v in r.values())
    revoked = runner.invoke(app, ["keys", "revoke", key_id, *url])
    assert revoked.exit_code == 0 and f"revoked API key {key_id}" in revoked.stdout
    assert runner.invoke(app, ["keys", "revoke", "nosuchkey", *url]).exit_code == 1
    bad = runner.invoke(app, ["keys", "create", "x", "--scope", "root", *url])
    assert bad.exit_code == 2


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 / localhost and its key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "twsbridge test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = folder / "cert.pem", folder / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return certfile, keyfile


def _outside_address() -> str | None:
    """An address of this host that is not loopback (None when there is none)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            address: str = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


async def test_serve_over_tls_on_loopback_with_config(tmp_path: Path) -> None:
    certfile, keyfile = _self_signed(tmp_path)
    journal = str(tmp_path / "journal.sqlite3")
    config = tmp_path / "config.toml"
    config.write_text('symbol_denylist = ["AMD"]\n')
    key = subprocess.run(
        [*twsbridge_command(), "keys", "create", "tls", "--scope", "trade", "--quiet",
         "--journal-url", journal], capture_output=True, text=True, timeout=60, check=True,
    ).stdout.strip()
    port = free_port()
    serve = Process(["serve", "--port", str(port), "--journal-url", journal, "--config",
                     str(config), "--certfile", str(certfile), "--keyfile", str(keyfile)],
                    tmp_path / "serve.log")
    try:
        wait_for_port(port, serve)
        base = f"https://127.0.0.1:{port}"
        verify = ssl.create_default_context(cafile=str(certfile))
        async with httpx.AsyncClient(base_url=base, verify=verify, timeout=30.0,
                                     headers={"X-API-Key": key}) as http:
            health = await eventually(lambda: _health(http), "the service over TLS", 60)
            assert health["mode"] == "simulator"
            quote = (await http.get("/quotes", params={"symbol": "AAPL"})).json()
            assert 0 < quote["bid"] < quote["ask"]
            r = await http.post("/orders", json={"symbol": "AMD", "action": "BUY",
                                                 "totalQuantity": 1, "orderType": "MKT"})
            assert r.status_code == 403 and r.json()["rule"] == "symbol_denylist"  # --config
            assert (await http.get("/positions", headers={"X-API-Key": ""})).status_code == 401
        async with connect(f"wss://127.0.0.1:{port}/ws/quotes?conId=265598",
                           additional_headers={"X-API-Key": key}, ssl=verify) as ws:
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "snapshot"
        with pytest.raises(httpx.HTTPError):  # plain HTTP is not served
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
        with pytest.raises(httpx.ConnectError):  # an unknown certificate is refused
            httpx.get(f"{base}/health", timeout=5)
        outside = _outside_address()
        if outside is not None:  # bound to 127.0.0.1 only (the default host)
            with socket.socket() as s:
                s.settimeout(2)
                assert s.connect_ex((outside, port)) != 0
        assert f"https://127.0.0.1:{port}" in serve.output()
    finally:
        serve.stop()


async def _health(http: httpx.AsyncClient) -> dict[str, Any] | None:
    r = await http.get("/health")
    return r.json() if r.status_code == 200 else None  # type: ignore[no-any-return]


def test_certfile_without_keyfile_is_an_error(tmp_path: Path) -> None:
    certfile, _ = _self_signed(tmp_path)
    result = runner.invoke(app, ["serve", "--certfile", str(certfile)])
    assert result.exit_code == 2
    assert "--certfile and --keyfile go together" in result.output
