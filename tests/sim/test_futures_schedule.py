"""Futures of the wide simulated universe: expiry schedules, listings,
localSymbols, CONTFUT rolls and conIds."""

from __future__ import annotations

import datetime as dt

import exchange_calendars as xcals
import pytest

from twsbridge.sim.reference.business_days import (
    is_business_day,
    last_business_day,
    shift_business_days,
)
from twsbridge.sim.reference.conids import FUTURE_BASE, future_conid
from twsbridge.sim.reference.details import contract_details
from twsbridge.sim.reference.futures import (
    FUTURES,
    continuous_future,
    contract_months,
    future,
    listed_futures,
    roll_date,
)

D = dt.date

# Known last trading days: the brief's anchors, CME/Eurex calendars, and the
# GC dates of a real TWS contractDetails log (ib_async issue #128).
KNOWN_LAST_TRADE = [
    ("ES", 2026, 12, "20261218"),
    ("ES", 2025, 12, "20251219"),
    ("NQ", 2027, 3, "20270319"),
    ("RTY", 2026, 12, "20261218"),
    ("ES", 2027, 6, "20270617"),  # 18 June 2027 is Juneteenth observed: the day before
    ("CL", 2027, 1, "20261221"),  # 25 Dec 2026 a holiday: 4 business days before it
    ("CL", 2026, 1, "20251219"),  # 25 Dec 2025 a holiday too
    ("CL", 2027, 6, "20270520"),  # 25 May 2027 a Tuesday: 3 business days before
    ("GC", 2025, 12, "20251229"),
    ("GC", 2026, 1, "20260128"),
    ("GC", 2026, 2, "20260225"),
    ("ZN", 2025, 12, "20251219"),
    ("ZN", 2026, 12, "20261221"),
    ("6E", 2026, 12, "20261214"),  # third Wednesday 16 Dec, two business days before
    ("6E", 2027, 3, "20270315"),
    ("FDAX", 2026, 12, "20261218"),
    ("FDAX", 2025, 12, "20251219"),
    ("FGBL", 2025, 12, "20251208"),  # delivery 10 Dec, two exchange days before
    ("FGBL", 2027, 3, "20270308"),
]


@pytest.mark.parametrize(("cls", "year", "month", "expected"), KNOWN_LAST_TRADE)
def test_known_last_trading_days(cls: str, year: int, month: int, expected: str) -> None:
    fut = future(FUTURES[cls], year, month)
    assert fut.lastTradeDateOrContractMonth == expected
    assert fut.realExpirationDate == expected
    assert fut.contractMonth == f"{year}{month:02d}"


def test_real_gc_conids_kept_others_generated() -> None:
    gc = FUTURES["GC"]
    assert future(gc, 2025, 12).conId == 397594951
    assert future(gc, 2026, 2).conId == 693609539
    assert future(gc, 2026, 4).conId == future_conid(gc.slot, 2026, 4)


def test_future_conids_are_fixed() -> None:
    assert future(FUTURES["ES"], 2026, 12).conId == 1_001_001_523
    assert future(FUTURES["FDAX"], 2026, 12).conId == 1_001_018_323
    assert future_conid(0, 1900, 1) == FUTURE_BASE
    with pytest.raises(ValueError):
        future_conid(256, 2026, 1)


def test_contract_terms_and_local_symbols() -> None:
    es = future(FUTURES["ES"], 2026, 12)
    assert (es.symbol, es.secType, es.exchange, es.currency) == ("ES", "FUT", "CME", "USD")
    assert (es.localSymbol, es.tradingClass, es.multiplier, es.minTick) == (
        "ESZ6", "ES", "50", 0.25)
    assert (es.timeZoneId, es.lastTradeTime, es.underConId) == ("US/Central", "08:30:00", 416904)
    cl = future(FUTURES["CL"], 2027, 1)
    assert (cl.localSymbol, cl.multiplier, cl.minTick, cl.exchange) == ("CLF7", "1000", 0.01,
                                                                        "NYMEX")
    fdax = future(FUTURES["FDAX"], 2026, 12)
    assert (fdax.symbol, fdax.localSymbol, fdax.tradingClass) == ("DAX", "FDAX DEC 26", "FDAX")
    assert (fdax.currency, fdax.multiplier, fdax.timeZoneId) == ("EUR", "25", "MET")
    assert future(FUTURES["FGBL"], 2027, 3).localSymbol == "FGBL MAR 27"
    euro = future(FUTURES["6E"], 2026, 12)
    assert (euro.symbol, euro.localSymbol, euro.multiplier) == ("EUR", "6EZ6", "125000")
    zn = future(FUTURES["ZN"], 2026, 12)
    assert (zn.localSymbol, zn.minTick, zn.exchange) == ("ZNZ6", 1 / 64, "CBOT")


def test_listed_months_roll_after_last_trading_day() -> None:
    es = FUTURES["ES"]
    on_expiry = [f.localSymbol for f in listed_futures(es, D(2026, 12, 18))]
    assert on_expiry == ["ESZ6", "ESH7", "ESM7", "ESU7", "ESZ7"]
    after = [f.localSymbol for f in listed_futures(es, D(2026, 12, 19))]
    assert after == ["ESH7", "ESM7", "ESU7", "ESZ7", "ESH8"]
    cl = contract_months(FUTURES["CL"], D(2026, 12, 21))
    assert cl[0] == (2027, 1) and len(cl) == 12
    assert contract_months(FUTURES["CL"], D(2026, 12, 22))[0] == (2027, 2)
    assert [f.localSymbol for f in listed_futures(FUTURES["FDAX"], D(2026, 12, 8))] == [
        "FDAX DEC 26", "FDAX MAR 27", "FDAX JUN 27"]


def test_gold_listing_rule() -> None:
    months = contract_months(FUTURES["GC"], D(2026, 12, 8))
    assert months[:4] == [(2026, 12), (2027, 1), (2027, 2), (2027, 4)]
    offsets = [(y - 2026) * 12 + m - 12 for y, m in months]
    for (_, m), off in zip(months, offsets, strict=True):
        assert off <= 2 or (m in (2, 4, 8, 10) and off <= 23) or (m in (6, 12) and off <= 72)
    assert (2032, 12) in months and (2029, 2) not in months and (2027, 3) not in months


def test_contfut_rolls_on_the_roll_date() -> None:
    es = FUTURES["ES"]
    assert roll_date(es, 2026, 12) == D(2026, 12, 10)  # the Thursday 8 days before
    before = continuous_future(es, D(2026, 12, 9))
    assert (before.secType, before.localSymbol) == ("CONTFUT", "ESZ6")
    assert before.conId == future(es, 2026, 12).conId
    assert continuous_future(es, D(2026, 12, 10)).localSymbol == "ESH7"
    cl = FUTURES["CL"]
    assert roll_date(cl, 2027, 1) == D(2026, 12, 16)
    assert continuous_future(cl, D(2026, 12, 15)).localSymbol == "CLF7"
    assert continuous_future(cl, D(2026, 12, 16)).localSymbol == "CLG7"


def test_future_contract_details_carry_the_derivative_fields() -> None:
    es = future(FUTURES["ES"], 2026, 12)
    cd = contract_details(es, D(2026, 12, 8))
    assert cd.contract.lastTradeDateOrContractMonth == "20261218 08:30:00 US/Central"
    assert cd.contract.multiplier == "50" and cd.contract.localSymbol == "ESZ6"
    assert (cd.contractMonth, cd.realExpirationDate) == ("202612", "20261218")
    assert (cd.underConId, cd.underSymbol, cd.underSecType) == (416904, "SPX", "IND")
    assert cd.timeZoneId == "US/Central" and cd.minTick == 0.25


@pytest.mark.filterwarnings("ignore:Series.values returning")
@pytest.mark.parametrize(("calendar", "oracle"), [("US", "XNYS"), ("EUREX", "XEUR")])
def test_business_days_match_exchange_calendars(calendar: str, oracle: str) -> None:
    sessions = {d.date() for d in
                xcals.get_calendar(oracle, start="2025-01-01", end="2028-12-31").sessions}
    day = D(2025, 1, 1)
    while day <= D(2028, 12, 31):
        assert is_business_day(day, calendar) == (day in sessions), day
        day += dt.timedelta(days=1)


def test_business_day_arithmetic() -> None:
    assert shift_business_days(D(2026, 12, 28), -2) == D(2026, 12, 23)  # skips Christmas
    assert shift_business_days(D(2026, 12, 23), 2) == D(2026, 12, 28)
    assert shift_business_days(D(2026, 12, 23), 0) == D(2026, 12, 23)
    assert last_business_day(2027, 7) == D(2027, 7, 30)
    assert last_business_day(2026, 12, "EUREX") == D(2026, 12, 30)  # 31 Dec closed
