"""Instrument reference data, contract matching, calendar and trading hours."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twsbridge.sim.reference.calendar import (
    SIM_TZ,
    is_trading_day,
    session_bounds,
    trading_days,
    trading_hours,
    us_market_holidays,
)
from twsbridge.sim.reference.instruments import INSTRUMENTS, Instrument, InstrumentBook

BOOK = InstrumentBook()

REQUIRED = {
    "AAPL": (265598, "NASDAQ"),
    "AMD": (4391, "NASDAQ"),
    "INTC": (270639, "NASDAQ"),
    "MSFT": (272093, "NASDAQ"),
    "IBM": (8314, "NYSE"),
    "TSLA": (76792991, "NASDAQ"),
    "GOOG": (208813720, "NASDAQ"),
    "SPY": (756733, "ARCA"),
}


@pytest.mark.parametrize(("symbol", "expected"), sorted(REQUIRED.items()))
def test_required_stocks_have_real_conids(symbol: str, expected: tuple[int, str]) -> None:
    conid, primary = expected
    inst = BOOK.by_conid(conid)
    assert inst is not None
    assert inst.symbol == symbol
    assert inst.secType == "STK"
    assert inst.exchange == "SMART"
    assert inst.primaryExchange == primary
    assert inst.currency == "USD"
    assert inst.minTick == 0.01
    assert inst.timeZoneId == "US/Eastern"
    assert inst.secIdList[0][0] == "ISIN" and len(inst.secIdList[0][1]) == 12
    assert inst.derivativeSecTypes == ("CFD", "OPT", "IOPT", "WAR", "BAG")
    assert len(inst.marketRuleIds.split(",")) == len(inst.validExchanges.split(","))
    assert inst.suggestedSizeIncrement == 100


def test_trading_classes_and_stock_types() -> None:
    assert BOOK.by_conid(265598).tradingClass == "NMS"  # type: ignore[union-attr]
    assert BOOK.by_conid(8314).tradingClass == "IBM"  # type: ignore[union-attr]
    spy = BOOK.by_conid(756733)
    assert spy is not None and spy.tradingClass == "SPY" and spy.stockType == "ETF"
    aapl = BOOK.by_conid(265598)
    assert aapl is not None
    assert aapl.secIdList == (("ISIN", "US0378331005"),)
    assert aapl.longName == "APPLE INC"
    assert aapl.stockType == "COMMON"


def test_eurusd_contract() -> None:
    eur = BOOK.by_conid(12087792)
    assert eur is not None
    assert (eur.symbol, eur.currency) == ("EUR", "USD")
    assert (eur.secType, eur.exchange) == ("CASH", "IDEALPRO")
    assert eur.localSymbol == eur.tradingClass == "EUR.USD"
    assert eur.minTick == 0.00005
    assert eur.primaryExchange == ""
    assert eur.stockType == ""
    assert eur.validExchanges == "IDEALPRO"
    assert eur.is_forex


def test_conids_unique_and_book_rejects_duplicates() -> None:
    assert len({i.conId for i in INSTRUMENTS}) == len(INSTRUMENTS)
    with pytest.raises(ValueError):
        InstrumentBook([INSTRUMENTS[0], INSTRUMENTS[0]])


def test_match_amd_on_smart_usd_is_unique() -> None:
    found = BOOK.match(symbol="AMD", secType="STK", exchange="SMART", currency="USD")
    assert [i.conId for i in found] == [4391]


def test_match_unknown_symbol_gives_nothing() -> None:
    assert BOOK.match(symbol="XXX", secType="STK", exchange="SMART", currency="USD") == []
    assert BOOK.match() == []


def test_match_conid_alone() -> None:
    found = BOOK.match(conId=4391)
    assert [i.symbol for i in found] == ["AMD"]
    assert BOOK.match(conId=4391, symbol="AAPL") == []
    assert BOOK.match(conId=1) == []


def test_match_forex_as_ib_async_sends_it() -> None:
    found = BOOK.match(symbol="EUR", secType="CASH", exchange="IDEALPRO", currency="USD")
    assert [i.conId for i in found] == [12087792]
    assert [i.conId for i in BOOK.match(localSymbol="EUR.USD", secType="CASH")] == [12087792]
    # USD is the base of several pairs: currency disambiguates.
    assert len(BOOK.match(symbol="USD", secType="CASH")) == 3
    assert [i.localSymbol for i in BOOK.match(symbol="USD", currency="JPY")] == ["USD.JPY"]


def test_match_rules_for_exchange_and_fields() -> None:
    assert [i.conId for i in BOOK.match(symbol="aapl")] == [265598]
    assert [i.conId for i in BOOK.match(symbol="AAPL", exchange="NASDAQ")] == [265598]
    assert [i.conId for i in BOOK.match(symbol="AAPL", exchange="ISLAND")] == [265598]
    assert [i.conId for i in BOOK.match(symbol="AAPL", primaryExchange="NASDAQ")] == [265598]
    assert BOOK.match(symbol="AAPL", primaryExchange="NYSE") == []
    assert BOOK.match(symbol="AAPL", exchange="IDEALPRO") == []
    assert BOOK.match(symbol="AAPL", currency="EUR") == []
    assert BOOK.match(symbol="AAPL", secType="OPT") == []
    assert BOOK.match(symbol="EUR", exchange="SMART") == []


@given(st.sampled_from(INSTRUMENTS))
def test_every_instrument_resolves_from_its_own_fields(inst: Instrument) -> None:
    assert BOOK.match(conId=inst.conId) == [inst]
    assert BOOK.match(symbol=inst.symbol, secType=inst.secType, exchange=inst.exchange,
                      currency=inst.currency) == [inst]
    assert BOOK.match(localSymbol=inst.localSymbol, secType=inst.secType,
                      currency=inst.currency) == [inst]


def test_search() -> None:
    assert BOOK.search("intc")[0].symbol == "INTC"
    assert "AAPL" in [i.symbol for i in BOOK.search("apple")]
    assert BOOK.search("AMD")[0].symbol == "AMD"
    assert BOOK.search("EUR.USD")[0].conId == 12087792
    assert BOOK.search("eurusd")[0].conId == 12087792
    ranked = [i.symbol for i in BOOK.search("a")]
    assert ranked[:3] == ["AMD", "AUD", "AAPL"]  # symbol prefixes first, shorter first
    assert len(BOOK.search("a", limit=2)) == 2
    assert BOOK.search("") == [] and BOOK.search("zzzz") == []
    semis = {i.symbol for i in BOOK.search("micro")}
    assert {"AMD", "MSFT"} <= semis


def _real_dates() -> list[dt.date]:
    raw = resources.files("bokeh_sampledata").joinpath("_data/stocks.csv.gz").read_bytes()
    rows = csv.DictReader(io.StringIO(gzip.decompress(raw).decode()))
    return sorted(dt.date.fromisoformat(r["Date"]) for r in rows if r["Ticker"] == "AAPL")


def test_calendar_matches_real_trading_days() -> None:
    real = _real_dates()
    aapl = BOOK.by_conid(265598)
    assert aapl is not None
    assert trading_days(aapl, real[0], real[-1]) == real


def test_holidays_and_forex_week() -> None:
    h2013 = us_market_holidays(2013)
    assert dt.date(2013, 3, 29) in h2013  # Good Friday
    assert dt.date(2013, 7, 4) in h2013
    assert dt.date(2013, 11, 28) in h2013
    assert dt.date(2022, 6, 20) in us_market_holidays(2022)  # Juneteenth observed
    eur = BOOK.by_conid(12087792)
    aapl = BOOK.by_conid(265598)
    assert eur is not None and aapl is not None
    assert is_trading_day(eur, dt.date(2013, 3, 29))
    assert not is_trading_day(aapl, dt.date(2013, 3, 29))
    assert not is_trading_day(eur, dt.date(2013, 3, 2))
    assert not is_trading_day(eur, dt.date(2013, 12, 25))


def test_trading_hours_strings() -> None:
    aapl = BOOK.by_conid(265598)
    eur = BOOK.by_conid(12087792)
    assert aapl is not None and eur is not None
    day = dt.date(2013, 3, 1)
    assert trading_hours(aapl, day, rth=False) == (
        "20130301:0400-20130301:2000;20130302:CLOSED;20130303:CLOSED;"
        "20130304:0400-20130304:2000;20130305:0400-20130305:2000;"
        "20130306:0400-20130306:2000;20130307:0400-20130307:2000"
    )
    assert trading_hours(aapl, day, rth=True).startswith("20130301:0930-20130301:1600;")
    assert trading_hours(aapl, dt.date(2013, 3, 29), rth=True).startswith("20130329:CLOSED;")
    assert trading_hours(eur, day, rth=False) == (
        "20130302:CLOSED;20130303:1715-20130304:1700;20130304:1715-20130305:1700;"
        "20130305:1715-20130306:1700;20130306:1715-20130307:1700;"
        "20130307:1715-20130308:1700"
    )


def test_session_bounds() -> None:
    aapl = BOOK.by_conid(265598)
    eur = BOOK.by_conid(12087792)
    assert aapl is not None and eur is not None
    day = dt.date(2013, 3, 4)
    assert session_bounds(aapl, day, True) == (
        dt.datetime(2013, 3, 4, 9, 30, tzinfo=SIM_TZ), dt.datetime(2013, 3, 4, 16, tzinfo=SIM_TZ))
    assert session_bounds(aapl, day, False)[0].hour == 4
    start, end = session_bounds(eur, day, True)
    assert start == dt.datetime(2013, 3, 3, 17, 15, tzinfo=SIM_TZ)
    assert end == dt.datetime(2013, 3, 4, 17, 0, tzinfo=SIM_TZ)
    assert SIM_TZ.key == "US/Eastern"
