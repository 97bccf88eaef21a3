"""The order guardrails over the real service: every rule refuses placement AND
modification (PUT cannot bypass them), with a 403 / 422 problem naming the rule.

One service on the embedded simulator carries every rule at once; the live-gateway
rule uses a gateway-mode service pointed at a separately started simulator (which
counts as a real gateway: it is not the embedded one).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from twsbridge.service import ServiceSettings
from twsbridge.service.config_file import using_config_file

from .streaming_support import Service, SimThread
from .support import KEYS, ServiceKeys, running_service, sim_settings

pytestmark = pytest.mark.timeout(120)

GUARDED = {
    "max_order_quantity": 1000,
    "max_order_notional": 100_000,
    "symbol_allowlist": ["AAPL", "IBM", "MSFT"],
    "symbol_denylist": ["IBM"],
    "require_preview": True,
    "orders_per_minute": 3,
}
WORKING = {"symbol": "AAPL", "action": "BUY", "totalQuantity": 10, "orderType": "LMT",
           "lmtPrice": 1.0}  # far below the market: stays working


def order(**changes: Any) -> dict[str, Any]:
    return {**WORKING, **changes}


def refused(r: httpx.Response, status: int, rule: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["type"] == "urn:twsbridge:problem:guardrail", body
    assert body["rule"] == rule, body
    assert body["detail"] and body["status"] == status
    return body


@pytest.fixture(scope="module")
def guarded() -> Iterator[tuple[str, ServiceKeys]]:
    with running_service(sim_settings(**GUARDED)) as url:
        yield url, KEYS[url]


@pytest_asyncio.fixture
async def http(guarded: tuple[str, ServiceKeys]) -> AsyncIterator[httpx.AsyncClient]:
    url, keys = guarded
    async with httpx.AsyncClient(base_url=url, headers=keys.headers("trade"),
                                 timeout=30.0) as client:
        yield client


async def placed(http: httpx.AsyncClient, body: dict[str, Any],
                 headers: dict[str, str] | None = None) -> int:
    """Preview then place ``body`` (require_preview is on); the order id."""
    assert (await http.post("/orders/preview", json=body, headers=headers)).status_code == 200
    r = await http.post("/orders", json=body, headers=headers)
    assert r.status_code == 201, r.text
    order_id: int = r.json()["orderId"]
    return order_id


async def test_symbol_lists(http: httpx.AsyncClient) -> None:
    body = refused(await http.post("/orders", json=order(symbol="IBM")), 403, "symbol_denylist")
    assert body["symbol"] == "IBM"
    refused(await http.post("/orders", json=order(symbol="GOOG")), 403, "symbol_allowlist")
    # by conId too: the symbol comes from the resolved contract (265598 is AAPL, 8314 IBM)
    ibm = {k: v for k, v in order(conId=8314).items() if k != "symbol"}
    refused(await http.post("/orders", json=ibm), 403, "symbol_denylist")


async def test_max_quantity_and_notional(http: httpx.AsyncClient) -> None:
    body = refused(await http.post("/orders", json=order(totalQuantity=1001)), 422,
                   "max_order_quantity")
    assert "1001" in body["detail"] and "1000" in body["detail"]
    body = refused(await http.post("/orders", json=order(totalQuantity=300, lmtPrice=400.0)),
                   422, "max_order_notional")
    assert body["notional"] == 120_000
    # a market order is valued at the current quote (AAPL ~ 430 in March 2013)
    market = {"symbol": "AAPL", "action": "BUY", "totalQuantity": 250, "orderType": "MKT"}
    body = refused(await http.post("/orders", json=market), 422, "max_order_notional")
    assert "current quote" in body["detail"]
    assert 100_000 < body["notional"] < 150_000


async def test_require_preview_and_no_bypass_by_modify(
        http: httpx.AsyncClient, guarded: tuple[str, ServiceKeys]) -> None:
    _, keys = guarded
    refused(await http.post("/orders", json=order()), 403, "require_preview")
    # a preview by another key does not count
    r = await http.post("/orders/preview", json=order(), headers=keys.headers("admin"))
    assert r.status_code == 200, r.text
    refused(await http.post("/orders", json=order()), 403, "require_preview")
    order_id = await placed(http, order())
    # PUT: the new terms meet the same rules
    refused(await http.put(f"/orders/{order_id}", json={"totalQuantity": 1001}), 422,
            "max_order_quantity")
    refused(await http.put(f"/orders/{order_id}", json={"lmtPrice": 20_000.0}), 422,
            "max_order_notional")
    refused(await http.put(f"/orders/{order_id}", json={"lmtPrice": 1.5}), 403,
            "require_preview")
    assert (await http.post("/orders/preview", json=order(lmtPrice=1.5))).status_code == 200
    r = await http.put(f"/orders/{order_id}", json={"lmtPrice": 1.5})
    assert r.status_code == 200, r.text
    assert r.json()["lmtPrice"] == 1.5
    assert (await http.delete(f"/orders/{order_id}")).status_code == 200  # cancels pass


async def test_orders_per_minute_counts_placements_and_modifications(
        http: httpx.AsyncClient, guarded: tuple[str, ServiceKeys]) -> None:
    _, keys = guarded
    made = (await http.post("/keys", json={"name": "rate", "scope": "trade"},
                            headers=keys.headers("admin"))).json()
    mine = {"X-API-Key": made["key"]}  # a fresh key: its own 60 s window
    ids = [await placed(http, order(), mine) for _ in range(3)]
    body = refused(await http.post("/orders", json=order(), headers=mine), 403,
                   "orders_per_minute")
    assert 1 <= body["retryAfter"] <= 61
    assert (await http.post("/orders/preview", json=order(lmtPrice=1.25),
                            headers=mine)).status_code == 200
    refused(await http.put(f"/orders/{ids[0]}", json={"lmtPrice": 1.25}, headers=mine), 403,
            "orders_per_minute")
    # another key is not held back by this one's rate
    assert (await http.post("/orders/preview", json=order(lmtPrice=1.25))).status_code == 200
    assert (await http.put(f"/orders/{ids[0]}", json={"lmtPrice": 1.25})).status_code == 200
    for order_id in ids:
        assert (await http.delete(f"/orders/{order_id}", headers=mine)).status_code == 200


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    s = SimThread(speed=1.0, poll_interval=0.02)
    try:
        yield s
    finally:
        s.stop()


async def test_live_gateway_refuses_trading_unless_enabled(
        sim: SimThread, tmp_path: Path) -> None:
    svc = Service(f"127.0.0.1:{sim.server.port}", str(tmp_path / "journal.sqlite3"),
                  trading_enabled=True)
    try:
        async with httpx.AsyncClient(base_url=svc.url, headers=svc.keys.headers("trade"),
                                     timeout=30.0) as http:
            assert (await http.get("/health")).json()["mode"] == "gateway"
            r = await http.post("/orders", json=order())
            assert r.status_code == 201, r.text
            order_id = r.json()["orderId"]
            # the same service with trading disabled (as after a restart without the flag)
            state = svc.app.state
            state.settings = state.settings.model_copy(update={"trading_enabled": False})
            body = refused(await http.post("/orders", json=order()), 403, "trading_enabled")
            assert ("trading is disabled against a live gateway: start with --enable-trading "
                    "or TWSBRIDGE_TRADING_ENABLED=true") == body["detail"]
            refused(await http.put(f"/orders/{order_id}", json={"lmtPrice": 1.5}), 403,
                    "trading_enabled")
            # what-if previews place nothing, and cancelling is always allowed
            assert (await http.post("/orders/preview", json=order())).status_code == 200
            assert (await http.delete(f"/orders/{order_id}")).status_code == 200
    finally:
        svc.stop()


def test_settings_from_toml_env_and_arguments(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text('max_order_quantity = 50\nsymbol_denylist = ["gme", "AMC"]\n'
                      "orders_per_minute = 10\n")
    for name in ("TWSBRIDGE_MAX_ORDER_QUANTITY", "TWSBRIDGE_SYMBOL_DENYLIST",
                 "TWSBRIDGE_ORDERS_PER_MINUTE", "TWSBRIDGE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TWSBRIDGE_ORDERS_PER_MINUTE", "20")
    with using_config_file(config):
        settings = ServiceSettings(max_order_quantity=5)
    assert settings.max_order_quantity == 5  # argument > environment > file
    assert settings.orders_per_minute == 20
    assert settings.symbol_denylist == ["AMC", "GME"]
    assert settings.trading_enabled is False  # the default
    monkeypatch.setenv("TWSBRIDGE_CONFIG", str(config))
    monkeypatch.setenv("TWSBRIDGE_SYMBOL_ALLOWLIST", "aapl, msft")
    settings = ServiceSettings()
    assert settings.max_order_quantity == 50
    assert settings.symbol_allowlist == ["AAPL", "MSFT"]
    config.write_text("max_order_quantiy = 50\n")  # misspelt: an error, not ignored
    with pytest.raises(ValueError, match=r"unknown setting.*max_order_quantiy"):
        ServiceSettings()
