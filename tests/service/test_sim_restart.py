"""A restarted default service (embedded simulator) continues the same paper account.

Issue 9, item 10: `twsbridge serve` with no gateway started its simulator afresh
at each start, handing out orderId, permId and execId again; the journal then
merged run 1's order with run 2's and lost run 2's fill, and after a kill -9
resting orders stayed `Submitted` for good. Here a real `twsbridge serve`
process trades, is killed with -9 and started again on the same journal (its
simulator account file sits beside it): the second run's order and fill are
its own, every execution of the first run is still reported by the gateway
(reqExecutions, through --sim-port) and the journal, the resting order from the
first run is still working (it cancels), and positions carry over. A graceful
restart with --sim-reset then starts a fresh account and keeps the old file.
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from twsbridge.client import TWSClient

from .processes import Process, eventually, free_port, wait_for_port
from .support import provision_keys

pytestmark = pytest.mark.timeout(300)

OBSERVER_ID = 98


def _serve(port: int, sim_port: int, journal_url: str, log: Path, *extra: str) -> Process:
    return Process(["serve", "--port", str(port), "--sim-port", str(sim_port),
                    "--journal-url", journal_url, "--log-level", "info", *extra], log)


async def _up(http: httpx.AsyncClient) -> bool:
    """The service is serving and connected to its simulator."""
    return (await http.get("/positions")).status_code == 200


async def _done(http: httpx.AsyncClient, order_id: int) -> dict[str, Any] | None:
    order = (await http.get(f"/orders/{order_id}")).json()
    return order if order.get("status") == "Filled" else None


async def _place(http: httpx.AsyncClient, body: dict[str, Any]) -> int:
    r = await http.post("/orders", json=body)
    assert r.status_code == 201, r.text
    order_id: int = r.json()["orderId"]
    return order_id


async def _gateway_executions(sim_port: int) -> dict[str, tuple[str, Decimal]]:
    """execId -> (symbol, shares) as the simulator reports them (reqExecutions)."""
    async with TWSClient("127.0.0.1", sim_port, OBSERVER_ID, timeout=30) as ib:
        fills = await ib.reqExecutions()
    return {f.execution.execId: (f.contract.symbol, f.execution.shares) for f in fills}


async def test_a_killed_and_restarted_service_continues_the_simulator_account(
        tmp_path: Path) -> None:
    journal_url = f"sqlite:///{tmp_path / 'journal.sqlite3'}"
    http_port, sim_port = free_port(), free_port()
    keys = provision_keys(journal_url)
    service = _serve(http_port, sim_port, journal_url, tmp_path / "serve-1.log")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}",
                                     headers=keys.headers("trade"), timeout=30.0) as http:
            await eventually(lambda: _up(http), "service 1 up", 90)
            aapl = await _place(http, {"symbol": "AAPL", "action": "BUY", "totalQuantity": 100,
                                       "orderType": "MKT"})
            await eventually(lambda: _done(http, aapl), "AAPL filled", 60)
            quote = (await http.get("/quotes", params={"symbol": "MSFT"})).json()
            resting = await _place(http, {
                "symbol": "MSFT", "action": "BUY", "totalQuantity": 10, "orderType": "LMT",
                "tif": "GTC", "lmtPrice": round(quote["bid"] * 0.8, 2)})
            first = await _gateway_executions(sim_port)
            assert {s for s, _ in first.values()} == {"AAPL"}

            service.kill9()
            service = _serve(http_port, sim_port, journal_url, tmp_path / "serve-2.log")
            await eventually(lambda: _up(http), "service 2 up", 90)
            assert "simulator account DU1234567 continued from" in service.output()

            ibm = await _place(http, {"symbol": "IBM", "action": "BUY", "totalQuantity": 5,
                                      "orderType": "MKT"})
            ibm_order = await eventually(lambda: _done(http, ibm), "IBM filled", 60)
            assert ibm not in (aapl, resting), "run 2 reused an orderId of run 1"
            assert {(e["symbol"], Decimal(str(e["shares"]))) for e in ibm_order["executions"]} \
                == {("IBM", Decimal(5))}
            aapl_order = (await http.get(f"/orders/{aapl}")).json()
            assert aapl_order["contract"]["symbol"] == "AAPL"
            assert {e["symbol"] for e in aapl_order["executions"]} == {"AAPL"}
            assert sum(Decimal(str(e["shares"])) for e in aapl_order["executions"]) == 100
            assert ibm_order["permId"] != aapl_order["permId"]

            second = await _gateway_executions(sim_port)
            assert set(first) < set(second), "the gateway forgot run 1's executions"
            assert {second[e] for e in set(second) - set(first)} == {("IBM", Decimal(5))}
            journaled = {e["execId"] for e in (await http.get("/executions")).json()}
            assert set(second) <= journaled

            still = (await http.get(f"/orders/{resting}")).json()
            assert still["status"] == "Submitted" and still["contract"]["symbol"] == "MSFT"
            r = await http.delete(f"/orders/{resting}")
            assert r.status_code == 200, r.text
            assert r.json()["status"] == "Cancelled"
            positions = {p["contract"]["symbol"]: Decimal(str(p["position"]))
                         for p in (await http.get("/positions")).json()}
            assert positions == {"AAPL": 100, "IBM": 5}

            service.stop()
            service = _serve(http_port, sim_port, journal_url, tmp_path / "serve-3.log",
                             "--sim-reset")
            await eventually(lambda: _up(http), "service 3 up", 90)
            assert (await http.get("/positions")).json() == []
            assert await _gateway_executions(sim_port) == {}
            fresh = await _place(http, {"symbol": "AAPL", "action": "BUY", "totalQuantity": 1,
                                        "orderType": "MKT"})
            fresh_order = await eventually(lambda: _done(http, fresh), "fresh order filled", 60)
            assert fresh not in (aapl, resting, ibm)  # the id sequences go on
            assert fresh_order["permId"] not in (aapl_order["permId"], ibm_order["permId"])
            (fill,) = fresh_order["executions"]
            assert fill["execId"] not in second
            backups = list(tmp_path.glob("journal.sqlite3.sim-account.sqlite3.*.bak"))
            assert len(backups) == 1
            deadline = time.monotonic() + 10
            while "simulator account reset" not in service.output() and \
                    time.monotonic() < deadline:
                time.sleep(0.1)
            assert str(backups[0]) in service.output()
    finally:
        service.stop()


def test_the_account_file_sits_beside_the_journal(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from twsbridge.service import ServiceSettings

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for key in ("TWSBRIDGE_SIM_STATE", "TWSBRIDGE_JOURNAL_URL", "TWSBRIDGE_SIM_RESET"):
        monkeypatch.delenv(key, raising=False)
    journal = tmp_path / "j" / "orders.db"
    beside = ServiceSettings(journal_url=f"sqlite:///{journal}").sim_state_path
    assert beside == journal.with_name("orders.db.sim-account.sqlite3")
    assert ServiceSettings(journal_url=str(journal)).sim_state_path == beside
    default = ServiceSettings().sim_state_path
    assert default == tmp_path / "data" / "twsbridge" / "journal.sqlite3.sim-account.sqlite3"
    pg = ServiceSettings(journal_url="postgresql://me@db.example:5433/trading").sim_state_path
    assert pg == tmp_path / "data" / "twsbridge" / "sim-account-db.example-5433-trading.sqlite3"
    chosen = ServiceSettings(sim_state=str(tmp_path / "mine.sqlite3"), sim_reset=True)
    assert (chosen.sim_state_path, chosen.sim_reset) == (tmp_path / "mine.sqlite3", True)


async def test_twsbridge_sim_with_state_continues_its_account(tmp_path: Path) -> None:
    state = tmp_path / "paper.sqlite3"
    port = free_port()

    async def trade_and_report(log: str, *extra: str, buy: bool) -> dict[str, Any]:
        sim = Process(["sim", "--port", str(port), "--state", str(state), *extra],
                      tmp_path / log)
        try:
            wait_for_port(port, sim)
            async with TWSClient("127.0.0.1", port, 1, timeout=30) as ib:
                if buy:
                    from twsbridge.client import Contract, Order

                    await ib.placeOrder(
                        Contract(symbol="AAPL", secType="STK", exchange="SMART",
                                 currency="USD"),
                        Order(action="BUY", orderType="MKT", totalQuantity=Decimal(7)),
                    ).done(timeout=30)
                fills = await ib.reqExecutions()
                positions = await ib.reqPositions()
                next_id = await ib.reqIds()
            return {"execs": sorted(f.execution.execId for f in fills), "next": next_id,
                    "positions": [(p.contract.symbol, p.position) for p in positions]}
        finally:
            sim.kill9()

    first = await trade_and_report("sim-1.log", buy=True)
    assert first["positions"] == [("AAPL", 7)] and first["execs"]
    again = await trade_and_report("sim-2.log", buy=False)  # after kill -9
    assert again == first
    fresh = await trade_and_report("sim-3.log", "--reset", buy=False)
    assert (fresh["execs"], fresh["positions"]) == ([], [])
    assert fresh["next"] >= first["next"]  # TWS's id sequence goes on
    assert list(tmp_path.glob("paper.sqlite3.*.bak"))
