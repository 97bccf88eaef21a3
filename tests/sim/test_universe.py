"""The wide simulated universe: listed instruments on the main venues, real
and generated conIds, uniqueness across the whole universe, and the
unchanged original instruments."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from twsbridge.sim.reference.calendar import venue_for
from twsbridge.sim.reference.conids import LISTED_BASE, OPTION_BASE, listed_conid, option_conid
from twsbridge.sim.reference.details import contract_details
from twsbridge.sim.reference.instruments import INSTRUMENTS, Instrument, InstrumentBook
from twsbridge.sim.reference.option_chains import expirations, strikes
from twsbridge.sim.reference.option_classes import OPTION_CLASSES
from twsbridge.sim.reference.universe import _isin_ok, listed_instruments, universe

D = dt.date
LISTED = listed_instruments()
BOOK = InstrumentBook(LISTED)


def _one(symbol: str, secType: str = "STK", currency: str = "") -> Instrument:
    found = BOOK.match(symbol=symbol, secType=secType, currency=currency)
    assert len(found) == 1, (symbol, found)
    return found[0]


def test_original_instruments_first_and_unchanged() -> None:
    assert LISTED[: len(INSTRUMENTS)] == INSTRUMENTS
    assert InstrumentBook().instruments == INSTRUMENTS  # the default book is untouched
    for inst in INSTRUMENTS:  # the derivative fields default to empty
        assert (inst.lastTradeDateOrContractMonth, inst.strike, inst.right) == ("", 0.0, "")
        assert (inst.underConId, inst.contractMonth, inst.lastTradeTime) == (0, "", "")
    cd = contract_details(INSTRUMENTS[0], D(2026, 12, 8))
    assert cd.contract.lastTradeDateOrContractMonth == "" and cd.underConId == 0
    assert (cd.contractMonth, cd.realExpirationDate, cd.underSymbol) == ("", "", "")


@pytest.mark.parametrize(("symbol", "secType", "conid"), [
    ("GOOGL", "STK", 208813719), ("JPM", "STK", 1520593), ("NFLX", "STK", 15124833),
    ("BRK B", "STK", 72063691), ("IWM", "STK", 9579970), ("GLD", "STK", 51529211),
    ("SPX", "IND", 416904), ("NDX", "IND", 416843), ("VIX", "IND", 13455763),
    ("RUT", "IND", 416888), ("BRK B", "CFD", 120550477),
])
def test_real_conids(symbol: str, secType: str, conid: int) -> None:
    assert _one(symbol, secType).conId == conid


def test_generated_conids_are_fixed_and_in_their_range() -> None:
    sap = _one("SAP", currency="EUR")
    assert sap.conId == listed_conid("STK", "SAP", "IBIS", "EUR") == 1_000_970_823
    assert _one("700", currency="HKD").conId == 1_000_471_754
    assert _one("IBUS500", "CFD").conId == 1_000_962_527
    generated = [i for i in LISTED if i.conId >= LISTED_BASE]
    real = [i for i in LISTED if i.conId < LISTED_BASE]
    assert len(generated) > 50 and len(real) == len(INSTRUMENTS) + 21
    assert all(i.conId < LISTED_BASE + 1_000_000 for i in generated)


@pytest.mark.parametrize(("symbol", "currency", "primary", "tz"), [
    ("SAP", "EUR", "IBIS", "MET"), ("BMW", "EUR", "IBIS", "MET"),
    ("SIE", "EUR", "IBIS", "MET"), ("VOD", "GBP", "LSE", "Europe/London"),
    ("BP.", "GBP", "LSE", "Europe/London"), ("HSBA", "GBP", "LSE", "Europe/London"),
    ("700", "HKD", "SEHK", "Hongkong"), ("3690", "HKD", "SEHK", "Hongkong"),
    ("9988", "HKD", "SEHK", "Hongkong"), ("7203", "JPY", "TSEJ", "Japan"),
    ("6758", "JPY", "TSEJ", "Japan"), ("RY", "CAD", "TSE", "America/Toronto"),
    ("SHOP", "CAD", "TSE", "America/Toronto"),
])
def test_foreign_listings(symbol: str, currency: str, primary: str, tz: str) -> None:
    inst = _one(symbol, currency=currency)
    assert (inst.primaryExchange, inst.timeZoneId, inst.secType) == (primary, tz, "STK")
    assert primary in inst.validExchanges.split(",")
    assert len(inst.marketRuleIds.split(",")) == len(inst.validExchanges.split(","))
    assert BOOK.match(symbol=symbol, exchange=primary, currency=currency) == [inst]


def test_venue_details() -> None:
    tencent = _one("700")
    assert tencent.exchange == "SEHK"
    assert tencent.minSize == tencent.sizeIncrement == Decimal(100)
    assert tencent.secIdList == (("ISIN", "KYG875721634"),)
    assert _one("SAP").tradingClass == "XETRA" and _one("SAP").exchange == "SMART"
    assert _one("GOOGL").tradingClass == "NMS" and _one("JPM").tradingClass == "JPM"
    assert _one("BABA").stockType == "ADR" and _one("IWM").stockType == "ETF"
    assert [i.longName for i in BOOK.search("tencent")] == ["TENCENT HOLDINGS LTD"]


def test_indices_forex_crosses_and_cfds() -> None:
    spx = _one("SPX", "IND")
    assert (spx.exchange, spx.timeZoneId, spx.orderTypes) == ("CBOE", "US/Central", "")
    dax = _one("DAX", "IND")
    assert (dax.exchange, dax.currency, dax.timeZoneId) == ("EUREX", "EUR", "MET")
    assert _one("RUT", "IND").exchange == "RUSSELL"
    pairs = {i.localSymbol for i in LISTED if i.secType == "CASH"}
    assert {"EUR.GBP", "EUR.JPY", "GBP.JPY", "EUR.CHF", "AUD.JPY", "EUR.USD"} <= pairs
    eurjpy = BOOK.match(localSymbol="EUR.JPY", secType="CASH")[0]
    assert (eurjpy.symbol, eurjpy.currency, eurjpy.minTick) == ("EUR", "JPY", 0.005)
    assert eurjpy.is_forex and eurjpy.exchange == "IDEALPRO"
    assert _one("USD", "CASH", "CNH").conId == 113342317
    us500 = _one("IBUS500", "CFD")
    assert (us500.exchange, us500.currency, us500.multiplier) == ("SMART", "USD", "1")
    # a stock and its CFD share the symbol; secType tells them apart
    assert {i.secType for i in BOOK.match(symbol="AAPL")} == {"STK", "CFD"}


def test_time_zones_agree_with_the_venue_calendars() -> None:
    """Every listed instrument and future carries the zone of the venue the
    simulator's calendar puts it on (N225 on OSE.JPN and HSI on HKFE are
    venues the calendar does not know yet)."""
    unknown = {"OSE.JPN", "HKFE"}
    for inst in universe(D(2026, 12, 8)):
        if inst.exchange not in unknown:
            assert inst.timeZoneId == venue_for(inst).timeZoneId, inst.localSymbol


def test_futures_underlyings_are_listed_indices() -> None:
    by_conid = {i.conId: i for i in LISTED}
    for fut in universe(D(2026, 12, 8)):
        if fut.secType == "FUT" and fut.underConId:
            index = by_conid[fut.underConId]
            assert (index.secType, index.symbol) == ("IND", fut.underSymbol)


def test_isins_pass_their_check_digit() -> None:
    isins = [v for i in LISTED for k, v in i.secIdList if k == "ISIN"]
    assert len(isins) > 60 and all(_isin_ok(v) for v in isins)
    assert not _isin_ok("US0378331006") and not _isin_ok("US037833100")


def _option_conids(day: dt.date) -> dict[int, tuple[int, dt.date, int, str]]:
    """Every option conId listed on ``day`` (all classes, all expiries, the
    strike grid around a price that grows with the date)."""
    drift = 1 + (day - D(2026, 1, 1)).days / 3650
    prices = {"SPX": 6800.0, "SPXW": 6800.0, "NDX": 25000.0, "NDXP": 25000.0,
              "RUT": 2400.0, "RUTW": 2400.0, "VIX": 18.0, "ODAX": 24000.0, "ES": 6850.0,
              "EW": 6850.0, "LO": 65.0, "OG": 4200.0, "OZN": 112.0, "EUU": 1.16,
              "OGBL": 128.0}
    out: dict[int, tuple[int, dt.date, int, str]] = {}
    count = 0
    for name, cls in OPTION_CLASSES.items():
        grid = strikes(cls, prices.get(name, 200.0) * drift)
        units = [round(k / cls.strike_unit) for k in grid]
        for expiry in expirations(cls, day):
            for u in units:
                for right in "CP":
                    out[option_conid(cls.slot, expiry, u, right)] = (cls.slot, expiry, u, right)
                    count += 1
    assert len(out) == count  # no two options of a day share a conId
    return out


def test_no_duplicate_conids_across_the_universe() -> None:
    days = [D(2026, 12, 8), D(2027, 3, 19), D(2028, 6, 30)]
    every_option: dict[int, tuple[int, dt.date, int, str]] = {}
    for day in days:
        listed = universe(day)
        conids = [i.conId for i in listed]
        assert len(set(conids)) == len(conids), day
        assert all(c < OPTION_BASE for c in conids)
        options = _option_conids(day)
        assert all(OPTION_BASE <= c < 2**31 for c in options)
        for conid, key in options.items():  # the same conId on another day: the same option
            assert every_option.setdefault(conid, key) == key
        InstrumentBook(listed)  # a book accepts the whole day's universe
    assert len(every_option) > 80_000


def test_the_universe_is_deterministic() -> None:
    first = universe(D(2026, 12, 8))
    again = universe(D(2026, 12, 8))
    assert first == again
    futures = [i for i in first if i.secType == "FUT"]
    assert {i.tradingClass for i in futures} >= {"ES", "NQ", "RTY", "CL", "GC", "ZN", "6E",
                                                 "FDAX", "FGBL"}
    assert dataclasses.replace(futures[0]) == futures[0]


def test_derivative_contract_details_as_ibapi_reads_them_off_the_wire() -> None:
    """IB's own decoder (a test oracle) splits the last trade time off and
    finds every derivative field where TWS puts it."""
    decoder_mod = pytest.importorskip("ibapi.decoder")
    from ibapi.wrapper import EWrapper

    from twsbridge.protocol import encode_message
    from twsbridge.protocol.catalogue import incoming
    from twsbridge.sim.reference.universe import derivatives

    class Recorder(EWrapper):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.got: list[Any] = []

        def contractDetails(self, reqId: int, contractDetails: Any) -> None:
            self.got.append(contractDetails)

    today = D(2026, 12, 8)
    spx_put = derivatives().option("SPX", D(2026, 12, 18), 6800.0, "P")
    frame = encode_message(incoming.ContractData(
        reqId=3, contractDetails=contract_details(spx_put, today)), 178)
    fields = frame[4:].split(b"\0")[:-1]
    recorder = Recorder()
    decoder_mod.Decoder(recorder, 178).interpret(tuple(fields[1:]), int(fields[0]))
    (cd,) = recorder.got
    c = cd.contract
    assert (c.conId, c.secType, c.strike, c.right, c.multiplier) == (
        spx_put.conId, "OPT", 6800.0, "P", "100")
    assert (c.lastTradeDateOrContractMonth, cd.lastTradeTime) == ("20261217", "15:00:00")
    assert (c.localSymbol, c.tradingClass) == ("SPX   261218P06800000", "SPX")
    assert (cd.underConId, cd.underSymbol, cd.underSecType) == (416904, "SPX", "IND")
    assert (cd.contractMonth, cd.realExpirationDate) == ("202612", "20261218")
