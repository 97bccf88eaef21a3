"""Order, execution and account routes over HTTP, against the embedded simulator."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from .processes import eventually

PROBLEM_JSON = "application/problem+json"


async def _order(http: httpx.AsyncClient, order_id: int) -> dict[str, Any]:
    r = await http.get(f"/orders/{order_id}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _filled(http: httpx.AsyncClient, order_id: int) -> dict[str, Any] | None:
    order = await _order(http, order_id)
    done = order["status"] == "Filled" and order["executions"] and all(
        e["commission"] for e in order["executions"])
    return order if done else None


async def _quote(http: httpx.AsyncClient, symbol: str) -> dict[str, Any]:
    r = await http.get("/quotes", params={"symbol": symbol})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = r.json()
    return body


async def test_market_order_fills_with_commission_and_position(http: httpx.AsyncClient) -> None:
    r = await http.post("/orders", json={"symbol": "IBM", "action": "BUY", "totalQuantity": 100,
                                         "orderType": "MKT", "orderRef": "test-mkt"})
    assert r.status_code == 201, r.text
    placed = r.json()
    order_id = placed["orderId"]
    assert r.headers["location"] == f"/orders/{order_id}"
    assert placed["contract"]["conId"] == 8314 and placed["action"] == "BUY"
    assert placed["status"] in ("PreSubmitted", "Submitted", "Filled")

    order = await eventually(lambda: _filled(http, order_id), "the fill", 30)
    assert order["filled"] == 100 and order["remaining"] == 0 and order["permId"]
    [fill] = order["executions"]
    assert fill["side"] == "BOT" and fill["shares"] == 100 and fill["source"] == "live"
    assert fill["orderRef"] == "test-mkt" and fill["timeUtc"].startswith("2013-03-01")
    assert fill["commission"]["commission"] > 0 and fill["commission"]["currency"] == "USD"
    assert order["avgFillPrice"] == fill["price"]

    fills = (await http.get("/executions", params={"symbol": "IBM"})).json()
    assert fill["execId"] in [f["execId"] for f in fills]
    assert (await http.get("/executions", params={"since": "2030-01-01T00:00:00"})).json() == []
    assert (await http.get("/executions", params={"conId": 1})).json() == []

    positions = (await http.get("/positions")).json()
    ibm = [p for p in positions if p["contract"]["conId"] == 8314]
    assert ibm and ibm[0]["position"] >= 100 and ibm[0]["account"].startswith("DU")

    completed = (await http.get("/orders", params={"status": "completed"})).json()
    assert order_id in [o["orderId"] for o in completed]
    health = (await http.get("/health/details")).json()
    assert health["journal"]["messages"] > 0 and health["journal"]["lagMax"] < 5
    assert health["journal"]["lastReconcile"]["error"] is None


async def test_limit_order_modify_and_cancel(http: httpx.AsyncClient) -> None:
    quote = await _quote(http, "MSFT")
    far = round(quote["bid"] * 0.8, 2)
    r = await http.post("/orders", json={"symbol": "MSFT", "action": "BUY", "totalQuantity": 10,
                                         "orderType": "LMT", "lmtPrice": far, "tif": "GTC"})
    assert r.status_code == 201, r.text
    order_id = r.json()["orderId"]
    assert r.json()["status"] in ("PreSubmitted", "Submitted")
    open_ids = [o["orderId"] for o in (await http.get("/orders")).json()]
    assert order_id in open_ids

    lower = round(far - 0.5, 2)
    r = await http.put(f"/orders/{order_id}", json={"lmtPrice": lower, "totalQuantity": 20})
    assert r.status_code == 200, r.text

    async def modified() -> dict[str, Any] | None:
        o = await _order(http, order_id)
        return o if o["lmtPrice"] == lower and o["totalQuantity"] == 20 else None

    await eventually(modified, "the modification", 10)
    _problem(await http.put(f"/orders/{order_id}", json={"lmtPrice": lower + 0.001}), 400)
    _problem(await http.put(f"/orders/{order_id}", json={}), 422)

    r = await http.delete(f"/orders/{order_id}")
    assert r.status_code == 200, r.text
    assert r.json()["status"] in ("PendingCancel", "Cancelled")
    await eventually(lambda: _cancelled(http, order_id), "the cancel", 10)
    problem = _problem(await http.delete(f"/orders/{order_id}"), 409)
    assert problem["code"] == 161
    problem = _problem(await http.put(f"/orders/{order_id}", json={"lmtPrice": far}), 409)
    assert order_id not in [o["orderId"] for o in (await http.get("/orders")).json()]


async def _cancelled(http: httpx.AsyncClient, order_id: int) -> bool:
    return (await _order(http, order_id))["status"] == "Cancelled"


async def test_unknown_order_is_404_with_10147(http: httpx.AsyncClient) -> None:
    problem = _problem(await http.delete("/orders/987654321"), 404)
    assert problem["code"] == 10147
    _problem(await http.get("/orders/987654321"), 404)
    _problem(await http.put("/orders/987654321", json={"lmtPrice": 1.0}), 404)


async def test_preview_places_nothing(http: httpx.AsyncClient) -> None:
    before = len((await http.get("/orders", params={"status": "all"})).json())
    r = await http.post("/orders/preview", json={"symbol": "AAPL", "action": "BUY",
                                                 "totalQuantity": 100, "orderType": "MKT"})
    assert r.status_code == 200, r.text
    preview = r.json()
    assert preview["commission"] > 0 and preview["commissionCurrency"] == "USD"
    assert preview["initMarginChange"] > 0
    assert preview["initMarginAfter"] > preview["initMarginBefore"]
    assert len((await http.get("/orders", params={"status": "all"})).json()) == before


async def test_bad_orders_are_problems_naming_the_field(http: httpx.AsyncClient) -> None:
    base = {"symbol": "AAPL", "action": "BUY", "totalQuantity": 100}
    before = len((await http.get("/orders", params={"status": "all"})).json())
    cases = [
        ({**base, "orderType": "LMT"}, "lmtPrice"),
        ({**base, "orderType": "MKT", "lmtPrice": 400}, "lmtPrice"),
        ({**base, "orderType": "STP"}, "auxPrice"),
        ({**base, "orderType": "MKT", "totalQuantity": 0}, "totalQuantity"),
        ({**base, "orderType": "XYZ"}, "orderType"),
        ({**base, "orderType": "MKT", "action": "HOLD"}, "action"),
        ({**base, "orderType": "MKT", "lmtprice": 1}, "lmtprice"),
        ({"action": "BUY", "totalQuantity": 1, "orderType": "MKT"}, "symbol"),
    ]
    for body, field in cases:
        problem = _problem(await http.post("/orders", json=body), 422)
        assert field in problem["detail"], (body, problem)

    problem = _problem(await http.post("/orders", json={**base, "orderType": "LMT",
                                                        "lmtPrice": 430.123}), 400)
    assert problem["code"] == 110 and "lmtPrice" in problem["detail"]
    problem = _problem(await http.post("/orders", json={**base, "symbol": "XXXX",
                                                        "orderType": "MKT"}), 404)
    assert problem["code"] == 200
    assert len((await http.get("/orders", params={"status": "all"})).json()) == before


async def test_tws_rejection_leaves_the_order_rejected(http: httpx.AsyncClient) -> None:
    # far beyond the paper account's margin: TWS answers Inactive and error 201
    body = {"symbol": "GOOG", "action": "BUY", "totalQuantity": 100_000, "orderType": "MKT"}
    problem = _problem(await http.post("/orders", json=body), 400)
    assert problem["code"] == 201 and "MARGIN" in problem["detail"].upper()
    rejected = [o for o in (await http.get("/orders", params={"status": "all"})).json()
                if o["status"] == "Rejected" and o["contract"]["symbol"] == "GOOG"]
    assert rejected and rejected[0]["errorCode"] == 201
    assert rejected[0]["orderId"] not in [o["orderId"]
                                          for o in (await http.get("/orders")).json()]


async def test_account_routes(http: httpx.AsyncClient) -> None:
    summary = (await http.get("/account/summary")).json()
    tags = {v["tag"] for v in summary}
    assert {"NetLiquidation", "BuyingPower", "AvailableFunds"} <= tags
    some = (await http.get("/account/summary", params={"tags": "NetLiquidation"})).json()
    assert [v["tag"] for v in some] == ["NetLiquidation"]
    values = (await http.get("/account/values")).json()
    assert any(v["tag"] == "CashBalance" and v["currency"] == "USD" for v in values)
    assert all(v["account"].startswith("DU") for v in values)
    _problem(await http.get("/account/values", params={"account": "U999"}), 404)
    await asyncio.sleep(0)
    pnl = (await http.get("/pnl")).json()
    assert pnl["account"].startswith("DU")
    assert pnl["dailyPnL"] is not None and pnl["time"]


async def test_bracket_parent_then_child(http: httpx.AsyncClient) -> None:
    quote = await _quote(http, "AAPL")
    entry, stop = round(quote["bid"] - 5, 2), round(quote["bid"] - 20, 2)
    r = await http.post("/orders", json={"symbol": "AAPL", "action": "BUY", "totalQuantity": 10,
                                         "orderType": "LMT", "lmtPrice": entry,
                                         "transmit": False})
    assert r.status_code == 201, r.text
    parent = r.json()
    assert parent["transmit"] is False and parent["status"] == "PendingSubmit"
    r = await http.post("/orders", json={"symbol": "AAPL", "action": "SELL", "totalQuantity": 10,
                                         "orderType": "STP", "auxPrice": stop,
                                         "parentId": parent["orderId"]})
    assert r.status_code == 201, r.text
    child = r.json()
    assert child["parentId"] == parent["orderId"]
    working = {o["orderId"]: o for o in (await http.get("/orders")).json()}
    assert {parent["orderId"], child["orderId"]} <= set(working)
    for order_id in (child["orderId"], parent["orderId"]):
        r = await http.delete(f"/orders/{order_id}")
        assert r.status_code in (200, 409), r.text  # the child may go with its parent
    await eventually(lambda: _cancelled(http, parent["orderId"]), "parent cancelled", 10)
    await eventually(lambda: _cancelled(http, child["orderId"]), "child cancelled", 10)
