"""Money and prices in the service's answers carry no binary-float noise (issue 9, item 17).

Real answers of the real service on the embedded simulator, after real fills: every JSON
number has at most 8 decimals (a price, an average, a commission), every money amount
(P&L, margins, equity) at most its currency's minor unit (USD: 2), and every numeric
account value TWS sends as text at most 8 decimals. Before the fix ``/pnl`` answered
``"dailyPnL": -12.670257000003872`` and the what-if ``equityWithLoanChange`` was
``-1.6702570000197738``.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from websockets.asyncio.client import connect as ws_connect

from .processes import eventually
from .support import auth

MONEY_FIELDS = {
    "dailyPnL", "unrealizedPnL", "realizedPnL", "realizedPNL", "marketValue",
    "initMarginBefore", "initMarginChange", "initMarginAfter",
    "maintMarginBefore", "maintMarginChange", "maintMarginAfter",
    "equityWithLoanBefore", "equityWithLoanChange", "equityWithLoanAfter",
}


def _decimals(number: float) -> int:
    """Decimal places of ``number`` as JSON writes it (Python's shortest repr)."""
    exponent = Decimal(repr(number)).as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def _noisy(value: Any, path: str = "$") -> list[str]:
    """Every float in ``value`` with more decimals than its kind allows, by JSON path."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}"
            if key in MONEY_FIELDS and isinstance(item, float) and _decimals(item) > 2:
                found.append(f"{where} = {item!r} (money: 2 decimals at most)")
            else:
                found += _noisy(item, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _noisy(item, f"{path}[{i}]")
    elif isinstance(value, float):
        if _decimals(value) > 8 or round(value, 8) != value:
            found.append(f"{path} = {value!r} (8 decimals at most)")
    return found


async def _fill(http: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    r = await http.post("/orders", json=body)
    assert r.status_code == 201, r.text
    order_id = r.json()["orderId"]

    async def filled() -> dict[str, Any] | None:
        order: dict[str, Any] = (await http.get(f"/orders/{order_id}")).json()
        done = order["status"] == "Filled" and all(e["commission"] for e in order["executions"])
        return order if done else None

    return await eventually(filled, f"order {order_id} filled with its commissions", 30)


async def test_no_float_noise_in_money_and_prices(http: httpx.AsyncClient) -> None:
    # odd quantities: the commission and the average cost are fractions of a cent
    await _fill(http, {"symbol": "AAPL", "action": "BUY", "totalQuantity": 37,
                       "orderType": "MKT"})
    await _fill(http, {"symbol": "MSFT", "action": "BUY", "totalQuantity": 113,
                       "orderType": "MKT"})
    await _fill(http, {"symbol": "AAPL", "action": "SELL", "totalQuantity": 11,
                       "orderType": "MKT"})  # a realized P&L
    await _fill(http, {"symbol": "EUR", "secType": "CASH", "currency": "USD",
                       "action": "BUY", "totalQuantity": 20001, "orderType": "MKT"})

    async def pnl() -> dict[str, Any] | None:
        body: dict[str, Any] = (await http.get("/pnl")).json()
        return body if body["dailyPnL"] is not None else None

    answers: dict[str, Any] = {"/pnl": await eventually(pnl, "the account P&L", 30)}
    for path in ("/positions", "/executions", "/orders?status=all", "/account/summary",
                 "/account/values", "/quotes?symbol=AAPL", "/contracts/265598"):
        r = await http.get(path)
        assert r.status_code == 200, (path, r.text)
        answers[path] = r.json()
    r = await http.post("/orders/preview", json={"symbol": "AAPL", "action": "BUY",
                                                 "totalQuantity": 37, "orderType": "MKT"})
    assert r.status_code == 200, r.text
    answers["/orders/preview"] = r.json()

    assert any(p["contract"]["symbol"] == "AAPL" for p in answers["/positions"])
    assert any(e["commission"] for e in answers["/executions"])
    noise = [f"{path}: {n}" for path, body in answers.items() for n in _noisy(body)]
    assert not noise, "\n".join(noise)

    # TWS's own account texts: numbers as decimal text, 8 decimals at most
    for row in answers["/account/values"] + answers["/account/summary"]:
        try:
            number = Decimal(row["value"])
        except InvalidOperation:
            continue
        exponent = number.as_tuple().exponent
        assert isinstance(exponent, int) and exponent >= -8, row


async def test_graphql_answers_are_rounded_too(http: httpx.AsyncClient) -> None:
    await _fill(http, {"symbol": "IBM", "action": "BUY", "totalQuantity": 7, "orderType": "MKT"})
    query = ("{ pnl { dailyPnL unrealizedPnL realizedPnL } positions { avgCost } "
             "executions { price avgPrice commission { commission realizedPNL } } }")
    r = await http.post("/graphql", json={"query": query})
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    data = r.json()["data"]
    assert data["positions"] and data["executions"]
    assert not _noisy(data), _noisy(data)


async def test_openapi_still_says_number(http: httpx.AsyncClient) -> None:
    schemas = (await http.get("/openapi.json")).json()["components"]["schemas"]

    def types(model: str, field: str) -> set[str]:
        prop = schemas[model]["properties"][field]
        return {t.get("type") for t in prop.get("anyOf", [prop])} - {"null"}

    assert types("PositionPublic", "avgCost") == {"number"}
    assert types("PnLPublic", "dailyPnL") == {"number"}
    assert types("ExecutionPublic", "price") == {"number"}
    assert types("CommissionPublic", "realizedPNL") == {"number"}
    assert "8 decimals" in schemas["PositionPublic"]["properties"]["avgCost"]["description"]


async def test_streams_are_rounded_too(http: httpx.AsyncClient, service_url: str) -> None:
    """/ws/orders events (fills, commissions, realized P&L) and /ws/account's portfolio."""
    ws = service_url.replace("http://", "ws://")
    headers = auth(service_url, "read")
    async with ws_connect(f"{ws}/ws/orders", additional_headers=headers) as events:
        assert json.loads(await asyncio.wait_for(events.recv(), 10))["type"] == "snapshot"
        await _fill(http, {"symbol": "MSFT", "action": "BUY", "totalQuantity": 77,
                           "orderType": "MKT"})
        await _fill(http, {"symbol": "MSFT", "action": "SELL", "totalQuantity": 31,
                           "orderType": "MKT"})
        seen: list[dict[str, Any]] = []
        while sum(e["event"] == "commission" for e in seen) < 2:
            msg = json.loads(await asyncio.wait_for(events.recv(), 10))
            seen += msg.get("events", [])
    assert any(e.get("realizedPNL") is not None for e in seen), seen
    assert not _noisy(seen), _noisy(seen)

    async with ws_connect(f"{ws}/ws/account", additional_headers=headers) as account:
        snapshot = json.loads(await asyncio.wait_for(account.recv(), 10))
    portfolio = [u for u in snapshot["updates"] if u["kind"] == "portfolio"]
    assert any(u["contract"]["symbol"] == "MSFT" for u in portfolio), portfolio
    assert not _noisy(portfolio), _noisy(portfolio)
