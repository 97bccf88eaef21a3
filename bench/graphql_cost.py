"""GraphQL cost: what one expensive GraphQL request does to the REST face meanwhile.

Usage::

    .venv/bin/python bench/graphql_cost.py [--aliases 1000] [--field quote|bars|__typename]
                                           [--set graphql_max_tokens=100000 ...]

Starts ``twsbridge serve`` (embedded simulator) as a subprocess on a free
loopback port with a throw-away journal and a ``read`` key, measures ``GET
/health`` and ``GET /bars`` one at a time while idle, then sends ONE ``POST
/graphql`` holding ``--aliases`` aliases of ``--field`` while two probes keep
asking ``/health`` and ``/bars`` (one request each every 0.2 s), and prints how
long the GraphQL request kept the service busy, what it answered (a limit's
refusal names the setting) and the probes' p50 / max latency during it, as
ratios to their idle p50. ``--set NAME=VALUE`` passes a service setting
(``TWSBRIDGE_NAME``), e.g. raised limits to see the per-request TWS
concurrency (``graphql_tws_concurrency``) at work. Not a timed test: figures
are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from twsbridge.service.security.keys import open_key_store

BARS = "/bars?symbol=AAPL&durationStr=1%20D&barSizeSetting=1%20hour"
SELECTIONS = {
    "quote": ('(symbol: "AAPL")', "{ conId bid ask }"),
    "bars": ('(symbol: "AAPL", durationStr: "1 D", barSizeSetting: "1 hour")',
             "{ bars { close } }"),
    "__typename": ("", ""),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--aliases", type=int, default=1000)
    parser.add_argument("--field", choices=sorted(SELECTIONS), default="quote")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a service setting, e.g. graphql_max_tokens=100000")
    return parser.parse_args(argv)


@dataclass
class Figures:
    """What one run measured (seconds)."""

    status: int
    busy: float
    refusal: str | None
    idle: dict[str, float]
    during: dict[str, list[float]] = field(default_factory=dict)


def query_of(aliases: int, name: str) -> str:
    args, selection = SELECTIONS[name]
    return "{ " + " ".join(f"a{i}: {name}{args} {selection}" for i in range(aliases)) + " }"


async def _probe(client: httpx.AsyncClient, path: str, stop: asyncio.Event,
                 out: list[float]) -> None:
    while not stop.is_set():
        start = time.monotonic()
        await client.get(path, timeout=120)
        out.append(time.monotonic() - start)
        await asyncio.sleep(0.2)


async def measure(url: str, key: str, args: argparse.Namespace) -> Figures:
    """The figures of one expensive request against the service at ``url``."""
    query = query_of(args.aliases, args.field)
    async with httpx.AsyncClient(base_url=url, timeout=300,
                                 headers={"Authorization": f"Bearer {key}"}) as client:
        idle: dict[str, list[float]] = {"/health": [], "/bars": []}
        for _ in range(6):
            for name, path in (("/health", "/health"), ("/bars", BARS)):
                start = time.monotonic()
                (await client.get(path)).raise_for_status()
                idle[name].append(time.monotonic() - start)
        stop = asyncio.Event()
        during: dict[str, list[float]] = {"/health": [], "/bars": []}
        probes = [asyncio.create_task(_probe(client, "/health", stop, during["/health"])),
                  asyncio.create_task(_probe(client, BARS, stop, during["/bars"]))]
        await asyncio.sleep(0.5)
        start = time.monotonic()
        response = await client.post("/graphql", json={"query": query})
        busy = time.monotonic() - start
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.gather(*probes)
    refusal = None
    if response.headers.get("content-type", "").startswith("application/json"):
        errors: list[dict[str, Any]] = response.json().get("errors") or []
        if errors:
            refusal = str(errors[0].get("extensions", {}).get("limit") or errors[0]["message"])
    return Figures(response.status_code, busy, refusal,
                   {k: statistics.median(v[1:]) for k, v in idle.items()}, during)


def report(args: argparse.Namespace, figures: Figures) -> None:
    print(f"one POST /graphql with {args.aliases} aliases of {args.field}: "
          f"status {figures.status} after {figures.busy:.2f} s"
          + (f", refused: {figures.refusal}" if figures.refusal else ""))
    for name, latencies in figures.during.items():
        idle = figures.idle[name]
        p50, worst = statistics.median(latencies), max(latencies)
        print(f"  GET {name}: idle p50 {idle * 1000:.0f} ms; meanwhile ({len(latencies)} "
              f"requests) p50 {p50 * 1000:.0f} ms ({p50 / idle:.1f}x), "
              f"max {worst * 1000:.0f} ms ({worst / idle:.1f}x)")


async def _read_key(journal_url: str) -> str:
    async with open_key_store(journal_url) as store:
        return str((await store.create("bench-graphql-cost", "read")).key)


def run(args: argparse.Namespace) -> Figures:
    """Serve, measure, stop; the figures."""
    folder = tempfile.mkdtemp(prefix="twsbridge-bench-")
    journal = f"sqlite:///{folder}/journal.sqlite3"
    key = asyncio.run(_read_key(journal))
    env = {**os.environ, "TWSBRIDGE_JOURNAL_URL": journal, "TWSBRIDGE_LOG_LEVEL": "warning"}
    for item in args.set:
        name, _, value = item.partition("=")
        env["TWSBRIDGE_" + name.upper()] = value
    port = free_port()
    log = Path(folder, "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "twsbridge.cli", "serve", "--port",
                             str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"twsbridge serve did not start (see {log.name})")
            time.sleep(0.1)
        return asyncio.run(measure(url, key, args))
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def main() -> None:
    args = parse_args()
    report(args, run(args))


if __name__ == "__main__":
    main()
