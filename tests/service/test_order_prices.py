"""Prices and accounts the service refuses before sending an order (issue 9, item 9).

Against the real service on the embedded simulator: a price must be a positive
multiple of the instrument's minimum tick below MAX_PRICE (TWS's 110), an order or a
preview must name an account the gateway manages (TWS's 321); refused orders are
never sent (nothing in the order list) and are not titled as TWS's rejection.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from twsbridge.service.operations.order_checks import MAX_PRICE, on_grid

PROBLEM_JSON = "application/problem+json"
AAPL_LMT = {"symbol": "AAPL", "action": "BUY", "totalQuantity": 10, "orderType": "LMT"}


async def _count(http: httpx.AsyncClient) -> int:
    r = await http.get("/orders", params={"status": "all"})
    assert r.status_code == 200, r.text
    return len(r.json())


def _refused(r: httpx.Response, code: int, field: str) -> dict[str, Any]:
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith(PROBLEM_JSON)
    problem: dict[str, Any] = r.json()
    assert problem["code"] == code and problem["field"] == field, problem
    kind = "account-not-managed" if code == 321 else "price-off-tick"
    assert problem["type"] == f"urn:twsbridge:problem:{kind}", problem
    assert "TWS rejected" not in problem["title"]
    return problem


@pytest.mark.parametrize("body", [
    {**AAPL_LMT, "lmtPrice": 1e-300},
    {**AAPL_LMT, "action": "SELL", "lmtPrice": 1e-300},
    {**AAPL_LMT, "lmtPrice": 0.00001},  # less than one tick of the sub-dollar grid
    {**AAPL_LMT, "lmtPrice": 0.50005},  # below USD 1 the grid is 0.0001: still off it
    {**AAPL_LMT, "lmtPrice": 1e300},
    {**AAPL_LMT, "lmtPrice": MAX_PRICE},
    {**AAPL_LMT, "orderType": "STP", "auxPrice": 1e-300},
    {**AAPL_LMT, "orderType": "STP LMT", "lmtPrice": 431.0, "auxPrice": 5e-324},
])
async def test_prices_off_the_grid_are_refused_before_sending(
        http: httpx.AsyncClient, body: dict[str, Any]) -> None:
    before = await _count(http)
    field = "auxPrice" if "auxPrice" in body and body["auxPrice"] < 1 else "lmtPrice"
    problem = _refused(await http.post("/orders", json=body), 110, field)
    assert "minimum price variation" in problem["detail"]
    _refused(await http.post("/orders/preview", json=body), 110, field)
    assert await _count(http) == before


@pytest.mark.parametrize("lmt_price", [100.01, 0.0012])  # below USD 1: TWS's 0.0001 grid
async def test_a_positive_multiple_of_the_tick_is_placed(http: httpx.AsyncClient,
                                                         lmt_price: float) -> None:
    r = await http.post("/orders", json={**AAPL_LMT, "lmtPrice": lmt_price})  # rests
    assert r.status_code == 201, r.text
    order_id = r.json()["orderId"]
    assert (await http.delete(f"/orders/{order_id}")).status_code in (200, 202)


async def test_an_account_the_gateway_does_not_manage_is_refused(
        http: httpx.AsyncClient) -> None:
    before = await _count(http)
    body = {**AAPL_LMT, "orderType": "MKT", "account": "DU999"}
    problem = _refused(await http.post("/orders/preview", json=body), 321, "account")
    assert "Invalid account code" in problem["detail"] and "DU999" in problem["detail"]
    _refused(await http.post("/orders", json=body), 321, "account")
    assert await _count(http) == before
    values = (await http.get("/account/values")).json()
    managed = {v["account"] for v in values if v["account"]}
    assert len(managed) == 1, managed
    r = await http.post("/orders/preview", json={**body, "account": managed.pop()})
    assert r.status_code == 200, r.text  # the managed account itself is fine


def test_on_grid() -> None:
    assert on_grid(430.01, 0.01) and on_grid(0.0001, 0.0001) and on_grid(1.25, 0.25)
    for value in (0.0, -5.0, 1e-300, 5e-324, 430.001, MAX_PRICE, 1e300, float("inf"),
                  float("nan")):
        assert not on_grid(value, 0.01), value
