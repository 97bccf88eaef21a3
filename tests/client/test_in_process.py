"""TWSClient wired to the simulator in process (``connector=server.connect_in_process``).

No socket listens (issue 9, item 2): the bytes go over a socket pair, so the protocol
is the same as over TCP, and so are the faults: a drop, a restart that refuses new
connections (error 502, as a refused TCP connect), a stall, 326, 1100/1101/1102.
Every connect and every reconnect makes a new pair.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from service.processes import listening  # tests/ is on sys.path
from twsbridge.client import (
    ConnectionEvent,
    ConnectionLost,
    Contract,
    Order,
    ReconnectPolicy,
    TWSClient,
    TWSConnectError,
    TWSError,
)
from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.market.clock import REPLAY_START, SimClock

pytestmark = pytest.mark.timeout(20)

AMD = Contract(conId=4391, exchange="SMART")
FAST = ReconnectPolicy(initial=0.05, maximum=0.2, factor=2.0, jitter=0.1)
WHERE = "in-process simulator"


class Counting:
    """``server.connect_in_process``, counting the pairs it made."""

    def __init__(self, server: SimServer) -> None:
        self.server = server
        self.calls = 0

    async def __call__(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.calls += 1
        return await self.server.connect_in_process()


@pytest.fixture
async def server() -> AsyncIterator[SimServer]:
    async with SimServer(Simulator(clock=SimClock(REPLAY_START, speed=5)), port=None,
                         poll_interval=0.02) as srv:
        yield srv


def client(server: SimServer | Counting, client_id: int = 1,
           reconnect: ReconnectPolicy | None = None) -> TWSClient:
    connector = server if isinstance(server, Counting) else server.connect_in_process
    return TWSClient(WHERE, 0, client_id, timeout=5, reconnect=reconnect, connector=connector)


async def until(events: list[ConnectionEvent], kind: str, count: int = 1) -> None:
    async with asyncio.timeout(8):
        while sum(e.kind == kind for e in events) < count:
            await asyncio.sleep(0.01)


@pytest.mark.skipif(not Path(f"/proc/{os.getpid()}/fd").exists(), reason="needs Linux's /proc")
async def test_no_socket_listens_and_the_client_trades() -> None:
    before = listening(os.getpid())
    async with SimServer(Simulator(clock=SimClock(REPLAY_START, speed=5)), port=None) as server:
        assert not server.listens and server.port == 0
        async with client(server) as ib:
            assert listening(os.getpid()) == before  # nothing new listens
            assert ib.where == WHERE and ib.accounts == ["DU1234567"]
            assert ib.server_version == 178
            [details] = await ib.reqContractDetails(AMD)
            assert details.contract.symbol == "AMD"
            trade = ib.placeOrder(AMD, Order(action="BUY", orderType="MKT",
                                             totalQuantity=Decimal(3)))
            await trade.done(timeout=10)
            assert trade.status == "Filled" and trade.fills
        assert server.simulator.broker.executions()


async def test_a_drop_reconnects_over_a_new_pair(server: SimServer) -> None:
    counting = Counting(server)
    seen: list[ConnectionEvent] = []
    ib = client(counting, reconnect=FAST)
    ib.register(seen.append, "connected", "reconnecting")
    async with ib:
        assert counting.calls == 1
        await server.simulator.faults.drop_all()
        await until(seen, "connected", 2)
        assert counting.calls >= 2 and ib.is_connected
        assert await ib.reqCurrentTime() > 0


async def test_a_restart_refuses_with_502_then_accepts(server: SimServer) -> None:
    seen: list[ConnectionEvent] = []
    ib = client(server, reconnect=FAST)
    ib.register(seen.append, "connected", "reconnecting")
    async with ib:
        restart = asyncio.create_task(server.simulator.faults.restart(down_seconds=0.6))
        await until(seen, "reconnecting", 2)  # the drop, then a refused attempt
        with pytest.raises(TWSConnectError) as refused:  # a new client too, while down
            await client(server, client_id=2).connect()
        assert refused.value.code == 502
        assert isinstance(refused.value.__cause__, ConnectionRefusedError)
        assert str(refused.value).endswith(f"(connecting to {WHERE})")
        await restart
        await until(seen, "connected", 2)
        errors = [e.error for e in seen if e.kind == "reconnecting"][1:]
        assert any(isinstance(e, TWSConnectError) and e.code == 502 for e in errors)
        assert await ib.reqCurrentTime() > 0


async def test_a_stopped_server_refuses_with_502() -> None:
    server = SimServer(port=None)
    with pytest.raises(TWSConnectError) as refused:  # not started
        await client(server).connect()
    assert refused.value.code == 502
    await server.start()
    await server.stop()
    with pytest.raises(TWSConnectError):
        await client(server).connect()


async def test_client_id_in_use_is_326(server: SimServer) -> None:
    async with client(server, client_id=7):
        with pytest.raises(TWSError) as in_use:
            await client(server, client_id=7).connect()
        assert in_use.value.code == 326


async def test_connectivity_loss_1100_then_1101(server: SimServer) -> None:
    async with client(server) as ib:
        await server.simulator.faults.connectivity_loss(0.2, data_lost=True)
        async with asyncio.timeout(5):
            while 1101 not in [e.code for e in ib.notices]:
                await asyncio.sleep(0.02)
        assert 1100 in [e.code for e in ib.errors.recent]
        assert ib.is_connected


async def test_a_stall_answers_afterwards(server: SimServer) -> None:
    async with client(server) as ib:
        server.simulator.faults.stall(0.5)
        start = time.monotonic()
        assert await ib.reqCurrentTime() > 0
        assert time.monotonic() - start >= 0.4 and ib.is_connected


async def test_server_stop_ends_the_connection(server: SimServer) -> None:
    ib = client(server)
    await ib.connect()
    await server.stop()
    async with asyncio.timeout(5):
        reason = await ib.wait_closed()
    assert isinstance(reason, ConnectionLost) and not ib.is_connected
