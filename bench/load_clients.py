"""The client worker processes of ``bench/load.py``.

Each runs in a process of its own (``multiprocessing`` spawn) and talks to the
parent over a ``Pipe``; it holds some of the clients (twsbridge, ib_async or
ibapi), counts the ticks of each of their lines and measures itself and its
event loop lag (ibapi: the depth of its decoder queues).

Protocol (parent -> worker): ``("go", sample_times)``, ``("final",)``.
Worker -> parent: ``("baseline", {...})`` and ``("ready", {...})`` or
``("error", text)``, ``("sample", k, {...})`` at each sample time,
``("final", {...})``.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import dataclasses
import gc
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from load_common import NOTICES, LagMonitor, at, child_setup, measure, print_profile, recv


@dataclasses.dataclass
class Options:
    port: int
    kind: str
    client_ids: list[int]
    contracts: list[dict[str, Any]]
    connect_timeout: float
    first_tick_timeout: float
    ibapi_rate: float
    profile: bool = False


class BenchClient:
    """One API client of some kind: connect, subscribe every line, count the ticks."""

    kind = ""

    def __init__(self, cid: int, opts: Options) -> None:
        self.cid = cid
        self.opts = opts
        self.counts = [0] * len(opts.contracts)
        self.errors: list[str] = []

    def extra(self) -> dict[str, Any]:
        """Kind-specific totals for the final report."""
        return {}


class TwsbridgeClient(BenchClient):
    """twsbridge's TWSClient; one task per line iterates its subscription, as a user does."""

    kind = "twsbridge"

    def __init__(self, cid: int, opts: Options) -> None:
        super().__init__(cid, opts)
        self.gaps = 0
        self.subs: list[Any] = []
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        from twsbridge.client import TWSClient
        from twsbridge.protocol import Contract

        self.c = TWSClient("127.0.0.1", self.opts.port, client_id=self.cid,
                           timeout=self.opts.connect_timeout)
        await self.c.connect()
        self.subs = [self.c.reqMktData(Contract(**f)) for f in self.opts.contracts]
        self.tasks = [asyncio.create_task(self._consume(i, s)) for i, s in enumerate(self.subs)]

    async def _consume(self, i: int, sub: Any) -> None:
        from twsbridge.client.ticker import Tick

        counts = self.counts
        try:
            async for item in sub:
                if type(item) is Tick:
                    counts[i] += 1
                else:
                    self.gaps += 1
        except Exception as e:
            self.errors.append(f"line {i} ({self.opts.contracts[i]['symbol']}): {e!r}")

    def extra(self) -> dict[str, Any]:
        return {"gaps": self.gaps, "dropped": sum(s.dropped for s in self.subs)}

    async def stop(self) -> None:
        await self.c.disconnect()
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


class IbAsyncClient(BenchClient):
    """ib_async's IB: reqMktData Tickers; pendingTickersEvent counts each Ticker's ticks."""

    kind = "ib_async"

    async def start(self) -> None:
        from ib_async import IB, Contract

        self.ib = IB()
        self.ib.errorEvent += self._on_error
        await self.ib.connectAsync("127.0.0.1", self.opts.port, clientId=self.cid,
                                   timeout=self.opts.connect_timeout)
        self.index: dict[Any, int] = {}
        for i, f in enumerate(self.opts.contracts):
            self.index[self.ib.reqMktData(Contract(**f))] = i
        self.ib.pendingTickersEvent += self._on_tickers

    def _on_tickers(self, tickers: Any) -> None:
        counts, index = self.counts, self.index
        for t in tickers:
            counts[index[t]] += len(t.ticks)

    def _on_error(self, reqId: int, code: int, text: str, contract: Any) -> None:
        if code not in NOTICES:
            self.errors.append(f"error {code} (reqId {reqId}): {text}")

    def extra(self) -> dict[str, Any]:
        return {"frames_received": self.ib.client._numMsgRecv}

    async def stop(self) -> None:
        self.ib.disconnect()
        await asyncio.sleep(0)


ASYNC_KINDS: dict[str, type[Any]] = {"twsbridge": TwsbridgeClient, "ib_async": IbAsyncClient}


def _totals(clients: list[Any]) -> dict[int, list[int]]:
    return {c.cid: list(c.counts) for c in clients}


def _silent(clients: list[Any], prev: dict[int, list[int]] | None) -> int:
    """Lines of these clients that got no tick since the previous sample."""
    if prev is None:
        return 0
    return sum(1 for c in clients for a, b in zip(c.counts, prev[c.cid], strict=True) if a == b)


async def _wait_first_ticks(clients: list[Any], timeout: float) -> list[str]:
    """Wait until every line has had a tick; the lines that had none by ``timeout``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if all(all(c.counts) for c in clients) or any(c.errors for c in clients):
            break
        await asyncio.sleep(0.1)
    return [f"client {c.cid}: {c.opts.contracts[i]['symbol']} (conId "
            f"{c.opts.contracts[i]['conId']}) had no tick within {timeout:g} s"
            for c in clients for i, n in enumerate(c.counts) if n == 0]


def _import_library(kind: str) -> None:
    """Load the client library before the baseline: the baseline is the interpreter
    with the library, before any connection."""
    if kind == "twsbridge":
        import twsbridge.client
        import twsbridge.client.ticker  # noqa: F401
    elif kind == "ib_async":
        import ib_async  # noqa: F401
    else:
        import ibapi.client
        import ibapi.contract
        import ibapi.wrapper  # noqa: F401


async def _async_worker(pipe: Connection, opts: Options) -> None:
    _import_library(opts.kind)
    gc.collect()
    pipe.send(("baseline", measure()))
    cls = ASYNC_KINDS[opts.kind]
    clients = [cls(cid, opts) for cid in opts.client_ids]
    t_connect = time.perf_counter()

    async def start(c: Any) -> None:
        try:
            await asyncio.wait_for(c.start(), opts.connect_timeout + len(opts.contracts) / 20)
        except Exception as e:
            c.errors.append(f"could not connect and subscribe: {e!r}")

    await asyncio.gather(*(start(c) for c in clients))
    connect_s = time.perf_counter() - t_connect
    missing = [f"client {c.cid}: {e}" for c in clients for e in c.errors]
    if not missing:
        missing = await _wait_first_ticks(clients, opts.first_tick_timeout)
    if missing:
        pipe.send(("error", "\n".join(missing[:20])))
        return
    pipe.send(("ready", {"connect_s": connect_s,
                         "first_tick_s": time.perf_counter() - t_connect}))
    lag = LagMonitor()
    lag.start()
    cmd = await recv(pipe)
    assert cmd[0] == "go", cmd
    times: list[float] = cmd[1]
    prev: dict[int, list[int]] | None = None
    start_counts: dict[int, list[int]] = {}
    prof = cProfile.Profile() if opts.profile else None
    for k, t in enumerate(times):
        await at(t)
        snap = _totals(clients)
        if k == 0:
            start_counts = snap
            if prof is not None:
                prof.enable()
        pipe.send(("sample", k, {**measure(), **lag.take(), "silent": _silent(clients, prev),
                                 "ticks": sum(sum(v) for v in snap.values())}))
        prev = snap
    end_counts = _totals(clients)
    if prof is not None:
        prof.disable()
        print_profile(prof, f"{opts.kind} worker (clients {opts.client_ids})")
    cmd = await recv(pipe)
    assert cmd[0] == "final", cmd
    pipe.send(("final", {**measure(), "start": start_counts, "end": end_counts,
                         "final": _totals(clients),
                         "extra": {c.cid: c.extra() for c in clients},
                         "errors": [f"client {c.cid}: {e}" for c in clients for e in c.errors]}))
    for c in clients:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(c.stop(), 10)


# ------------------------------------------------------------------ ibapi (threads)


def _ibapi_app_class() -> type[Any]:
    from ibapi.client import EClient
    from ibapi.wrapper import EWrapper

    class App(EWrapper, EClient):  # type: ignore[misc]
        """IB's EClient/EWrapper; its run() loop in a thread of its own, as IB's samples do."""

        def __init__(self, cid: int, opts: Options) -> None:
            EWrapper.__init__(self)
            EClient.__init__(self, wrapper=self)
            self.cid = cid
            self.opts = opts
            self.counts = [0] * len(opts.contracts)
            self.errors: list[str] = []
            self.got_id = threading.Event()
            self.thread: threading.Thread | None = None

        def nextValidId(self, orderId: int) -> None:
            self.got_id.set()

        def error(self, reqId: int, errorTime: int, errorCode: int, errorString: str,
                  advancedOrderRejectJson: str = "") -> None:
            if errorCode not in NOTICES:
                self.errors.append(f"error {errorCode} (reqId {reqId}): {errorString}")

        def tickPrice(self, reqId: int, tickType: int, price: float, attrib: Any) -> None:
            self.counts[reqId - 1] += 1

        def tickSize(self, reqId: int, tickType: int, size: Any) -> None:
            self.counts[reqId - 1] += 1

        def tickString(self, reqId: int, tickType: int, value: str) -> None:
            self.counts[reqId - 1] += 1

        def tickGeneric(self, reqId: int, tickType: int, value: float) -> None:
            self.counts[reqId - 1] += 1

        def start(self) -> None:
            from ibapi.contract import Contract

            try:
                self.connect("127.0.0.1", self.opts.port, clientId=self.cid)
                if not self.isConnected():
                    raise ConnectionError("EClient.connect did not connect")
                self.thread = threading.Thread(target=self.run, daemon=True,
                                               name=f"ibapi-{self.cid}")
                self.thread.start()
                if not self.got_id.wait(self.opts.connect_timeout):
                    raise TimeoutError(f"no nextValidId within {self.opts.connect_timeout} s")
                for i, f in enumerate(self.opts.contracts):
                    ct = Contract()
                    for k, v in f.items():
                        setattr(ct, k, v)
                    # ibapi does not pace: stay under TWS's 50 messages/s ourselves
                    self.reqMktData(i + 1, ct, "", False, False, [])
                    time.sleep(1 / self.opts.ibapi_rate)
            except Exception as e:
                self.errors.append(f"could not connect and subscribe: {e!r}")

        def queued(self) -> int:
            return int(self.msg_queue.qsize())

    return App


def _ibapi_worker(pipe: Connection, opts: Options) -> None:
    _import_library(opts.kind)
    App = _ibapi_app_class()
    gc.collect()
    pipe.send(("baseline", measure()))
    t_connect = time.perf_counter()
    apps = [App(cid, opts) for cid in opts.client_ids]
    starters = [threading.Thread(target=a.start, daemon=True) for a in apps]
    for s in starters:
        s.start()
    for s in starters:
        s.join(opts.connect_timeout + len(opts.contracts) / opts.ibapi_rate + 10)
    connect_s = time.perf_counter() - t_connect
    missing = [f"client {a.cid}: {e}" for a in apps for e in a.errors]
    if not missing and any(s.is_alive() for s in starters):
        missing = ["connect/subscribe did not finish in time"]
    if not missing:
        missing = asyncio.run(_wait_first_ticks(apps, opts.first_tick_timeout))
    if missing:
        pipe.send(("error", "\n".join(missing[:20])))
        for a in apps:
            with contextlib.suppress(Exception):
                a.disconnect()
        return
    pipe.send(("ready", {"connect_s": connect_s,
                         "first_tick_s": time.perf_counter() - t_connect}))
    # queue depth monitor: how far the decoding threads are behind the readers
    depth = {"max": 0}
    stop = threading.Event()

    def monitor() -> None:
        while not stop.wait(0.05):
            depth["max"] = max(depth["max"], sum(a.queued() for a in apps))

    threading.Thread(target=monitor, daemon=True).start()
    cmd = pipe.recv()
    assert cmd[0] == "go", cmd
    times: list[float] = cmd[1]
    prev: dict[int, list[int]] | None = None
    start_counts: dict[int, list[int]] = {}
    for k, t in enumerate(times):
        time.sleep(max(0.0, t - time.time()))
        snap = _totals(apps)
        if k == 0:
            start_counts = snap
        qmax, depth["max"] = depth["max"], 0
        pipe.send(("sample", k, {**measure(), "queue_max": qmax, "silent": _silent(apps, prev),
                                 "ticks": sum(sum(v) for v in snap.values())}))
        prev = snap
    end_counts = _totals(apps)
    cmd = pipe.recv()
    assert cmd[0] == "final", cmd
    pipe.send(("final", {**measure(), "start": start_counts, "end": end_counts,
                         "final": _totals(apps), "extra": {},
                         "errors": [f"client {a.cid}: {e}" for a in apps for e in a.errors]}))
    stop.set()
    for a in apps:
        with contextlib.suppress(Exception):
            a.disconnect()
    for a in apps:
        if a.thread is not None:
            a.thread.join(5)


def worker_main(pipe: Connection, opts: Options) -> None:
    child_setup()
    try:
        if opts.kind == "ibapi":
            _ibapi_worker(pipe, opts)
        else:
            asyncio.run(_async_worker(pipe, opts))
    except (EOFError, BrokenPipeError):
        pass  # the parent is gone
