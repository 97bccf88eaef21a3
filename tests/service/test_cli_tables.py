"""The command line's tables fit the terminal and never split a symbol, a status or a
number across lines (issue 9, item 15: at 80 columns ``AAPL`` printed as ``AAP`` / ``L``
and ``Cancelled`` as ``Can`` / ``cel`` / ``led``).

The real ``twsbridge`` command in a subprocess, with ``COLUMNS`` set as a terminal of
that width would, against the real service (real orders: filled, cancelled) and a
throw-away simulator (``--sim``).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from typing import Any

import httpx
import pytest

from .processes import eventually, twsbridge_command
from .support import auth

WIDTHS = (60, 80, 200)


def _cli(width: int, *args: str, service: str | None = None) -> list[str]:
    """Run ``twsbridge ARGS`` as a terminal of ``width`` columns; its output lines."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWSBRIDGE_")}
    env["COLUMNS"] = str(width)
    env.pop("LINES", None)
    if service is not None:
        env["TWSBRIDGE_SERVICE_URL"] = service
        env["TWSBRIDGE_API_KEY"] = auth(service, "read")["X-API-Key"]
    done = subprocess.run([*twsbridge_command(), *args], env=env, capture_output=True,
                          text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    too_wide = [line for line in lines if len(line.rstrip()) > width]
    assert not too_wide, f"wider than {width}:\n" + "\n".join(too_wide)
    return lines


def _word(value: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\S){re.escape(value)}(?!\S)")


def _row(lines: list[str], first: str) -> str:
    """The one line whose first cell is ``first``."""
    found = [line for line in lines if line.split()[:1] == [first]]
    assert len(found) == 1, (first, "\n".join(lines))
    return found[0]


@pytest.fixture(scope="module")
def orders(service_url: str) -> list[dict[str, Any]]:
    """The session service's orders, among them a filled and a cancelled one."""
    headers = auth(service_url, "trade")

    async def make() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=service_url, headers=headers,
                                     timeout=30) as http:
            for body in ({"symbol": "AAPL", "action": "BUY", "totalQuantity": 100,
                          "orderType": "MKT"},
                         {"symbol": "EUR", "secType": "CASH", "currency": "USD",
                          "action": "BUY", "totalQuantity": 20000, "orderType": "MKT"}):
                assert (await http.post("/orders", json=body)).status_code == 201
            resting = await http.post("/orders", json={
                "symbol": "MSFT", "action": "BUY", "totalQuantity": 10, "orderType": "LMT",
                "lmtPrice": 20.5})
            order_id = resting.json()["orderId"]
            assert (await http.delete(f"/orders/{order_id}")).status_code in (200, 202)

            async def settled() -> list[dict[str, Any]] | None:
                rows: list[dict[str, Any]] = (
                    await http.get("/orders", params={"status": "all"})).json()
                statuses = {o["status"] for o in rows}
                return rows if {"Filled", "Cancelled"} <= statuses else None

            return await eventually(settled, "a filled and a cancelled order", 30)

    return asyncio.run(make())


@pytest.mark.parametrize("width", WIDTHS)
def test_orders_table(service_url: str, orders: list[dict[str, Any]], width: int) -> None:
    lines = _cli(width, "orders", "--status", "all", service=service_url)
    for order in orders:
        line = _row(lines, str(order["orderId"]))
        for value in (order["contract"]["symbol"], order["status"], order["action"],
                      str(order["totalQuantity"]), order["orderType"]):
            assert _word(value).search(line), (value, line)
    header = next(line for line in lines if "orderId" in line)
    if width >= 200:  # everything fits: nothing hidden
        assert _word("permId").search(header) and _word("account").search(header)
        assert not any("hidden" in line for line in lines)
    else:
        assert any("hidden to fit the terminal" in line for line in lines)


@pytest.mark.parametrize("width", WIDTHS)
def test_positions_table(service_url: str, orders: list[dict[str, Any]], width: int) -> None:
    positions = httpx.get(f"{service_url}/positions", headers=auth(service_url),
                          timeout=30).json()
    assert positions
    lines = _cli(width, "positions", service=service_url)
    for p in positions:
        symbol = p["contract"]["symbol"]
        rows = [line for line in lines if _word(symbol).search(line)]
        assert rows, (symbol, "\n".join(lines))
        assert any(_word(str(p["position"])).search(line) for line in rows), (p, rows)


@pytest.mark.parametrize("width", WIDTHS)
def test_account_table(service_url: str, width: int) -> None:
    values = httpx.get(f"{service_url}/account/summary", headers=auth(service_url),
                       timeout=30).json()
    lines = _cli(width, "account", service=service_url)
    header = next(line for line in lines if _word("tag").search(line)).split()
    for v in values:
        line = next((ln for ln in lines if _word(v["tag"]).search(ln)), None)
        assert line is not None, (v, "\n".join(lines))
        cells = line.split()  # a value split across lines would leave a cell out
        expected = header if v["currency"] else [h for h in header if h != "currency"]
        assert len(cells) == len(expected), (v, header, line)
        assert cells[expected.index("tag")] == v["tag"], (v, line)
        if v["currency"]:
            assert cells[-1] == v["currency"], (v, line)
        value = cells[expected.index("value")]
        # prices move between the two look-ups: a number of the same shape then
        shape = re.sub(r"\d", "9", v["value"]).lstrip("-")
        assert value == v["value"] or re.sub(r"\d+", "9", value).lstrip("-") == re.sub(
            r"9+", "9", shape), (v, line)


@pytest.mark.parametrize("width", WIDTHS)
def test_quote_table_sim(width: int) -> None:
    lines = _cli(width, "quote", "AAPL", "--sim")
    assert any(_word("AAPL").search(line) for line in lines)
    for field in ("bid", "ask", "last", "volume", "lastTimestamp"):
        line = _row(lines, field)
        assert len(line.split()) == 2, line  # the value on the same line, whole
    assert re.search(r"lastTimestamp\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", _row(lines,
                                                                             "lastTimestamp"))


def test_orders_sim_header_fits() -> None:
    lines = _cli(80, "orders", "--sim", "--status", "all")
    header = next(line for line in lines if "orderId" in line)
    for name in ("orderId", "symbol", "action", "qty", "type", "status"):
        assert _word(name).search(header), header
