"""Quotes and bars through the REST service against the direct client, in the same run.

Usage::

    .venv/bin/python bench/quotes.py [--sequential 200] [--requests 400] [--concurrency 40]
                                     [--symbol AAPL] [--rounds 1] [--json PATH]

One simulator (``twsbridge sim``, clock at 2013-03-01 10:00 US/Eastern at real speed) runs
in a process of its own; one ``twsbridge serve --gateway`` process talks to it (client id
17) and so does this process's direct :class:`~twsbridge.client.TWSClient` (client id 5):
both have their own connection, so their own 45 messages/s pacing.

1. *One at a time*: ``--symbol`` is resolved first (the client's reqContractDetails; one
   ``GET /quotes`` for the service), then ``--sequential`` pairs, each a
   ``reqMktDataSnapshot`` of the direct client, a ``GET /quotes?symbol=``, a
   ``GET /health``, a ``GET /quotes`` without a symbol (422: the route's HTTP and API-key
   check, no TWS) and a ``GET /contracts?symbol=`` (HTTP, key check and the resolution:
   no TWS message once it is cached) on one keep-alive HTTP connection, each first in turn
   (the first after a pause pays the wake-up), ``--pause`` s apart
   (so that TWS's pacing, not the service, sets no wait). Printed: the p50 of each, and the
   service's added p50 (ms; goal <= 1 ms).
2. *Under load*: ``--requests`` requests at ``--concurrency`` (httpx, one connection per
   worker) of ``GET /health``, ``GET /quotes?symbol=`` and ``GET /bars?symbol=`` in turn
   (``--rounds`` times). Printed: p50, p95 and requests/s of each, and the ratio of the
   quotes' p50 to the health's p50 (goal <= 2).

Run it on another checkout with ``PYTHONPATH=/path/to/checkout/src`` (the subprocesses
inherit it) to compare before and after. Not a timed test: figures are printed, and
``--json`` writes them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from twsbridge.client import Contract, TWSClient
from twsbridge.service.security.keys import open_key_store

SERVICE_CLIENT_ID = 17
DIRECT_CLIENT_ID = 5


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module's doc)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sequential", type=int, default=200, help="one-at-a-time pairs")
    p.add_argument("--requests", type=int, default=400, help="requests per load phase")
    p.add_argument("--concurrency", type=int, default=40, help="concurrent requests")
    p.add_argument("--pause", type=float, default=0.03,
                   help="seconds between two pairs (below the 45 messages/s pacing)")
    p.add_argument("--symbol", default="AAPL", help="the stock quoted")
    p.add_argument("--rounds", type=int, default=1, help="load phases of each route")
    p.add_argument("--start-timeout", type=float, default=90.0)
    p.add_argument("--json", type=Path, default=None, help="write the figures here")
    return p.parse_args(argv)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _command() -> list[str]:
    script = Path(sys.executable).with_name("twsbridge")
    if script.exists():
        return [str(script)]
    found = shutil.which("twsbridge")
    return [found] if found else [sys.executable, "-m", "twsbridge.cli"]


class _Proc:
    """A ``twsbridge`` subprocess; its output goes to a file of ``folder``."""

    def __init__(self, args: list[str], folder: Path, name: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TWSBRIDGE_")}
        env["PYTHONUNBUFFERED"] = "1"
        self.log = folder / f"{name}.log"
        self._fh = self.log.open("w")
        self.proc = subprocess.Popen([*_command(), *args], stdout=self._fh,
                                     stderr=subprocess.STDOUT, env=env)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._fh.close()


def _wait_port(port: int, proc: _Proc, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.proc.args!r} exited:\n{proc.log.read_text()}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port} after {timeout} s:\n{proc.log.read_text()}")


async def _make_key(journal_url: str) -> str:
    async with open_key_store(journal_url) as store:
        return (await store.create("bench-quotes", "read")).key


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": statistics.median(ordered) * 1e3,
            "p95": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1e3,
            "n": len(ordered)}


async def _sequential(args: argparse.Namespace, ib: TWSClient, http: httpx.AsyncClient
                      ) -> dict[str, Any]:
    contract = Contract(symbol=args.symbol, secType="STK", exchange="SMART", currency="USD")
    [details] = await ib.reqContractDetails(contract)
    target = details.contract
    r = await http.get("/quotes", params={"symbol": args.symbol})  # resolves it once
    r.raise_for_status()
    params = {"symbol": args.symbol}

    async def direct() -> None:
        ticker = await ib.reqMktDataSnapshot(target, "")
        assert ticker.time is not None

    async def service() -> None:
        r = await http.get("/quotes", params=params)
        r.raise_for_status()
        assert r.json()["conId"] == target.conId

    async def health() -> None:
        (await http.get("/health")).raise_for_status()

    async def floor() -> None:  # the route's HTTP and key check and an error answer; no TWS
        refused = await http.get("/quotes")
        assert refused.status_code == 422, refused.text

    async def contracts() -> None:  # HTTP, key check, a resolution (cached if it caches)
        (await http.get("/contracts", params=params)).raise_for_status()

    calls = {"direct": direct, "service": service, "health": health, "floor": floor,
             "contracts": contracts}
    times: dict[str, list[float]] = {name: [] for name in calls}
    order = list(calls)
    for i in range(args.sequential):
        await asyncio.sleep(args.pause)
        for name in order[i % len(order):] + order[:i % len(order)]:  # each goes first in turn
            t0 = time.perf_counter()
            await calls[name]()
            times[name].append(time.perf_counter() - t0)
    figures = {name: _ms(values) for name, values in times.items()}
    d, s = figures["direct"], figures["service"]
    return {**figures, "added_p50_ms": s["p50"] - d["p50"], "ratio_p50": s["p50"] / d["p50"],
            "added_over_contracts_p50_ms": s["p50"] - d["p50"] - figures["contracts"]["p50"]}


async def _load(url: str, headers: dict[str, str], path: str, params: dict[str, str],
                requests: int, concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    todo = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120.0,
                                 limits=limits) as http:
        async def worker() -> None:
            for _ in todo:
                t0 = time.perf_counter()
                r = await http.get(path, params=params)
                latencies.append(time.perf_counter() - t0)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    return {**_ms(latencies), "per_s": requests / wall, "statuses": statuses}


async def _measure(args: argparse.Namespace, url: str, key: str, sim_port: int
                   ) -> dict[str, Any]:
    headers = {"X-API-Key": key}
    ib = TWSClient("127.0.0.1", sim_port, DIRECT_CLIENT_ID, timeout=30.0)
    await ib.connect()
    try:
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60.0) as http:
            sequential = await _sequential(args, ib, http)
    finally:
        await ib.disconnect()
    symbol = {"symbol": args.symbol}
    phases: list[tuple[str, str, dict[str, str]]] = [
        ("health", "/health", {}), ("quotes", "/quotes", symbol),
        ("bars", "/bars", {**symbol, "durationStr": "1 D", "barSizeSetting": "1 hour"})]
    load: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in phases}
    for _ in range(args.rounds):
        for name, path, params in phases:
            load[name].append(await _load(url, headers, path, params, args.requests,
                                          args.concurrency))
    return {"sequential": sequential, "load": load}


def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return min(runs, key=lambda r: float(r["p50"]))


def report(args: argparse.Namespace, figures: dict[str, Any]) -> None:
    """Print the figures and their ratios."""
    seq = figures["sequential"]
    print(f"one at a time ({args.sequential} rounds, {args.symbol} already resolved):")
    print(f"  direct TWSClient reqMktDataSnapshot  p50 {seq['direct']['p50']:8.2f} ms"
          f"  p95 {seq['direct']['p95']:8.2f} ms")
    print(f"  GET /quotes                          p50 {seq['service']['p50']:8.2f} ms"
          f"  p95 {seq['service']['p95']:8.2f} ms")
    print(f"  GET /health (no TWS request)         p50 {seq['health']['p50']:8.2f} ms"
          f"  p95 {seq['health']['p95']:8.2f} ms")
    print(f"  GET /quotes without symbol (422)     p50 {seq['floor']['p50']:8.2f} ms"
          f"  p95 {seq['floor']['p95']:8.2f} ms  (HTTP + key check, no TWS)")
    print(f"  GET /contracts?symbol=               p50 {seq['contracts']['p50']:8.2f} ms"
          f"  p95 {seq['contracts']['p95']:8.2f} ms  (HTTP + key check + resolution)")
    print(f"  the service adds {seq['added_p50_ms']:+.2f} ms at p50 "
          f"(ratio {seq['ratio_p50']:.2f}; goal <= +1 ms); beyond GET /contracts: "
          f"{seq['added_over_contracts_p50_ms']:+.2f} ms")
    print(f"under load ({args.requests} requests at concurrency {args.concurrency}, "
          f"best of {args.rounds}):")
    load = {name: _best(runs) for name, runs in figures["load"].items()}
    for name, run in load.items():
        print(f"  GET /{name:<8} p50 {run['p50']:9.1f} ms  p95 {run['p95']:9.1f} ms  "
              f"{run['per_s']:8.1f} requests/s  statuses {run['statuses']}")
    health = load["health"]["p50"]
    print(f"  /quotes p50 / /health p50 = {load['quotes']['p50'] / health:.2f} (goal <= 2)")
    print(f"  /bars p50 / /health p50 = {load['bars']['p50'] / health:.2f}")
    figures["summary"] = {"added_p50_ms": seq["added_p50_ms"],
                          "added_over_contracts_p50_ms": seq["added_over_contracts_p50_ms"],
                          "quotes_over_health": load["quotes"]["p50"] / health,
                          "bars_over_health": load["bars"]["p50"] / health}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the simulator and the service, measure, stop them; the figures."""
    folder = Path(tempfile.mkdtemp(prefix="twsbridge-bench-quotes-"))
    journal_url = f"sqlite:///{folder / 'journal.sqlite3'}"
    key = asyncio.run(_make_key(journal_url))
    sim_port, http_port = _free_port(), _free_port()
    procs: list[_Proc] = []
    try:
        sim = _Proc(["sim", "--port", str(sim_port)], folder, "sim")
        procs.append(sim)
        _wait_port(sim_port, sim, args.start_timeout)
        service = _Proc(["serve", "--gateway", f"127.0.0.1:{sim_port}", "--port",
                         str(http_port), "--client-id", str(SERVICE_CLIENT_ID),
                         "--journal-url", journal_url, "--log-level", "warning"], folder, "serve")
        procs.append(service)
        _wait_port(http_port, service, args.start_timeout)
        url = f"http://127.0.0.1:{http_port}"
        return asyncio.run(_wait_then(url, lambda: _measure(args, url, key, sim_port)))
    finally:
        for proc in reversed(procs):
            proc.stop()
        shutil.rmtree(folder, ignore_errors=True)


async def _wait_then(url: str, then: Callable[[], Awaitable[dict[str, Any]]]
                     ) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=5.0) as http:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            body = (await http.get("/health")).json()
            if body.get("status") in ("up", "ok"):  # "ok": /health before issue 9
                break
            await asyncio.sleep(0.2)
    return await then()


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its figures."""
    args = parse_args(argv)
    figures = run(args)
    report(args, figures)
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
