"""TWS's limits in the simulator: messages per second (100, disconnect, +PACEAPI),
historical-data pacing (162, 420, 366) and market data lines (101)."""

from __future__ import annotations

import asyncio
from typing import Any

from twsbridge.protocol import Contract, incoming, outgoing

from .test_faults_wire import AAPL, SPY, Client, Wall, errors, of, serve, sim_at

PACING_162 = ("Historical Market Data Service error message:"
              "Historical data request pacing violation")
PACING_420 = "Invalid Real-time Query:Historical data request pacing violation"


def answers(events: list[Any]) -> int:
    return len(of(events, incoming.CurrentTime))


# ------------------------------------------------------------ message rate
async def test_over_fifty_messages_a_second_gets_100_and_the_excess_is_dropped() -> None:
    async with serve() as server:
        faults = server.simulator.faults
        assert faults.message_rate_limit == 50  # TWS's default
        wall = faults.wall_clock = Wall()
        c = await Client.connected(server.port)  # startApi is the second's first message
        mark = c.send(*[outgoing.ReqCurrentTime()] * 50)
        await c.until(lambda ev: answers(ev[mark:]) == 49 and errors(ev, 100))
        (warning,) = errors(c.events, 100)
        assert (warning.reqId, warning.errorString) == (
            -1, "Max rate of messages per second has been exceeded:max=50 rec=51 (1)")
        assert answers(await c.collect(0.2)) == 0  # the 50th was dropped
        wall.advance(1.5)  # a new second: the client may go on
        again = await c.ask(outgoing.ReqCurrentTime(), lambda ev: answers(ev) == 1)
        assert errors(again) == []
        await c.close()


async def test_a_repeat_violation_after_the_warning_disconnects() -> None:
    async with serve() as server:
        faults = server.simulator.faults
        faults.wall_clock = Wall()
        c = await Client.connected(server.port)
        ids = [outgoing.ReqContractDetails(reqId=k, contract=AAPL) for k in range(1, 51)]
        c.send(*ids)
        await c.until(lambda ev: errors(ev, 100))
        assert errors(c.events, 100)[0].reqId == 50  # the dropped request's id
        c.send(outgoing.ReqCurrentTime())  # within the same second: TWS disconnects
        assert await c.closed_by_server()
        assert server.simulator.client_ids == frozenset()


async def test_no_limit_when_disabled() -> None:
    async with serve() as server:
        server.simulator.faults.message_rate_limit = None
        server.simulator.faults.wall_clock = Wall()
        c = await Client.connected(server.port)
        mark = c.send(*[outgoing.ReqCurrentTime()] * 200)
        await c.until(lambda ev: answers(ev[mark:]) == 200)
        assert errors(c.events[mark:]) == []
        await c.close()


async def test_pace_api_queues_the_excess_and_serves_fifty_a_second_in_order() -> None:
    async with serve() as server:
        wall = server.simulator.faults.wall_clock = Wall()
        c = await Client.connected(server.port, options="+PACEAPI")
        mark = c.send(*[outgoing.ReqContractDetails(reqId=k, contract=AAPL)
                        for k in range(1, 121)])

        def ends(events: list[Any]) -> list[int]:
            return [e.reqId for e in of(events[mark:], incoming.ContractDataEnd)]

        await c.until(lambda ev: len(ends(ev)) == 49)
        assert ends(await c.collect(0.2)) == []  # the rest waits for the next second
        wall.advance(1.0)
        await c.until(lambda ev: len(ends(ev)) == 99)
        wall.advance(1.0)
        await c.until(lambda ev: len(ends(ev)) == 120)
        assert ends(c.events) == list(range(1, 121))  # in order
        assert errors(c.events[mark:]) == []  # paced, not refused
        await c.close()


async def test_pace_api_on_the_real_clock() -> None:
    async with serve() as server:
        loop = asyncio.get_running_loop()
        c = await Client.connected(server.port, options="+PACEAPI")
        start = loop.time()
        mark = c.send(*[outgoing.ReqCurrentTime()] * 70)
        await c.until(lambda ev: answers(ev[mark:]) == 70)
        assert loop.time() - start > 0.8  # the last 21 waited for the window to move on
        assert errors(c.events[mark:]) == []
        await c.close()


# -------------------------------------------------------- historical pacing
def bars(req_id: int, duration: str = "1800 S", size: str = "5 secs", what: str = "TRADES",
         contract: Contract = AAPL, keep: bool = False) -> outgoing.ReqHistoricalData:
    return outgoing.ReqHistoricalData(reqId=req_id, contract=contract, durationStr=duration,
                                      barSizeSetting=size, whatToShow=what,
                                      keepUpToDate=keep)


async def answered(c: Client, msg: outgoing.ReqHistoricalData) -> list[Any]:
    """Send a historical request; its historicalData or its error."""
    return await c.ask(msg, lambda ev: any(
        getattr(e, "reqId", None) == msg.reqId
        and isinstance(e, incoming.HistoricalData | incoming.ErrorMessage) for e in ev))


def refused(events: list[Any]) -> tuple[int, str] | None:
    errs = errors(events)
    return (errs[0].errorCode, errs[0].errorString) if errs else None


async def test_identical_historical_request_within_15_seconds_is_a_pacing_violation() -> None:
    async with serve() as server:
        faults = server.simulator.faults
        assert faults.historical_pacing
        wall = faults.wall_clock = Wall()
        c = await Client.connected(server.port)
        assert refused(await answered(c, bars(1))) is None
        wall.advance(14)
        assert refused(await answered(c, bars(2))) == (162, PACING_162)
        assert refused(await answered(c, bars(3, what="MIDPOINT"))) is None  # not identical
        wall.advance(1.5)
        assert refused(await answered(c, bars(4))) is None  # 15.5 s after the first
        wall.advance(1)
        assert refused(await answered(c, bars(5, keep=True))) is None
        assert refused(await answered(c, bars(6, keep=True))) == (420, PACING_420)


async def test_six_requests_for_one_series_within_2_seconds() -> None:
    async with serve() as server:
        wall = server.simulator.faults.wall_clock = Wall()
        c = await Client.connected(server.port)
        for k in range(1, 6):
            assert refused(await answered(c, bars(k, f"{60 * k} S"))) is None
            wall.advance(0.3)
        assert refused(await answered(c, bars(6, "600 S"))) == (162, PACING_162)
        assert refused(await answered(c, bars(7, "600 S", contract=SPY))) is None
        assert refused(await answered(c, bars(8, "600 S", what="BID"))) is None
        wall.advance(1.0)  # the first two are now more than 2 s old
        assert refused(await answered(c, bars(9, "660 S"))) is None


async def test_more_than_60_requests_in_10_minutes() -> None:
    async with serve() as server:
        wall = server.simulator.faults.wall_clock = Wall()
        c = await Client.connected(server.port)
        for k in range(1, 61):
            assert refused(await answered(c, bars(k, f"{30 * k} S"))) is None
            wall.advance(3)
        assert refused(await answered(c, bars(61, "60 S", contract=SPY))) == (162, PACING_162)
        wall.advance(420)  # the first ones leave the ten-minute window
        assert refused(await answered(c, bars(62, "60 S", contract=SPY))) is None


async def test_pacing_applies_to_small_bars_only_unless_told() -> None:
    async with serve() as server:
        faults = server.simulator.faults
        faults.wall_clock = Wall()
        c = await Client.connected(server.port)
        for k in range(1, 5):  # one-minute bars: TWS lifted the hard limits
            assert refused(await answered(c, bars(k, size="1 min"))) is None
        faults.historical_pacing_max_bar_seconds = None
        assert refused(await answered(c, bars(5, size="1 min"))) is None
        assert refused(await answered(c, bars(6, size="1 min"))) == (162, PACING_162)
        faults.historical_pacing = False
        for k in range(7, 10):
            assert refused(await answered(c, bars(k))) is None


async def test_cancelling_a_finished_historical_request_gets_366() -> None:
    async with serve() as server:
        server.simulator.faults.wall_clock = Wall()
        c = await Client.connected(server.port)
        await answered(c, bars(1, size="1 min"))
        answer = await c.ask(outgoing.CancelHistoricalData(reqId=1),
                             lambda ev: errors(ev, 366))
        assert [(e.reqId, e.errorString) for e in errors(answer)] == [
            (1, "No historical data query found for ticker id:1")]
        await answered(c, bars(2, size="1 min", keep=True))
        mark = c.send(outgoing.CancelHistoricalData(reqId=2))  # a live one: stopped quietly
        answer = await c.ask(outgoing.ReqCurrentTime(), lambda ev: answers(ev) == 1)
        assert errors(c.events[mark:]) == []
        await c.close()


# -------------------------------------------------------- market data lines
async def test_market_data_lines_beyond_the_limit_get_101() -> None:
    async with serve(sim_at()) as server:
        faults = server.simulator.faults
        assert faults.max_market_data_lines == 100
        faults.max_market_data_lines = 3
        c = await Client.connected(server.port)
        for k in range(1, 4):
            got = await c.ask(outgoing.ReqMktData(reqId=k, contract=AAPL),
                              lambda ev: of(ev, incoming.TickGeneric))
            assert errors(got) == []
        over = await c.ask(outgoing.ReqMktData(reqId=4, contract=SPY),
                           lambda ev: errors(ev))
        assert [(e.reqId, e.errorCode, e.errorString) for e in errors(over)] == [
            (4, 101, "Max number of tickers has been reached")]
        c.send(outgoing.CancelMktData(reqId=1))
        got = await c.ask(outgoing.ReqMktData(reqId=5, contract=SPY),
                          lambda ev: of(ev, incoming.TickGeneric))
        assert errors(got) == []
        await c.close()
