"""The simulator process of ``bench/load.py`` and what it counts.

It runs in a process of its own (``multiprocessing`` spawn) and talks to the
parent over a ``Pipe``. It counts, without touching ``src``: its frames
(``ServerConnection.send``) and bytes written (``_Conn.send``), and for each
market data line (``MktDataStream.first`` / ``update``, wrapped at class level
in this process only) the tick messages, the ticks a client library delivers
for them (a bid/ask/last tickPrice carries its size: twsbridge's TickBook and
ibapi's decoder turn it into a price and a size tick) and the due updates
(TWS-like pacing: 4 per simulated second per line). ``freeze`` stops market
data (the wrapped ``SessionGuard.market_data`` returns nothing) so the clients
can drain and the totals be compared exactly.

Protocol (parent -> simulator): ``("go", sample_times)``, ``("freeze",)``,
``("final",)``, ``("stop",)``. Simulator -> parent: ``("port", p, {...})``,
``("sample", k, {...})`` at each sample time, ``("frozen",)``,
``("final", {...})``.
"""

from __future__ import annotations

import asyncio
import cProfile
import dataclasses
from multiprocessing.connection import Connection
from typing import Any

from load_common import (
    SIZED_PRICE_TYPES,
    LagMonitor,
    at,
    book_instruments,
    child_setup,
    machine_cpu,
    measure,
    print_profile,
    recv,
)

from twsbridge.sim.market.clock import REPLAY_START, SimClock


class SimCounters:
    """What the simulator served, counted by the wrappers of install_counters()."""

    def __init__(self) -> None:
        self.frames: dict[int, int] = {}  # id(ServerConnection) -> frames sent
        self.bytes = 0
        self.lines: dict[int, list[int]] = {}  # id(MktDataStream) -> [msgs, ticks, updates]
        self.frozen = False


def install_counters(c: SimCounters) -> None:
    """Wrap (in this process only) the simulator's send and market data methods."""
    from twsbridge.protocol import ServerConnection
    from twsbridge.protocol.catalogue import incoming
    from twsbridge.sim.gateway import server as sim_server
    from twsbridge.sim.gateway.guard import SessionGuard
    from twsbridge.sim.market.streams import MktDataStream

    frames = c.frames
    lines = c.lines
    tick_price = incoming.TickPrice
    other_ticks = (incoming.TickSize, incoming.TickString, incoming.TickGeneric)

    orig_encode = ServerConnection.send

    def send(self: Any, msg: Any) -> bytes:
        key = id(self)
        frames[key] = frames.get(key, 0) + 1
        return orig_encode(self, msg)

    ServerConnection.send = send

    orig_write = sim_server._Conn.send

    async def write(self: Any, data: bytes) -> None:
        c.bytes += len(data)
        await orig_write(self, data)

    sim_server._Conn.send = write  # type: ignore[method-assign]

    def count(stream: Any, out: list[Any], due: int) -> None:
        rec = lines.get(id(stream))
        if rec is None:
            rec = lines[id(stream)] = [0, 0, 0]
        rec[2] += due
        for m in out:
            cls = type(m)
            if cls is tick_price:
                rec[0] += 1
                rec[1] += 2 if m.tickType in SIZED_PRICE_TYPES else 1
            elif cls in other_ticks:
                rec[0] += 1
                rec[1] += 1

    orig_first = MktDataStream.first
    orig_update = MktDataStream.update

    def first(self: Any, now: Any) -> list[Any]:
        out: list[Any] = orig_first(self, now)
        count(self, out, 0)
        return out

    def update(self: Any, now: Any) -> list[Any]:
        due = self.next_due
        out: list[Any] = orig_update(self, now)
        if self.next_due is not due:
            count(self, out, 1)
        return out

    MktDataStream.first = first  # type: ignore[method-assign]
    MktDataStream.update = update  # type: ignore[method-assign]

    orig_market_data = SessionGuard.market_data

    def market_data(self: Any, now: Any) -> list[Any]:
        return [] if c.frozen else orig_market_data(self, now)

    SessionGuard.market_data = market_data  # type: ignore[method-assign]


def _line_totals(server: Any, c: SimCounters) -> dict[str, Any]:
    """Per line (client id, conId): [msgs, ticks, updates]; per client: frames sent."""
    lines: dict[tuple[int, int], list[int]] = {}
    frames: dict[int, int] = {}
    for s in list(server.sessions):
        cid = s.client_id
        if cid is None:
            continue
        frames[cid] = c.frames.get(id(s.conn), 0)
        for stream in s.mkt.values():  # the session's market data lines
            lines[(cid, stream.inst.conId)] = list(c.lines.get(id(stream), (0, 0, 0)))
    return {"lines": lines, "frames": frames}


@dataclasses.dataclass
class SimOptions:
    seed: int
    book: str
    n_instruments: int
    poll: float
    profile: bool = False


async def _sim_main(pipe: Connection, o: SimOptions) -> None:
    from twsbridge.sim import SimServer, Simulator
    from twsbridge.sim.reference.instruments import InstrumentBook

    counters = SimCounters()
    install_counters(counters)
    book = (InstrumentBook(book_instruments("extended", max(o.n_instruments, 18)))
            if o.book == "extended" else None)
    sim = Simulator(seed=o.seed, clock=SimClock(REPLAY_START), book=book)
    now = sim.clock.now()
    for inst in sim.book:  # build every daily series and today's path before clients come
        sim.prices.quote(inst.conId, now)
    server = SimServer(sim, host="127.0.0.1", port=0, poll_interval=o.poll)
    await server.start()
    lag = LagMonitor()
    lag.start()
    pipe.send(("port", server.port, measure()))
    sampler: asyncio.Task[None] | None = None
    prev: dict[tuple[int, int], int] = {}
    prof = cProfile.Profile() if o.profile else None

    async def sample(times: list[float]) -> None:
        nonlocal prev
        for k, t in enumerate(times):
            await at(t)
            totals = _line_totals(server, counters)
            cur = {key: v[0] for key, v in totals["lines"].items()}
            silent = sum(1 for key, v in cur.items() if k and v == prev.get(key, -1))
            prev = cur
            vals = list(totals["lines"].values())
            pipe.send(("sample", k, {
                **measure(), **lag.take(), "machine": machine_cpu(),
                "msgs": sum(v[0] for v in vals), "ticks": sum(v[1] for v in vals),
                "updates": sum(v[2] for v in vals), "frames": sum(counters.frames.values()),
                "bytes": counters.bytes, "sessions": len(server.sessions), "lines": len(vals),
                "silent": silent, "per_line": totals["lines"] if k in (0, len(times) - 1)
                else None}))

    try:
        while True:
            cmd = await recv(pipe)
            if cmd[0] == "go":
                sampler = asyncio.create_task(sample(cmd[1]))
                if prof is not None:
                    prof.enable()
            elif cmd[0] == "freeze":
                counters.frozen = True
                if prof is not None:
                    prof.disable()
                    print_profile(prof, "simulator")
                pipe.send(("frozen",))
            elif cmd[0] == "final":
                pipe.send(("final", {**measure(), **_line_totals(server, counters)}))
            elif cmd[0] == "stop":
                break
    finally:
        if sampler is not None:
            sampler.cancel()
        await server.stop()


def sim_main(pipe: Connection, o: SimOptions) -> None:
    child_setup()
    try:
        asyncio.run(_sim_main(pipe, o))
    except (EOFError, BrokenPipeError):
        pass  # the parent is gone

