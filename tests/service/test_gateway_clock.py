"""Every time the service reports is the gateway's (issue 9, item 16): with the embedded
simulator's clock frozen at 2013-03-01 10:00 US/Eastern
(``SimClock(REPLAY_START, speed=0)``), a quote's,
the P&L's and the streamed ticks' ``time`` are that day, as executions and bars are, not
the host's today."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterator

import httpx
import pytest
from websockets.asyncio.client import connect as ws_connect

from twsbridge.service.gateway_clock import RATE_AFTER

from .support import auth, running_service, sim_settings

pytestmark = pytest.mark.timeout(120)

SIM_DAY = dt.datetime(2013, 3, 1, 15, 0, tzinfo=dt.UTC)  # 10:00 US/Eastern


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """A service on an embedded simulator whose clock stands still."""
    with running_service(sim_settings(sim_speed=0.0)) as base:
        yield base


def near_sim_time(text: str | None) -> bool:
    assert text is not None
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return abs((t - SIM_DAY).total_seconds()) < 120


async def test_quote_times_are_the_gateways(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, headers=auth(url), timeout=30) as http:
        quote = (await http.get("/quotes", params={"symbol": "AAPL"})).json()
        assert quote["time"].startswith("2013-03-01"), quote
        assert near_sim_time(quote["time"]), quote
        by_id = (await http.get("/quotes/272093")).json()
        assert near_sim_time(by_id["time"]), by_id
        bars = (await http.get("/bars", params={"symbol": "AAPL", "durationStr": "1 D",
                                                 "barSizeSetting": "1 hour"})).json()
        assert bars["bars"][-1]["date"].startswith("20130301"), bars["bars"][-1]


async def test_pnl_time_is_the_gateways(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, headers=auth(url), timeout=30) as http:
        pnl = {}
        for _ in range(50):
            pnl = (await http.get("/pnl")).json()
            if pnl.get("time"):
                break
            await asyncio.sleep(0.2)
        assert pnl.get("time", "").startswith("2013-03-01"), pnl
        assert near_sim_time(pnl["time"]), pnl


async def test_streamed_tick_times_are_the_gateways(url: str) -> None:
    ws_url = url.replace("http://", "ws://") + "/ws/quotes?symbol=MSFT"
    async with ws_connect(ws_url, additional_headers=auth(url)) as ws:
        snapshot = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert snapshot["type"] == "snapshot" and snapshot["ticks"], snapshot
    assert all(near_sim_time(t["time"]) for t in snapshot["ticks"]), snapshot["ticks"][:3]


async def test_order_event_times_are_the_gateways(url: str) -> None:
    order = {"symbol": "AAPL", "action": "BUY", "totalQuantity": 10, "orderType": "MKT"}
    ws_url = url.replace("http://", "ws://") + "/ws/orders"
    async with ws_connect(ws_url, additional_headers=auth(url, "read")) as ws, \
            httpx.AsyncClient(base_url=url, headers=auth(url, "trade"), timeout=30) as http:
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "snapshot"
        placed = await http.post("/orders", json=order)
        assert placed.status_code in (200, 201), placed.text
        order_id = placed.json()["orderId"]
        events: list[dict[str, object]] = []
        while not any(e["event"] == "execution" for e in events):
            msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
            events += [e for e in msg.get("events", []) if e.get("orderId") == order_id]
    assert events and all(near_sim_time(str(e["time"])) for e in events), events
    execution = next(e for e in events if e["event"] == "execution")
    assert str(execution["executionTime"]).startswith("20130301"), execution


async def test_a_frozen_gateway_clock_stands_still(url: str) -> None:
    """Two readings of the gateway's clock give its rate: 0 for this frozen simulator."""
    async with httpx.AsyncClient(base_url=url, headers=auth(url), timeout=30) as http:
        async def quote_time() -> dt.datetime:
            text = (await http.get("/quotes", params={"symbol": "AAPL"})).json()["time"]
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))

        await asyncio.sleep(RATE_AFTER + 0.5)
        await quote_time()  # the second reading is due: it runs now
        await asyncio.sleep(0.5)
        first = await quote_time()
        await asyncio.sleep(2.0)
        second = await quote_time()
    assert abs((second - first).total_seconds()) < 0.2, (first, second)
    assert near_sim_time(first.isoformat())
