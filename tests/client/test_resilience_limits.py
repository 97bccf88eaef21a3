"""A live subscription refused by one of TWS's passing limits is sent again, not failed.

TWS drops the lines (1101) while a limit window of the simulator refuses what
the client sends again: 101 (market data lines), 100 (message rate: TWS drops
the message), 162/420 (historical pacing). The subscription waits with a back-off
and resumes on the same iterator after a Gap; a first request that a limit
refuses still fails (the caller asked for something TWS will not give now).
"""

from __future__ import annotations

import asyncio

import pytest
from test_resilience import AMD, FAST, next_gap, next_item  # tests/client is on sys.path

from twsbridge.client import Gap, Tick, TWSClient, TWSError
from twsbridge.sim import SimServer

pytestmark = pytest.mark.timeout(30)


async def _lost_during(window: asyncio.Task[None], sim: SimServer) -> None:
    await asyncio.sleep(0.05)
    await sim.simulator.faults.connectivity_loss(0.1, data_lost=True)  # 1101: all sent again
    await window


async def test_market_data_refused_by_lines_window_comes_back(sim: SimServer) -> None:
    async with TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5,
                         reconnect=FAST) as ib:
        ticks = ib.reqMktData(AMD)
        assert isinstance(await next_item(ticks), Tick)
        faults = sim.simulator.faults
        window = asyncio.create_task(faults.market_data_lines(1.5, lines=0))
        await _lost_during(window, sim)
        assert any(n.code == 101 for n in ib.notices)  # refused, kept as a notice
        gap, _ = await next_gap(ticks, timeout=15)
        assert isinstance(await next_item(ticks, timeout=15), Tick)
        assert not ticks.done and isinstance(gap, Gap)
        with pytest.raises(TWSError) as refused:  # a first request is refused for real
            window = asyncio.create_task(faults.market_data_lines(1.0, lines=0))
            await asyncio.sleep(0.05)
            await next_item(ib.reqMktData(AMD), timeout=5)
        assert refused.value.code == 101
        await window


async def test_bars_and_pnl_dropped_at_the_rate_limit_come_back(sim: SimServer) -> None:
    async with TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5,
                         reconnect=FAST) as ib:
        bars = ib.reqHistoricalDataStream(AMD, "1800 S", "1 min", useRTH=False)
        pnl = ib.reqPnL(ib.accounts[0])
        await next_item(bars)
        await next_item(pnl)
        window = asyncio.create_task(sim.simulator.faults.message_rate(1.0, limit=1))
        await _lost_during(window, sim)
        assert await next_item(bars, timeout=20) is not None
        assert await next_item(pnl, timeout=20) is not None
        assert not bars.done and not pnl.done


async def test_keep_up_to_date_bars_refused_by_pacing_window_come_back(sim: SimServer) -> None:
    async with TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5,
                         reconnect=FAST) as ib:
        bars = ib.reqHistoricalDataStream(AMD, "1800 S", "1 min", useRTH=False)
        await next_item(bars)
        window = asyncio.create_task(
            sim.simulator.faults.historical_pacing_violation(1.5))
        await _lost_during(window, sim)
        assert any(n.code in (162, 420) for n in ib.notices)
        await next_gap(bars, timeout=20)
        assert await next_item(bars, timeout=20) is not None
        assert not bars.done
