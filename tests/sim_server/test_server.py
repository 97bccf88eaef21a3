"""SimServer over real loopback sockets (port 0)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import AsyncIterator

import pytest

from twsbridge.protocol import (
    Contract,
    ServerHello,
    encode_frame,
    incoming,
    outgoing,
)
from twsbridge.sim import SimServer, Simulator, run_sim
from twsbridge.sim.market.clock import REPLAY_START, SimClock

from .raw_client import TIMEOUT, Client


@pytest.fixture
async def server() -> AsyncIterator[SimServer]:
    async with SimServer(Simulator(clock=SimClock(REPLAY_START, speed=0)), port=0) as srv:
        yield srv


async def test_port_zero_gives_a_real_port_and_a_session(server: SimServer) -> None:
    assert server.port > 0
    client = await Client.open(server.port)
    events = await client.connect(client_id=1)
    assert isinstance(events[1], incoming.ManagedAccounts)
    assert server.simulator.client_ids == {1}
    await client.close()
    async with asyncio.timeout(TIMEOUT):
        while server.simulator.client_ids:
            await asyncio.sleep(0.01)


async def test_duplicate_client_id_gets_326_then_closed(server: SimServer) -> None:
    first = await Client.open(server.port)
    await first.connect(client_id=5)
    second = await Client.open(server.port)
    events = await second.connect(client_id=5)
    errors = [e for e in events if isinstance(e, incoming.ErrorMessage)]
    assert [(e.reqId, e.errorCode) for e in errors] == [(-1, 326)]
    assert "already in use" in errors[0].errorString
    assert await second.closed_by_server()
    # the first client is unaffected
    first.writer.write(first.conn.send(outgoing.ReqCurrentTime()))
    await first.until(lambda ev: isinstance(ev[-1], incoming.CurrentTime))
    await first.close()


async def test_thirty_third_client_is_refused() -> None:
    async with SimServer(Simulator(clock=SimClock(REPLAY_START, speed=0)), port=0) as server:
        clients = [await Client.open(server.port) for _ in range(32)]
        await asyncio.gather(*(c.connect(client_id=k) for k, c in enumerate(clients)))
        assert len(server.simulator.client_ids) == 32
        extra = await Client.open(server.port)  # served up to its startApi, as TWS does
        extra.writer.write(extra.conn.hello())
        await extra.until(lambda ev: any(isinstance(e, ServerHello) for e in ev))
        extra.writer.write(extra.conn.start_api(32))
        assert await extra.closed_by_server()
        assert not any(isinstance(e, incoming.ManagedAccounts) for e in extra.events)
        assert len(server.simulator.client_ids) == 32
        await clients[0].close()
        async with asyncio.timeout(TIMEOUT):
            while len(server.sessions) > 31:
                await asyncio.sleep(0.01)
        again = await Client.open(server.port)
        events = await again.connect(client_id=99)
        assert isinstance(events[1], incoming.ManagedAccounts)
        for c in [*clients[1:], again]:
            await c.close()


async def test_garbage_closes_only_that_client(server: SimServer) -> None:
    good = await Client.open(server.port)
    await good.connect(client_id=1)
    bad = await Client.open(server.port)
    await bad.connect(client_id=2)
    bad.writer.write(encode_frame(b"\xff\xfe garbage \x00"))
    with pytest.raises(EOFError):
        await bad.until(lambda ev: False)
    assert any(isinstance(e, incoming.ErrorMessage) and e.errorCode == 320 for e in bad.events)
    raw = await Client.open(server.port)  # not even the API greeting
    raw.writer.write(b"GET / HTTP/1.1\r\n\r\n")
    assert await raw.closed_by_server()
    good.writer.write(good.conn.send(outgoing.ReqCurrentTime()))
    await good.until(lambda ev: isinstance(ev[-1], incoming.CurrentTime))
    assert server.simulator.client_ids == {1}
    await good.close()


async def test_streaming_reaches_the_socket() -> None:
    sim = Simulator(clock=SimClock(REPLAY_START, speed=1.0))
    async with SimServer(sim, port=0, poll_interval=0.02) as server:
        client = await Client.open(server.port)
        await client.connect(client_id=1)
        spy = Contract(symbol="SPY", secType="STK", exchange="SMART", currency="USD")
        client.writer.write(client.conn.send(outgoing.ReqMktData(reqId=1, contract=spy)))
        n_first = len(await client.until(lambda ev: any(
            isinstance(e, incoming.TickGeneric) for e in ev)))
        events = await client.until(lambda ev: len(ev) > n_first + 2)
        assert all(getattr(e, "reqId", 1) == 1 for e in events[n_first:])
        await client.close()


async def test_stop_closes_open_connections() -> None:
    server = SimServer(Simulator(clock=SimClock(REPLAY_START, speed=0)), port=0)
    await server.start()
    client = await Client.open(server.port)
    await client.connect(client_id=1)
    await server.stop()
    assert await client.closed_by_server()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", server.port)


async def test_run_sim_logs_and_serves_until_cancelled(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="twsbridge.sim")
    start = dt.datetime(2013, 2, 28, 15, 0)
    task = asyncio.create_task(run_sim(port=0, seed=3, start=start, speed=0))
    async with asyncio.timeout(TIMEOUT):
        while not any("account DU1234567" in r.getMessage() for r in caplog.records):
            await asyncio.sleep(0.01)
    line = next(r.getMessage() for r in caplog.records if "account DU1234567" in r.getMessage())
    match = re.search(r"127\.0\.0\.1:(\d+)", line)
    assert match is not None and "2013-02-28T15:00:00" in line
    client = await Client.open(int(match.group(1)))
    events = await client.connect(client_id=1)
    assert isinstance(events[0], ServerHello) and events[0].connectionTime.startswith("20130228")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await client.closed_by_server()
