"""Idle and dripping sockets cannot lock the simulator (issue 9, item 6).

As TWS: a connection takes one of the 32 API client slots at its accepted startApi,
and one that has not completed the handshake within ``handshake_timeout`` seconds
(5 by default) is closed. Real loopback sockets, the real server and TWSClient.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from twsbridge.client import TWSClient
from twsbridge.protocol import ClientConnection, ServerHello, incoming, outgoing
from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.gateway.server import HANDSHAKE_TIMEOUT, MAX_CLIENTS
from twsbridge.sim.market.clock import REPLAY_START, SimClock

from .raw_client import Client


async def _drip(port: int, every: float) -> None:
    """A client that sends its hello one byte per ``every`` seconds, until closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for byte in ClientConnection().hello():
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(every)
        await reader.read()  # then silent
    except ConnectionError:
        pass
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def squatters(port: int, idle: int, drips: int) -> AsyncIterator[list[Client]]:
    """``idle`` silent sockets and ``drips`` one-byte-a-second ones, open meanwhile."""
    silent = [await Client.open(port) for _ in range(idle)]
    dripping = [asyncio.create_task(_drip(port, 1.0)) for _ in range(drips)]
    try:
        yield silent
    finally:
        for task in dripping:
            task.cancel()
        await asyncio.gather(*dripping, return_exceptions=True)
        for c in silent:
            await c.close()


def test_default_handshake_timeout_is_a_few_seconds() -> None:
    assert HANDSHAKE_TIMEOUT == 5.0
    assert SimServer(port=None).handshake_timeout == HANDSHAKE_TIMEOUT


async def test_idle_and_dripping_sockets_do_not_lock_out_real_clients() -> None:
    async with SimServer(Simulator(clock=SimClock(REPLAY_START, speed=0)), port=0) as server, \
            squatters(server.port, idle=MAX_CLIENTS + 8, drips=2):
        await asyncio.sleep(0.2)  # every squatter accepted by now
        # every one of the 32 slots is still free for a client that handshakes
        clients = [await Client.open(server.port) for _ in range(MAX_CLIENTS - 1)]
        await asyncio.gather(*(c.connect(client_id=100 + k) for k, c in enumerate(clients)))
        assert all(any(isinstance(e, incoming.ManagedAccounts) for e in c.events)
                   for c in clients)
        async with TWSClient("127.0.0.1", server.port, client_id=1, timeout=10) as ib:
            assert ib.accounts == ["DU1234567"]
            assert await ib.reqCurrentTime() > 0
        assert len(server.simulator.client_ids) == MAX_CLIENTS - 1
        for c in clients:
            await c.close()


async def test_a_socket_without_a_handshake_is_closed_after_the_timeout() -> None:
    async with SimServer(Simulator(clock=SimClock(REPLAY_START, speed=0)), port=0,
                         handshake_timeout=0.5) as server:
        started = time.monotonic()
        idle = await Client.open(server.port)
        drip = asyncio.create_task(_drip(server.port, 0.05))  # too slow: 0.05 s a byte
        half = await Client.open(server.port)  # hello answered, but no startApi
        half.writer.write(half.conn.hello())
        done = await Client.open(server.port)  # a complete handshake stays
        await done.connect(client_id=1)
        assert await idle.closed_by_server()
        assert await half.closed_by_server()
        assert time.monotonic() - started >= 0.45
        await asyncio.wait_for(drip, 5)  # ended: the server closed it
        await asyncio.sleep(0.6)
        assert server.simulator.client_ids == {1}
        done.writer.write(done.conn.send(outgoing.ReqCurrentTime()))
        await done.until(lambda ev: isinstance(ev[-1], incoming.CurrentTime))
        await done.close()


async def test_an_idle_socket_stays_open_before_the_timeout() -> None:
    async with SimServer(Simulator(clock=SimClock(REPLAY_START, speed=0)), port=0,
                         handshake_timeout=3.0) as server:
        idle = await Client.open(server.port)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(idle.reader.read(1), 1.0)
        idle.writer.write(idle.conn.hello())  # late but within the timeout: served
        events = await _start(idle, 3)
        assert any(isinstance(e, incoming.ManagedAccounts) for e in events)
        await idle.close()


async def _start(client: Client, client_id: int) -> list[object]:
    """The rest of the handshake after the hello was sent: startApi, to managedAccounts."""
    await client.until(lambda ev: any(isinstance(e, ServerHello) for e in ev))
    client.writer.write(client.conn.start_api(client_id))
    return await client.until(lambda ev: any(isinstance(e, incoming.ManagedAccounts)
                                             for e in ev))
