"""Depth load: 32 API clients with market depth on 10 instruments against ONE simulator.

Usage::

    .venv/bin/python bench/depth_load.py [--seconds 20] [--speed 1] [--clients 32]
                                         [--instruments 10] [--books-per-client 3]
                                         [--client KIND ...] [--json PATH]

For each client kind (``--client``, repeatable; default twsbridge, ib_async and
ibapi, one after another) a fresh simulator (``SimServer(Simulator(seed))``,
clock at 2013-03-01 10:00 US/Eastern at ``--speed``) runs in a process of its
own (``bench/depth_sim.py``), so the clients' CPU does not slow it; the
clients run in this process (``bench/depth_clients.py``; ibapi: a thread per
client plus its reader thread). Client k (1..N) takes the books of
instruments k, k+1, ... mod ``--instruments`` (``--books-per-client``, TWS's
limit of 3 by default; more raises the simulator's ``Depth.max_books``), 10
rows a side; the book kind rotates with k + slot: SMART depth
(updateMktDepthL2, isSmartDepth), ISLAND (updateMktDepthL2 with market
makers) and ARCA (updateMktDepth) for stocks; IDEALPRO (updateMktDepth) for forex.

Once every book has rows, after ``--warmup`` seconds and no earlier than
``--lead`` real seconds after the simulator started (so every kind's window
covers the same simulated seconds, hence the same market), the window of
``--seconds`` simulated seconds (``--seconds / --speed`` real ones) starts.
A book changes once a simulated second; with ``--speed`` x ``--poll`` above
0.5 the simulator's polls skip seconds (the changes conflate) and what it
serves depends on its timing. The clients keep up when their received rate
equals the served one (the ratio of received updates/s then only says that
they all kept up).
Printed: updates/s served by the simulator (depth frames it sent) and its
CPU; updates/s the clients received and applied, in total and per client
(min/median/max), and their CPU (this process) per update; the lag of each
update applied in the window (when the client applied it minus the start of
the simulated second it belongs to, in real ms: the simulator's poll interval
is part of it); then depth stops, the clients drain, and every client's
books must equal the simulator's books at its last second, recomputed from
its depth model (a check, not a timing). Last, the ratios twsbridge/ib_async
(and twsbridge/ibapi) of received updates/s and CPU per update.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import multiprocessing as mp
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import depth_clients
import depth_sim
from load_common import median

KINDS = ("twsbridge", "ib_async", "ibapi")
MAX_CLIENTS = 32  # the simulator's (and TWS's) limit of API clients
TWS_BOOKS = 3  # TWS's distinct securities with depth per client


class BenchError(Exception):
    """A run that cannot go on (a process failed, a client could not connect ...)."""


def instruments(n: int) -> list[Any]:
    """``n`` instruments of the simulator's book: stocks, and every fifth a forex pair."""
    from twsbridge.sim.reference.instruments import INSTRUMENTS

    stocks = [i for i in INSTRUMENTS if i.secType == "STK"]
    forex = [i for i in INSTRUMENTS if i.secType == "CASH"]
    n_fx = min(len(forex), n // 5)
    chosen = stocks[:n - n_fx] + forex[:n_fx]
    if len(chosen) < n:
        raise BenchError(f"the simulator's book has {len(chosen)} stocks and forex pairs")
    return chosen


def requests(k: int, books: int, insts: list[Any]) -> list[depth_clients.Req]:
    """Client k's depth requests: instruments k, k+1, ... (mod len), a kind each."""
    out: list[depth_clients.Req] = []
    for j in range(min(books, len(insts))):
        inst = insts[(k + j) % len(insts)]
        v = (k + j) % 3
        f = {"conId": inst.conId, "symbol": inst.symbol, "secType": inst.secType,
             "currency": inst.currency, "localSymbol": inst.localSymbol}
        if inst.secType == "CASH":
            out.append(({**f, "exchange": "IDEALPRO"}, False))  # forex: no SMART contract
        else:
            out.append(({**f, "exchange": ("SMART", "ISLAND", "ARCA")[v]}, v == 0))
    return out


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return 0.0
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


# ------------------------------------------------------------------ one run


async def _ask(pipe: Any, msg: tuple[Any, ...], timeout: float = 60) -> Any:
    pipe.send(msg)
    end = time.monotonic() + timeout
    while not pipe.poll():
        if time.monotonic() > end:
            raise BenchError(f"the simulator did not answer {msg[0]!r}")
        await asyncio.sleep(0.01)
    return pipe.recv()


async def _run_kind(args: argparse.Namespace, kind: str, pipe: Any, insts: list[Any],
                    port: int, clock: dict[str, float]) -> dict[str, Any]:
    cls = depth_clients.client_class(kind)
    clients = [cls(k, port, requests(k - 1, args.books_per_client, insts), args.timeout)
               for k in range(1, args.clients + 1)]

    async def start(c: Any) -> None:
        try:
            await asyncio.wait_for(c.start(), args.timeout)
        except Exception as e:
            c.errors.append(f"could not connect and subscribe: {e!r}")

    await asyncio.gather(*(start(c) for c in clients))
    end = time.monotonic() + args.timeout
    while not all(c.ready() for c in clients) and time.monotonic() < end:
        if any(c.errors for c in clients):
            break
        await asyncio.sleep(0.05)
    errors = [f"client {c.cid}: {e}" for c in clients for e in c.errors]
    if errors or not all(c.ready() for c in clients):
        raise BenchError(f"{kind}: " + ("\n".join(errors[:10]) or "books without rows"))
    setup = time.time() - clock["wall"]
    await asyncio.sleep(args.warmup)
    # every kind's window covers the same simulated seconds when setup fits in --lead
    begin = clock["wall"] + args.lead
    await asyncio.sleep(max(0.0, begin - time.time()))
    aligned = time.time() - begin < 0.1
    try:
        return {**await _window(args, kind, pipe, clients, clock), "setup_s": setup,
                "aligned": aligned}
    finally:
        for c in clients:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(c.stop(), 10)


async def _window(args: argparse.Namespace, kind: str, pipe: Any, clients: list[Any],
                  clock: dict[str, float]) -> dict[str, Any]:
    n0 = {c.cid: len(c.times) for c in clients}
    cpu0, t0 = time.process_time(), time.time()
    mark = (await _ask(pipe, ("mark",)))[1]
    await asyncio.sleep(max(0.0, t0 + args.seconds / args.speed - time.time()))
    n1 = {c.cid: len(c.times) for c in clients}
    cpu1, t1 = time.process_time(), time.time()
    frozen = (await _ask(pipe, ("freeze",)))[1]
    await asyncio.sleep(0.3)  # the last poll's frames are on their way
    final = (await _ask(pipe, ("final",)))[1]
    end = time.monotonic() + args.drain
    while time.monotonic() < end and any(len(c.times) < final["frames"].get(c.cid, 0)
                                         for c in clients):
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    win, sim_win = t1 - t0, frozen["t"] - mark["t"]
    per_client = [(n1[c.cid] - n0[c.cid]) / win for c in clients]
    received = sum(n1[c.cid] - n0[c.cid] for c in clients)
    served = frozen["served"] - mark["served"]

    def wall_of(second: int) -> float:
        return clock["wall"] + (second - clock["sim"]) / clock["speed"]

    lags: list[float] = []
    for c in clients:
        steps = final["steps"].get(c.cid, [])
        cums = [s[0] for s in steps]
        for i in range(n0[c.cid], n1[c.cid]):
            j = bisect.bisect_left(cums, i + 1)
            if j < len(steps):
                lags.append((c.times[i] - wall_of(steps[j][1])) * 1000)
    mismatched, books, lost = [], 0, 0
    for c in clients:
        want, got = final["books"].get(c.cid, {}), c.books()
        books += len(got)
        lost += abs(final["frames"].get(c.cid, 0) - len(c.times))  # missing or extra
        for conId in sorted(set(want) | set(got)):
            if want.get(conId) != got.get(conId):
                mismatched.append(f"client {c.cid} conId {conId}")
    return {
        "kind": kind, "clients": len(clients), "window": win, "sim_window": sim_win,
        "served_s": served / sim_win, "sim_cpu": (frozen["cpu"] - mark["cpu"]) / sim_win,
        "sim_cpu_per_update_us": (frozen["cpu"] - mark["cpu"]) / max(1, served) * 1e6,
        "recv_s": received / win, "per_client_s": (min(per_client), median(per_client),
                                                    max(per_client)),
        "client_cpu": (cpu1 - cpu0) / win,
        "client_cpu_per_update_us": (cpu1 - cpu0) / max(1, received) * 1e6,
        "lag_ms": (_pct(lags, 0.5), _pct(lags, 0.99)), "lag_n": len(lags),
        "books": books, "mismatched": mismatched, "lost": lost,
        "end_seconds": final["seconds"],
        "errors": [f"client {c.cid}: {e}" for c in clients for e in c.errors],
    }


def run_kind(args: argparse.Namespace, kind: str, insts: list[Any]) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    mine, theirs = ctx.Pipe()
    opts = depth_sim.DepthSimOptions(args.seed, args.speed, args.books_per_client, args.poll)
    proc = ctx.Process(target=depth_sim.sim_main, args=(theirs, opts), daemon=True,
                       name="depth-sim")
    proc.start()
    theirs.close()
    try:
        if not mine.poll(120):
            raise BenchError(f"{kind}: the simulator did not start")
        _, port, clock = mine.recv()
        return asyncio.run(_run_kind(args, kind, mine, insts, port, clock))
    finally:
        with contextlib.suppress(OSError, ValueError):
            mine.send(("stop",))
        proc.join(10)
        if proc.is_alive():
            proc.terminate()
            proc.join(5)
        mine.close()


# ------------------------------------------------------------------ report


def header(args: argparse.Namespace, insts: list[Any]) -> None:
    kinds = sorted({i.secType for i in insts})
    print(f"depth load: {args.clients} clients x {min(args.books_per_client, len(insts))} books "
          f"on {len(insts)} instruments ({', '.join(kinds)}), {depth_clients.ROWS} rows a side, "
          f"SMART / ISLAND / ARCA (IDEALPRO) books mixed")
    if args.books_per_client > TWS_BOOKS:
        print(f"note: --books-per-client {args.books_per_client} > TWS's limit of {TWS_BOOKS}: "
              f"the simulator's Depth.max_books raised to {args.books_per_client}")
    print(f"window: {args.seconds:g} simulated s at speed {args.speed:g} "
          f"({args.seconds / args.speed:g} real s); {os.cpu_count()} cores on this machine, "
          f"shared by the simulator process and the clients' process")
    if args.speed * args.poll > 0.5:
        print(f"note: the simulator polls every {args.speed * args.poll:g} simulated s: a poll "
              f"may skip a second (the books' changes conflate), so what it serves depends on "
              f"its timing and differs a little between kinds (lower --poll to avoid it)")


def report(args: argparse.Namespace, figures: list[dict[str, Any]]) -> None:
    for f in figures:
        lo, med, hi = f["per_client_s"]
        ok = not f["mismatched"] and not f["lost"]
        print(f"[{f['kind']}] connected and subscribed in {f['setup_s']:.1f} s"
              + ("" if f["aligned"] else f" (more than --lead {args.lead:g} s: this window "
                 "starts later in simulated time than the others)"))
        print(f"  simulator: {f['served_s']:8,.0f} updates/s served, CPU {f['sim_cpu']:4.0%} "
              f"({f['sim_cpu_per_update_us']:.1f} us/update)")
        print(f"  clients:   {f['recv_s']:8,.0f} updates/s received and applied; per client "
              f"min/median/max {lo:,.0f}/{med:,.0f}/{hi:,.0f}")
        print(f"  clients:   CPU {f['client_cpu']:4.0%} ({f['client_cpu_per_update_us']:.1f} "
              f"us/update)")
        print(f"  lag:       p50 {f['lag_ms'][0]:.1f} ms, p99 {f['lag_ms'][1]:.1f} ms "
              f"({f['lag_n']:,} updates)")
        print(f"  books:     {f['books'] - len(f['mismatched'])}/{f['books']} match the "
              f"simulator's at the end; {f['lost']} updates missing or extra"
              f" -> {'OK' if ok else 'MISMATCH'}")
        for m in f["mismatched"][:5]:
            print(f"    mismatch: {m}")
        for e in f["errors"][:5]:
            print(f"    error: {e}")
    by = {f["kind"]: f for f in figures}
    if "twsbridge" in by:
        tb = by["twsbridge"]
        for other in ("ib_async", "ibapi"):
            if other in by:
                o = by[other]
                recv = tb["recv_s"] / max(o["recv_s"], 1e-9)
                cpu = tb["client_cpu_per_update_us"] / max(o["client_cpu_per_update_us"], 1e-9)
                print(f"twsbridge vs {other}: received updates/s x{recv:.2f}, "
                      f"CPU per update x{cpu:.2f}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="simulated seconds measured")
    ap.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real one")
    ap.add_argument("--clients", type=int, default=32, help=f"API clients (<= {MAX_CLIENTS})")
    ap.add_argument("--instruments", type=int, default=10, help="instruments with depth")
    ap.add_argument("--books-per-client", type=int, default=TWS_BOOKS,
                    help=f"books per client (> {TWS_BOOKS} raises the simulator's limit)")
    ap.add_argument("--client", action="append", choices=KINDS, dest="kinds",
                    help="client kind (repeatable; default: all, one after another)")
    ap.add_argument("--warmup", type=float, default=1.0,
                    help="real seconds between every book having rows and the window")
    ap.add_argument("--lead", type=float, default=8.0,
                    help="real seconds from the simulator's start to the window (the same "
                         "simulated seconds for every kind if connecting takes less)")
    ap.add_argument("--drain", type=float, default=10.0,
                    help="most real seconds the clients drain after depth stops")
    ap.add_argument("--poll", type=float, default=0.05, help="simulator poll interval, s")
    ap.add_argument("--timeout", type=float, default=30.0, help="connect/first rows, s")
    ap.add_argument("--seed", type=int, default=0, help="simulator seed")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)
    if not 1 <= args.clients <= MAX_CLIENTS:
        ap.error(f"--clients must be 1..{MAX_CLIENTS}: the simulator, as TWS, refuses more")
    if args.books_per_client < 1 or args.instruments < 1 or args.speed <= 0:
        ap.error("--books-per-client, --instruments and --speed must be positive")
    args.kinds = args.kinds or list(KINDS)
    return args


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Run every kind; the figures of each."""
    insts = instruments(args.instruments)
    header(args, insts)
    figures = []
    for kind in args.kinds:
        print(f"running {kind} ...", file=sys.stderr, flush=True)
        figures.append(run_kind(args, kind, insts))
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        figures = run(args)
    except BenchError as e:
        print(f"depth_load: FAILED: {e}", file=sys.stderr)
        return 1
    report(args, figures)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f)
    ok = all(not f["mismatched"] and not f["lost"] for f in figures)
    return 0 if ok else 2


if __name__ == "__main__":
    sys.exit(main())
