"""The adversity run: trade through the service while the simulator injects faults.

Parts, all real: one :class:`~twsbridge.sim.Simulator` served by a
:class:`~twsbridge.sim.SimServer` on loopback (TWS's limits on); the service
(uvicorn in a thread, SQLite journal, trading enabled) connected to it as
client 17; a direct :class:`~twsbridge.client.TWSClient` (client 21, the
master API client, reconnecting) holding every kind of live subscription;
WebSocket users of the service; two traders over REST. A seeded fault script
(:mod:`.faults`) runs meanwhile. Afterwards the run waits for quiet (no fault,
no working order) and collects what the suite asserts on: the ledger and the
journal, the streams, the traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from service.processes import free_port
from service.support import auth, running_service
from twsbridge.client import Contract, ReconnectPolicy, TWSClient
from twsbridge.service import ServiceSettings
from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.market.clock import REPLAY_START, SimClock

from .faults import adversity_script, describe
from .ledger import JournalBook, ledger_executions, ledger_orders, working
from .monitors import CallbackWatch, StreamWatch, WebSocketWatch
from .traffic import Trader, Traffic

SERVICE_ID = 17
DIRECT_ID = 21
AMD = Contract(conId=4391, exchange="SMART")
EURUSD = Contract(symbol="EUR", secType="CASH", currency="USD", exchange="IDEALPRO")
RECONNECT = ReconnectPolicy(initial=0.2, maximum=2.0, factor=2.0, jitter=0.2)


@dataclass
class RunConfig:
    """One adversity run: ``faults`` over ``duration`` seconds (default 2.5 s a fault)."""

    seed: int = 7
    faults: int = 24
    duration: float | None = None
    request_timeout: float = 8.0
    max_outage: float = 2.5
    settle: float = 90.0

    @property
    def span(self) -> float:
        return self.duration if self.duration is not None else 2.5 * self.faults


@dataclass
class RunResult:
    """What the run saw."""

    config: RunConfig
    script: str = ""
    faults_logged: int = 0
    faults_by_kind: dict[str, int] = field(default_factory=dict)
    traffic: Traffic = field(default_factory=Traffic)
    hang_after: float = 0.0
    streams: list[Any] = field(default_factory=list)
    dead_streams: list[str] = field(default_factory=list)
    ledger_fills: dict[str, Any] = field(default_factory=dict)
    ledger_orders: dict[Any, Any] = field(default_factory=dict)
    journal: JournalBook | None = None
    reconciles: dict[str, dict[str, Any]] = field(default_factory=dict)
    disconnects: int = 0
    health_failures: int = 0
    wall: float = 0.0
    quiet_after: float = 0.0


async def _direct_watches(ib: TWSClient) -> list[Any]:
    account = ib.accounts[0]
    watches: list[Any] = [
        StreamWatch("client mktData AMD").start(ib.reqMktData(AMD)),
        StreamWatch("client mktData EUR.USD").start(ib.reqMktData(EURUSD)),
        StreamWatch("client bars keepUpToDate AMD").start(
            ib.reqHistoricalDataStream(AMD, "1800 S", "1 min", useRTH=False)),
        StreamWatch("client realTimeBars AMD").start(
            ib.reqRealTimeBars(AMD, 5, "MIDPOINT", False)),
        StreamWatch("client reqPnL").start(ib.reqPnL(account)),
        StreamWatch("client reqPositions").start(ib.reqPositionsStream()),
    ]
    account_values = CallbackWatch("client reqAccountUpdates")
    ib.register(account_values, "updateAccountValue", "updatePortfolio")
    order_events = CallbackWatch("client order events")
    ib.register(order_events, "orderStatus", "openOrder")
    await ib.reqAccountUpdates(account)
    return [*watches, account_values, order_events]


def _service_watches(url: str) -> list[WebSocketWatch]:
    ws = url.replace("http://", "ws://")
    headers = auth(url, "read")
    paths = {
        "/ws/quotes AMD": "/ws/quotes?symbol=AMD",
        "/ws/bars AMD": "/ws/bars?symbol=AMD&barSizeSetting=1%20min&useRTH=false",
        "/ws/realtime-bars AMD": "/ws/realtime-bars?symbol=AMD&whatToShow=MIDPOINT&useRTH=false",
        "/ws/orders": "/ws/orders",
        "/ws/account": "/ws/account",
    }
    return [WebSocketWatch(f"service {name}", url=ws + path, headers=headers).start()
            for name, path in paths.items()]


async def _until(predicate: Any, timeout: float, what: str) -> float:
    """Poll ``predicate`` (sync or async) until true; the seconds it took."""
    start = time.monotonic()
    while True:
        ok = predicate()
        if asyncio.iscoroutine(ok):
            ok = await ok
        if ok:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        await asyncio.sleep(0.25)


async def run_adversity(config: RunConfig, tmp: Path) -> RunResult:
    """Run it; raises AssertionError only when the run cannot reach quiet."""
    result = RunResult(config)
    t0 = time.monotonic()
    simulator = Simulator(seed=config.seed, clock=SimClock(REPLAY_START, speed=2.0))
    simulator.master_client_id = DIRECT_ID
    port = free_port()
    server = SimServer(simulator, host="127.0.0.1", port=port)
    await server.start()
    journal_url = f"sqlite:///{tmp / 'journal.sqlite3'}"
    settings = ServiceSettings(
        host="127.0.0.1", port=0, gateway=f"127.0.0.1:{port}", client_id=SERVICE_ID,
        connect_timeout=5.0, request_timeout=config.request_timeout, log_level="warning",
        journal_url=journal_url, trading_enabled=True, max_order_quantity=None,
        max_order_notional=None, orders_per_minute=None, require_preview=False,
    )
    # the longest a request may take: connecting (5 s), then TWS's answer or the
    # order acknowledgement (settings.order_ack_timeout), plus scheduling slack
    result.hang_after = settings.connect_timeout + max(
        config.request_timeout, settings.order_ack_timeout) + 3.0
    script = adversity_script(config.seed, config.faults, config.span,
                              (SERVICE_ID, DIRECT_ID), config.max_outage)
    result.script = describe(script)
    try:
        with running_service(settings) as url:
            async with httpx.AsyncClient(base_url=url, headers=auth(url, "trade")) as http, \
                    TWSClient("127.0.0.1", port, DIRECT_ID, timeout=5,
                              reconnect=RECONNECT) as ib:
                await _until(lambda: _healthy(http), 30, "the service connected")
                watches: list[Any] = []
                try:
                    watches = [*await _direct_watches(ib), *_service_watches(url)]
                    await _faults_and_traffic(simulator, script, http, result, watches)
                finally:  # before the client and the service go (they end the streams)
                    for w in watches:
                        await w.stop()
                await _quiet_and_books(simulator, http, journal_url, config, result)
    finally:
        await server.stop()
    result.wall = time.monotonic() - t0
    return result


async def _faults_and_traffic(simulator: Simulator, script: Any, http: httpx.AsyncClient,
                              result: RunResult, watches: list[Any]) -> None:
    """Trade while the script runs; then check that every stream delivers again."""
    stop = asyncio.Event()
    traders = [Trader(http, result.config.seed * 100 + i, result.traffic, result.hang_after)
               for i in range(2)]
    tasks = [asyncio.create_task(t.run(stop)) for t in traders]
    tasks.append(asyncio.create_task(_watch_health(http, stop, result)))
    try:
        await asyncio.sleep(2.0)  # streams and orders under way before the first fault
        await simulator.faults.schedule(script)
        faults_over = time.monotonic()
        await asyncio.sleep(3.0)  # business after the last fault
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    result.faults_logged = len(simulator.faults.log)
    for rec in simulator.faults.log:
        result.faults_by_kind[rec.kind] = result.faults_by_kind.get(rec.kind, 0) + 1
    deadline = time.monotonic() + 45  # for all of them: a dead run still ends with its report
    for w in watches:  # every subscription live again: an item after the last fault
        with contextlib.suppress(AssertionError):
            await _until(lambda w=w: w.live_since(faults_over),
                         max(0.0, deadline - time.monotonic()), w.name)
    result.dead_streams = [w.name for w in watches if not w.live_since(faults_over)]
    result.streams = watches


async def _quiet_and_books(simulator: Simulator, http: httpx.AsyncClient, journal_url: str,
                           config: RunConfig, result: RunResult) -> None:
    """Cancel what still works, wait for no working order, read both books."""
    for order_id in _working_ids(simulator):
        with contextlib.suppress(httpx.HTTPError):
            await http.delete(f"/orders/{order_id}", timeout=result.hang_after)
    await _until(lambda: working(simulator) == 0, 60, "no working order")
    result.ledger_fills = ledger_executions(simulator)
    result.ledger_orders = ledger_orders(simulator, SERVICE_ID)
    book = JournalBook(journal_url)

    async def caught_up() -> bool:
        await book.read(SERVICE_ID)
        return book.executions == result.ledger_fills and book.orders == result.ledger_orders

    with contextlib.suppress(AssertionError):
        result.quiet_after = await _until(caught_up, config.settle, "journal == ledger")
    result.journal = await book.read(SERVICE_ID)
    await _health_once(http, result, True)


def _working_ids(sim: Simulator) -> list[int]:
    return [o.order_id for o in sim.broker.open_orders() if o.client_id == SERVICE_ID]


async def _healthy(http: httpx.AsyncClient) -> bool:
    health = (await http.get("/health/details")).json()
    return bool(health.get("connected"))


async def _health_once(http: httpx.AsyncClient, result: RunResult, was: bool) -> bool:
    """One /health/details: counts failures, disconnects and each reconciliation seen."""
    try:
        r = await http.get("/health/details", timeout=3.0)
    except httpx.HTTPError:
        result.health_failures += 1
        return was
    if r.status_code != 200:
        result.health_failures += 1
        return was
    health = r.json()
    last = (health.get("journal") or {}).get("lastReconcile")
    if last and last.get("finishedAt"):
        result.reconciles[last["startedAt"]] = last
    connected = bool(health.get("connected"))
    if was and not connected:
        result.disconnects += 1
    return connected


async def _watch_health(http: httpx.AsyncClient, stop: asyncio.Event, result: RunResult) -> None:
    """/health/details must answer (from the service itself) throughout."""
    connected = True
    while not stop.is_set():
        connected = await _health_once(http, result, connected)
        await asyncio.sleep(0.2)
