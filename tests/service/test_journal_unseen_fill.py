"""An order TWS filled while the service never saw its status: the journal says Filled.

The adversity run's seed 23 ended with an order ``Filled`` in the simulator's
ledger, its executions journaled, and the journal's row still ``PendingSubmit``
(never acknowledged): the service had missed its openOrder and orderStatus, and
the reconciliation that would have brought its completedOrder failed on a
message-rate violation (error 100) with the connection up, so nothing retried it.

Reproduced on real parts with the simulator's faults: a stall, begun as the
simulator answers the order's contract look-up, holds the service's placeOrder
while the service stops (so it never sees the answers);
the simulator then takes and fills the order (an observer client keeps it
working). The service starts again during a message-rate window: its
reconciliation's reqExecutions goes through, reqCompletedOrders is dropped with
error 100. An order with executions is acknowledged by definition, and a failed
reconciliation is tried again: the journal must say ``Filled``, with its permId.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from twsbridge.client import TWSClient
from twsbridge.service import ServiceSettings
from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.gateway.families.contracts import Contracts
from twsbridge.sim.market.clock import REPLAY_START, SimClock

from .processes import eventually, free_port
from .support import auth, running_service

pytestmark = pytest.mark.timeout(240)

OBSERVER_ID = 99
reconcile_module = importlib.import_module("twsbridge.service.journal.reconcile")


def _settings(port: int, journal_url: str) -> ServiceSettings:
    return ServiceSettings(
        host="127.0.0.1", port=0, gateway=f"127.0.0.1:{port}", client_id=17,
        connect_timeout=5.0, request_timeout=5.0, order_ack_timeout=1.0,
        log_level="warning", journal_url=journal_url, trading_enabled=True,
        max_order_quantity=None, max_order_notional=None, orders_per_minute=None,
        require_preview=False,
    )


async def _reconciled(http: httpx.AsyncClient) -> dict[str, Any] | None:
    last = ((await http.get("/health/details")).json().get("journal") or {}).get("lastReconcile")
    return dict(last) if last and last.get("finishedAt") else None


async def test_an_order_filled_unseen_is_filled_in_the_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stall_after_lookup: list[float] = []
    answer_lookup = Contracts.req_contract_details

    def look_up(self: Contracts, msg: Any) -> None:
        answer_lookup(self, msg)
        if stall_after_lookup and self.ctx.client_id == 17:
            self.ctx.sim.faults.stall(stall_after_lookup.pop())  # what comes next waits

    monkeypatch.setattr(Contracts, "req_contract_details", look_up)
    monkeypatch.setattr(reconcile_module, "REQUEST_TIMEOUT", 5.0)  # TWS dropped one: retry soon
    simulator = Simulator(seed=5, clock=SimClock(REPLAY_START))
    port = free_port()
    gateway = SimServer(simulator, host="127.0.0.1", port=port)
    await gateway.start()
    journal_url = f"sqlite:///{tmp_path / 'journal.sqlite3'}"
    try:
        async with TWSClient("127.0.0.1", port, OBSERVER_ID):  # keeps the orders worked
            with running_service(_settings(port, journal_url)) as url:
                async with httpx.AsyncClient(base_url=url, headers=auth(url, "trade"),
                                             timeout=30.0) as http:
                    await eventually(lambda: _reconciled(http), "first reconciliation", 60)
                    stall_after_lookup.append(8.0)  # the placeOrder waits in the simulator
                    r = await http.post("/orders", json={
                        "symbol": "AAPL", "action": "BUY", "totalQuantity": 100,
                        "orderType": "MKT"})
                    assert r.status_code == 201, r.text
                    order = r.json()
                    assert order["status"] == "PendingSubmit" and order["permId"] is None
            # the service is gone; the stall ends; the simulator takes and fills the order
            order_id = order["orderId"]

            async def filled_in_ledger() -> bool:
                rec = simulator.broker.find(17, order_id)
                return rec is not None and rec.status == "Filled"

            await eventually(filled_in_ledger, "the order filled in the simulator", 60)
            # the service comes back during a message-rate window: 3 messages a
            # session (startApi, reqPnL, reqExecutions), then error 100
            simulator.faults.wall_clock = lambda: 0.0  # one frozen second: exact counts
            window = asyncio.create_task(simulator.faults.message_rate(6.0, limit=3))
            try:
                with running_service(_settings(port, journal_url)) as url:
                    async with httpx.AsyncClient(base_url=url, headers=auth(url, "read"),
                                                 timeout=30.0) as http:
                        await window
                        violations = simulator.faults.log[-1]
                        async def journaled() -> dict[str, Any] | None:
                            row: dict[str, Any] = (await http.get(f"/orders/{order_id}")).json()
                            return row if row["status"] == "Filled" else None

                        async def reconciled_again() -> dict[str, Any] | None:
                            last = await _reconciled(http)
                            return last if last and last["error"] is None else None

                        try:
                            row = await eventually(journaled, "the journal says Filled", 20)
                            # and the failed reconciliation was tried again (not left for
                            # a reconnect that may never come)
                            await eventually(reconciled_again, "a reconciliation", 60)
                        except TimeoutError:
                            row = (await http.get(f"/orders/{order_id}")).json()
                            last = await _reconciled(http)
                            raise AssertionError(
                                f"the journal says {row['status']} (permId {row['permId']}, "
                                f"executions {len(row['executions'])}); last reconciliation "
                                f"{last}; fault {violations}") from None
            finally:
                window.cancel()
                simulator.faults.wall_clock = time.monotonic
    finally:
        await gateway.stop()
    rec = simulator.broker.find(17, order_id)
    assert rec is not None
    assert row["permId"] == rec.perm_id
    assert row["filled"] == row["totalQuantity"] and row["executions"]
    assert row["completedTime"]
