"""The simulator process of ``bench/depth_load.py`` and what it counts.

It runs in a process of its own (``multiprocessing`` spawn) and talks to the
parent over a ``Pipe``. Without touching ``src`` it wraps, in this process
only: ``ServerConnection.send`` (the updateMktDepth / updateMktDepthL2 frames
sent to each connection) and ``Depth.poll`` (for each poll that sent row
operations: the connection's cumulative depth frame count after them and the
simulated second they belong to, from which the parent computes each
update's lag, since TCP keeps a connection's frames in order). ``freeze``
stops depth (the wrapped ``Depth.poll`` returns nothing) so the clients can
drain and their books be compared with the simulator's.

Protocol (parent -> simulator): ``("mark",)``, ``("freeze",)``, ``("final",)``,
``("stop",)``. Simulator -> parent: ``("port", p, clock)``, ``("mark", {...})``,
``("frozen", {...})``, ``("final", {...})``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
from multiprocessing.connection import Connection
from typing import Any

from load_common import child_setup, measure, recv

from twsbridge.sim.market.clock import REPLAY_START, SimClock

Row = tuple[float, float, str]


class DepthCounters:
    """What the simulator served, counted by the wrappers of install_counters()."""

    def __init__(self) -> None:
        self.frames: dict[int, int] = {}  # id(ServerConnection) -> depth frames sent
        self.steps: dict[int, list[tuple[int, int]]] = {}  # id(conn) -> [(cum frames, second)]
        self.frozen = False

    def total(self) -> int:
        return sum(self.frames.values())


def install_counters(c: DepthCounters) -> None:
    """Wrap (in this process only) the simulator's send and Depth.poll."""
    from twsbridge.protocol import ServerConnection
    from twsbridge.protocol.catalogue import depth as wire
    from twsbridge.sim.gateway.families.depth import Depth

    depth_types = (wire.UpdateMktDepth, wire.UpdateMktDepthL2)
    frames, steps = c.frames, c.steps
    orig_send = ServerConnection.send

    def send(self: Any, msg: Any) -> bytes:
        if type(msg) in depth_types:
            key = id(self)
            frames[key] = frames.get(key, 0) + 1
        return orig_send(self, msg)

    ServerConnection.send = send

    orig_poll = Depth.poll

    def poll(self: Any, now: dt.datetime) -> list[Any]:
        if c.frozen:
            return []
        out: list[Any] = orig_poll(self, now)
        if out:  # sent right after this returns (SimSession.emit encodes at once)
            key = id(self.ctx.conn)
            steps.setdefault(key, []).append(
                (frames.get(key, 0) + len(out), int(now.timestamp() // 1)))
        return out

    Depth.poll = poll  # type: ignore[method-assign]


def _rows(rows: list[Any]) -> list[Row]:
    return [(r.price, float(r.size), r.marketMaker) for r in rows]


def _final(server: Any, c: DepthCounters) -> dict[str, Any]:
    """Per client id: depth frames sent, the poll steps, and each line's book at
    its last second recomputed from the depth model (by conId)."""
    from twsbridge.sim.gateway.families.depth import Depth

    out: dict[str, Any] = {"frames": {}, "steps": {}, "books": {}, "seconds": set()}
    for s in list(server.sessions):
        cid = s.client_id
        if cid is None:
            continue
        key = id(s.conn)
        out["frames"][cid] = c.frames.get(key, 0)
        out["steps"][cid] = c.steps.get(key, [])
        books: dict[int, tuple[list[Row], list[Row]]] = {}
        for fam in s.families:
            if not isinstance(fam, Depth):
                continue
            for line in fam.lines.values():
                if line.second is None:
                    continue
                t = dt.datetime.fromtimestamp(line.second, tz=dt.UTC)
                asks, bids = line.rows(fam.model, t)
                books[line.conId] = (_rows(asks), _rows(bids))
                out["seconds"].add(line.second)
        out["books"][cid] = books
    out["seconds"] = sorted(out["seconds"])
    return out


@dataclasses.dataclass
class DepthSimOptions:
    seed: int
    speed: float
    max_books: int
    poll: float


async def _sim_main(pipe: Connection, o: DepthSimOptions) -> None:
    from twsbridge.sim import SimServer, Simulator
    from twsbridge.sim.gateway.families.depth import Depth

    counters = DepthCounters()
    install_counters(counters)
    Depth.max_books = o.max_books  # TWS's 3 unless --books-per-client raises it
    sim = Simulator(seed=o.seed, clock=SimClock(REPLAY_START, speed=o.speed))
    server = SimServer(sim, host="127.0.0.1", port=0, poll_interval=o.poll)
    await server.start()
    clock = {"wall": time.time(), "sim": sim.clock.now().timestamp(), "speed": o.speed}
    pipe.send(("port", server.port, clock))
    try:
        while True:
            cmd = await recv(pipe)
            if cmd[0] == "mark":
                pipe.send(("mark", {**measure(), "served": counters.total()}))
            elif cmd[0] == "freeze":
                counters.frozen = True
                pipe.send(("frozen", {**measure(), "served": counters.total(),
                                      "sim_now": sim.clock.now().timestamp()}))
            elif cmd[0] == "final":
                pipe.send(("final", _final(server, counters)))
            elif cmd[0] == "stop":
                break
    finally:
        await server.stop()


def sim_main(pipe: Connection, o: DepthSimOptions) -> None:
    child_setup()
    try:
        asyncio.run(_sim_main(pipe, o))
    except (EOFError, BrokenPipeError):
        pass  # the parent is gone
