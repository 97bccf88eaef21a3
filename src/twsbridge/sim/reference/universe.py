"""The wide simulated market: listed stocks, ETFs, indices, forex and CFDs
on the world's main venues, plus the futures and options derived from them.

:func:`listed_instruments` is the fixed table: the 18 instruments of
:data:`~twsbridge.sim.reference.instruments.INSTRUMENTS` unchanged, more
US names (real IB conIds where verified: ``_REAL``), Xetra (IBIS, EUR),
LSE (GBP), SEHK (HKD), TSEJ (JPY) and TSE (CAD) stocks, indices (IND),
forex crosses and CFDs; the others get generated conIds
(:func:`twsbridge.sim.reference.conids.listed_conid`).

:func:`universe` adds the futures listed on a day. Options are too many to
list: :class:`Derivatives` produces them on demand (chains, contracts, and
the contract of a generated conId), the source the simulator's default
book (:class:`~twsbridge.sim.reference.book.UniverseBook`) consults.

ISINs are given where known; every one passes the ISIN check digit.
Market rule ids: 26 (US stocks) and 239 (IDEALPRO) are the ones the
original instruments carry; the others (1595 Xetra, 1549 LSE, ... and the
futures' and options' in their modules) name the venue's tick ladder for
the simulator, which will define them when reqMarketRule serves them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache

from twsbridge.sim.reference.conids import listed_conid
from twsbridge.sim.reference.derivatives import Derivatives
from twsbridge.sim.reference.futures import FUTURES, listed_futures
from twsbridge.sim.reference.instruments import INSTRUMENTS, Instrument
from twsbridge.sim.reference.venues import venue as venue_of

__all__ = ["Derivatives", "derivatives", "listed_instruments", "universe"]

# (symbol, primary, currency) -> the real IB conId, verified against public
# TWS/ib_insync output.
_REAL: dict[tuple[str, str, str], int] = {
    ("GOOGL", "NASDAQ", "USD"): 208813719, ("JPM", "NYSE", "USD"): 1520593,
    ("GS", "NYSE", "USD"): 4627828, ("MS", "NYSE", "USD"): 2841574,
    ("XOM", "NYSE", "USD"): 13977, ("NFLX", "NASDAQ", "USD"): 15124833,
    ("NKE", "NYSE", "USD"): 10291, ("BRK B", "NYSE", "USD"): 72063691,
    ("BABA", "NYSE", "USD"): 166090175, ("IWM", "ARCA", "USD"): 9579970,
    ("DIA", "ARCA", "USD"): 73128548, ("TLT", "NASDAQ", "USD"): 15547841,
    ("GLD", "ARCA", "USD"): 51529211, ("XLF", "ARCA", "USD"): 4215220,
    ("SPX", "CBOE", "USD"): 416904, ("NDX", "NASDAQ", "USD"): 416843,
    ("RUT", "RUSSELL", "USD"): 416888, ("VIX", "CBOE", "USD"): 13455763,
    ("USD.CNH", "", "CNH"): 113342317,
    ("BRK B", "CFD", "USD"): 120550477, ("BABA", "CFD", "USD"): 166176201,
}

# Listing venue: (exchange, validExchanges, tradingClass or "" for the symbol, minTick,
# marketRuleIds); the timeZoneId is the venue's (twsbridge.sim.reference.venues).
_LISTINGS: dict[str, tuple[str, str, str, float, str]] = {
    "IBIS": ("SMART", "SMART,IBIS,FWB,SWB,GETTEX,TGATE", "XETRA", 0.001, "1595"),
    "LSE": ("SMART", "SMART,LSE,CHIXUK,BATEUK,TRQXUK,AQXEUK", "", 0.05, "1549"),
    "SEHK": ("SEHK", "SEHK", "", 0.01, "1556"),
    "TSEJ": ("SMART", "SMART,TSEJ,CHIXJ", "", 1.0, "1561"),
    "TSE": ("SMART", "SMART,TSE,ALPHA,CHIXCA,OMEGA,PURE,ITG", "", 0.01, "1574"),
}
_US_VALID = INSTRUMENTS[0].validExchanges
_US_RULES = INSTRUMENTS[0].marketRuleIds


def _isin_ok(isin: str) -> bool:
    """ISO 6166 check digit (letters as 10..35, Luhn over the digits)."""
    if len(isin) != 12 or not isin[:2].isalpha() or not isin[-1].isdigit():
        return False
    digits = "".join(str(int(ch, 36)) for ch in isin[:-1])
    total = 0
    for k, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if k % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return (10 - total % 10) % 10 == int(isin[-1])


def _conid(secType: str, symbol: str, primary: str, currency: str) -> int:
    return _REAL.get((symbol, primary if secType != "CFD" else "CFD", currency)) or (
        listed_conid(secType, symbol, primary, currency))


def _us(symbol: str, primary: str, longName: str, isin: str = "", *,
        etf: bool = False, stockType: str = "") -> Instrument:
    return Instrument(
        conId=_conid("STK", symbol, primary, "USD"), symbol=symbol, secType="STK",
        exchange="SMART", primaryExchange=primary, currency="USD", localSymbol=symbol,
        tradingClass="NMS" if primary == "NASDAQ" else symbol, longName=longName,
        minTick=0.01, stockType=stockType or ("ETF" if etf else "COMMON"),
        secIdList=(("ISIN", isin),) if isin else (), description=longName,
    )


def _foreign(symbol: str, venue: str, currency: str, longName: str, isin: str,
             lot: int = 1) -> Instrument:
    exchange, valid, trading_class, tick, rule = _LISTINGS[venue]
    tz = venue_of(venue).timeZoneId
    return Instrument(
        conId=_conid("STK", symbol, venue, currency), symbol=symbol, secType="STK",
        exchange=exchange, primaryExchange=venue, currency=currency, localSymbol=symbol,
        tradingClass=trading_class or symbol, longName=longName, minTick=tick,
        timeZoneId=tz, validExchanges=valid,
        marketRuleIds=",".join([rule] * len(valid.split(","))),
        secIdList=(("ISIN", isin),), description=longName, derivativeSecTypes=("CFD",),
        minSize=Decimal(lot), sizeIncrement=Decimal(lot), suggestedSizeIncrement=Decimal(lot),
    )


def _index(symbol: str, exchange: str, currency: str, longName: str, tz: str) -> Instrument:
    return Instrument(
        conId=_conid("IND", symbol, exchange, currency), symbol=symbol, secType="IND",
        exchange=exchange, primaryExchange="", currency=currency, localSymbol=symbol,
        tradingClass=symbol, longName=longName, minTick=0.01, timeZoneId=tz, orderTypes="",
        validExchanges=exchange, stockType="", marketRuleIds="31", aggGroup=0,
        derivativeSecTypes=("OPT", "FUT", "FOP", "CFD"), description=longName,
    )


def _fx(base: str, quote: str, longName: str) -> Instrument:
    pair = f"{base}.{quote}"
    template = INSTRUMENTS[-1]  # USD.CHF: IDEALPRO's order types, rules and sizes
    tick = 0.005 if quote == "JPY" else 0.00005
    return Instrument(
        conId=_conid("CASH", pair, "", quote), symbol=base, secType="CASH",
        exchange="IDEALPRO", primaryExchange="", currency=quote, localSymbol=pair,
        tradingClass=pair, longName=longName, minTick=tick, orderTypes=template.orderTypes,
        validExchanges="IDEALPRO", stockType="", marketRuleIds="239", aggGroup=4,
        derivativeSecTypes=(), description=longName, suggestedSizeIncrement=Decimal("1"),
    )


def _cfd(symbol: str, currency: str, longName: str, tz: str = "US/Eastern",
         tick: float = 0.01) -> Instrument:
    return Instrument(
        conId=_conid("CFD", symbol, "", currency), symbol=symbol, secType="CFD",
        exchange="SMART", primaryExchange="", currency=currency, localSymbol=symbol,
        tradingClass=symbol, longName=longName, minTick=tick, multiplier="1",
        timeZoneId=tz, validExchanges="SMART,IBCFD", stockType="", marketRuleIds="26,26",
        aggGroup=1, derivativeSecTypes=(), description=longName,
        suggestedSizeIncrement=Decimal("1"),
    )


def _extra() -> tuple[Instrument, ...]:
    return (
        # United States (SMART; NASDAQ, NYSE, ARCA)
        _us("GOOGL", "NASDAQ", "ALPHABET INC-CL A", "US02079K3059"),
        _us("JPM", "NYSE", "JPMORGAN CHASE & CO", "US46625H1005"),
        _us("GS", "NYSE", "GOLDMAN SACHS GROUP INC", "US38141G1040"),
        _us("MS", "NYSE", "MORGAN STANLEY", "US6174464486"),
        _us("XOM", "NYSE", "EXXON MOBIL CORP", "US30231G1022"),
        _us("NFLX", "NASDAQ", "NETFLIX INC", "US64110L1061"),
        _us("NKE", "NYSE", "NIKE INC -CL B", "US6541061031"),
        _us("BRK B", "NYSE", "BERKSHIRE HATHAWAY INC-CL B", "US0846707026"),
        _us("BABA", "NYSE", "ALIBABA GROUP HOLDING-SP ADR", "US01609W1027", stockType="ADR"),
        _us("V", "NYSE", "VISA INC-CLASS A SHARES", "US92826C8394"),
        _us("MA", "NYSE", "MASTERCARD INC - A", "US57636Q1040"),
        _us("UNH", "NYSE", "UNITEDHEALTH GROUP INC", "US91324P1021"),
        _us("JNJ", "NYSE", "JOHNSON & JOHNSON", "US4781601046"),
        _us("PG", "NYSE", "PROCTER & GAMBLE CO/THE", "US7427181091"),
        _us("KO", "NYSE", "COCA-COLA CO/THE", "US1912161007"),
        _us("PEP", "NASDAQ", "PEPSICO INC", "US7134481081"),
        _us("HD", "NYSE", "HOME DEPOT INC", "US4370761029"),
        _us("DIS", "NYSE", "WALT DISNEY CO/THE", "US2546871060"),
        _us("BA", "NYSE", "BOEING CO/THE", "US0970231058"),
        _us("CSCO", "NASDAQ", "CISCO SYSTEMS INC", "US17275R1023"),
        _us("ORCL", "NYSE", "ORACLE CORP", "US68389X1054"),
        _us("AVGO", "NASDAQ", "BROADCOM INC", "US11135F1012"),
        _us("BAC", "NYSE", "BANK OF AMERICA CORP", "US0605051046"),
        _us("CVX", "NYSE", "CHEVRON CORP", "US1667641005"),
        _us("COST", "NASDAQ", "COSTCO WHOLESALE CORP", "US22160K1051"),
        _us("PFE", "NYSE", "PFIZER INC", "US7170811035"),
        _us("IWM", "ARCA", "ISHARES RUSSELL 2000 ETF", "US4642876555", etf=True),
        _us("DIA", "ARCA", "SPDR DJIA TRUST", "US78467X1090", etf=True),
        _us("TLT", "NASDAQ", "ISHARES 20+ YEAR TREASURY BO", "US4642874329", etf=True),
        _us("GLD", "ARCA", "SPDR GOLD SHARES", "US78463V1070", etf=True),
        _us("XLF", "ARCA", "FINANCIAL SELECT SECTOR SPDR", "US81369Y6059", etf=True),
        # Germany (Xetra, EUR)
        _foreign("SAP", "IBIS", "EUR", "SAP SE", "DE0007164600"),
        _foreign("SIE", "IBIS", "EUR", "SIEMENS AG-REG", "DE0007236101"),
        _foreign("BMW", "IBIS", "EUR", "BAYERISCHE MOTOREN WERKE AG", "DE0005190003"),
        _foreign("ALV", "IBIS", "EUR", "ALLIANZ SE-REG", "DE0008404005"),
        _foreign("DTE", "IBIS", "EUR", "DEUTSCHE TELEKOM AG-REG", "DE0005557508"),
        # United Kingdom (LSE, GBP)
        _foreign("VOD", "LSE", "GBP", "VODAFONE GROUP PLC", "GB00BH4HKS39"),
        _foreign("BP.", "LSE", "GBP", "BP PLC", "GB0007980591"),
        _foreign("HSBA", "LSE", "GBP", "HSBC HOLDINGS PLC", "GB0005405286"),
        _foreign("AZN", "LSE", "GBP", "ASTRAZENECA PLC", "GB0009895292"),
        _foreign("SHEL", "LSE", "GBP", "SHELL PLC", "GB00BP6MXD84"),
        # Hong Kong (SEHK, HKD; board lots)
        _foreign("700", "SEHK", "HKD", "TENCENT HOLDINGS LTD", "KYG875721634", 100),
        _foreign("3690", "SEHK", "HKD", "MEITUAN-CLASS B", "KYG596691041", 100),
        _foreign("9988", "SEHK", "HKD", "ALIBABA GROUP HOLDING LTD", "KYG017191142", 100),
        _foreign("1299", "SEHK", "HKD", "AIA GROUP LTD", "HK0000069689", 200),
        # Japan (TSEJ, JPY; unit of 100 shares)
        _foreign("7203", "TSEJ", "JPY", "TOYOTA MOTOR CORP", "JP3633400001", 100),
        _foreign("6758", "TSEJ", "JPY", "SONY GROUP CORP", "JP3435000009", 100),
        _foreign("9984", "TSEJ", "JPY", "SOFTBANK GROUP CORP", "JP3436100006", 100),
        # Canada (TSE, CAD)
        _foreign("RY", "TSE", "CAD", "ROYAL BANK OF CANADA", "CA7800871021"),
        _foreign("SHOP", "TSE", "CAD", "SHOPIFY INC - CLASS A", "CA82509L1076"),
        _foreign("TD", "TSE", "CAD", "TORONTO-DOMINION BANK", "CA8911605092"),
        _foreign("ENB", "TSE", "CAD", "ENBRIDGE INC", "CA29250N1050"),
        # Indices
        _index("SPX", "CBOE", "USD", "S&P 500 Stock Index", "US/Central"),
        _index("NDX", "NASDAQ", "USD", "NASDAQ 100 Stock Index", "US/Eastern"),
        _index("VIX", "CBOE", "USD", "CBOE Volatility Index", "US/Central"),
        _index("RUT", "RUSSELL", "USD", "Russell 2000 Stock Index", "US/Eastern"),
        _index("INDU", "CME", "USD", "Dow Jones Industrial Average", "US/Central"),
        _index("DAX", "EUREX", "EUR", "DAX Index", "MET"),
        _index("ESTX50", "EUREX", "EUR", "Dow Jones Euro STOXX50", "MET"),
        _index("N225", "OSE.JPN", "JPY", "Nikkei 225", "Japan"),
        _index("HSI", "HKFE", "HKD", "Hang Seng Stock Index", "Hongkong"),
        # Forex crosses (IDEALPRO)
        _fx("EUR", "GBP", "European Monetary Union Euro"),
        _fx("EUR", "JPY", "European Monetary Union Euro"),
        _fx("EUR", "CHF", "European Monetary Union Euro"),
        _fx("EUR", "CAD", "European Monetary Union Euro"),
        _fx("EUR", "AUD", "European Monetary Union Euro"),
        _fx("GBP", "JPY", "British pound"),
        _fx("GBP", "CHF", "British pound"),
        _fx("AUD", "JPY", "Australian dollar"),
        _fx("CHF", "JPY", "Swiss franc"),
        _fx("CAD", "JPY", "Canadian dollar"),
        _fx("NZD", "USD", "New Zealand dollar"),
        _fx("USD", "CNH", "US dollar"),
        _fx("USD", "HKD", "US dollar"),
        _fx("USD", "SGD", "US dollar"),
        # CFDs (SMART): IB's index CFDs and stock CFDs
        _cfd("IBUS500", "USD", "US 500", tick=0.1),
        _cfd("IBUST100", "USD", "US Tech 100", tick=0.1),
        _cfd("IBUS30", "USD", "US 30", tick=1.0),
        _cfd("IBDE40", "EUR", "Germany 40", "MET", 0.1),
        _cfd("IBGB100", "GBP", "UK 100", "Europe/London", 0.1),
        _cfd("IBEU50", "EUR", "Euro 50", "MET", 0.1),
        _cfd("IBJP225", "JPY", "Japan 225", "Japan", 1.0),
        _cfd("IBHK50", "HKD", "Hong Kong 50", "Hongkong", 1.0),
        _cfd("AAPL", "USD", "APPLE INC"),
        _cfd("MSFT", "USD", "MICROSOFT CORP"),
        _cfd("TSLA", "USD", "TESLA INC"),
        _cfd("NVDA", "USD", "NVIDIA CORP"),
        _cfd("BRK B", "USD", "BERKSHIRE HATHAWAY INC-CL B"),
        _cfd("BABA", "USD", "ALIBABA GROUP HOLDING-SP ADR"),
        _cfd("SAP", "EUR", "SAP SE", "MET"),
        _cfd("VOD", "GBP", "VODAFONE GROUP PLC", "Europe/London"),
    )


@lru_cache(maxsize=1)
def listed_instruments() -> tuple[Instrument, ...]:
    """Every listed (non-expiring) instrument: ``INSTRUMENTS`` first, in its
    order, then the wider table. Raises ValueError if two share a conId or
    an ISIN fails its check digit (a table error)."""
    out = INSTRUMENTS + _extra()
    if len({i.conId for i in out}) != len(out):
        raise ValueError("duplicate conId in the listed universe")
    bad = [v for i in out for k, v in i.secIdList if k == "ISIN" and not _isin_ok(v)]
    if bad:
        raise ValueError(f"bad ISIN check digit: {bad}")
    return out


def universe(today: dt.date) -> tuple[Instrument, ...]:
    """The instruments listed on ``today``: :func:`listed_instruments` and
    every product's listed futures (nearest first). Options are not
    enumerated: see :class:`Derivatives`."""
    futs = tuple(f for p in FUTURES.values() for f in listed_futures(p, today))
    return listed_instruments() + futs


@lru_cache(maxsize=1)
def derivatives() -> Derivatives:
    """The :class:`Derivatives` source on :func:`listed_instruments`."""
    return Derivatives(listed_instruments())
