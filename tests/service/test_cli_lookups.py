"""The look-ups of the ``twsbridge`` command: chunked bar downloads, orders, positions and
account, against a throw-away simulator (``--sim``) and against the running service."""

from __future__ import annotations

import csv
from pathlib import Path

import httpx
from typer.testing import CliRunner

from twsbridge.cli import app

from .support import auth

runner = CliRunner()


def _bars(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _sessions(rows: list[dict[str, str]]) -> dict[str, int]:
    days: dict[str, int] = {}
    for row in rows:
        days[row["date"][:8]] = days.get(row["date"][:8], 0) + 1
    return days


def test_bars_in_one_minute_chunks_over_three_days(tmp_path: Path) -> None:
    """TWS serves at most 1 D of 1 min bars per request: 3 D takes three requests,
    walking endDateTime back, and the CSV has three sessions, in order, no duplicates."""
    out = tmp_path / "aapl.csv"
    result = runner.invoke(app, ["bars", "AAPL", "--sim", "--duration", "3 D", "--bar-size",
                                 "1 min", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "(3 requests" in result.output, result.output
    rows = _bars(out)
    dates = [r["date"] for r in rows]
    assert len(dates) == len(set(dates)), "duplicate bars"
    assert dates == sorted(dates), "not in date order"
    # the simulated clock stands at 2013-03-01 10:00 US/Eastern: two full regular
    # sessions of 390 one-minute bars before the one in progress (09:30 .. 10:00)
    assert _sessions(rows) == {"20130227": 390, "20130228": 390, "20130301": 31}
    assert dates[0] == "20130227 09:30:00 US/Eastern"
    assert dates[-1] == "20130301 10:00:00 US/Eastern"
    assert f"wrote {len(rows)} bars" in result.output


def test_bars_in_seconds_chunks_skip_the_empty_stretch(tmp_path: Path) -> None:
    """1 secs bars: 1800 S per request; an hour back from 10:00 reaches before the
    open (09:30), a stretch with no data (TWS's 162 "no data" is not an error there)."""
    out = tmp_path / "secs.csv"
    result = runner.invoke(app, ["bars", "IBM", "--sim", "--duration", "3600 S", "--bar-size",
                                 "1 secs", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "(2 requests" in result.output, result.output
    dates = [r["date"] for r in _bars(out)]
    assert len(dates) == len(set(dates)) == 1801  # 09:30:00 .. 10:00:00 inclusive
    assert dates == sorted(dates)


def test_orders_positions_account_sim() -> None:
    orders = runner.invoke(app, ["orders", "--sim", "--status", "all"])
    assert orders.exit_code == 0, orders.output
    assert "all orders" in orders.output
    positions = runner.invoke(app, ["positions", "--sim"])
    assert positions.exit_code == 0, positions.output
    assert "positions" in positions.output
    account = runner.invoke(app, ["account", "--sim"])
    assert account.exit_code == 0, account.output
    assert "NetLiquidation" in account.output and "DU1234567" in account.output


def test_lookups_through_the_service(service_url: str, tmp_path: Path) -> None:
    key = auth(service_url, "read")["X-API-Key"]
    env = {"TWSBRIDGE_SERVICE_URL": service_url, "TWSBRIDGE_API_KEY": key}
    quote = runner.invoke(app, ["quote", "AAPL"], env=env)
    assert quote.exit_code == 0, quote.output
    assert "265598" in quote.output and "bid" in quote.output
    contract = runner.invoke(app, ["contract", "AMD", "--service", service_url, "--api-key", key])
    assert contract.exit_code == 0, contract.output
    assert "4391" in contract.output
    search = runner.invoke(app, ["search", "intc"], env=env)
    assert search.exit_code == 0 and "INTC" in search.output, search.output

    out = tmp_path / "msft.csv"
    bars = runner.invoke(app, ["bars", "MSFT", "--duration", "2 D", "--bar-size", "1 min",
                               "--out", str(out)], env=env)
    assert bars.exit_code == 0, bars.output
    assert "(2 requests" in bars.output
    rows = _bars(out)
    assert set(_sessions(rows)) == {"20130228", "20130301"}
    assert [r["date"] for r in rows] == sorted({r["date"] for r in rows})

    for command, expected in (("orders", "open orders"), ("positions", "positions"),
                              ("account", "NetLiquidation")):
        result = runner.invoke(app, [command], env=env)
        assert result.exit_code == 0, result.output
        assert expected in result.output, result.output


def test_service_orders_show_the_journal(service_url: str) -> None:
    headers = auth(service_url, "trade")
    placed = httpx.post(f"{service_url}/orders", headers=headers, timeout=30, json={
        "symbol": "IBM", "action": "BUY", "totalQuantity": 7, "orderType": "LMT",
        "lmtPrice": 1.5, "orderRef": "cli-open"})
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["orderId"]
    try:
        result = runner.invoke(app, ["orders", "--service", service_url, "--api-key",
                                     headers["X-API-Key"]], env={"COLUMNS": "160"})
        assert result.exit_code == 0, result.output
        line = next(x for x in result.output.splitlines() if x.strip().startswith(str(order_id)))
        assert "IBM" in line and "BUY" in line and "LMT" in line
    finally:
        httpx.delete(f"{service_url}/orders/{order_id}", headers=headers, timeout=30)


def test_service_errors_are_one_line(service_url: str) -> None:
    key = auth(service_url, "read")["X-API-Key"]
    unknown = runner.invoke(app, ["contract", "XXXX", "--service", service_url,
                                  "--api-key", key])
    assert unknown.exit_code == 1
    assert "error: TWS error 200" in unknown.output
    assert f"(service {service_url})" in unknown.output
    assert len(unknown.output.strip().splitlines()) == 1
    refused = runner.invoke(app, ["quote", "AAPL", "--service", service_url,
                                  "--api-key", "twsb_nope_nope"])
    assert refused.exit_code == 1
    assert "HTTP 401" in refused.output
