"""Restarting the default service (kill -9, then ``twsbridge serve`` again) on one journal.

Two real ``twsbridge serve`` processes in turn, each with its embedded
simulator, on one SQLite journal. Run 1 buys AAPL and leaves a limit order
resting, then is killed with SIGKILL; run 2 buys IBM. An embedded simulator
that starts afresh hands out the same orderIds, permIds (and execIds) again:
the journal once overwrote run 1's AAPL order with run 2's IBM order ("IBM qty
5 ... executions [AAPL 100]"), dropped the IBM fill and left the resting order
``Submitted`` for good. Whether the simulator starts afresh or continues its
account, the journal must keep three orders with their own executions, and
the resting order must be what the gateway says: still open there, or settled
(with the reason) when the gateway no longer knows it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from .processes import Process, eventually, free_port
from .support import provision_keys

pytestmark = pytest.mark.timeout(300)

BUY_AAPL = {"symbol": "AAPL", "action": "BUY", "totalQuantity": 100, "orderType": "MKT"}
REST_AAPL = {"symbol": "AAPL", "action": "BUY", "totalQuantity": 10, "orderType": "LMT",
             "lmtPrice": 1.0}
BUY_IBM = {"symbol": "IBM", "action": "BUY", "totalQuantity": 5, "orderType": "MKT"}


def _serve(port: int, journal_url: str, log: Path) -> Process:
    return Process(["serve", "--port", str(port), "--journal-url", journal_url,
                    "--log-level", "info"], log)


async def _reconciled(http: httpx.AsyncClient) -> dict[str, Any] | None:
    last = ((await http.get("/health/details")).json().get("journal") or {}).get("lastReconcile")
    return dict(last) if last and last.get("finishedAt") else None


async def _place(http: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    r = await http.post("/orders", json=body)
    assert r.status_code == 201, r.text
    placed: dict[str, Any] = r.json()
    if body["orderType"] != "MKT":
        return placed

    async def filled() -> dict[str, Any] | None:
        order: dict[str, Any] = (await http.get(f"/orders/{placed['orderId']}")).json()
        return order if order["status"] == "Filled" and order["executions"] else None

    return await eventually(filled, f"{body['symbol']} filled", 60)


async def test_restarting_the_default_service_merges_no_orders(tmp_path: Path) -> None:
    journal_url = f"sqlite:///{tmp_path / 'journal.sqlite3'}"
    keys = provision_keys(journal_url)
    first: Process | None = None
    second: Process | None = None
    try:
        port = free_port()
        first = _serve(port, journal_url, tmp_path / "serve-1.log")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                     headers=keys.headers("trade"), timeout=30.0) as http:
            await eventually(lambda: _reconciled(http), "run 1 up and reconciled", 90)
            aapl = await _place(http, BUY_AAPL)
            resting = await _place(http, REST_AAPL)
            assert resting["status"] in ("Submitted", "PreSubmitted"), resting
        first.kill9()

        port = free_port()
        second = _serve(port, journal_url, tmp_path / "serve-2.log")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                     headers=keys.headers("trade"), timeout=30.0) as http:
            await eventually(lambda: _reconciled(http), "run 2 up and reconciled", 90)
            ibm = await _place(http, BUY_IBM)
            orders = {(o["permId"], o["contract"]["symbol"], str(o["totalQuantity"])): o
                      for o in (await http.get("/orders", params={"status": "all"})).json()}
            open_ids = {o["permId"] for o in (await http.get(
                "/orders", params={"status": "open"})).json()}
            fills = (await http.get("/executions")).json()
    finally:
        for proc in (first, second):
            if proc is not None:
                proc.stop()
    print(f"\nrestart: run 1 AAPL order {aapl['orderId']} permId {aapl['permId']}, run 2 IBM "
          f"order {ibm['orderId']} permId {ibm['permId']}")

    def executions(order: dict[str, Any]) -> list[tuple[str, str]]:
        return [(e["symbol"], str(e["shares"])) for e in order["executions"]]

    assert executions(orders[(aapl["permId"], "AAPL", "100")]) == [("AAPL", "100")]
    assert executions(orders[(ibm["permId"], "IBM", "5")]) == [("IBM", "5")]
    assert orders[(ibm["permId"], "IBM", "5")]["status"] == "Filled"
    assert len(orders) == 3, list(orders)
    assert sorted((f["symbol"], str(f["shares"])) for f in fills) == [
        ("AAPL", "100"), ("IBM", "5")]
    rest = orders[(resting["permId"], "AAPL", "10")]
    if rest["status"] in ("Submitted", "PreSubmitted"):  # the gateway kept the account
        assert rest["permId"] in open_ids
    else:  # a fresh gateway: it does not know the order any more
        assert rest["status"] in ("Lost", "Cancelled") and rest["errorMessage"], rest
