"""``completedTime`` of filled and cancelled orders, in the gateway's clock.

Real parts: the service (uvicorn in a thread, SQLite journal) on a simulator
whose clock is years away from the wall clock (its default start, the last day
of its real data), so a time taken from the service's own clock shows. A
filled order's completion is its last execution's time; a cancelled one's the
time TWS confirmed the cancel, both as TWS writes times and in the gateway's
clock; GET /orders/{id} and GET /orders?status=completed answer them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest

from twsbridge.service import ServiceSettings
from twsbridge.service.journal.values import parse_tws_time
from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.market.clock import REPLAY_START, SimClock

from .processes import eventually, free_port
from .support import auth, running_service

pytestmark = pytest.mark.timeout(180)


async def test_filled_and_cancelled_orders_have_completed_time(tmp_path: Path) -> None:
    simulator = Simulator(seed=3, clock=SimClock(REPLAY_START))
    port = free_port()
    gateway = SimServer(simulator, host="127.0.0.1", port=port)
    await gateway.start()
    settings = ServiceSettings(
        host="127.0.0.1", port=0, gateway=f"127.0.0.1:{port}", client_id=17,
        connect_timeout=5.0, request_timeout=30.0, log_level="warning",
        journal_url=f"sqlite:///{tmp_path / 'journal.sqlite3'}", trading_enabled=True,
        max_order_quantity=None, max_order_notional=None, orders_per_minute=None,
        require_preview=False,
    )
    try:
        with running_service(settings) as url:
            async with httpx.AsyncClient(base_url=url, headers=auth(url, "trade"),
                                         timeout=30.0) as http:
                async def reconciled() -> bool:
                    health = (await http.get("/health/details")).json()
                    last = (health.get("journal") or {}).get("lastReconcile") or {}
                    return bool(last.get("finishedAt"))

                await eventually(reconciled, "first reconciliation", 60)
                r = await http.post("/orders", json={"symbol": "AAPL", "action": "BUY",
                                                     "totalQuantity": 50, "orderType": "MKT"})
                assert r.status_code == 201, r.text
                bought = r.json()["orderId"]
                r = await http.post("/orders", json={"symbol": "AAPL", "action": "BUY",
                                                     "totalQuantity": 5, "orderType": "LMT",
                                                     "lmtPrice": 1.0})
                assert r.status_code == 201, r.text
                resting = r.json()["orderId"]

                async def filled() -> dict[str, Any] | None:
                    order: dict[str, Any] = (await http.get(f"/orders/{bought}")).json()
                    return order if order["status"] == "Filled" else None

                fill = await eventually(filled, "the market order filled", 60)
                r = await http.delete(f"/orders/{resting}")
                assert r.status_code == 200, r.text
                cancelled_at = simulator.clock.now()
                cancel = (await http.get(f"/orders/{resting}")).json()
                completed = {o["orderId"]: o for o in (await http.get(
                    "/orders", params={"status": "completed"})).json()}
    finally:
        await gateway.stop()
    assert cancel["status"] == "Cancelled"
    last_fill = max(fill["executions"], key=lambda e: e["timeUtc"])
    assert fill["completedTime"] == last_fill["time"]
    cancel_time = parse_tws_time(cancel["completedTime"] or "")
    assert cancel_time is not None, cancel["completedTime"]
    # the gateway's clock (the simulator's), not the service's
    assert abs(cancel_time - cancelled_at) < dt.timedelta(seconds=15), (cancel_time,
                                                                        cancelled_at)
    assert abs(dt.datetime.now(dt.UTC) - cancelled_at) > dt.timedelta(days=1)
    assert completed[bought]["completedTime"] == fill["completedTime"]
    # reqCompletedOrders's answer brings TWS's own text: the same instant (to its second)
    tws_text = parse_tws_time(completed[resting]["completedTime"] or "")
    assert tws_text is not None and abs(tws_text - cancel_time) <= dt.timedelta(seconds=2)
