"""A client that sends garbage, over real sockets: the simulator answers it with
error 320 and closes its socket, while the other clients keep their market
data and their requests, and the server keeps accepting connections.

Not garbage: a well-formed frame with a message id TWS does not serve; TWS
answers it (here 503, "not implemented") and the session goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from sim_server.raw_client import TIMEOUT, Client  # tests/ is on sys.path
from twsbridge.client import TWSClient
from twsbridge.protocol import ClientConnection, Contract, ServerHello, incoming, outgoing
from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.market.clock import REPLAY_START, SimClock

from .corpus import frame

AAPL = Contract(symbol="AAPL", secType="STK", exchange="SMART", currency="USD")
#: A reqMktData that decodes (reqId 11, AAPL), to be broken one way or another.
GOOD_MKT = outgoing.ReqMktData(reqId=11, contract=AAPL)


class RawClient(Client):
    """The simulator tests' raw client, with what the garbage tests need."""

    async def handshake(self, client_id: int) -> None:
        self.writer.write(self.conn.hello())
        await self.until(lambda ev: any(isinstance(e, ServerHello) for e in ev))
        self.writer.write(self.conn.start_api(client_id))
        await self.until(lambda ev: any(isinstance(e, incoming.ErrorMessage)
                                        and e.errorCode == 2158 for e in ev))

    async def read_to_eof(self) -> bool:
        """Read (and decode) until the server closes: True; False on a timeout."""
        try:
            await self.until(lambda ev: False)
        except EOFError:
            return True
        except TimeoutError:
            return False
        return False  # pragma: no cover

    def errors(self) -> list[tuple[int, int]]:
        return [(e.reqId, e.errorCode) for e in self.events
                if isinstance(e, incoming.ErrorMessage) and e.errorCode < 2100]


def _with_field(index: int, text: bytes) -> bytes:
    """GOOD_MKT at version 178 with its field ``index`` replaced by ``text``."""
    parts = _payload(GOOD_MKT).split(b"\0")
    parts[index] = text
    return frame(b"\0".join(parts))


def _payload(msg: outgoing.ReqMktData) -> bytes:
    conn = ClientConnection(178, 178)
    conn.receive_data(frame(b"178\x00now\x00"))
    return conn.send(msg)[4:]


GARBAGE = {
    "length 0": b"\x00\x00\x00\x00" + b"junk",
    "length above 16 MiB": b"\xff\xff\xff\xff" + b"junk",
    "not UTF-8 in a known message": _with_field(4, b"\xff\xfeAAPL"),
    "text where an int is required": _with_field(2, b"eleven"),
    "no NUL terminator": frame(_payload(GOOD_MKT)[:-1]),
    "message id not a number": frame(b"abc\x001\x00"),
}


@pytest.fixture
async def server() -> AsyncIterator[SimServer]:
    """The simulator with a clock 60 times faster: ticks move every poll."""
    async with SimServer(Simulator(clock=SimClock(REPLAY_START, speed=60)), port=0,
                         poll_interval=0.02) as srv:
        yield srv


async def ticks_after(ib: TWSClient, counter: list[int], more: int) -> None:
    """Wait until ``more`` ticks arrived past the count now."""
    target = counter[0] + more
    async with asyncio.timeout(TIMEOUT):
        while counter[0] < target:
            await asyncio.sleep(0.02)


async def subscribed(port: int, client_id: int) -> tuple[TWSClient, list[int]]:
    ib = TWSClient("127.0.0.1", port, client_id=client_id, timeout=TIMEOUT)
    await ib.connect()
    counter = [0]

    def count(msg: object) -> None:
        counter[0] += 1

    ib.register(count, "tickPrice", "tickSize")
    ib.reqMktData(AAPL)
    await ticks_after(ib, counter, 4)
    return ib, counter


@pytest.mark.parametrize("garbage", list(GARBAGE.values()), ids=list(GARBAGE))
async def test_garbage_closes_only_the_sender(server: SimServer, garbage: bytes) -> None:
    (ib1, n1), (ib2, n2) = [await subscribed(server.port, k) for k in (1, 2)]
    try:
        bad = await RawClient.open(server.port)
        await bad.handshake(client_id=9)
        bad.writer.write(garbage)
        assert await bad.read_to_eof(), "the server did not close the garbage client"
        assert bad.errors() == [(-1, 320)]
        await bad.close()
        # the others still stream and are still served
        await asyncio.gather(ticks_after(ib1, n1, 4), ticks_after(ib2, n2, 4))
        assert await ib1.reqCurrentTime() > 0
        details = await ib2.reqContractDetails(AAPL)
        assert [d.contract.conId for d in details] == [265598]
        assert ib1.is_connected and ib2.is_connected
        # and the server accepts a new connection, even with the closed client's id
        async with asyncio.timeout(TIMEOUT):
            while 9 in server.simulator.client_ids:
                await asyncio.sleep(0.01)
        async with TWSClient("127.0.0.1", server.port, client_id=9, timeout=TIMEOUT) as again:
            assert await again.reqCurrentTime() > 0
    finally:
        await ib1.disconnect()
        await ib2.disconnect()


async def test_an_unknown_message_id_is_answered_not_closed(server: SimServer) -> None:
    client = await RawClient.open(server.port)
    await client.handshake(client_id=4)
    client.writer.write(frame(b"999\x001\x0042\x00") + frame(b"52\x002\x0042\x00"))
    client.writer.write(client.conn.send(outgoing.ReqCurrentTime()))
    await client.until(lambda ev: any(isinstance(e, incoming.CurrentTime) for e in ev))
    assert client.errors() == [(-1, 503), (42, 503)]
    await client.close()


@pytest.mark.parametrize("hello", [
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"API\x00" + frame(b"v1..2"),  # a range the server does not speak
    b"API\x00" + frame(b"version 176"),
    b"API\x00" + frame(b"v" + b"9" * 5000),  # once: ValueError out of int()
    b"API\x00\x00\x00\x00\x00",
], ids=["http", "old range", "no v", "5000 digits", "length 0"])
async def test_garbage_before_the_handshake_is_closed(server: SimServer, hello: bytes) -> None:
    ib, counter = await subscribed(server.port, 1)
    try:
        raw = await RawClient.open(server.port)
        raw.writer.write(hello)
        assert await raw.read_to_eof()
        assert raw.events == []  # nothing but the close: TWS does not answer either
        await raw.close()
        await ticks_after(ib, counter, 2)
        assert await ib.reqCurrentTime() > 0
        async with TWSClient("127.0.0.1", server.port, client_id=2, timeout=TIMEOUT) as other:
            assert await other.reqCurrentTime() > 0
    finally:
        await ib.disconnect()
