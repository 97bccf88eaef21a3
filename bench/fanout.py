"""Fan-out of ONE simulated tick stream to many WebSocket clients.

Usage::

    .venv/bin/python bench/fanout.py [--clients 100] [--seconds 15] [--warmup 3]
                                     [--speed 150] [--poll 0.005] [--procs 1] [--deflate]
                                     [--profile]

One process runs the simulator (as TWS is a process of its own), one the real
service (uvicorn, gateway mode, connected to the simulator). The
simulator's clock runs ``--speed`` times real time and is polled every
``--poll`` seconds; each simulated second of AAPL changes about 7-8 ticks, so
the default gives one upstream stream of ~1,000 ticks/s (measured and printed:
no synthetic source is needed). ``--procs`` further processes hold the
``--clients`` WebSocket clients (``websockets``), all on ``/ws/quotes?conId=265598``:
one upstream subscription, fanned out by the hub.

Each message carries ``t_hub``, the service's ``time.time_ns()`` when it
received the (oldest) tick of the message from TWS. A client stamps each
message on receipt; the added latency of each tick is receipt - t_hub (same
machine, same clock). Latency percentiles are per delivered tick. Clients
parse only ``t_hub``, ``conflated`` and the tick count of each message (string
scans), so that measuring costs as little CPU as possible on this 2-core box.
Clients do not offer permessage-deflate unless ``--deflate`` (browsers do;
the service then compresses every message once per client).

Prints a table: upstream ticks/s, deliveries (ticks received by all clients)/s,
messages/s, latency p50/p99/max, conflated updates, dropped clients, and CPU
seconds per second of the service and the client processes. Bounded: warm-up
plus the measured window plus a few seconds of setup.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import multiprocessing as mp
import pstats
import socket
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from twsbridge.sim.market.clock import REPLAY_START

AAPL = 265598


# ------------------------------------------------------------------ clients
async def _client(url: str, deflate: bool, ready: asyncio.Event, window: list[int],
                  out: dict[str, Any]) -> None:
    from websockets.asyncio.client import connect

    lat: list[int] = []
    ticks: list[int] = []
    conflated = 0
    async with connect(url, compression="deflate" if deflate else None,
                       max_size=None, ping_interval=None) as ws:
        first = await ws.recv()
        assert isinstance(first, str) and first.startswith('{"type":"snapshot"'), first[:80]
        ready.set()
        while True:
            msg = await ws.recv()
            now = time.time_ns()
            if not window:
                continue
            if now > window[1]:
                break
            if now < window[0]:
                continue
            assert isinstance(msg, str)
            i = msg.index('"t_hub":') + 8
            t_hub = int(msg[i:msg.index(",", i)])
            n = msg.count('"name":')
            lat.append(now - t_hub)
            ticks.append(n)
            if '"conflated":' in msg:
                j = msg.index('"conflated":') + 12
                conflated += int(msg[j:msg.index(",", j)])
    out["lat"] = np.asarray(lat, dtype=np.int64)
    out["ticks"] = np.asarray(ticks, dtype=np.int64)
    out["conflated"] = conflated


async def _clients_main(url: str, n: int, deflate: bool, pipe: Connection) -> None:
    window: list[int] = []
    readies = [asyncio.Event() for _ in range(n)]
    outs: list[dict[str, Any]] = [{} for _ in range(n)]
    tasks = []
    for i in range(n):
        tasks.append(asyncio.create_task(_client(url, deflate, readies[i], window, outs[i])))
        await asyncio.sleep(0.005)
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)
    pipe.send("ready")
    loop = asyncio.get_running_loop()
    start, end = await loop.run_in_executor(None, pipe.recv)
    cpu0 = time.process_time()
    window.extend((start, end))
    results = await asyncio.gather(*tasks, return_exceptions=True)
    cpu = time.process_time() - cpu0
    errors = [repr(r) for r in results if isinstance(r, BaseException)]
    lat = np.concatenate([o.get("lat", np.zeros(0, np.int64)) for o in outs])
    ticks = np.concatenate([o.get("ticks", np.zeros(0, np.int64)) for o in outs])
    pipe.send({"lat": lat, "ticks": ticks, "conflated": sum(o.get("conflated", 0) for o in outs),
               "cpu": cpu, "errors": errors})


def _clients_process(url: str, n: int, deflate: bool, pipe: Connection) -> None:
    asyncio.run(_clients_main(url, n, deflate, pipe))


# -------------------------------------------------------------- simulator
async def _sim_main(speed: float, poll: float, pipe: Connection) -> None:
    from twsbridge.sim import SimServer, Simulator
    from twsbridge.sim.market.clock import SimClock

    sim = SimServer(Simulator(seed=0, clock=SimClock(REPLAY_START, speed=speed)), host="127.0.0.1",
                    port=0, poll_interval=poll)
    await sim.start()
    pipe.send(sim.port)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, pipe.recv)  # until told to stop
    await sim.stop()


def _sim_process(speed: float, poll: float, pipe: Connection) -> None:
    asyncio.run(_sim_main(speed, poll, pipe))


# ------------------------------------------------------------------ service
async def _serve_and_measure(args: argparse.Namespace) -> dict[str, Any]:
    import uvicorn

    from twsbridge.service import ServiceSettings, create_app
    from twsbridge.service.streaming import StreamHub

    ctx = mp.get_context("spawn")
    loop = asyncio.get_running_loop()
    sim_pipe, theirs = ctx.Pipe()
    sim = ctx.Process(target=_sim_process, args=(args.speed, args.poll, theirs), daemon=True)
    sim.start()
    sim_port = await asyncio.wait_for(loop.run_in_executor(None, sim_pipe.recv), 60)
    tmp = tempfile.mkdtemp(prefix="twsbridge-bench-")
    settings = ServiceSettings(host="127.0.0.1", port=0, gateway=f"127.0.0.1:{sim_port}",
                               client_id=17, journal_url=str(Path(tmp) / "journal.sqlite3"),
                               log_level="warning")
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP
    # (a plain socket.socket() has proto 0, and Nagle + delayed ACKs add up to 40 ms).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.02)
    url = f"ws://127.0.0.1:{sock.getsockname()[1]}/ws/quotes?conId={AAPL}"
    pipes, procs = [], []
    per = [args.clients // args.procs + (i < args.clients % args.procs) for i in range(args.procs)]
    for n in per:
        mine, theirs = ctx.Pipe()
        p = ctx.Process(target=_clients_process, args=(url, n, args.deflate, theirs), daemon=True)
        p.start()
        pipes.append(mine)
        procs.append(p)
    try:
        for pipe in pipes:
            assert await asyncio.wait_for(loop.run_in_executor(None, pipe.recv), 90) == "ready"
        hub: StreamHub = app.state.stream_hub
        assert hub.upstream_count() == 1, "one upstream subscription for every client"
        start = time.time_ns() + int(args.warmup * 1e9)
        end = start + int(args.seconds * 1e9)
        for pipe in pipes:
            pipe.send((start, end))
        await asyncio.sleep((start - time.time_ns()) / 1e9)
        topic = hub.topics[("quotes", AAPL, "")]
        profile = cProfile.Profile() if args.profile else None
        items0, cpu0, dropped0 = topic.items, time.process_time(), hub.dropped
        if profile is not None:
            profile.enable()
        await asyncio.sleep((end - time.time_ns()) / 1e9)
        upstream, cpu = topic.items - items0, time.process_time() - cpu0
        if profile is not None:
            profile.disable()
            pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(30)
        dropped = hub.dropped - dropped0
        results = [await asyncio.wait_for(loop.run_in_executor(None, pipe.recv), 60)
                   for pipe in pipes]
    finally:
        for p in procs:
            p.join(10)
        server.should_exit = True
        await serving
        sim_pipe.send("stop")
        sim.join(10)
    return {"upstream": upstream, "cpu": cpu, "dropped": dropped, "results": results,
            "subscribers": args.clients}


def _report(args: argparse.Namespace, r: dict[str, Any]) -> None:
    secs = args.seconds
    res = r["results"]
    lat = np.concatenate([x["lat"] for x in res])
    ticks = np.concatenate([x["ticks"] for x in res])
    per_tick = np.repeat(lat, ticks) / 1e6 if len(lat) else np.zeros(1)
    errors = [e for x in res for e in x["errors"]]
    rows = [
        ("clients (WebSocket, one conId)", f"{args.clients} in {args.procs} process(es)"),
        ("upstream ticks/s (one reqMktData)", f"{r['upstream'] / secs:,.0f}"),
        ("deliveries/s (ticks to all clients)", f"{ticks.sum() / secs:,.0f}"),
        ("expected deliveries/s", f"{r['upstream'] * args.clients / secs:,.0f}"),
        ("messages/s (all clients)", f"{len(lat) / secs:,.0f}"),
        ("ticks per message", f"{ticks.sum() / max(len(lat), 1):.1f}"),
        ("added latency p50 (ms)", f"{np.percentile(per_tick, 50):.2f}"),
        ("added latency p99 (ms)", f"{np.percentile(per_tick, 99):.2f}"),
        ("added latency max (ms)", f"{per_tick.max():.2f}"),
        ("conflated updates / dropped clients",
         f"{sum(x['conflated'] for x in res)} / {r['dropped']}"),
        ("CPU s/s: service process", f"{r['cpu'] / secs:.2f}"),
        ("CPU s/s: client process(es)", f"{sum(x['cpu'] for x in res) / secs:.2f}"),
        ("permessage-deflate", "on" if args.deflate else "off"),
        ("window", f"{secs:g} s after {args.warmup:g} s warm-up; sim speed {args.speed:g}x, "
                   f"poll {args.poll * 1000:g} ms"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 30}")
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    if errors:
        print(f"client errors: {len(errors)}, first: {errors[0]}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=15.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--speed", type=float, default=150.0, help="simulated s per real s")
    parser.add_argument("--poll", type=float, default=0.005, help="simulator poll interval")
    parser.add_argument("--procs", type=int, default=1, help="client processes")
    parser.add_argument("--deflate", action="store_true", help="clients offer compression")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the service process over the window (to stderr)")
    args = parser.parse_args()
    result = asyncio.run(_serve_and_measure(args))
    _report(args, result)


if __name__ == "__main__":
    main()
