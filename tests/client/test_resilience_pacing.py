"""Pacing against the simulator's TWS limits: the message rate (error 100,
``+PACEAPI``) and the historical-data pacing rules (162)."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from twsbridge.client import (
    Contract,
    HistoricalLimits,
    PacingWait,
    TWSClient,
    TWSError,
)
from twsbridge.sim import SimServer
from twsbridge.sim.faults.pacing import HistoricalPacer, HistoricalRequest

pytestmark = pytest.mark.timeout(30)

AMD = Contract(conId=4391, exchange="SMART")
DURATIONS = [f"{60 * (n + 1)} S" for n in range(7)]  # seven different requests


class SeenPacer(HistoricalPacer):
    """The simulator's pacing rules, noting when each request was accepted."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted: list[float] = []
        self.refused: list[str] = []

    def violation(self, now: float, req: HistoricalRequest) -> str | None:
        rule = super().violation(now, req)
        if rule is None:
            self.accepted.append(now)
        else:
            self.refused.append(rule)
        return rule


def spaced(times: list[float], most: int, window: float) -> bool:
    """No more than ``most`` of ``times`` within any ``window`` seconds."""
    times = sorted(times)
    return all(times[i + most] - times[i] >= window for i in range(len(times) - most))


@pytest.fixture
def seen(sim: SimServer) -> SeenPacer:
    pacer = SeenPacer()
    sim.simulator.faults.history = pacer
    return pacer


async def test_same_contract_requests_are_spread_under_the_rules(
        sim: SimServer, seen: SeenPacer, caplog: pytest.LogCaptureFixture) -> None:
    waits: list[PacingWait] = []
    async with TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5) as ib:
        ib.pacing.on_wait = waits.append
        caplog.set_level(logging.INFO, "twsbridge.client")
        start = time.monotonic()
        requests = [asyncio.create_task(ib.reqHistoricalData(
            AMD, durationStr=d, barSizeSetting="5 secs", useRTH=False)) for d in DURATIONS]
        await asyncio.sleep(0.2)
        pending = ib.pacing.pending  # the wait is visible while it lasts
        assert list(pending) == waits and len(pending) == 2
        assert [w.request for w in pending] == [
            f"reqHistoricalData 4391 {d} 5 secs TRADES" for d in DURATIONS[5:]]
        assert all(1.0 < w.seconds <= 2.3 for w in pending)
        results = await asyncio.gather(*requests)
        assert all(results)  # every request answered: no 162
        assert time.monotonic() - start >= 2.0
        assert ib.pacing.pending == ()
        assert not [n for n in ib.notices if n.code == 162]
    assert len(seen.accepted) == 7 and seen.refused == []
    assert spaced(seen.accepted, 5, 2.0)  # fewer than six per series in any 2 s
    assert "one contract" in waits[0].reason
    assert "historical request paced for" in caplog.text


async def test_identical_request_waits_fifteen_seconds_scaled(
        sim: SimServer, seen: SeenPacer) -> None:
    limits = HistoricalLimits(identical_interval=1.0)  # TWS: 15 s
    sim.simulator.faults.historical_pacing = False
    async with TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5,
                         historical_limits=limits) as ib:
        first = await ib.reqHistoricalData(AMD, durationStr="60 S", barSizeSetting="5 secs")
        start = time.monotonic()
        again = await ib.reqHistoricalData(AMD, durationStr="60 S", barSizeSetting="5 secs")
        assert time.monotonic() - start >= 0.9 and first and again
        assert "identical" in ib.pacing.waits[-1].reason
        start = time.monotonic()  # larger bars are not queued
        await ib.reqHistoricalData(AMD, durationStr="1 D", barSizeSetting="1 hour")
        await ib.reqHistoricalData(AMD, durationStr="1 D", barSizeSetting="1 hour")
        assert time.monotonic() - start < 0.5


async def test_pacing_violation_is_retried_once_after_the_wait(
        sim: SimServer, seen: SeenPacer) -> None:
    lax = HistoricalLimits(same_contract=10)  # the client lets through what TWS refuses
    async with TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5,
                         historical_limits=lax) as ib:
        start = time.monotonic()
        results = await asyncio.gather(*[ib.reqHistoricalData(
            AMD, durationStr=d, barSizeSetting="5 secs", useRTH=False) for d in DURATIONS])
        assert all(results)
        assert time.monotonic() - start >= 2.0
        assert [n.code for n in ib.notices if n.code == 162] == [162, 162]
    assert len(seen.refused) == 2 and len(seen.accepted) == 7


async def test_two_hundred_requests_never_exceed_the_message_rate(sim: SimServer) -> None:
    async with TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5) as ib:
        assert ib.pacing.max_rate == 45  # a tenth below TWS's 50
        start = time.monotonic()
        times = await asyncio.gather(*[ib.reqCurrentTime() for _ in range(200)])
        assert len(times) == 200 and time.monotonic() - start >= 3.5
        assert not [n for n in ib.notices if n.code == 100] and ib.pacing.rate_exceeded == 0
        assert ib.is_connected
        [session] = sim.sessions
        assert session.guard.rate.violations == 0 and not session.guard.pace_api


async def test_paceapi_lets_tws_pace(sim: SimServer) -> None:
    async with TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5,
                         connect_options="+PACEAPI") as ib:
        assert ib.pacing.max_rate == 0  # no local limit: TWS queues
        start = time.monotonic()
        times = await asyncio.gather(*[ib.reqCurrentTime() for _ in range(120)])
        assert len(times) == 120 and time.monotonic() - start >= 1.0
        assert not [n for n in ib.notices if n.code == 100]
        [session] = sim.sessions
        assert session.guard.pace_api and session.guard.rate.violations == 0


async def test_error_100_slows_down_and_fails_the_dropped_request(sim: SimServer) -> None:
    async with TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5, max_rate=0) as ib:
        await asyncio.sleep(1.05)  # startApi out of TWS's one-second window
        results = await asyncio.gather(
            *[ib.reqContractDetails(AMD) for _ in range(51)], return_exceptions=True)
        dropped = [r for r in results if isinstance(r, TWSError)]
        assert len(dropped) == 1 and dropped[0].code == 100
        assert ib.pacing.rate_exceeded == 1 and ib.pacing.max_rate == 40
        assert [n.code for n in ib.notices][-1] == 100
        await asyncio.sleep(1.1)
        await asyncio.gather(*[ib.reqCurrentTime() for _ in range(60)])  # now paced
        assert ib.is_connected and ib.pacing.rate_exceeded == 1


async def test_keep_up_to_date_violation_420_is_retried(sim: SimServer, seen: SeenPacer) -> None:
    lax = HistoricalLimits(same_contract=10)
    async with TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5,
                         historical_limits=lax) as ib:
        streams = [ib.reqHistoricalDataStream(AMD, d, "5 secs", useRTH=False)
                   for d in DURATIONS[:6]]
        firsts = await asyncio.wait_for(asyncio.gather(*[anext(s) for s in streams]), 5)
        assert len(firsts) == 6
        assert [n.code for n in ib.notices if n.code == 420] == [420]
        assert seen.refused and len(seen.accepted) == 6
        for stream in streams:
            await stream.cancel()


async def test_on_wait_error_fails_the_request(sim: SimServer) -> None:
    def refuse(wait: PacingWait) -> None:
        raise RuntimeError(f"no waiting: {wait.reason}")

    limits = HistoricalLimits(same_contract=1)
    sim.simulator.faults.historical_pacing = False
    async with TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5,
                         historical_limits=limits) as ib:
        ib.pacing.on_wait = refuse
        await ib.reqHistoricalData(AMD, durationStr="60 S", barSizeSetting="5 secs")
        with pytest.raises(RuntimeError, match="no waiting"):
            await ib.reqHistoricalData(AMD, durationStr="120 S", barSizeSetting="5 secs")
        assert ib.pacing.pending == ()


async def test_cancelled_waiting_request_leaves_the_queue(sim: SimServer) -> None:
    limits = HistoricalLimits(same_contract=1, same_contract_window=5.0)
    async with TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5,
                         historical_limits=limits) as ib:
        await ib.reqHistoricalData(AMD, durationStr="60 S", barSizeSetting="5 secs")
        waiting = asyncio.create_task(
            ib.reqHistoricalData(AMD, durationStr="120 S", barSizeSetting="5 secs"))
        await asyncio.sleep(0.1)
        assert len(ib.pacing.pending) == 1
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await asyncio.sleep(0)
        assert not ib.pacing.pending and len(ib._core.router) == 0
        assert await ib.reqCurrentTime() > 0  # nothing was sent for it, no 366 either
        assert not [e for e in ib.errors.recent if e.code == 366]
