"""A lost TWS connection: the journal reconciles after the reconnect, without a restart.

In-process: one :class:`Simulator` (its broker and ledger) behind two servers.
The service's gateway port goes down while an order fills; a second server on
another port keeps an observer client connected, whose session works the
orders (so the fills go on, unseen by the service). When the gateway port
comes back, the service reconnects and its reconciliation must record the
executions it missed. The ledger is the simulator's own
(``simulator.broker.executions()``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from twsbridge.client import TWSClient
from twsbridge.service import ServiceSettings
from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.market.clock import REPLAY_START, SimClock

from .processes import eventually, free_port
from .support import auth, running_service

pytestmark = pytest.mark.timeout(180)


async def _health(http: httpx.AsyncClient) -> dict[str, Any]:
    body: dict[str, Any] = (await http.get("/health/details")).json()
    return body


async def test_reconnect_reconciles_missed_fills(tmp_path: Path) -> None:
    simulator = Simulator(seed=0, clock=SimClock(REPLAY_START, speed=2.0))
    port = free_port()
    gateway = SimServer(simulator, host="127.0.0.1", port=port)
    await gateway.start()
    settings = ServiceSettings(
        host="127.0.0.1", port=0, gateway=f"127.0.0.1:{port}", client_id=17,
        connect_timeout=5.0, request_timeout=30.0, log_level="warning",
        journal_url=f"sqlite:///{tmp_path / 'journal.sqlite3'}",
        trading_enabled=True,  # a gateway, not the embedded simulator
    )
    other: SimServer | None = None
    try:
        with running_service(settings) as url:
            async with httpx.AsyncClient(base_url=url, headers=auth(url), timeout=30.0) as http:
                async def reconciled_after(t: float) -> dict[str, Any] | None:
                    last = ((await _health(http)).get("journal") or {}).get("lastReconcile")
                    if last and last["finishedAt"] and _after(last["startedAt"], t):
                        return dict(last)
                    return None

                await eventually(lambda: reconciled_after(0), "first reconciliation", 30)
                r = await http.post("/orders", json={"symbol": "MSFT", "action": "BUY",
                                                     "totalQuantity": 60_000,
                                                     "orderType": "MKT"})
                assert r.status_code == 201, r.text
                order_id = r.json()["orderId"]

                async def started() -> bool:
                    order = (await http.get(f"/orders/{order_id}")).json()
                    return bool(order["filled"])

                await eventually(started, "first fill", 30)
                await gateway.stop()  # the service loses TWS mid-order
                await eventually(lambda: _disconnected(http), "disconnected", 30)
                lost_at = time.time()
                seen = len((await http.get("/executions")).json())

                other = SimServer(simulator, host="127.0.0.1", port=0)
                await other.start()
                async with TWSClient("127.0.0.1", other.port, 99):
                    async def missed() -> bool:
                        return len(simulator.broker.executions()) >= seen + 3

                    await eventually(missed, "fills while the service is away", 30)
                    gateway = SimServer(simulator, host="127.0.0.1", port=port)
                    await gateway.start()
                    summary = await eventually(lambda: reconciled_after(lost_at),
                                               "reconciliation after the reconnect", 60)

                    async def done() -> bool:
                        order = (await http.get(f"/orders/{order_id}")).json()
                        return order["status"] == "Filled" and all(
                            e["commission"] for e in order["executions"])

                    await eventually(done, "the order filled", 60)
                fills = (await http.get("/executions")).json()
        ledger = {e.execId: c.commission for e, c, _ in simulator.broker.executions()}
        print(f"\nreconnect: {seen} executions journaled before the drop, "
              f"{summary['executionsMissing']} reconciled, {len(ledger)} in the ledger")
        assert summary["error"] is None
        assert summary["executionsMissing"] >= 3 and summary["commissionsMissing"] >= 3
        assert sorted(f["execId"] for f in fills) == sorted(ledger)
        assert {f["execId"]: f["commission"]["commission"] for f in fills} == ledger
    finally:
        await gateway.stop()
        if other is not None:
            await other.stop()


def _after(iso: str, t: float) -> bool:
    import datetime as dt

    return dt.datetime.fromisoformat(iso).timestamp() >= t


async def _disconnected(http: httpx.AsyncClient) -> bool:
    return (await _health(http))["connected"] is False
