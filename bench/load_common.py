"""What the processes of ``bench/load.py`` share: self-measurement, the
instruments, the event loop lag monitor, the pipe helpers and the tick units.

Every process measures itself: CPU seconds (``time.process_time``, all
threads), RSS (``/proc/self/statm``) and ``sys.getallocatedblocks()`` (Python
objects), at the sample times the parent sends, so the samples of all
processes line up. The processes themselves are in ``load_sim`` (the
simulator) and ``load_clients`` (the client workers).
"""

from __future__ import annotations

import asyncio
import cProfile
import dataclasses
import logging
import os
import pstats
import signal
import statistics
import sys
import time
from multiprocessing.connection import Connection
from typing import Any

PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 1 << 20
#: tickPrice types whose size the client libraries deliver as a size tick of its own.
SIZED_PRICE_TYPES = frozenset({1, 2, 4, 66, 67, 68})
#: Error codes that are notices, not failures (farm status, TWS's connect notices).
NOTICES = frozenset({2104, 2106, 2107, 2108, 2119, 2158})
SYNTHETIC_CONID0 = 900_000_001


def rss() -> int:
    """Resident set size of this process, bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of all the machine's CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)  # idle + iowait
    total = sum(vals[:8])  # without guest time, which user time already counts
    return total - idle, total


def measure() -> dict[str, Any]:
    return {"t": time.time(), "cpu": time.process_time(), "rss": rss(),
            "blocks": sys.getallocatedblocks()}


def child_setup() -> None:
    """Ctrl-C is the parent's to handle (it stops every child); libraries log warnings."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format=f"[pid {os.getpid()}] %(name)s %(levelname)s %(message)s")


# ------------------------------------------------------------------ instruments


def instruments(book: str, n: int) -> list[dict[str, Any]]:
    """The ``n`` instruments the clients subscribe to, as contract fields.

    ``real``: the simulator's InstrumentBook (18 today: 12 stocks, 6 forex
    pairs), so at most that many. ``extended``: the real ones, then synthetic
    stocks (conIds from SYNTHETIC_CONID0) that the simulator of this bench
    adds to its book; their prices come from the same seeded synthesis as
    the real stocks without a daily data set (AMD, INTC, SPY ...).
    """
    return [_contract_fields(i) for i in book_instruments(book, n)]


def book_instruments(book: str, n: int) -> list[Any]:
    from twsbridge.sim.reference.instruments import INSTRUMENTS

    real = list(INSTRUMENTS)
    if book == "real":
        return real[:n]
    template = next(i for i in real if i.symbol == "AMD")  # a stock with synthetic prices
    extra = [dataclasses.replace(
        template, conId=SYNTHETIC_CONID0 + k, symbol=f"BNCH{k + 1:02d}",
        localSymbol=f"BNCH{k + 1:02d}", tradingClass="NMS",
        longName=f"LOAD BENCH SYNTHETIC {k + 1}", description=f"LOAD BENCH SYNTHETIC {k + 1}",
        secIdList=(("ISIN", f"XX{SYNTHETIC_CONID0 + k:010d}"),))
        for k in range(max(0, n - len(real)))]
    return (real + extra)[:n]


def _contract_fields(inst: Any) -> dict[str, Any]:
    return {"conId": inst.conId, "symbol": inst.symbol, "secType": inst.secType,
            "exchange": inst.exchange, "currency": inst.currency,
            "localSymbol": inst.localSymbol}


# ------------------------------------------------------------------ loop and pipe


class LagMonitor:
    """Event loop lag: how late a 50 ms sleep wakes up (max and mean per interval)."""

    def __init__(self) -> None:
        self.max = 0.0
        self.sum = 0.0
        self.n = 0
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.05)
            lag = time.perf_counter() - t - 0.05
            self.max = max(self.max, lag)
            self.sum += lag
            self.n += 1

    def take(self) -> dict[str, float]:
        out = {"lag_max": self.max, "lag_mean": self.sum / self.n if self.n else 0.0}
        self.max = self.sum = 0.0
        self.n = 0
        return out


async def recv(pipe: Connection) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, pipe.recv)


async def at(t: float) -> None:
    await asyncio.sleep(max(0.0, t - time.time()))


def print_profile(prof: cProfile.Profile, what: str) -> None:
    print(f"{what} profile over the window (tottime):", file=sys.stderr)
    pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(30)
    sys.stderr.flush()


# ------------------------------------------------------------------ tick units


#: What each kind's tick count is.
TICK_UNITS: dict[str, str] = {
    "twsbridge": "Tick items of `async for tick in sub` (a bid/ask/last tickPrice yields "
                 "a price and a size Tick)",
    "ib_async": "TickData in Ticker.ticks at pendingTickersEvent (price and size in one; "
                "unchanged bid/ask sizes dropped)",
    "ibapi": "tickPrice/tickSize/tickString/tickGeneric callbacks (a bid/ask/last tickPrice "
             "is followed by a tickSize)",
}

#: Kinds whose tick unit equals the simulator's "ticks" count (exact loss check).
SAME_UNIT_AS_SIM = frozenset({"twsbridge", "ibapi"})


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else 0.0
