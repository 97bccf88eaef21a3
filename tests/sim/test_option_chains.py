"""Option listing rules of the wide simulated universe: expirations, strike
grids, contracts, localSymbols and generated conIds."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twsbridge.sim.reference.conids import OPTION_BASE, option_conid
from twsbridge.sim.reference.details import contract_details
from twsbridge.sim.reference.futures import FUTURES, future
from twsbridge.sim.reference.option_chains import (
    expirations,
    last_trade_day,
    strikes,
    vix_expiry,
)
from twsbridge.sim.reference.option_classes import OPTION_CLASSES, classes_of
from twsbridge.sim.reference.universe import derivatives, listed_instruments

D = dt.date
TODAY = D(2026, 12, 8)  # a Tuesday
DERIV = derivatives()


def _iso(days: list[dt.date]) -> list[str]:
    return [d.isoformat() for d in days]


def test_aapl_weeklies_monthlies_and_leaps() -> None:
    assert _iso(expirations(OPTION_CLASSES["AAPL"], TODAY)) == [
        "2026-12-11", "2026-12-18", "2026-12-24",  # Christmas Friday: the Thursday
        "2026-12-31", "2027-01-08", "2027-01-15",  # six weeks of Fridays
        "2027-02-19",  # third monthly
        "2027-04-16", "2027-07-16",  # January cycle
        "2028-01-21",  # LEAPS
    ]
    intc = expirations(OPTION_CLASSES["INTC"], TODAY)
    assert _iso(intc) == ["2026-12-18", "2027-01-15", "2027-04-16", "2027-07-16", "2028-01-21"]


def test_short_dated_expiries() -> None:
    spy = expirations(OPTION_CLASSES["SPY"], TODAY)
    assert _iso(spy[:5]) == ["2026-12-08", "2026-12-09", "2026-12-10", "2026-12-11",
                             "2026-12-14"]  # 0DTE included, every weekday
    iwm = expirations(OPTION_CLASSES["IWM"], D(2026, 12, 7))
    assert _iso(iwm[:6]) == ["2026-12-07", "2026-12-09", "2026-12-11", "2026-12-14",
                             "2026-12-16", "2026-12-18"]  # Mon/Wed/Fri
    spxw = expirations(OPTION_CLASSES["SPXW"], TODAY)
    assert D(2026, 12, 8) in spxw and D(2026, 12, 31) in spxw  # daily and end of month
    assert D(2027, 1, 29) in spxw and D(2027, 2, 26) in spxw  # two more month ends
    assert D(2026, 12, 25) not in spxw


def test_spx_am_monthlies_stop_trading_the_day_before() -> None:
    spx, spxw = OPTION_CLASSES["SPX"], OPTION_CLASSES["SPXW"]
    assert {c.tradingClass for c in classes_of("SPX")} == {"SPX", "SPXW"}
    dates = expirations(spx, TODAY)
    assert dates[0] == D(2026, 12, 18) and all(d.weekday() in (3, 4) for d in dates)
    assert D(2029, 12, 21) in dates and D(2030, 12, 20) not in dates  # December LEAPS
    am = DERIV.option("SPX", D(2026, 12, 18), 6800.0, "P")
    assert (am.lastTradeDateOrContractMonth, am.realExpirationDate) == ("20261217", "20261218")
    assert am.localSymbol == "SPX   261218P06800000" and am.tradingClass == "SPX"
    pm = DERIV.option("SPXW", D(2026, 12, 18), 6800.0, "P")
    assert pm.lastTradeDateOrContractMonth == "20261218" and pm.conId != am.conId
    assert last_trade_day(spxw, D(2026, 12, 18)) == D(2026, 12, 18)
    # the expiry day itself: AM already gone, PM still listed
    assert D(2026, 12, 18) not in expirations(spx, D(2026, 12, 18))
    assert D(2026, 12, 18) in expirations(spxw, D(2026, 12, 18))


def test_vix_expiry_rule() -> None:
    assert vix_expiry(2026, 12) == D(2026, 12, 16)  # 30 days before 15 Jan 2027
    assert vix_expiry(2027, 5) == D(2027, 5, 18)  # 18 Jun 2027 a holiday: from the 17th
    assert _iso(expirations(OPTION_CLASSES["VIX"], TODAY))[:2] == ["2026-12-16", "2027-01-20"]


def test_strike_grids_by_price_level() -> None:
    aapl = OPTION_CLASSES["AAPL"]
    grid = strikes(aapl, 230.0)
    near = [k for k in grid if 200 <= k <= 260]
    assert all(b - a == 2.5 for a, b in itertools.pairwise(near))
    far = [k for k in grid if k < 195]
    assert far and all(b - a == 5.0 for a, b in itertools.pairwise(far))
    assert grid[0] == 140.0 and grid[-1] == 320.0
    assert strikes(aapl, 20.0) == [  # 0.5 within 15%, 1 out to 40%
        12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 17.5, 18.0, 18.5, 19.0, 19.5, 20.0, 20.5, 21.0,
        21.5, 22.0, 22.5, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0]
    assert strikes(aapl, 600.0)[:3] == [360.0, 370.0, 380.0]  # 5 near, 10 far above $500
    assert 101.5 not in strikes(aapl, 100.0)
    assert 101.0 in strikes(aapl, 100.0)
    spx = strikes(OPTION_CLASSES["SPX"], 6800.0)
    assert {6805.0, 6810.0} <= set(spx) and 6802.5 not in spx
    assert 5000.0 in spx and 5005.0 not in spx  # 25-point strikes far from the money
    euro = strikes(OPTION_CLASSES["EUU"], 1.1637)
    assert 1.165 in euro and 1.1651 not in euro
    assert strikes(aapl, 230.0) == grid  # deterministic
    with pytest.raises(ValueError):
        strikes(aapl, 0.0)


def test_option_contract_and_occ_symbol() -> None:
    aapl = DERIV.option("AAPL", D(2026, 12, 18), 200.0, "C")
    assert aapl.localSymbol == "AAPL  261218C00200000"
    assert (aapl.secType, aapl.exchange, aapl.currency, aapl.multiplier) == ("OPT", "SMART",
                                                                            "USD", "100")
    assert (aapl.strike, aapl.right, aapl.tradingClass) == (200.0, "C", "AAPL")
    assert (aapl.underConId, aapl.underSymbol, aapl.underSecType) == (265598, "AAPL", "STK")
    assert aapl.contractMonth == "202612" and aapl.longName == "APPLE INC"
    brk = DERIV.option("BRKB", D(2026, 12, 18), 502.5, "P")
    assert brk.localSymbol == "BRKB  261218P00502500" and brk.symbol == "BRK B"
    cd = contract_details(aapl, TODAY)
    assert cd.contract.lastTradeDateOrContractMonth == "20261218 16:00:00 US/Eastern"
    assert (cd.contract.strike, cd.contract.right) == (200.0, "C")
    assert cd.underConId == 265598 and cd.realExpirationDate == "20261218"
    with pytest.raises(ValueError):
        DERIV.option("AAPL", D(2026, 12, 18), 200.25, "C")
    with pytest.raises(ValueError):
        DERIV.option("AAPL", D(2026, 12, 18), 200.0, "X")


def test_futures_options() -> None:
    es = DERIV.option("ES", D(2026, 12, 18), 6000.0, "C")
    assert (es.secType, es.localSymbol, es.multiplier, es.exchange) == ("FOP", "ESZ6 C6000",
                                                                        "50", "CME")
    assert es.underConId == future(FUTURES["ES"], 2026, 12).conId and es.underSecType == "FUT"
    eom = DERIV.option("EW", D(2026, 12, 31), 6000.0, "P")
    assert eom.underConId == future(FUTURES["ES"], 2027, 3).conId  # the next quarterly
    lo = DERIV.option("LO", D(2026, 12, 18), 70.5, "C")
    assert lo.localSymbol == "LOF7 C7050" and lo.underConId == future(FUTURES["CL"], 2027,
                                                                        1).conId
    og = DERIV.option("OG", D(2026, 12, 28), 4200.0, "C")
    assert og.localSymbol == "OGF7 C4200" and og.underConId == future(FUTURES["GC"], 2027,
                                                                        2).conId
    odax = DERIV.option("ODAX", D(2026, 12, 18), 24000.0, "C")
    assert odax.localSymbol == "C ODAX 20261218 24000 M" and odax.currency == "EUR"
    chains = DERIV.chains(future(FUTURES["ES"], 2027, 3), TODAY, 6850.0)
    by_class = {c.tradingClass: c for c in chains}
    assert set(by_class) == {"ES", "EW"}
    assert by_class["ES"].expirations == ("20270319",)
    assert by_class["EW"].expirations == ("20261231", "20270129", "20270226")


def test_option_conids_are_fixed_and_in_range() -> None:
    assert DERIV.option("AAPL", D(2026, 12, 18), 200.0, "C").conId == 1_006_375_328
    assert DERIV.option("SPXW", D(2026, 12, 9), 6800.0, "P").conId == 1_552_111_905
    assert DERIV.option("ES", D(2026, 12, 18), 6000.0, "C").conId == 1_805_096_928
    assert option_conid(0, D(2000, 1, 3), 0, "C") == OPTION_BASE
    assert option_conid(79, D(2026, 1, 1), 4095, "P") < 2**31
    with pytest.raises(ValueError):
        option_conid(80, D(2026, 1, 1), 1, "C")


#: Plausible December 2026 prices of the underlyings, by option class.
REF_PRICES = {"SPX": 6800.0, "SPXW": 6800.0, "NDX": 25000.0, "NDXP": 25000.0, "RUT": 2400.0,
              "RUTW": 2400.0, "VIX": 18.0, "ODAX": 24000.0, "ES": 6850.0, "EW": 6850.0,
              "LO": 65.0, "OG": 4200.0, "OZN": 112.0, "EUU": 1.16, "OGBL": 128.0,
              "BRKB": 500.0, "INTC": 22.0}


@pytest.mark.parametrize("name", sorted(OPTION_CLASSES))
@settings(max_examples=8, deadline=None)
@given(day=st.integers(0, 400), k=st.integers(0, 400), right=st.sampled_from("CP"))
def test_generated_option_conids_decode_back(name: str, day: int, k: int, right: str) -> None:
    cls = OPTION_CLASSES[name]
    today = TODAY + dt.timedelta(days=day)
    dates = expirations(cls, today)
    assert dates, name
    grid = strikes(cls, REF_PRICES.get(name, 200.0))
    inst = DERIV.option(name, dates[k % len(dates)], grid[k % len(grid)], right)
    assert DERIV.by_conid(inst.conId, today) == inst
    assert DERIV.by_conid(inst.conId, today + dt.timedelta(days=300)) in (inst, None)


def test_match_option_by_fields() -> None:
    found = DERIV.match(symbol="SPX", secType="OPT", today=TODAY,
                        lastTradeDateOrContractMonth="20261217", strike=6800.0, right="P")
    assert sorted(i.tradingClass for i in found) == ["SPX", "SPXW"]  # ambiguous, as in TWS
    only = DERIV.match(symbol="SPX", secType="OPT", today=TODAY, tradingClass="SPXW",
                       lastTradeDateOrContractMonth="20261217", strike=6800.0, right="P")
    assert [i.realExpirationDate for i in only] == ["20261217"]
    assert DERIV.match(symbol="AAPL", secType="OPT", today=TODAY,
                       lastTradeDateOrContractMonth="20261216", strike=200.0, right="C") == []
    assert DERIV.match(symbol="AAPL", secType="OPT", today=TODAY) == []
    futs = DERIV.match(symbol="CL", secType="FUT", today=TODAY,
                       lastTradeDateOrContractMonth="202703")
    assert [f.localSymbol for f in futs] == ["CLH7"]
    cont = DERIV.match(symbol="ES", secType="CONTFUT", today=TODAY)
    assert [c.localSymbol for c in cont] == ["ESZ6"]  # rolls on 10 Dec


def test_every_option_class_has_its_underlying() -> None:
    listed = {(i.symbol, i.secType) for i in listed_instruments()}
    for cls in OPTION_CLASSES.values():
        if cls.secType == "OPT":
            assert (cls.symbol, cls.underSecType) in listed, cls.tradingClass
        else:
            assert cls.future in FUTURES


def test_chains_of_a_stock_and_an_index() -> None:
    aapl = next(i for i in listed_instruments() if i.conId == 265598)
    (chain,) = DERIV.chains(aapl, TODAY, 230.0)
    assert (chain.tradingClass, chain.exchange, chain.multiplier, chain.underConId) == (
        "AAPL", "SMART", "100", 265598)
    assert chain.expirations[:2] == ("20261211", "20261218")
    assert chain.strikes == tuple(strikes(OPTION_CLASSES["AAPL"], 230.0))
    spx = next(i for i in listed_instruments() if i.conId == 416904)
    by_class = {c.tradingClass: c for c in DERIV.chains(spx, TODAY, 6800.0)}
    assert set(by_class) == {"SPX", "SPXW"}
    assert by_class["SPX"].expirations[0] == "20261217"  # AM: the last trading day
    assert by_class["SPXW"].expirations[0] == "20261208"
    fop = DERIV.match(symbol="ES", secType="FOP", today=TODAY, tradingClass="ES",
                      lastTradeDateOrContractMonth="20261218", strike=6800.0, right="C")
    assert [i.localSymbol for i in fop] == ["ESZ6 C6800"]
