"""Load: many API clients with market data on many instruments against ONE simulator.

Usage::

    .venv/bin/python bench/load.py [--duration 60] [--clients 32] [--instruments 50]
                                   [--procs 4] [--client KIND ...] [--sample-every 10]
                                   [--warmup 5] [--book extended|real] [--poll 0.05]
                                   [--json PATH]

The 10-minute soak is ``--duration 600``. For each client kind (``--client``,
repeatable; default twsbridge, ib_async and ibapi, one after another) a fresh
simulator (``SimServer(Simulator(seed))``, clock at 2013-03-01 10:00
US/Eastern at real speed: the market is open, live data type 1) runs in a
process of its own, and ``--procs`` worker processes hold the ``--clients``
clients (ids 1..N; TWS, and the simulator, accept at most 32). Each client
subscribes reqMktData (streaming, no generic ticks) to the same
``--instruments`` contracts and consumes the ticks as a user does:

* twsbridge: ``TWSClient.connect()``, ``sub = client.reqMktData(contract)``
  and one task per line running ``async for tick in sub`` (counts the Ticks);
* ib_async: ``IB.connectAsync()`` (its usual start-up requests included),
  ``ib.reqMktData(contract)``, a ``pendingTickersEvent`` handler counting the
  ``ticker.ticks`` of each update;
* ibapi: an ``EWrapper``/``EClient`` per client whose ``run()`` loop has a
  thread of its own (plus ibapi's reader thread), counting the tickPrice,
  tickSize, tickString and tickGeneric callbacks; reqMktData is paced at
  ``--ibapi-rate`` per second (ibapi does not pace; TWS allows 50 messages/s).

The simulator's InstrumentBook has 18 instruments (12 stocks, 6 forex pairs).
With ``--book extended`` (default) the simulator of this bench adds synthetic
stocks (conIds from 900000001, symbols BNCH01..) to its book, so that every
line is a distinct instrument with a price path of its own, synthesised as
those of the real stocks without a daily data set (AMD, INTC, SPY ...);
``--book real`` uses only the 18 (and at most 18 lines per client).

Every process measures itself at common sample times (``--sample-every``):
CPU seconds, RSS and Python's allocated blocks; the simulator counts the tick
messages, ticks and due updates of each line and the frames and bytes it
writes (by wrapping its own methods in its process; ``src`` is not touched);
the workers count the ticks of each line and the event loop lag (ibapi: the
depth of the decoder queues). The clock of the measure starts ``--warmup``
seconds after every line of every client has had its first tick. At the end
the simulator stops market data, the clients drain, and the ticks each line
received since it was subscribed are compared with those the simulator sent
for it (exactly, for twsbridge and ibapi, whose tick unit is the
simulator's; for ib_async the frames received are compared with the frames
sent).

The simulator and the clients share the machine's cores (printed): when the
simulator cannot keep up, its due updates fall below 4 per line per second and
its event loop lag grows; when the clients cannot, their loop lag (queue
depth) grows and lines go silent. Not a timed test: figures are printed, and
``--json`` writes the raw samples.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing as mp
import os
import sys
import time
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, cast

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load_clients
import load_sim
from load_common import MB, instruments
from load_report import analyse, header, report

KINDS = ("twsbridge", "ib_async", "ibapi")
MAX_CLIENTS = 32  # twsbridge.sim.gateway.server.MAX_CLIENTS, TWS's limit
MAX_LINES = 100  # the simulator's max_market_data_lines per client (TWS's default)


class BenchError(Exception):
    """A run that cannot go on (a process failed, a client could not connect ...)."""


# ------------------------------------------------------------------ one run


class Run:
    """The processes of one kind's run, and what they reported."""

    def __init__(self, args: argparse.Namespace, kind: str, contracts: list[dict[str, Any]]):
        self.args = args
        self.kind = kind
        self.contracts = contracts
        self.ctx = mp.get_context("spawn")
        self.procs: list[BaseProcess] = []
        self.pipes: dict[str, Connection] = {}
        self.split: dict[str, list[int]] = {}
        self.samples: dict[str, dict[int, dict[str, Any]]] = {}
        self.info: dict[str, dict[str, Any]] = {}

    def _spawn(self, name: str, target: Any, *args: Any) -> Connection:
        mine, theirs = self.ctx.Pipe()
        p = self.ctx.Process(target=target, args=(theirs, *args), daemon=True, name=name)
        p.start()
        theirs.close()
        self.procs.append(p)
        self.pipes[name] = mine
        self.samples[name] = {}
        self.info[name] = {}
        return mine

    def recv(self, name: str, timeout: float, what: str) -> Any:
        pipe = self.pipes[name]
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pipe.poll(0.2):
                try:
                    return pipe.recv()
                except EOFError:
                    break
            proc = next(p for p in self.procs if p.name == name)
            if not proc.is_alive():
                break
        proc = next(p for p in self.procs if p.name == name)
        state = "timed out" if proc.is_alive() else f"exited with code {proc.exitcode}"
        raise BenchError(f"{self.kind}: {name} {state} while waiting for {what}")

    def execute(self) -> dict[str, Any]:
        a = self.args
        sim = self._spawn("sim", load_sim.sim_main, load_sim.SimOptions(
            a.seed, a.book, len(self.contracts), a.poll, a.profile_sim))
        _, port, sim_start = self.recv("sim", 120, "the simulator to listen")
        self.info["sim"]["start"] = sim_start
        per = [a.clients // a.procs + (i < a.clients % a.procs) for i in range(a.procs)]
        ids = iter(range(1, a.clients + 1))
        for w, n in enumerate(per):
            cids = [next(ids) for _ in range(n)]
            opts = load_clients.Options(port, self.kind, cids, self.contracts, a.connect_timeout,
                                        a.first_tick_timeout, a.ibapi_rate,
                                        a.profile_client and w == 0)
            self._spawn(f"w{w}", load_clients.worker_main, opts)
            self.split[f"w{w}"] = cids
        setup = a.connect_timeout + len(self.contracts) / 20 + a.first_tick_timeout + 120
        for name in self.split:
            msg = self.recv(name, 120, "the worker to start")
            self.info[name]["baseline"] = msg[1]
        for name in self.split:
            msg = self.recv(name, setup, "the clients to connect, subscribe and get ticks")
            if msg[0] == "error":
                raise BenchError(f"{self.kind}: clients of {name} failed:\n{msg[1]}")
            self.info[name]["ready"] = msg[1]
        t0 = time.time() + a.warmup
        n = max(1, math.ceil(a.duration / a.sample_every - 1e-9))
        times = [t0 + min(k * a.sample_every, a.duration) for k in range(n + 1)]
        for pipe in self.pipes.values():
            pipe.send(("go", times))
        self._collect_samples(times)
        sim.send(("freeze",))
        assert self.recv("sim", 30, "the simulator to stop market data") == ("frozen",)
        time.sleep(a.drain)
        # the simulator's totals first: a worker disconnects its clients once it replied
        for name, pipe in self.pipes.items():
            pipe.send(("final",))
            if name == "sim":
                self.info[name]["final"] = self.recv(name, 60, "the final counts")[1]
        for name in self.split:
            self.info[name]["final"] = self.recv(name, 60, "the final counts")[1]
        return {"kind": self.kind, "times": times, "split": self.split,
                "samples": {k: [v[i] for i in sorted(v)] for k, v in self.samples.items()},
                "info": self.info}

    def _collect_samples(self, times: list[float]) -> None:
        n = len(times)
        by_pipe = {pipe: name for name, pipe in self.pipes.items()}
        shown = 0
        while any(len(s) < n for s in self.samples.values()):
            if time.time() > times[-1] + 60:
                late = [k for k, s in self.samples.items() if len(s) < n]
                raise BenchError(f"{self.kind}: no samples from {late} after the end")
            for ready in wait(list(by_pipe), timeout=1.0):
                pipe = cast(Connection, ready)
                name = by_pipe[pipe]
                try:
                    msg = pipe.recv()
                except EOFError:
                    raise BenchError(f"{self.kind}: {name} exited during the run") from None
                if msg[0] != "sample":
                    raise BenchError(f"{self.kind}: {name} sent {msg[0]!r} during the run")
                self.samples[name][msg[1]] = msg[2]
            for p in self.procs:
                if not p.is_alive():
                    raise BenchError(f"{self.kind}: {p.name} exited with code {p.exitcode}")
            while shown < n and all(shown in s for s in self.samples.values()):
                if shown:
                    self._progress(shown)
                shown += 1

    def _progress(self, k: int) -> None:
        s = {name: (v[k - 1], v[k]) for name, v in self.samples.items()}
        dt = s["sim"][1]["t"] - s["sim"][0]["t"]
        sim0, sim1 = s["sim"]
        w = [v for name, v in s.items() if name != "sim"]
        ticks = sum(b["ticks"] - a["ticks"] for a, b in w) / dt
        cpu = sum(b["cpu"] - a["cpu"] for a, b in w) / dt
        mem = sum(b["rss"] for _, b in w) / MB
        print(f"  [{self.kind}] t={sim1['t'] - self.samples['sim'][0]['t']:5.0f} s  sim "
              f"{(sim1['msgs'] - sim0['msgs']) / dt:7,.0f} tick msgs/s, CPU "
              f"{(sim1['cpu'] - sim0['cpu']) / dt:4.0%}, RSS {sim1['rss'] / MB:4.0f} MB | "
              f"clients {ticks:7,.0f} ticks/s, CPU {cpu:4.0%}, RSS {mem:5.0f} MB | silent "
              f"lines {sim1['silent']}/{sum(b['silent'] for _, b in w)}",
              file=sys.stderr, flush=True)

    def close(self, graceful: bool) -> None:
        """Stop every process of this run. ``graceful``: the run is over, the workers
        are disconnecting their clients; else (an error, Ctrl-C) the pipes are closed
        at once, which ends every child, and stragglers are terminated."""
        deadline = time.monotonic() + (20 if graceful else 3)
        if graceful:  # the workers disconnect their clients, then the simulator stops
            for p in self.procs:
                if p.name != "sim":
                    p.join(max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(OSError, ValueError):
                self.pipes["sim"].send(("stop",))
        else:
            for pipe in self.pipes.values():
                pipe.close()
        for p in self.procs:
            p.join(max(0.1, deadline - time.monotonic()))
        for p in self.procs:
            if p.is_alive():
                p.terminate()
                p.join(5)
            if p.is_alive():
                p.kill()
                p.join(5)
        for pipe in self.pipes.values():
            pipe.close()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=60.0,
                    help="measured seconds (the soak: 600)")
    ap.add_argument("--clients", type=int, default=32, help=f"API clients (<= {MAX_CLIENTS})")
    ap.add_argument("--instruments", type=int, default=50, help="lines per client")
    ap.add_argument("--procs", type=int, default=4, help="client worker processes")
    ap.add_argument("--client", action="append", choices=KINDS, dest="kinds",
                    help="client kind (repeatable; default: all, one after another)")
    ap.add_argument("--sample-every", type=float, default=10.0, help="seconds between samples")
    ap.add_argument("--warmup", type=float, default=5.0,
                    help="seconds between the last first tick and the measure")
    ap.add_argument("--book", choices=("extended", "real"), default="extended",
                    help="extended: add synthetic stocks up to --instruments; real: the 18")
    ap.add_argument("--seed", type=int, default=0, help="simulator seed")
    ap.add_argument("--poll", type=float, default=0.05, help="simulator poll interval, s")
    ap.add_argument("--drain", type=float, default=2.0,
                    help="seconds the clients drain after market data stops")
    ap.add_argument("--connect-timeout", type=float, default=20.0)
    ap.add_argument("--first-tick-timeout", type=float, default=30.0)
    ap.add_argument("--ibapi-rate", type=float, default=40.0,
                    help="reqMktData per second of an ibapi client")
    ap.add_argument("--profile-sim", action="store_true",
                    help="cProfile the simulator over the window (to stderr)")
    ap.add_argument("--profile-client", action="store_true",
                    help="cProfile the first client process over the window (to stderr)")
    ap.add_argument("--json", help="write the raw samples and figures here")
    args = ap.parse_args(argv)
    if not 1 <= args.clients <= MAX_CLIENTS:
        ap.error(f"--clients must be 1..{MAX_CLIENTS}: the simulator, as TWS, refuses more")
    if not 1 <= args.instruments <= MAX_LINES:
        ap.error(f"--instruments must be 1..{MAX_LINES} (TWS's market data lines per client)")
    args.procs = max(1, min(args.procs, args.clients))
    args.kinds = args.kinds or list(KINDS)
    return args


def run(args: argparse.Namespace) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run every kind; (the figures of each, the raw results of each)."""
    from twsbridge.sim.reference.instruments import INSTRUMENTS

    contracts = instruments(args.book, args.instruments)
    if len(contracts) < args.instruments:
        print(f"note: --book real has {len(contracts)} instruments: {len(contracts)} lines "
              f"per client, not {args.instruments}", file=sys.stderr)
    header(args, contracts, len(INSTRUMENTS))
    figures, raws = [], []
    for kind in args.kinds:
        print(f"running {kind} ...", file=sys.stderr, flush=True)
        r = Run(args, kind, contracts)
        ok = False
        try:
            raw = r.execute()
            ok = True
        finally:
            r.close(graceful=ok)
        raws.append(raw)
        figures.append(analyse(raw, contracts))
    return figures, raws


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    return x


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        figures, raws = run(args)
    except BenchError as e:
        print(f"load: FAILED: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("load: interrupted; every process stopped", file=sys.stderr)
        return 130
    report(args, figures)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(_jsonable({"args": vars(args), "figures": figures, "raw": raws}), f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
