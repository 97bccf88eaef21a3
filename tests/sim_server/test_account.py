"""The paper account: values computed from cash and positions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from twsbridge.protocol import Contract
from twsbridge.sim.broker.account import Account

AAPL = Contract(conId=265598, symbol="AAPL", secType="STK", currency="USD",
                primaryExchange="NASDAQ", localSymbol="AAPL", tradingClass="NMS")
EURUSD = Contract(conId=12087792, symbol="EUR", secType="CASH", currency="USD",
                  localSymbol="EUR.USD", tradingClass="EUR.USD")


def values(acct: Account, prices: dict[int, float] | None = None,
           fx: dict[str, float] | None = None) -> dict[tuple[str, str], str]:
    return {(v.key, v.currency): v.value for v in acct.update_values(prices, fx)}


def test_fresh_account_is_all_cash() -> None:
    acct = Account("DU7654321", cash=250_000.0)
    v = values(acct)
    assert v[("AccountCode", "")] == "DU7654321"
    for key in ("NetLiquidation", "TotalCashValue", "AvailableFunds", "ExcessLiquidity",
                "EquityWithLoanValue"):
        assert v[(key, "USD")] == "250000.00"
    assert v[("BuyingPower", "USD")] == "1000000.00"
    assert v[("GrossPositionValue", "USD")] == "0.00"
    assert v[("CashBalance", "BASE")] == v[("CashBalance", "USD")] == "250000.00"
    assert acct.positions() == [] and acct.portfolio() == []


def test_stock_round_trip_books_cash_position_and_pnl() -> None:
    acct = Account()
    acct.apply_fill(AAPL, Decimal(100), 400.0)
    (h,) = acct.positions()
    assert (h.position, h.avgCost) == (Decimal(100), 400.0)
    v = values(acct, prices={265598: 410.0})
    assert v[("TotalCashValue", "USD")] == "960000.00"
    assert v[("StockMarketValue", "BASE")] == "41000.00"
    assert v[("NetLiquidation", "USD")] == "1001000.00"
    assert v[("UnrealizedPnL", "USD")] == "1000.00"
    assert v[("GrossPositionValue", "USD")] == "41000.00"
    assert v[("InitMarginReq", "USD")] == "10250.00"
    assert v[("AvailableFunds", "USD")] == "990750.00"
    (row,) = acct.portfolio({265598: 410.0})
    assert (row.marketValue, row.unrealizedPNL) == (41000.0, 1000.0)
    acct.apply_fill(AAPL, Decimal(-100), 420.0, commission=1.0)
    v = values(acct, prices={265598: 420.0})
    assert v[("RealizedPnL", "USD")] == "1999.00"
    assert v[("NetLiquidation", "USD")] == "1001999.00"
    assert acct.positions()[0].position == 0


def test_forex_fill_adds_a_currency_ledger() -> None:
    acct = Account()
    acct.apply_fill(EURUSD, Decimal(10_000), 1.30)
    assert acct.currencies() == ["USD", "EUR"]
    v = values(acct, fx={"EUR": 1.31})
    assert v[("CashBalance", "EUR")] == "10000.00"
    assert v[("CashBalance", "USD")] == "987000.00"
    assert v[("ExchangeRate", "EUR")] == "1.31"
    assert v[("CashBalance", "BASE")] == "1000100.00"
    multi = [(r.key, r.currency) for r in acct.multi_values(fx={"EUR": 1.31})]
    assert multi.index(("Currency", "USD")) < multi.index(("Currency", "EUR")) < multi.index(
        ("Currency", "BASE"))


def test_summary_ledger_variants() -> None:
    acct = Account()
    base = acct.summary_values("$LEDGER")
    assert {r.currency for _, r in base} == {"BASE"}
    assert {a for a, _ in base} == {"All"}
    one = acct.summary_values("$LEDGER:USD,AccountType,Unknown")
    assert one[0][1].key == "AccountType" and one[0][0] == acct.code
    assert {r.currency for _, r in one[1:]} == {"USD"}


def test_bad_fill_is_refused() -> None:
    with pytest.raises(ValueError):
        Account().apply_fill(AAPL, Decimal(0), 1.0)
