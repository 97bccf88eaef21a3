"""Errors TWS reports and connections that end, on the replayed TWS 176 session."""

from __future__ import annotations

import asyncio
import time

import pytest
from client_replay import ReplayTWS

from twsbridge.client import ConnectionLost, Contract, TWSClient, TWSError
from twsbridge.protocol import Message, ProtocolError, Unknown, encode_frame, incoming
from twsbridge.sim import SimServer

pytestmark = pytest.mark.timeout(10)

AMD = Contract(conId=4391, exchange="SMART")


async def test_dropped_connection_fails_every_waiter_at_once(replay: ReplayTWS) -> None:
    async with TWSClient("127.0.0.1", replay.port, client_id=1, timeout=5) as ib:
        waiting = [
            asyncio.create_task(ib.reqContractDetails(AMD)),
            asyncio.create_task(ib.reqHistoricalData(AMD)),
            asyncio.create_task(ib.reqCurrentTime()),
            asyncio.create_task(ib.reqMktDataSnapshot(AMD)),
            asyncio.create_task(ib.reqHeadTimeStamp(AMD)),
            asyncio.create_task(ib.reqMatchingSymbols("AM")),
        ]
        sub = ib.reqMktData(AMD)
        stream = ib.reqHistoricalDataStream(AMD)

        async def drain(it: object) -> None:
            async for _ in it:  # type: ignore[attr-defined]
                pass

        waiting += [asyncio.create_task(drain(sub)), asyncio.create_task(drain(stream)),
                    asyncio.create_task(drain(ib.errors))]
        await replay.wait_received(8)  # every request reached "TWS"
        assert not any(t.done() for t in waiting)
        start = time.monotonic()
        await replay.drop()
        results = await asyncio.wait_for(
            asyncio.gather(*waiting, return_exceptions=True), timeout=2)
        assert time.monotonic() - start < 1
        assert all(isinstance(r, ConnectionLost) for r in results), results
        assert "TWS closed the connection" in str(results[0])
        assert f"127.0.0.1:{replay.port}" in str(results[0])
        assert not ib.is_connected
        assert isinstance(ib.close_reason, ConnectionLost)
        with pytest.raises(ConnectionLost, match="not connected"):
            await ib.reqCurrentTime()


async def test_sim_stopping_mid_stream_fails_the_iterator(sim: SimServer) -> None:
    ib = TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5)
    await ib.connect()
    sub = ib.reqMktData(AMD)
    await anext(aiter(sub))
    await sim.stop()
    with pytest.raises(ConnectionLost):
        async with asyncio.timeout(2):
            async for _ in sub:
                pass
    assert await ib.wait_closed() is ib.close_reason is not None
    await ib.disconnect()


async def test_disconnect_fails_waiters_and_ends_streams(replay: ReplayTWS) -> None:
    ib = TWSClient("127.0.0.1", replay.port, client_id=1, timeout=5)
    await ib.connect()
    pending = asyncio.create_task(ib.reqContractDetails(AMD))
    sub = ib.reqMktData(AMD)
    errors = ib.errors.__aiter__()
    await replay.wait_received(2)
    await ib.disconnect()
    with pytest.raises(ConnectionLost, match="disconnect"):
        await pending
    assert [t async for t in sub] == []
    assert [e async for e in errors] == []
    assert ib.close_reason is None


async def test_undecodable_frame_closes_and_raises_protocol_error(replay: ReplayTWS) -> None:
    seen: list[Message | Unknown] = []
    ib = TWSClient("127.0.0.1", replay.port, client_id=1, timeout=5)
    ib.registerAll(seen.append)
    await ib.connect()
    pending = asyncio.create_task(ib.reqContractDetails(AMD))
    await replay.wait_received(1)
    good = incoming.CurrentTime(time=1697900000)
    bad = encode_frame(b"9\x001\x00not-a-number\x00")  # nextValidId with a bad orderId
    await replay.push(good, bad)
    with pytest.raises(ProtocolError, match="orderId"):
        await asyncio.wait_for(pending, 2)
    assert not ib.is_connected
    assert isinstance(ib.close_reason, ProtocolError)
    assert seen[-1] == good  # frames before the bad one were still delivered
    await ib.disconnect()


async def test_error_routing(replay: ReplayTWS) -> None:
    """Request errors fail their request; notices are kept; others go to ``errors``."""
    handled: list[Message | Unknown] = []
    ib = TWSClient("127.0.0.1", replay.port, client_id=1, timeout=5)
    ib.register(handled.append, "error")
    async with ib:
        pending = asyncio.create_task(ib.reqContractDetails(AMD))
        errors = ib.errors.__aiter__()
        await replay.wait_received(1)
        reqId = int(replay.received[0][2])
        before = len(ib.notices)
        await replay.push(
            incoming.ErrorMessage(reqId=-1, errorCode=2108,
                                  errorString="Market data farm connection is inactive"),
            incoming.ErrorMessage(reqId=reqId, errorCode=10167,
                                  errorString="Displaying delayed market data."),
            incoming.ErrorMessage(reqId=-1, errorCode=1100,
                                  errorString="Connectivity between IB and TWS has been lost."),
            incoming.ErrorMessage(reqId=reqId, errorCode=321,
                                  errorString="Error validating request."),
        )
        with pytest.raises(TWSError) as info:
            await asyncio.wait_for(pending, 2)
        assert (info.value.code, info.value.reqId) == (321, reqId)
        unsolicited = await asyncio.wait_for(anext(errors), 2)
        assert (unsolicited.code, unsolicited.reqId) == (1100, -1)
        assert str(unsolicited) == "TWS error 1100: Connectivity between IB and TWS has been lost."
        assert [e.code for e in ib.errors.recent] == [1100]
        assert [n.code for n in list(ib.notices)[before:]] == [2108, 10167]
        codes = [m.errorCode for m in handled if isinstance(m, incoming.ErrorMessage)]
        assert codes[-4:] == [2108, 10167, 1100, 321]
        assert ib.is_connected


async def test_uncatalogued_frames_reach_handlers(replay: ReplayTWS) -> None:
    unknown: list[Message | Unknown] = []
    ib = TWSClient("127.0.0.1", replay.port, client_id=1, timeout=5)
    ib.register(unknown.append, "unknown")
    async with ib:
        await replay.push(encode_frame(b"999\x00a\x00b\x00"))  # an id no catalogue has
        async with asyncio.timeout(2):
            while not unknown:
                await asyncio.sleep(0.01)
    assert isinstance(unknown[0], Unknown)
    assert unknown[0].msgId == "999" and unknown[0].fields == ["a", "b"]

