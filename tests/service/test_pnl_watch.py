"""The service's P&L watch (``GET /pnl``) across TWS's 1101 ("data lost"): the client
sends reqPnL again and its stream yields a Gap marker first; ``/pnl`` must keep
answering P&L figures (it answered 500 when the Gap was taken for figures)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from twsbridge.client import Gap, TWSClient
from twsbridge.protocol import incoming
from twsbridge.service.pnl import PnLWatch
from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.market.clock import REPLAY_START, SimClock

pytestmark = pytest.mark.timeout(30)


@asynccontextmanager
async def watching() -> AsyncIterator[tuple[SimServer, PnLWatch, incoming.PnL]]:
    """The simulator, a PnLWatch on a client of it, and the watch's first figures."""
    async with SimServer(Simulator(clock=SimClock(REPLAY_START)), port=0) as sim, \
            TWSClient("127.0.0.1", sim.port, client_id=3, timeout=5) as ib:
        watch = PnLWatch()
        await watch.start(ib)
        first, _ = await watch.latest(5.0)
        assert isinstance(first, incoming.PnL)
        try:
            yield sim, watch, first
        finally:
            await watch.stop()


async def test_the_latest_pnl_is_never_a_gap_across_1101() -> None:
    seen: list[object] = []
    async with watching() as (sim, watch, _first):

        async def sample() -> None:
            while True:
                seen.append(watch.pnl)
                await asyncio.sleep(0.005)

        sub = watch.subscription
        old = sub.reqId
        sampler = asyncio.create_task(sample())
        await sim.simulator.faults.connectivity_loss(0.3, data_lost=True)
        for _ in range(500):  # until figures arrive on the subscription sent again
            await asyncio.sleep(0.01)
            if sub.reqId != old and watch.pnl.reqId == sub.reqId:
                break
        sampler.cancel()
    assert sub.reqId != old  # sent again after 1101, a Gap first
    assert not [p for p in seen if isinstance(p, Gap)]
    assert all(isinstance(p, incoming.PnL) for p in seen)
    assert seen[-1].reqId == sub.reqId  # figures of the renewed subscription arrived


async def test_a_gap_on_the_stream_leaves_the_last_figures() -> None:
    """The Gap the client queues before a resent subscription's figures (here put on
    the real subscription directly, as the client's resumer does) is no figure."""
    async with watching() as (_sim, watch, first):
        sub, since = watch.subscription, watch.time
        assert since is not None
        sub.mark_stale(since, "TWS error 1101")
        gap = sub.gap()
        for _ in range(5):  # the watch takes the Gap off the stream
            await asyncio.sleep(0.005)
        latest, at = await watch.latest(0.0)
    assert isinstance(gap, Gap) and sub.delivered
    assert latest is first and at == since
