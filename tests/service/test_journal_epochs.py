"""A gateway that hands out the same ids again: the journal never merges two orders.

Real parts: the service (uvicorn in a thread) on one SQLite journal, restarted
onto a fresh :class:`Simulator` - which starts its orderIds, permIds and (on a
frozen clock at the same simulated time) execIds afresh, as the embedded
simulator did at each ``twsbridge serve``. Run 1 buys AAPL and leaves a limit
order resting; run 2 buys IBM. The journal must keep run 1's orders as they
were, record run 2's as new orders with their own execution, and settle run
1's resting order (which the new gateway does not know) instead of leaving it
``Submitted``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from twsbridge.service import ServiceSettings
from twsbridge.service.journal import Journal
from twsbridge.service.journal.models import GatewaySession
from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.market.clock import REPLAY_START, SimClock

from .processes import eventually, free_port
from .support import auth, running_service

pytestmark = pytest.mark.timeout(240)

BUY_AAPL = {"symbol": "AAPL", "action": "BUY", "totalQuantity": 100, "orderType": "MKT"}
REST_AAPL = {"symbol": "AAPL", "action": "BUY", "totalQuantity": 10, "orderType": "LMT",
             "lmtPrice": 1.0}
BUY_IBM = {"symbol": "IBM", "action": "BUY", "totalQuantity": 5, "orderType": "MKT"}


def _settings(port: int, journal_url: str) -> ServiceSettings:
    return ServiceSettings(
        host="127.0.0.1", port=0, gateway=f"127.0.0.1:{port}", client_id=17,
        connect_timeout=5.0, request_timeout=30.0, log_level="warning",
        journal_url=journal_url, trading_enabled=True, max_order_quantity=None,
        max_order_notional=None, orders_per_minute=None, require_preview=False,
    )


async def _reconciled(http: httpx.AsyncClient) -> dict[str, Any] | None:
    last = ((await http.get("/health/details")).json().get("journal") or {}).get("lastReconcile")
    return dict(last) if last and last.get("finishedAt") else None


async def _run(journal_url: str, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One service run on a fresh simulator: place ``orders``; their answers once
    each market order filled; then the service and the gateway stop."""
    # the same ids, the same times
    simulator = Simulator(seed=0, clock=SimClock(REPLAY_START, speed=0))
    port = free_port()
    gateway = SimServer(simulator, host="127.0.0.1", port=port)
    await gateway.start()
    try:
        with running_service(_settings(port, journal_url)) as url:
            async with httpx.AsyncClient(base_url=url, headers=auth(url, "trade"),
                                         timeout=30.0) as http:
                await eventually(lambda: _reconciled(http), "first reconciliation", 60)
                placed = []
                for body in orders:
                    r = await http.post("/orders", json=body)
                    assert r.status_code == 201, r.text
                    placed.append(r.json())

                async def settled() -> list[dict[str, Any]] | None:
                    answers = [(await http.get(f"/orders/{o['orderId']}")).json()
                               for o in placed]
                    done = all(a["status"] == "Filled" and a["executions"]
                               for a, body in zip(answers, orders, strict=True)
                               if body["orderType"] == "MKT")
                    return answers if done else None

                return await eventually(settled, "the market orders filled", 60)
    finally:
        await gateway.stop()


async def test_a_gateway_reusing_ids_gets_new_orders_and_executions(tmp_path: Path) -> None:
    journal_url = f"sqlite:///{tmp_path / 'journal.sqlite3'}"
    first = await _run(journal_url, [BUY_AAPL, REST_AAPL])
    second = await _run(journal_url, [BUY_IBM])
    aapl, resting, ibm = first[0], first[1], second[0]
    assert resting["status"] == "Submitted"
    # the fresh gateway reused run 1's ids (else this test proves nothing)
    assert ibm["permId"] == aapl["permId"], (aapl, ibm)
    assert ibm["executions"][0]["execId"] == aapl["executions"][0]["execId"]

    journal = Journal(journal_url)
    await journal.open()
    try:
        async with journal.session() as s:
            epochs = (await s.scalars(select(GatewaySession.epoch).order_by(
                GatewaySession.id))).all()
    finally:
        await journal.close()
    assert epochs[0] == 1 and epochs[-1] == 2, epochs

    # served from the journal by a third run (no gateway needed to read it)
    simulator = Simulator(seed=0, clock=SimClock(REPLAY_START, speed=0))
    port = free_port()
    gateway = SimServer(simulator, host="127.0.0.1", port=port)
    await gateway.start()
    try:
        with running_service(_settings(port, journal_url)) as url:
            async with httpx.AsyncClient(base_url=url, headers=auth(url, "read"),
                                         timeout=30.0) as http:
                await eventually(lambda: _reconciled(http), "reconciliation", 60)
                orders = (await http.get("/orders", params={"status": "all"})).json()
                fills = (await http.get("/executions")).json()
    finally:
        await gateway.stop()
    by_symbol = sorted((o["contract"]["symbol"], str(o["totalQuantity"]), o["status"],
                        [(e["symbol"], str(e["shares"])) for e in o["executions"]])
                       for o in orders)
    assert by_symbol == [
        ("AAPL", "10", "Lost", []),
        ("AAPL", "100", "Filled", [("AAPL", "100")]),
        ("IBM", "5", "Filled", [("IBM", "5")]),
    ], orders
    lost = next(o for o in orders if o["status"] == "Lost")
    assert "ids restarted" in lost["errorMessage"]
    assert sorted((f["symbol"], str(f["shares"])) for f in fills) == [
        ("AAPL", "100"), ("IBM", "5")]
