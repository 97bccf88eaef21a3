"""The service's endpoints over HTTP, against the embedded simulator."""

from __future__ import annotations

import math

import httpx

PROBLEM_JSON = "application/problem+json"


async def test_health_names_simulator_mode(http: httpx.AsyncClient) -> None:
    r = await http.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["mode"] == "simulator"
    assert body["status"] == "up"
    details = (await http.get("/health/details")).json()
    assert details["status"] == "up" and details["reasons"] == []
    assert details["mode"] == "simulator"
    assert details["simulated"] is True
    assert details["connected"] is True
    assert 100 <= details["serverVersion"] <= 178
    assert details["connectionTime"]
    assert any(a.startswith("DU") for a in details["accounts"])
    assert details["gateway"] == "in-process simulator"  # no socket listens
    assert details["simPort"] is None
    assert details["clientId"] == 17
    assert details["simulatedTime"].startswith("2013-03-01 10:")
    assert details["journal"]["url"].startswith("sqlite")


async def test_health_tells_a_stranger_only_status_mode_and_version(
    http: httpx.AsyncClient,
) -> None:
    async with httpx.AsyncClient(base_url=str(http.base_url), timeout=30.0) as stranger:
        r = await stranger.get("/health")
        assert r.status_code == 200
        assert set(r.json()) == {"status", "mode", "version"}
        assert r.json()["status"] in ("up", "degraded", "down")
        details = await stranger.get("/health/details")
        assert details.status_code == 401
        assert "journal" not in details.text and "sqlite" not in details.text


async def test_contracts_by_symbol(http: httpx.AsyncClient) -> None:
    r = await http.get("/contracts", params={"symbol": "AMD"})
    assert r.status_code == 200, r.text
    [amd] = r.json()
    assert amd["contract"]["conId"] == 4391
    assert amd["contract"]["symbol"] == "AMD"
    assert amd["contract"]["secType"] == "STK"
    assert amd["contract"]["currency"] == "USD"
    assert amd["longName"]
    assert amd["timeZoneId"]
    assert amd["minTick"] > 0
    assert "LMT" in amd["orderTypes"].split(",")


async def test_contract_by_conid(http: httpx.AsyncClient) -> None:
    r = await http.get("/contracts/4391")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["contract"]["conId"] == 4391
    assert body["contract"]["symbol"] == "AMD"
    assert any(t["tag"] == "ISIN" for t in body["secIdList"])


async def test_forex_contract(http: httpx.AsyncClient) -> None:
    r = await http.get("/contracts", params={"symbol": "EUR.USD", "secType": "CASH"})
    assert r.status_code == 200, r.text
    [eur] = r.json()
    assert eur["contract"]["conId"] == 12087792
    assert eur["contract"]["exchange"] == "IDEALPRO"


async def test_unknown_symbol_is_404_problem(http: httpx.AsyncClient) -> None:
    r = await http.get("/contracts", params={"symbol": "XXX"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith(PROBLEM_JSON)
    problem = r.json()
    assert problem["status"] == 404
    assert problem["code"] == 200
    assert problem["type"] == "urn:twsbridge:problem:contract-not-found"
    assert problem["title"]
    assert problem["instance"] == "/contracts"


async def test_unknown_conid_is_404_problem(http: httpx.AsyncClient) -> None:
    r = await http.get("/contracts/1")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith(PROBLEM_JSON)
    assert r.json()["code"] == 200


async def test_search(http: httpx.AsyncClient) -> None:
    r = await http.get("/contracts/search", params={"pattern": "intc"})
    assert r.status_code == 200, r.text
    found = {d["contract"]["symbol"]: d["contract"]["conId"] for d in r.json()}
    assert found.get("INTC") == 270639


async def test_quote_by_symbol(http: httpx.AsyncClient) -> None:
    r = await http.get("/quotes", params={"symbol": "AAPL"})
    assert r.status_code == 200, r.text
    q = r.json()
    assert q["conId"] == 265598
    assert q["symbol"] == "AAPL"
    assert 0 < q["bid"] < q["ask"]
    assert q["last"] is not None and q["last"] > 0
    assert q["bidSize"] is None or q["bidSize"] >= 0
    assert "NaN" not in r.text


async def test_quote_by_conid(http: httpx.AsyncClient) -> None:
    r = await http.get("/quotes/272093")
    assert r.status_code == 200, r.text
    q = r.json()
    assert q["conId"] == 272093
    assert q["symbol"] == "MSFT"
    assert 0 < q["bid"] < q["ask"]


async def test_forex_quote(http: httpx.AsyncClient) -> None:
    r = await http.get("/quotes", params={"symbol": "EUR.USD", "secType": "CASH"})
    assert r.status_code == 200, r.text
    q = r.json()
    assert q["conId"] == 12087792
    assert q["exchange"] == "IDEALPRO"
    assert 0 < q["bid"] < q["ask"]
    assert q["last"] is None  # forex has no trades: null, never NaN


async def test_ambiguous_symbol_is_409_with_candidates(http: httpx.AsyncClient) -> None:
    r = await http.get("/quotes", params={"symbol": "USD", "secType": "CASH"})
    assert r.status_code == 409
    assert r.headers["content-type"].startswith(PROBLEM_JSON)
    problem = r.json()
    assert problem["type"] == "urn:twsbridge:problem:ambiguous-contract"
    local = {c["localSymbol"] for c in problem["candidates"]}
    assert {"USD.JPY", "USD.CAD", "USD.CHF"} <= local
    assert all(c["conId"] > 0 for c in problem["candidates"])


async def test_bars_are_the_real_daily_data(
    http: httpx.AsyncClient, real_closes: dict[tuple[str, str], float]
) -> None:
    params = {"symbol": "AAPL", "durationStr": "30 D", "barSizeSetting": "1 day"}
    r = await http.get("/bars", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["contract"]["conId"] == 265598
    bars = body["bars"]
    assert body["count"] == len(bars) == 30
    dates = [b["date"] for b in bars]
    assert dates == sorted(dates)
    assert dates[-1] == "20130301"  # the simulated day in progress (partial bar)
    for bar in bars[:-1]:
        assert math.isclose(bar["close"], real_closes[("AAPL", bar["date"])], abs_tol=1e-6), bar
        assert bar["low"] <= bar["close"] <= bar["high"]
        assert isinstance(bar["volume"], int) and bar["volume"] > 0
    last = bars[-1]
    assert last["low"] <= last["close"] <= last["high"]


async def test_bars_short_aliases(http: httpx.AsyncClient) -> None:
    r = await http.get(
        "/bars", params={"conId": 8314, "duration": "5 D", "barSize": "1 day"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["contract"]["symbol"] == "IBM"
    assert body["durationStr"] == "5 D"
    assert body["barSizeSetting"] == "1 day"
    assert len(body["bars"]) == 5


async def test_bad_bar_size_is_problem_with_tws_code(http: httpx.AsyncClient) -> None:
    r = await http.get(
        "/bars", params={"symbol": "AAPL", "durationStr": "1 D", "barSizeSetting": "7 parsecs"}
    )
    assert 400 <= r.status_code < 500
    assert r.headers["content-type"].startswith(PROBLEM_JSON)
    problem = r.json()
    assert problem["status"] == r.status_code
    assert isinstance(problem["code"], int) and problem["code"] in (162, 321)
    assert problem["detail"]


async def test_head_timestamp(http: httpx.AsyncClient) -> None:
    r = await http.get("/head-timestamp", params={"symbol": "AAPL"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["contract"]["conId"] == 265598
    assert body["headTimestamp"].startswith("2000")


async def test_symbol_or_conid_required(http: httpx.AsyncClient) -> None:
    r = await http.get("/quotes")
    assert r.status_code == 422
    assert r.headers["content-type"].startswith(PROBLEM_JSON)
    assert "symbol or conId" in r.json()["detail"]


async def test_fastapi_validation_is_problem(http: httpx.AsyncClient) -> None:
    r = await http.get("/contracts/not-a-number")
    assert r.status_code == 422
    assert r.headers["content-type"].startswith(PROBLEM_JSON)
    problem = r.json()
    assert problem["type"] == "urn:twsbridge:problem:validation-error"
    assert problem["errors"][0]["loc"] == ["path", "conId"]


async def test_unknown_route_is_problem(http: httpx.AsyncClient) -> None:
    r = await http.get("/nowhere")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith(PROBLEM_JSON)
    assert r.json()["title"] == "Not Found"


async def test_openapi_lists_routes(http: httpx.AsyncClient) -> None:
    r = await http.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    assert spec["info"]["title"] == "twsbridge"
    assert "SIMULATOR" in spec["info"]["description"]
    for path in (
        "/health",
        "/health/details",
        "/contracts",
        "/contracts/search",
        "/contracts/{conId}",
        "/quotes",
        "/quotes/{conId}",
        "/bars",
        "/head-timestamp",
    ):
        assert "get" in spec["paths"][path], path
    docs = await http.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
