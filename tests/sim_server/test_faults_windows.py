"""Limit windows on the wire: for a while the message rate limit (100, then a
disconnect), historical-data pacing (162, 420) or the market data lines (101)
bite, from Python and from fault scripts; overlapping windows compose."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from twsbridge.protocol import incoming, outgoing
from twsbridge.sim.faults.injector import FaultInjector
from twsbridge.sim.faults.script import FaultScript, FaultStep

from .test_faults_limits import PACING_162, PACING_420, answered, answers, bars, refused
from .test_faults_wire import AAPL, SPY, TIMEOUT, Client, Wall, errors, of, serve, sim_at

TICKS = (incoming.TickPrice, incoming.TickSize, incoming.TickString, incoming.TickGeneric)
MAX_TICKERS = "Max number of tickers has been reached"


async def opened(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    """Run a window fault as a task; returns once the window is open."""
    task = asyncio.create_task(coro)
    await asyncio.sleep(0)
    return task


async def until(condition: Callable[[], bool]) -> None:
    """Wait (polling) until ``condition()``."""
    async with asyncio.timeout(TIMEOUT):
        while not condition():
            await asyncio.sleep(0.005)


async def burst(c: Client, n: int) -> list[Any]:
    """Send ``n`` reqCurrentTime at once; what came back up to the last answer or error."""
    mark = c.send(*[outgoing.ReqCurrentTime()] * n)
    await c.until(lambda ev: answers(ev[mark:]) == n or errors(ev[mark:], 100))
    return c.events[mark:]


def rate_warning(events: list[Any]) -> str | None:
    found = errors(events, 100)
    return found[0].errorString if found else None


# ------------------------------------------------------------ message rate
async def test_message_rate_window_gets_100_then_disconnects() -> None:
    async with serve() as server:
        faults = server.simulator.faults
        wall = faults.wall_clock = Wall()
        c = await Client.connected(server.port)
        wall.advance(1.5)  # startApi's second is over
        window = await opened(faults.message_rate(30, limit=5))
        assert faults.rate_limit_in_force == 5 and faults.message_rate_limit == 50
        got = await burst(c, 6)  # within TWS's 50/s, over the window's 5/s
        assert answers(got) == 5
        assert rate_warning(got) == (
            "Max rate of messages per second has been exceeded:max=5 rec=6 (1)")
        assert errors(got, 100)[0].reqId == -1
        c.send(outgoing.ReqCurrentTime())  # a repeat within the second: disconnected
        assert await c.closed_by_server()
        assert server.simulator.client_ids == frozenset()
        assert [(r.kind, r.params, r.scripted) for r in faults.log] == [
            ("message_rate", {"seconds": 30.0, "limit": 5}, False)]
        window.cancel()
        await asyncio.wait([window])
        assert faults.rate_limit_in_force == 50  # a cancelled window closes too


async def test_after_the_message_rate_window_the_normal_limit_returns() -> None:
    async with serve() as server:
        faults = server.simulator.faults
        wall = faults.wall_clock = Wall()
        c = await Client.connected(server.port)
        wall.advance(1.5)
        window = await opened(faults.message_rate(1.0, limit=3))
        got = await burst(c, 4)
        assert answers(got) == 3 and "max=3 rec=4" in (rate_warning(got) or "")
        async with asyncio.timeout(TIMEOUT):
            await window  # returns when the window is over
        assert faults.rate_limit_in_force == 50
        wall.advance(1.5)
        got = await burst(c, 45)
        assert answers(got) == 45 and errors(got) == []
        await c.close()


async def test_message_rate_window_applies_when_the_limit_is_lifted() -> None:
    async with serve() as server:
        faults = server.simulator.faults
        faults.message_rate_limit = None
        wall = faults.wall_clock = Wall()
        c = await Client.connected(server.port)
        got = await burst(c, 100)
        assert answers(got) == 100  # no limit
        window = await opened(faults.message_rate(30, limit=2))
        wall.advance(1.5)
        got = await burst(c, 3)
        assert answers(got) == 2 and "max=2" in (rate_warning(got) or "")
        window.cancel()
        await asyncio.wait([window])
        assert faults.rate_limit_in_force is None
        got = await burst(c, 100)
        assert answers(got) == 100 and errors(got) == []
        await c.close()


async def test_overlapping_message_rate_windows_the_tightest_is_in_force() -> None:
    async with serve() as server:
        faults = server.simulator.faults
        wall = faults.wall_clock = Wall()
        c = await Client.connected(server.port)
        loose = await opened(faults.message_rate(30, limit=8))
        tight = await opened(faults.message_rate(1.0, limit=3))
        loose_again = await opened(faults.message_rate(30, limit=8))
        assert faults.rate_limit_in_force == 3
        wall.advance(1.5)
        got = await burst(c, 4)
        assert answers(got) == 3 and "max=3" in (rate_warning(got) or "")
        async with asyncio.timeout(TIMEOUT):
            await tight
        assert faults.rate_limit_in_force == 8
        wall.advance(1.5)
        got = await burst(c, 9)
        assert answers(got) == 8 and "max=8" in (rate_warning(got) or "")
        loose.cancel()
        await asyncio.wait([loose])
        assert faults.rate_limit_in_force == 8  # the other limit-8 window is still open
        loose_again.cancel()
        await asyncio.wait([loose_again])
        assert faults.rate_limit_in_force == 50
        await c.close()


async def test_pace_api_clients_are_paced_at_the_window_limit() -> None:
    async with serve() as server:
        faults = server.simulator.faults
        wall = faults.wall_clock = Wall()
        c = await Client.connected(server.port, options="+PACEAPI")
        wall.advance(1.5)
        window = await opened(faults.message_rate(30, limit=4))
        mark = c.send(*[outgoing.ReqCurrentTime()] * 10)
        await c.until(lambda ev: answers(ev[mark:]) == 4)
        assert answers(await c.collect(0.2)) == 0  # queued, not refused
        wall.advance(1.0)
        await c.until(lambda ev: answers(ev[mark:]) == 8)
        window.cancel()
        await asyncio.wait([window])
        wall.advance(1.0)
        await c.until(lambda ev: answers(ev[mark:]) == 10)
        assert errors(c.events[mark:]) == []
        await c.close()


# -------------------------------------------------------- historical pacing
async def test_historical_pacing_window_refuses_every_request() -> None:
    async with serve() as server:
        faults = server.simulator.faults
        faults.wall_clock = Wall()
        faults.historical_pacing = False  # the window bites even so
        c = await Client.connected(server.port)
        assert refused(await answered(c, bars(1, size="1 day", duration="1 M"))) is None
        window = await opened(faults.historical_pacing_violation(1.0))
        assert faults.historical_pacing_forced
        assert refused(await answered(c, bars(2))) == (162, PACING_162)
        assert refused(await answered(c, bars(3, size="1 day", duration="1 M"))) == (
            162, PACING_162)  # whatever the bar size
        assert refused(await answered(c, bars(4, size="1 min", keep=True))) == (
            420, PACING_420)
        assert errors(c.events, 162)[0].reqId == 2
        async with asyncio.timeout(TIMEOUT):
            await window
        assert not faults.historical_pacing_forced
        assert refused(await answered(c, bars(5))) is None
        assert refused(await answered(c, bars(6, size="1 min", keep=True))) is None
        assert [(r.kind, r.params) for r in faults.log] == [
            ("historical_pacing", {"seconds": 1.0})]
        await c.close()


async def test_requests_refused_in_the_window_do_not_count_for_the_pacing_rules() -> None:
    async with serve() as server:
        faults = server.simulator.faults
        faults.wall_clock = Wall()
        c = await Client.connected(server.port)
        window = await opened(faults.historical_pacing_violation(1.0))
        assert refused(await answered(c, bars(1))) == (162, PACING_162)
        async with asyncio.timeout(TIMEOUT):
            await window
        assert refused(await answered(c, bars(2))) is None  # not "identical within 15 s"
        assert refused(await answered(c, bars(3))) == (162, PACING_162)  # that one is
        await c.close()


# -------------------------------------------------------- market data lines
def ticks(events: list[Any], req_id: int) -> list[Any]:
    return [e for e in events if isinstance(e, TICKS) and e.reqId == req_id]


async def line(c: Client, req_id: int) -> list[Any]:
    """reqMktData: its first tick set or its error."""
    return await c.ask(outgoing.ReqMktData(reqId=req_id, contract=AAPL if req_id % 2 else SPY),
                       lambda ev: of(ev, incoming.TickGeneric) or errors(ev))


async def test_market_data_lines_window_refuses_new_lines_and_keeps_the_open_ones() -> None:
    sim = sim_at(speed=1.0)
    async with serve(sim) as server:
        faults = sim.faults
        c = await Client.connected(server.port)
        for k in (1, 2):
            assert errors(await line(c, k)) == []
        window = await opened(faults.market_data_lines(2.0))  # lines=0
        assert faults.market_data_lines_in_force == 0
        got = await line(c, 3)
        assert [(e.reqId, e.errorCode, e.errorString) for e in errors(got)] == [
            (3, 101, MAX_TICKERS)]
        mark = len(c.events)
        await c.until(lambda ev: len(ticks(ev[mark:], 1)) > 2 and len(ticks(ev[mark:], 2)) > 2)
        assert ticks(c.events[mark:], 3) == []  # refused: no line
        async with asyncio.timeout(TIMEOUT):
            await window
        assert faults.market_data_lines_in_force == 100
        assert errors(await line(c, 3)) == []
        assert [(r.kind, r.params) for r in faults.log] == [
            ("market_data_lines", {"seconds": 2.0, "lines": 0})]
        await c.close()


async def test_market_data_lines_window_counts_each_clients_lines() -> None:
    async with serve() as server:
        faults = server.simulator.faults
        a = await Client.connected(server.port, 1)
        b = await Client.connected(server.port, 2)
        assert errors(await line(a, 1)) == []
        wide = await opened(faults.market_data_lines(30, lines=2))
        narrow = await opened(faults.market_data_lines(30, lines=1))
        assert faults.market_data_lines_in_force == 1
        assert [e.errorCode for e in errors(await line(a, 2))] == [101]
        assert errors(await line(b, 1)) == []  # b has no line yet
        narrow.cancel()
        await asyncio.wait([narrow])
        assert faults.market_data_lines_in_force == 2
        assert errors(await line(a, 2)) == []
        assert [e.errorCode for e in errors(await line(a, 3))] == [101]
        wide.cancel()
        await asyncio.wait([wide])
        assert errors(await line(a, 3)) == []
        for c in (a, b):
            await c.close()


# ----------------------------------------------------------------- scripted
async def test_scripted_windows_bite_and_are_logged() -> None:
    script = FaultScript([
        FaultStep(0.0, "message_rate", {"seconds": 1.5}),  # limit 5 by default
        FaultStep(0.0, "historical_pacing", {"seconds": 1.5}),
        FaultStep(0.0, "market_data_lines", {"seconds": 1.5}),  # lines 0 by default
        FaultStep(0.05, "message_rate", {"seconds": 0.1, "limit": 2}),
    ])
    async with serve() as server:
        faults = server.simulator.faults
        wall = faults.wall_clock = Wall()
        c = await Client.connected(server.port)
        wall.advance(1.5)
        task = faults.schedule(script)
        await until(lambda: faults.rate_limit_in_force == 5)
        assert faults.historical_pacing_forced and faults.market_data_lines_in_force == 0
        assert [e.errorCode for e in errors(await line(c, 1))] == [101]
        assert refused(await answered(c, bars(2))) == (162, PACING_162)
        await until(lambda: faults.rate_limit_in_force == 2)  # the tighter one overlaps
        await until(lambda: faults.rate_limit_in_force == 5)  # and closes first
        assert faults.historical_pacing_forced
        wall.advance(1.5)
        got = await burst(c, 6)
        assert answers(got) == 5 and "max=5" in (rate_warning(got) or "")
        async with asyncio.timeout(TIMEOUT):
            await task
        assert faults.rate_limit_in_force == 50 and not faults.historical_pacing_forced
        assert faults.market_data_lines_in_force == 100
        assert [(r.time, r.kind, r.params, r.scripted) for r in faults.log] == [
            (s.at, s.kind, dict(s.params), True) for s in script.steps]
        wall.advance(1.5)
        assert errors(await line(c, 3)) == []
        assert refused(await answered(c, bars(4))) is None
        await c.close()


async def test_cancelling_a_script_closes_its_windows() -> None:
    async with serve() as server:
        faults = server.simulator.faults
        task = faults.schedule(FaultScript([
            FaultStep(0, "message_rate", {"seconds": 30, "limit": 1}),
            FaultStep(0, "historical_pacing", {"seconds": 30}),
            FaultStep(0, "market_data_lines", {"seconds": 30, "lines": 1})]))
        await until(lambda: faults.rate_limit_in_force == 1)
        assert faults.historical_pacing_forced and faults.market_data_lines_in_force == 1
        faults.cancel_scripts()
        await asyncio.wait([task])
        assert faults.rate_limit_in_force == 50 and not faults.historical_pacing_forced
        assert faults.market_data_lines_in_force == 100


# ------------------------------------------------------------------ checks
@pytest.mark.parametrize("call", [
    lambda f: f.message_rate(-1),
    lambda f: f.message_rate(1, limit=0),
    lambda f: f.historical_pacing_violation(-0.1),
    lambda f: f.market_data_lines(1, lines=-1),
])
async def test_bad_window_arguments_raise_and_record_nothing(call: Any) -> None:
    async with serve() as server:
        faults: FaultInjector = server.simulator.faults
        with pytest.raises(ValueError, match=">= "):
            await call(faults)
        assert faults.log == []
        assert faults.rate_limit_in_force == 50 and faults.market_data_lines_in_force == 100
