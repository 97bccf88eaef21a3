"""Connecting: ready state, early messages to handlers, refused and failed connections."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from client_replay import ReplayTWS

from twsbridge.client import (
    ConnectionLost,
    Contract,
    HandlerError,
    NotConnected,
    TWSClient,
    TWSConnectError,
    TWSError,
    TWSTimeoutError,
)
from twsbridge.protocol import Message, Unknown, incoming
from twsbridge.sim import SimServer

pytestmark = pytest.mark.timeout(10)

AMD = Contract(conId=4391, exchange="SMART")


async def test_connect_reaches_ready_state(sim: SimServer) -> None:
    ib = TWSClient("127.0.0.1", sim.port, client_id=7, timeout=5)
    assert not ib.is_connected
    await ib.connect()
    try:
        assert ib.is_connected
        assert 157 <= ib.server_version <= 178
        assert ib.connection_time == "20130301 10:00:00 EST"
        assert ib.accounts == [sim.simulator.account.code]
        assert ib.next_order_id == sim.simulator.next_order_id
        assert 7 in sim.simulator.client_ids
    finally:
        await ib.disconnect()
    assert not ib.is_connected
    assert ib.close_reason is None


async def test_handlers_registered_before_connect_see_early_messages(sim: SimServer) -> None:
    ib = TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5)
    named: list[Message | Unknown] = []
    everything: list[Message | Unknown] = []
    ib.register(named.append, "managedAccounts", "nextValidId", "error")
    ib.registerAll(everything.append)
    async with ib:
        pass
    names = [m.NAME for m in named]
    assert names[:2] == ["managedAccounts", "nextValidId"]
    assert names[2:] and set(names[2:]) == {"error"}
    assert repr(named[1]) == f"<nextValidId orderId={ib.next_order_id}>"
    farm_codes = [m.errorCode for m in named[2:] if isinstance(m, incoming.ErrorMessage)]
    assert {2104, 2106, 2158} <= set(farm_codes)
    assert everything[: len(named)] == named
    # farm notices are notices: kept, not raised, not on the errors stream
    assert [n.code for n in ib.notices] == farm_codes
    assert list(ib.errors.recent) == []


async def test_recorded_tws_session_connects(replay: ReplayTWS) -> None:
    """The real TWS 176 session: accounts, order id and the six farm notices, in order."""
    seen: list[Message | Unknown] = []
    ib = TWSClient("127.0.0.1", replay.port, client_id=1, timeout=5)
    ib.registerAll(seen.append)
    async with ib:
        assert ib.server_version == 176
        assert ib.connection_time == "20231021 13:28:15 EST"
        assert ib.accounts == ["DU5509097"]
        assert ib.next_order_id == 217
    assert [m.NAME for m in seen] == ["managedAccounts", "nextValidId"] + ["error"] * 6
    assert [n.code for n in ib.notices] == [2104, 2104, 2106, 2106, 2106, 2158]
    assert str(ib.notices[0]) == "TWS error 2104: Market data farm connection is OK:usfarm.nj"


async def test_register_rejects_unknown_names() -> None:
    ib = TWSClient()
    with pytest.raises(ValueError, match="tickprice"):
        ib.register(print, "tickprice")
    with pytest.raises(ValueError):
        ib.register(print)
    ib.register(print, "tickPrice", incoming.TickSize)
    assert ib.unregister(print, "tickSize")
    assert not ib.unregister(print, "tickSize")
    assert ib.unregister(print)
    assert not ib.unregisterAll(print)


async def test_unregistered_handler_is_not_called(sim: SimServer) -> None:
    calls: list[str] = []

    def handler(msg: Message | Unknown) -> None:
        calls.append(msg.NAME)

    ib = TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5)
    ib.register(handler, "currentTime")
    async with ib:
        await ib.reqCurrentTime()
        await asyncio.sleep(0)  # the handler runs right after the request resolved
        assert calls == ["currentTime"]
        assert ib.unregister(handler, "currentTime")
        await ib.reqCurrentTime()
        await asyncio.sleep(0.05)
        assert calls == ["currentTime"]


async def test_closed_port_raises_502() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ib = TWSClient("127.0.0.1", port, client_id=1, timeout=5)
    with pytest.raises(TWSConnectError) as info:
        await ib.connect()
    err = info.value
    assert isinstance(err, TWSError) and isinstance(err, ConnectionError)
    assert err.code == 502 and err.reqId == -1
    assert err.message.startswith("Couldn't connect to TWS. Confirm that \"Enable ActiveX and "
                                  "Socket Clients\" is enabled and connection port")
    assert err.message.endswith("\"Edit->Global Configuration...->API->Settings\" menu.")
    assert f"127.0.0.1:{port}" in str(err)
    assert isinstance(err.__cause__, OSError)
    assert not ib.is_connected


async def test_duplicate_client_id_raises_326(sim: SimServer, ib: TWSClient) -> None:
    second = TWSClient("127.0.0.1", sim.port, client_id=ib.client_id, timeout=5)
    with pytest.raises(TWSError) as info:
        await second.connect()
    assert info.value.code == 326
    assert "client id is already in use" in info.value.message
    assert not second.is_connected
    # the first session is unharmed
    assert ib.is_connected and await ib.reqCurrentTime() > 0


async def test_connect_times_out_when_tws_stays_silent() -> None:
    async with ReplayTWS(answer_hello=False) as server:
        ib = TWSClient("127.0.0.1", server.port, client_id=1, timeout=0.5)
        start = time.monotonic()
        with pytest.raises(TWSTimeoutError, match="server hello") as info:
            await ib.connect()
        assert isinstance(info.value, asyncio.TimeoutError)
        assert time.monotonic() - start < 2
        assert not ib.is_connected


async def test_tws_closing_during_handshake_raises_connection_lost() -> None:
    async with ReplayTWS(close_after_hello=True) as server:
        ib = TWSClient("127.0.0.1", server.port, client_id=1, timeout=5)
        with pytest.raises(ConnectionLost, match="before the handshake completed"):
            await ib.connect()


async def test_calls_before_connect_raise_not_connected() -> None:
    ib = TWSClient()
    with pytest.raises(NotConnected, match="connect"):
        await ib.reqCurrentTime()
    with pytest.raises(NotConnected):
        ib.reqMktData(AMD)
    await ib.disconnect()  # harmless


async def test_reconnect_after_disconnect(sim: SimServer) -> None:
    ib = TWSClient("127.0.0.1", sim.port, client_id=3, timeout=5)
    await ib.connect()
    with pytest.raises(RuntimeError, match="already connected"):
        await ib.connect()
    await ib.disconnect()
    with pytest.raises(NotConnected):
        await ib.reqCurrentTime()
    await ib.connect()
    assert ib.is_connected and await ib.reqCurrentTime() > 0
    await ib.disconnect()


async def test_failing_handler_raises_from_next_call_and_reader_survives(ib: TWSClient) -> None:
    def broken(msg: Message | Unknown) -> None:
        raise ZeroDivisionError("handler bug")

    ib.register(broken, "currentTime")
    assert await ib.reqCurrentTime() > 0  # the handler runs after this answer is routed
    await asyncio.sleep(0)
    with pytest.raises(HandlerError) as info:
        await ib.reqCurrentTime()
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert isinstance(info.value.msg, incoming.CurrentTime)
    ib.unregister(broken)
    assert await ib.reqCurrentTime() > 0  # reader alive, failure consumed
    assert ib.is_connected


async def test_coroutine_handler_failure_is_raised(ib: TWSClient) -> None:
    async def broken(msg: Message | Unknown) -> None:
        await asyncio.sleep(0)
        raise KeyError("async bug")

    ib.register(broken, "currentTime")
    await ib.reqCurrentTime()
    await asyncio.sleep(0.05)
    with pytest.raises(HandlerError) as info:
        await ib.reqCurrentTime()
    assert isinstance(info.value.__cause__, KeyError)


async def test_handler_failure_raises_from_disconnect(sim: SimServer) -> None:
    ib = TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5)
    ib.register(lambda m: 1 / 0, "nextValidId")
    await ib.connect()
    with pytest.raises(HandlerError, match="nextValidId"):
        await ib.disconnect()
    assert not ib.is_connected
