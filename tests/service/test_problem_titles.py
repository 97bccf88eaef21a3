"""A price the service refuses itself (off the tick grid, checked before sending) is not
titled as if TWS had refused it (issue 9, item 18)."""

from __future__ import annotations

import httpx


async def test_local_tick_check_has_its_own_problem_type(http: httpx.AsyncClient) -> None:
    before = len((await http.get("/orders", params={"status": "all"})).json())
    r = await http.post("/orders", json={"symbol": "AAPL", "action": "BUY", "totalQuantity": 1,
                                         "orderType": "LMT", "lmtPrice": 430.123})
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["type"] == "urn:twsbridge:problem:price-off-tick", problem
    assert problem["title"] == "Price off the instrument's tick grid (checked before sending)"
    assert "TWS rejected" not in problem["title"]
    assert problem["code"] == 110 and problem["field"] == "lmtPrice"  # what TWS would answer
    # nothing was sent, so nothing was journaled
    assert len((await http.get("/orders", params={"status": "all"})).json()) == before


async def test_what_tws_refuses_is_still_titled_so(http: httpx.AsyncClient) -> None:
    # far beyond the paper account's margin: TWS itself refuses it (201)
    r = await http.post("/orders", json={"symbol": "AAPL", "action": "BUY",
                                         "totalQuantity": 10_000_000, "orderType": "MKT"})
    problem = r.json()
    assert r.status_code == 400, r.text
    assert problem["type"] == "urn:twsbridge:problem:tws-rejected", problem
    assert problem["title"] == "TWS rejected the request"
