"""Injected faults seen on the wire: dropped connections, stalls, connectivity
loss, TWS's restart, competing sessions and a stale client id (real sockets)."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from twsbridge.protocol import ExecutionFilter, incoming, outgoing
from twsbridge.protocol.order_models import Order
from twsbridge.sim.reference.calendar import SIM_TZ

from .test_faults_wire import AAPL, SPY, TIMEOUT, Client, errors, of, serve, sim_at

TICKS = (incoming.TickPrice, incoming.TickSize, incoming.TickString, incoming.TickGeneric)


def ticks(events: list[Any], req_id: int | None = None) -> list[Any]:
    return [e for e in events if isinstance(e, TICKS) and req_id in (None, e.reqId)]


def error_codes(events: list[Any]) -> list[tuple[int, int]]:
    return [(e.reqId, e.errorCode) for e in errors(events)]


async def test_drop_all_closes_every_client_and_keeps_listening() -> None:
    async with serve() as server:
        sim = server.simulator
        a = await Client.connected(server.port, 1)
        b = await Client.connected(server.port, 2)
        await sim.faults.drop_all()
        assert await a.closed_by_server() and await b.closed_by_server()
        assert sim.client_ids == frozenset()
        again = await Client.connected(server.port, 1)  # the id is free again
        assert of(again.events, incoming.ManagedAccounts)
        assert [(r.kind, r.params, r.scripted) for r in sim.faults.log] == [
            ("drop_all", {}, False)]
        await again.close()


async def test_stall_answers_nothing_then_everything_in_order() -> None:
    sim = sim_at(speed=1.0)
    async with serve(sim) as server:
        c = await Client.connected(server.port)
        c.send(outgoing.ReqMktData(reqId=1, contract=AAPL))
        await c.until(lambda ev: len(ticks(ev, 1)) > 12)  # first set, then updates
        loop = asyncio.get_running_loop()
        start = loop.time()
        sim.faults.stall(0.5)
        assert sim.faults.stalled
        await c.collect(0.05)  # what was on its way before the stall
        mark = c.send(outgoing.ReqCurrentTime(), outgoing.ReqIds())
        assert await c.collect(0.3) == []  # nothing answered, nothing streamed
        assert not c.eof
        await c.until(lambda ev: any(isinstance(e, incoming.NextValidId) for e in ev[mark:]))
        assert loop.time() - start >= 0.45
        answers = [e for e in c.events[mark:] if isinstance(
            e, incoming.CurrentTime | incoming.NextValidId)]
        assert [type(e) for e in answers] == [incoming.CurrentTime, incoming.NextValidId]
        n = len(c.events)
        await c.until(lambda ev: len(ticks(ev[n:], 1)) > 2)  # streaming resumed
        assert sim.faults.log[-1].kind == "stall"
        assert sim.faults.log[-1].params == {"seconds": 0.5}


async def subscribe_mkt_and_bars(c: Client) -> None:
    c.send(outgoing.ReqMktData(reqId=1, contract=AAPL),
           outgoing.ReqHistoricalData(reqId=2, contract=AAPL, durationStr="1800 S",
                                      barSizeSetting="1 min", keepUpToDate=True))
    await c.until(lambda ev: len(ticks(ev, 1)) > 12
                  and of(ev, incoming.HistoricalDataUpdate))


async def test_connectivity_loss_with_data_lost_drops_the_subscriptions() -> None:
    sim = sim_at(speed=20.0)  # keepUpToDate bars every 5 simulated seconds
    async with serve(sim) as server:
        c = await Client.connected(server.port)
        await subscribe_mkt_and_bars(c)
        lost = asyncio.create_task(sim.faults.connectivity_loss(0.4, data_lost=True))
        await c.until(lambda ev: errors(ev, 1100))
        (e1100,) = errors(c.events, 1100)
        assert (e1100.reqId, e1100.errorString) == (
            -1, "Connectivity between IB and Trader Workstation has been lost.")
        assert sim.faults.connectivity_lost
        i = c.events.index(e1100)
        await c.until(lambda ev: errors(ev, 1101))
        (e1101,) = errors(c.events, 1101)
        assert (e1101.reqId, e1101.errorString) == (
            -1, "Connectivity between IB and TWS has been restored- data lost.")
        j = c.events.index(e1101)
        quiet = c.events[i + 1:j]
        assert ticks(quiet) == [] and of(quiet, incoming.HistoricalDataUpdate) == []
        await lost
        after = await c.collect(0.3)  # the subscriptions are gone
        assert ticks(after) == [] and of(after, incoming.HistoricalDataUpdate) == []
        new = await c.ask(outgoing.ReqMktData(reqId=1, contract=AAPL),
                          lambda ev: len(ticks(ev, 1)) > 12)
        assert errors(new) == []  # not a duplicate ticker id: the line was dropped
        assert of(new, incoming.TickReqParams)


async def test_connectivity_loss_with_data_maintained_resumes_the_subscriptions() -> None:
    sim = sim_at(speed=20.0)
    async with serve(sim) as server:
        c = await Client.connected(server.port)
        await subscribe_mkt_and_bars(c)
        lost = asyncio.create_task(sim.faults.connectivity_loss(0.4, data_lost=False))
        await c.until(lambda ev: errors(ev, 1100))
        late = await Client.connected(server.port, 2)  # connects during the outage
        await late.until(lambda ev: errors(ev, 1100))
        assert error_codes(late.events)[-1] == (-1, 1100)
        await lost
        await c.until(lambda ev: errors(ev, 1102))
        (e1102,) = errors(c.events, 1102)
        assert (e1102.reqId, e1102.errorString) == (
            -1, "Connectivity between IB and TWS has been restored- data maintained.")
        i = c.events.index(e1102)
        assert ticks(c.events[c.events.index(errors(c.events, 1100)[0]) + 1:i]) == []
        await c.until(lambda ev: len(ticks(ev[i:], 1)) > 2
                      and of(ev[i:], incoming.HistoricalDataUpdate))
        await late.until(lambda ev: errors(ev, 1102))
        assert not sim.faults.connectivity_lost
        assert [r.kind for r in sim.faults.log] == ["connectivity_loss"]
        assert sim.faults.log[0].params == {"seconds": 0.4, "data_lost": False}


def order(action: str, qty: int, order_type: str, **kw: Any) -> Order:
    return Order(action=action, totalQuantity=Decimal(qty), orderType=order_type, **kw)


async def test_restart_refuses_then_listens_on_the_same_port_and_state_survives() -> None:
    sim = sim_at("2013-03-01 08:00")  # before the open: a market order waits
    async with serve(sim) as server:
        port = server.port
        c = await Client.connected(port, 1)
        c.send(outgoing.PlaceOrder(orderId=1, contract=AAPL,
                                   order=order("BUY", 100, "LMT", lmtPrice=300.0)),
               outgoing.PlaceOrder(orderId=2, contract=AAPL, order=order("BUY", 100, "MKT")))
        await c.until(lambda ev: {s.orderId for s in of(ev, incoming.OrderStatus)} == {1, 2})
        restart = asyncio.create_task(sim.faults.restart(down_seconds=0.5))
        assert await c.closed_by_server()
        with pytest.raises(OSError):  # refused while TWS is down
            await asyncio.open_connection("127.0.0.1", port)
        assert not sim.broker.execution_records()
        sim.clock.set(dt.datetime(2013, 3, 1, 9, 31, tzinfo=SIM_TZ))  # the open passes
        async with asyncio.timeout(TIMEOUT):
            await restart
        (fill,) = sim.broker.execution_records()  # filled while nobody was connected
        assert fill.execution.orderId == 2
        assert server.port == port
        again = await Client.connected(port, 1)  # accepted again, on the same port
        assert [o.orderId for o in of(again.events, incoming.OpenOrder)] == [1]
        opened = await again.ask(outgoing.ReqOpenOrders(),
                                 lambda ev: of(ev, incoming.OpenOrderEnd))
        assert [o.orderId for o in of(opened, incoming.OpenOrder)] == [1]
        execs = await again.ask(outgoing.ReqExecutions(reqId=7, execFilter=ExecutionFilter()),
                                lambda ev: of(ev, incoming.ExecDetailsEnd))
        (detail,) = of(execs, incoming.ExecDetails)
        assert (detail.reqId, detail.execution.orderId) == (7, 2)
        assert detail.execution.shares == Decimal(100)
        done = await again.ask(outgoing.ReqCompletedOrders(apiOnly=True),
                               lambda ev: of(ev, incoming.CompletedOrdersEnd))
        (completed,) = of(done, incoming.CompletedOrder)
        assert completed.orderState.status == "Filled"
        assert [r.kind for r in sim.faults.log] == ["restart"]
        await again.close()


async def test_restart_ends_stopped_servers_quietly() -> None:
    async with serve() as server:
        restart = asyncio.create_task(server.simulator.faults.restart(0.3))
        await asyncio.sleep(0.05)
    async with asyncio.timeout(TIMEOUT):
        await restart
    with pytest.raises(OSError):  # stopped during the restart: it does not come back
        await asyncio.open_connection("127.0.0.1", server.port)


async def test_competing_session_stops_live_market_data_until_it_ends() -> None:
    sim = sim_at(speed=1.0)
    async with serve(sim) as server:
        c = await Client.connected(server.port)
        c.send(outgoing.ReqMktData(reqId=1, contract=AAPL),
               outgoing.ReqMktData(reqId=2, contract=SPY))
        await c.until(lambda ev: len(ticks(ev, 1)) > 12 and len(ticks(ev, 2)) > 12)
        await sim.faults.competing_session()
        await c.until(lambda ev: len(errors(ev, 10197)) == 2)
        found = errors(c.events, 10197)
        assert sorted(e.reqId for e in found) == [1, 2]
        assert {e.errorString for e in found} == {
            "No market data during competing live session"}
        i = max(c.events.index(e) for e in found)
        new = await c.ask(outgoing.ReqMktData(reqId=3, contract=AAPL),
                          lambda ev: errors(ev, 10197))
        assert error_codes(new) == [(3, 10197)]
        await c.collect(0.3)
        assert ticks(c.events[i + 1:]) == []  # no market data meanwhile
        sim.faults.end_competing_session()
        n = len(c.events)
        await c.until(lambda ev: all(len(ticks(ev[n:], r)) > 2 for r in (1, 2, 3)))
        assert of(c.events[n:], incoming.TickReqParams)[0].reqId == 3  # its first set
        assert [r.kind for r in sim.faults.log] == ["competing_session"]


async def test_client_id_in_use_gets_326_until_released() -> None:
    async with serve() as server:
        faults = server.simulator.faults
        faults.client_id_in_use(7)
        stale = await Client.open(server.port)
        events = await stale.connect(7)
        assert error_codes(events) == [(-1, 326)]
        assert errors(events)[0].errorString == (
            "Unable to connect as the client id is already in use. "
            "Retry with a unique client id.")
        assert await stale.closed_by_server()
        other = await Client.connected(server.port, 8)
        assert of(other.events, incoming.ManagedAccounts)
        again = await Client.open(server.port)
        assert error_codes(await again.connect(7)) == [(-1, 326)]
        faults.release_client_id(7)
        fine = await Client.connected(server.port, 7)
        assert of(fine.events, incoming.ManagedAccounts)
        assert [(r.kind, r.params) for r in faults.log] == [
            ("client_id_in_use", {"client_id": 7})]
        for c in (other, fine):
            await c.close()


async def test_garbage_still_closes_only_that_client() -> None:
    async with serve() as server:
        good = await Client.connected(server.port, 1)
        bad = await Client.connected(server.port, 2)
        bad.writer.write(b"\x00\x00\x00\x05\xff\xfe\x00x\x00")
        assert await bad.closed_by_server()
        assert errors(bad.events, 320)
        answer = await good.ask(outgoing.ReqCurrentTime(),
                                lambda ev: of(ev, incoming.CurrentTime))
        assert errors(answer) == []
        assert server.simulator.client_ids == {1}
        await good.close()
