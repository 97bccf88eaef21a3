"""Kill -9 the service while orders fill; restart it; the journal misses nothing.

Three real processes: ``twsbridge sim`` (fast clock), ``twsbridge serve`` on
that gateway with the journal under test (SQLite file or PostgreSQL), and this
test talking HTTP. Large market orders fill over many simulated seconds (the
simulator gives an order the quote's size, then the traded volume of each
step). The service is killed with SIGKILL while they fill, the simulator keeps
filling, and the service is restarted on the same journal; its reconciliation
(reqExecutions, reqCompletedOrders, reqOpenOrders) must record what it missed.

The simulator works orders from the poll loops of its connected sessions, so
an observer client (id 99, a raw ``TWSClient``) stays connected throughout:
without it nothing would fill while the service is down (TWS works orders
whether or not an API client is connected; the observer stands in for that).

The simulator's ledger is read, once every order is done and the service is
stopped, by a separate raw ``TWSClient`` with the service's client id (17):
reqExecutions answers the day's executions with their commission reports,
as TWS does. The journal must hold exactly those executions and commissions,
each once.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from twsbridge.client import TWSClient
from twsbridge.service.journal import CommissionRecord, ExecutionRecord, Journal

from .processes import Process, eventually, free_port, wait_for_port
from .support import provision_keys

pytestmark = pytest.mark.timeout(300)

CLIENT_ID = 17
OBSERVER_ID = 99
SPEED = "2"  # simulated seconds per real second
# Above the quote size, so they fill in several executions; MSFT's takes ~12 s.
# Together within the paper account's margin ($1M).
ORDERS: list[dict[str, Any]] = [
    {"symbol": "AAPL", "action": "BUY", "totalQuantity": 600, "orderType": "MKT"},
    {"symbol": "GOOG", "action": "BUY", "totalQuantity": 250, "orderType": "MKT"},
    {"symbol": "IBM", "action": "SELL", "totalQuantity": 1500, "orderType": "LMT"},  # at the bid
    {"symbol": "MSFT", "action": "BUY", "totalQuantity": 80_000, "orderType": "MKT"},
]


def _serve(port: int, sim_port: int, journal_url: str, log: Path) -> Process:
    return Process(
        ["serve", "--port", str(port), "--gateway", f"127.0.0.1:{sim_port}",
         "--client-id", str(CLIENT_ID), "--journal-url", journal_url, "--log-level", "info",
         "--enable-trading"],  # a gateway (the sim process), not the embedded simulator
        log,
    )


async def _reconciled(http: httpx.AsyncClient, started_after: float) -> dict[str, Any] | None:
    health = (await http.get("/health/details")).json()
    last = (health.get("journal") or {}).get("lastReconcile")
    if not health["connected"] or not last or not last["finishedAt"]:
        return None
    return last if _epoch(last["startedAt"]) >= started_after else None


def _epoch(iso: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(iso).timestamp()


async def _journal_figures(url: str) -> tuple[int, int, dict[str, float | None], set[str]]:
    """(rows, distinct execIds, execId -> commission, execIds with source 'reconcile')."""
    journal = Journal(url)
    await journal.open()
    try:
        async with journal.session() as s:
            rows, distinct = (await s.execute(
                text("SELECT count(*), count(DISTINCT exec_id) FROM executions"))).one()
            commissions = dict((await s.execute(
                select(CommissionRecord.exec_id, CommissionRecord.commission))).all())
            reconciled = set((await s.scalars(select(ExecutionRecord.exec_id).where(
                ExecutionRecord.source == "reconcile"))).all())
            assert await s.scalar(select(func.count()).select_from(CommissionRecord)) == len(
                commissions)
    finally:
        await journal.close()
    return int(rows), int(distinct), commissions, reconciled


async def test_kill_and_restart_loses_no_execution(journal_url: str, tmp_path: Path) -> None:
    sim_port, http_port = free_port(), free_port()
    sim = Process(["sim", "--port", str(sim_port), "--speed", SPEED], tmp_path / "sim.log")
    service: Process | None = None
    try:
        wait_for_port(sim_port, sim)
        base = f"http://127.0.0.1:{http_port}"
        keys = provision_keys(journal_url)
        async with httpx.AsyncClient(base_url=base, headers=keys.headers("trade"),
                                     timeout=30.0) as http, TWSClient(
            "127.0.0.1", sim_port, OBSERVER_ID
        ):
            service = _serve(http_port, sim_port, journal_url, tmp_path / "serve-1.log")
            await eventually(lambda: _reconciled(http, 0), "service up and reconciled", 60)

            placed = []
            for body in ORDERS:
                if body["orderType"] == "LMT":
                    quote = (await http.get("/quotes", params={"symbol": body["symbol"]})).json()
                    body["lmtPrice"] = quote["bid"] if body["action"] == "SELL" else quote["ask"]
                r = await http.post("/orders", json=body)
                assert r.status_code == 201, r.text
                placed.append(r.json()["orderId"])

            async def filling() -> bool:
                big = (await http.get(f"/orders/{placed[-1]}")).json()
                return bool(big["filled"]) and big["filled"] >= big["totalQuantity"] * 0.1

            await eventually(filling, "the large order partly filled", 60)
            big = (await http.get(f"/orders/{placed[-1]}")).json()
            assert big["status"] != "Filled", "filled before the kill: make it larger"

            service.kill9()  # fills go on in the simulator meanwhile
            killed_at = time.time()
            before, _, _, _ = await _journal_figures(journal_url)
            await asyncio.sleep(3.0)

            service = _serve(http_port, sim_port, journal_url, tmp_path / "serve-2.log")
            summary = await eventually(lambda: _reconciled(http, killed_at),
                                       "reconciliation after the restart", 60)
            after, _, _, _ = await _journal_figures(journal_url)

            async def all_done() -> bool:
                return not (await http.get("/orders", params={"status": "open"})).json()

            await eventually(all_done, "every order done", 120, every=0.5)
            orders = {o["orderId"]: o for o in
                      (await http.get("/orders", params={"status": "all"})).json()}
            assert {orders[i]["status"] for i in placed} == {"Filled"}
            for body, order_id in zip(ORDERS, placed, strict=True):
                order = orders[order_id]
                assert Decimal(str(order["filled"])) == body["totalQuantity"]
                assert sum(Decimal(str(e["shares"])) for e in order["executions"]) == Decimal(
                    body["totalQuantity"])
        service.stop()
        service = None

        async with TWSClient("127.0.0.1", sim_port, CLIENT_ID) as ib:
            ledger = await ib.reqExecutions()
        sim_commissions = {f.execution.execId: f.commissionReport for f in ledger}
        rows, distinct, commissions, reconciled = await _journal_figures(journal_url)
        print(
            f"\n[{journal_url.split(':')[0]}] simulator executions: {len(ledger)}; journal: "
            f"{before} before the kill, {after} after the restart's reconciliation "
            f"({summary['executionsMissing']} executions and {summary['commissionsMissing']} "
            f"commissions reconciled), {rows} at the end; "
            f"{len(reconciled)} rows with source 'reconcile'"
        )
        assert before < after, "nothing filled while the service was down"
        assert summary["executionsMissing"] > 0 and summary["commissionsMissing"] > 0
        assert summary["error"] is None
        assert rows == distinct == len(ledger) == len(sim_commissions)
        assert set(commissions) == set(sim_commissions)
        for exec_id, report in sim_commissions.items():
            assert report is not None, f"the simulator sent no commission for {exec_id}"
            assert commissions[exec_id] == pytest.approx(report.commission)
        assert len(reconciled) >= summary["executionsMissing"]
    finally:
        if service is not None:
            service.stop()
        sim.stop()
