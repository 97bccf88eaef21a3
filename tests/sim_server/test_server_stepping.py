"""The server steps the simulated broker while it runs: working orders fill with
no client connected (after a disconnect, during a restart), as at IB; several
servers (and the sessions' polls) stepping one broker work each moment once."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Any

import pytest

from twsbridge.client import Contract, Order, TWSClient
from twsbridge.protocol import ExecutionFilter, incoming, outgoing
from twsbridge.protocol import order_models as om
from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.broker.orders import FILLED
from twsbridge.sim.market.clock import REPLAY_START, SimClock

from .test_faults_wire import TIMEOUT, Client, of, serve

pytestmark = pytest.mark.timeout(60)

AAPL = Contract(symbol="AAPL", secType="STK", exchange="SMART", currency="USD")
BIG = 200_000
"""Shares of a market order that fills over a minute or so of simulated time
(the quote's size and the traded volume of each step)."""


def big_order() -> om.Order:
    return om.Order(action="BUY", orderType="MKT", totalQuantity=Decimal(BIG))


def rich_sim(speed: float) -> Simulator:
    """A simulator (clock from 2013-03-01 10:00) whose account can pay for BIG shares."""
    return Simulator(clock=SimClock(REPLAY_START, speed=speed), cash=1e9)


def ledger(sim: Simulator) -> list[tuple[Any, ...]]:
    return [(r.execution.orderId, r.execution.shares, r.execution.price, r.execution.time)
            for r in sim.broker.execution_records()]


def stepper_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks()
            if t.get_name().startswith("sim-broker-step:") and not t.done()]


async def test_a_market_order_goes_on_filling_after_the_client_disconnected() -> None:
    sim = rich_sim(speed=25)
    async with SimServer(sim, port=0, poll_interval=0.02) as server:
        async with TWSClient("127.0.0.1", server.port, client_id=1, timeout=TIMEOUT) as ib:
            trade = ib.placeOrder(AAPL, Order(action="BUY", orderType="MKT",
                                              totalQuantity=Decimal(BIG)))
            async with asyncio.timeout(TIMEOUT):
                async for _ in trade.updates():
                    if trade.fills:
                        break
            assert not trade.is_done()
        (rec,) = sim.broker.orders()
        async with asyncio.timeout(TIMEOUT):
            while server.live_sessions:  # the server noticed the disconnect
                await asyncio.sleep(0.01)
        assert sim.client_ids == frozenset()
        counts = [len(sim.broker.executions())]
        assert rec.status != FILLED and rec.filled < BIG
        async with asyncio.timeout(20):
            while rec.status != FILLED:
                await asyncio.sleep(0.1)
                counts.append(len(sim.broker.executions()))
                assert not server.live_sessions  # nobody connected meanwhile
        assert counts == sorted(counts)
        assert counts[-1] - counts[0] >= 2  # several partial fills with nobody connected
        execs = sim.broker.executions()
        assert sum(e.shares for e, _, _ in execs) == BIG
        assert {e.orderId for e, _, _ in execs} == {trade.orderId}
        async with TWSClient("127.0.0.1", server.port, client_id=1, timeout=TIMEOUT) as ib:
            fills = await ib.reqExecutions()
            assert sum(f.execution.shares for f in fills) == BIG
            (done,) = await ib.reqCompletedOrders(apiOnly=True)
            assert done.order.permId == trade.order.permId  # completedOrder has no orderId
            assert done.orderState.status == "Filled"


async def test_a_restart_fills_orders_while_down() -> None:
    sim = rich_sim(speed=40)
    async with serve(sim) as server:
        port = server.port
        c = await Client.connected(port)
        c.send(outgoing.PlaceOrder(orderId=1, contract=AAPL, order=big_order()))
        await c.until(lambda ev: of(ev, incoming.ExecDetails))
        restart = asyncio.create_task(sim.faults.restart(down_seconds=1.0))
        assert await c.closed_by_server()
        with pytest.raises(OSError):  # down
            await asyncio.open_connection("127.0.0.1", port)
        before = len(sim.broker.executions())
        await asyncio.sleep(0.5)
        assert not restart.done()
        assert len(sim.broker.executions()) >= before + 2  # filling while TWS is down
        async with asyncio.timeout(TIMEOUT):
            await restart
        (rec,) = sim.broker.orders()
        async with asyncio.timeout(20):
            while rec.status != FILLED:
                await asyncio.sleep(0.1)
        again = await Client.connected(port)
        execs = await again.ask(outgoing.ReqExecutions(reqId=3, execFilter=ExecutionFilter()),
                                lambda ev: of(ev, incoming.ExecDetailsEnd))
        assert sum(d.execution.shares for d in of(execs, incoming.ExecDetails)) == BIG
        await again.close()


async def test_several_servers_stepping_one_broker_work_each_moment_once() -> None:
    sim, twin = rich_sim(speed=0), rich_sim(speed=0)  # frozen: moves only when told
    async with (SimServer(sim, port=0, poll_interval=0.005) as one,
                SimServer(sim, port=0, poll_interval=0.005) as two):
        for s in (sim, twin):
            s.broker.place(1, 1, AAPL, big_order())
        clients: list[Client] = []
        for k in range(6):
            if k == 3:  # from now on the sessions' polls step too
                clients = [await Client.connected(one.port), await Client.connected(two.port, 2)]
            await asyncio.sleep(0.05)  # many steps at this instant
            assert ledger(sim) == ledger(twin)
            sim.clock.advance(1.0)
            twin.clock.advance(1.0)
            twin.broker.step()  # one step over the same second
            if k == 0:
                await asyncio.sleep(0.05)
                assert len(ledger(sim)) == 2  # stepped with no client connected
        await asyncio.sleep(0.05)
        assert len(ledger(twin)) >= 5 and ledger(sim) == ledger(twin)
        for c in clients:
            await c.close()


def test_a_step_at_an_instant_already_stepped_to_does_nothing() -> None:
    sim = rich_sim(speed=0)
    sim.broker.place(1, 1, AAPL, big_order())
    sim.clock.advance(1.0)
    sim.broker.step()
    once = ledger(sim)
    assert len(once) == 2  # the quote at placement, then the second's volume
    for _ in range(5):
        sim.broker.step()
        sim.broker.step(sim.clock.now())
    assert ledger(sim) == once


async def test_one_stepper_from_start_to_stop_also_while_down() -> None:
    assert stepper_tasks() == []
    server = SimServer(rich_sim(speed=0), port=0, poll_interval=0.01)
    await server.start()
    (task,) = stepper_tasks()
    await server.start()  # already started: the same stepper
    await server.go_down()
    assert stepper_tasks() == [task]
    await server.come_up()
    assert stepper_tasks() == [task]
    await server.stop()
    assert stepper_tasks() == [] and task.done()
    await server.start()  # started again: stepping again
    assert len(stepper_tasks()) == 1
    await server.stop()
    assert stepper_tasks() == []


async def test_stopped_servers_do_not_step() -> None:
    sim = rich_sim(speed=40)
    async with SimServer(sim, port=0, poll_interval=0.01):
        sim.broker.place(1, 1, AAPL, big_order())
        async with asyncio.timeout(TIMEOUT):
            while len(sim.broker.executions()) < 3:
                await asyncio.sleep(0.02)
    n = len(sim.broker.executions())
    await asyncio.sleep(0.3)
    assert len(sim.broker.executions()) == n


async def test_a_failing_broker_step_is_logged_and_stepping_goes_on(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    sim = rich_sim(speed=0)
    real_step = sim.broker.step
    calls: list[int] = []

    def step(now: Any = None) -> None:
        calls.append(1)
        if len(calls) <= 5:
            raise RuntimeError("broken order book")
        real_step(now)

    monkeypatch.setattr(sim.broker, "step", step)
    caplog.set_level(logging.ERROR, logger="twsbridge.sim")
    async with SimServer(sim, port=0, poll_interval=0.01):
        async with asyncio.timeout(TIMEOUT):
            while len(calls) < 10:
                await asyncio.sleep(0.01)
        sim.broker.place(1, 1, AAPL, big_order())
        sim.clock.advance(1.0)
        async with asyncio.timeout(TIMEOUT):
            while len(sim.broker.executions()) < 2:  # the loop still works the orders
                await asyncio.sleep(0.01)
    failures = [r for r in caplog.records if "broker step failed" in r.getMessage()]
    assert len(failures) == 1  # logged once while it kept failing the same way
    assert failures[0].levelno == logging.ERROR and failures[0].exc_info is not None
