"""Instrument reference data for the simulated TWS gateway.

Every instrument carries its real Interactive Brokers conId and contract
details shaped like the ones TWS returns in ``contractDetails`` (order types,
valid exchanges, market rule ids, ISIN, industry classification ...).

The exchange calendar (holidays, sessions, ``tradingHours``) is in
:mod:`twsbridge.sim.reference.calendar`; the wider market (other venues,
indices, CFDs, futures and options) in :mod:`twsbridge.sim.reference.universe`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "INSTRUMENTS",
    "Criteria",
    "Instrument",
    "InstrumentBook",
    "when_ok",
]

_STK_ORDER_TYPES = (
    "ACTIVETIM,AD,ADDONT,ADJUST,ALERT,ALGO,ALLOC,AON,AVGCOST,BASKET,BENCHPX,CASHQTY,"
    "COND,CONDORDER,DARKONLY,DARKPOLL,DAY,DEACT,DEACTDIS,DEACTEOD,DIS,DUR,GAT,GTC,GTD,"
    "GTT,HID,IBKRATS,ICE,IMB,IOC,LIT,LMT,LOC,MIDPX,MIT,MKT,MOC,MTL,NGCOMB,NODARK,"
    "NONALGO,OCA,OPG,OPGREROUT,PEGBENCH,PEGMID,POSTATS,POSTONLY,PREOPGRTH,PRICECHK,REL,"
    "REL2MID,RELPCTOFS,RPI,RTH,SCALE,SCALEODD,SCALERST,SIZECHK,SMARTSTG,SNAPMID,SNAPMKT,"
    "SNAPREL,STP,STPLMT,SWEEP,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,WHATIF"
)
_STK_VALID_EXCHANGES = (
    "SMART,AMEX,NYSE,CBOE,PHLX,ISE,CHX,ARCA,ISLAND,DRCTEDGE,BEX,BATS,EDGEA,BYX,IEX,"
    "EDGX,FOXRIVER,PEARL,NYSENAT,LTSE,MEMX,IBEOS,OVERNIGHT,TPLUS0,PSX,T24X"
)
_STK_MARKET_RULES = ",".join(["26"] * len(_STK_VALID_EXCHANGES.split(",")))
_STK_DERIVATIVES = ("CFD", "OPT", "IOPT", "WAR", "BAG")
_FX_ORDER_TYPES = (
    "ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AVGCOST,BASKET,CASHQTY,COND,CONDORDER,DAY,"
    "DEACT,DEACTDIS,DEACTEOD,GAT,GTC,GTD,GTT,HID,IOC,LIT,LMT,MIT,MKT,NONALGO,OCA,REL,"
    "RELPCTOFS,SCALE,SCALERST,STP,STPLMT,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,WHATIF"
)
_DATA_START = dt.date(2000, 3, 1)


@dataclass(frozen=True, slots=True)
class Instrument:
    """One tradable contract with its TWS contract details.

    Prices are in ``currency`` units; ``minTick`` is the price increment;
    sizes (``minSize``, ``sizeIncrement``, ``suggestedSizeIncrement``) are in
    shares for stocks and in base-currency units for forex. ``firstDate`` is
    the first day the simulator has data for (head timestamp).

    Derivatives also carry ``lastTradeDateOrContractMonth`` (``YYYYMMDD``, the
    last trading day), ``strike`` (in ``currency``), ``right`` (``C``/``P``),
    the underlying (``underConId``, ``underSymbol``, ``underSecType``),
    ``contractMonth`` (``YYYYMM``), ``realExpirationDate`` (``YYYYMMDD``, the
    settlement/expiry date, later than the last trading day for AM-settled
    options) and ``lastTradeTime`` (``HH:MM:SS`` in ``timeZoneId``), as in
    TWS's ContractDetails; every one defaults to empty so the stock and
    forex records are unchanged.
    """

    conId: int
    symbol: str
    secType: str
    exchange: str
    primaryExchange: str
    currency: str
    localSymbol: str
    tradingClass: str
    longName: str
    minTick: float
    priceMagnifier: int = 1
    multiplier: str = ""
    industry: str = ""
    category: str = ""
    subcategory: str = ""
    timeZoneId: str = "US/Eastern"
    orderTypes: str = _STK_ORDER_TYPES
    validExchanges: str = _STK_VALID_EXCHANGES
    stockType: str = "COMMON"
    secIdList: tuple[tuple[str, str], ...] = ()
    marketRuleIds: str = _STK_MARKET_RULES
    aggGroup: int = 1
    derivativeSecTypes: tuple[str, ...] = _STK_DERIVATIVES
    description: str = ""
    firstDate: dt.date = _DATA_START
    minSize: Decimal = Decimal("1")
    sizeIncrement: Decimal = Decimal("1")
    suggestedSizeIncrement: Decimal = Decimal("100")
    # Derivatives (FUT, OPT, FOP, CONTFUT); empty for stocks, indices, forex and CFDs.
    lastTradeDateOrContractMonth: str = ""
    strike: float = 0.0
    right: str = ""
    underConId: int = 0
    underSymbol: str = ""
    underSecType: str = ""
    contractMonth: str = ""
    realExpirationDate: str = ""
    lastTradeTime: str = ""
    evRule: str = ""
    evMultiplier: int = 0

    @property
    def marketName(self) -> str:
        """TWS ``marketName`` (equal to the trading class for these contracts)."""
        return self.tradingClass

    @property
    def is_forex(self) -> bool:
        """True for IDEALPRO currency pairs (secType ``CASH``)."""
        return self.secType == "CASH"


def _stock(
    conId: int,
    symbol: str,
    primary: str,
    longName: str,
    isin: str,
    industry: str,
    category: str,
    subcategory: str,
    *,
    stockType: str = "COMMON",
    firstDate: dt.date = _DATA_START,
) -> Instrument:
    tradingClass = "NMS" if primary == "NASDAQ" else symbol
    return Instrument(
        conId=conId,
        symbol=symbol,
        secType="STK",
        exchange="SMART",
        primaryExchange=primary,
        currency="USD",
        localSymbol=symbol,
        tradingClass=tradingClass,
        longName=longName,
        minTick=0.01,
        industry=industry,
        category=category,
        subcategory=subcategory,
        stockType=stockType,
        secIdList=(("ISIN", isin),),
        description=longName,
        firstDate=firstDate,
    )


def _forex(conId: int, base: str, quote: str, longName: str, minTick: float) -> Instrument:
    pair = f"{base}.{quote}"
    return Instrument(
        conId=conId,
        symbol=base,
        secType="CASH",
        exchange="IDEALPRO",
        primaryExchange="",
        currency=quote,
        localSymbol=pair,
        tradingClass=pair,
        longName=longName,
        minTick=minTick,
        orderTypes=_FX_ORDER_TYPES,
        validExchanges="IDEALPRO",
        stockType="",
        marketRuleIds="239",
        aggGroup=4,
        derivativeSecTypes=(),
        description=longName,
        suggestedSizeIncrement=Decimal("1"),
    )


_SEMI = ("Technology", "Semiconductors", "Electronic Compo-Semicon")

INSTRUMENTS: tuple[Instrument, ...] = (
    _stock(265598, "AAPL", "NASDAQ", "APPLE INC", "US0378331005",
           "Technology", "Computers", "Computers"),
    _stock(4391, "AMD", "NASDAQ", "ADVANCED MICRO DEVICES", "US0079031078", *_SEMI),
    _stock(270639, "INTC", "NASDAQ", "INTEL CORP", "US4581401001", *_SEMI),
    _stock(272093, "MSFT", "NASDAQ", "MICROSOFT CORP", "US5949181045",
           "Technology", "Software", "Applications Software"),
    _stock(8314, "IBM", "NYSE", "INTL BUSINESS MACHINES CORP", "US4592001014",
           "Technology", "Computers", "Computer Services"),
    _stock(76792991, "TSLA", "NASDAQ", "TESLA INC", "US88160R1014",
           "Consumer, Cyclical", "Auto Manufacturers", "Auto-Cars/Light Trucks",
           firstDate=dt.date(2010, 6, 29)),
    _stock(208813720, "GOOG", "NASDAQ", "ALPHABET INC-CL C", "US02079K1079",
           "Communications", "Internet", "Web Portals/ISP",
           firstDate=dt.date(2004, 8, 19)),
    _stock(3691937, "AMZN", "NASDAQ", "AMAZON.COM INC", "US0231351067",
           "Communications", "Internet", "E-Commerce/Products"),
    _stock(4815747, "NVDA", "NASDAQ", "NVIDIA CORP", "US67066G1040", *_SEMI),
    _stock(107113386, "META", "NASDAQ", "META PLATFORMS INC-CLASS A", "US30303M1027",
           "Communications", "Internet", "Internet Content-Entmnt",
           firstDate=dt.date(2012, 5, 18)),
    _stock(756733, "SPY", "ARCA", "SPDR S&P 500 ETF TRUST", "US78462F1030",
           "", "", "", stockType="ETF"),
    _stock(320227571, "QQQ", "NASDAQ", "INVESCO QQQ TRUST SERIES 1", "US46090E1038",
           "", "", "", stockType="ETF"),
    _forex(12087792, "EUR", "USD", "European Monetary Union Euro", 0.00005),
    _forex(12087797, "GBP", "USD", "British pound", 0.00005),
    _forex(15016059, "USD", "JPY", "US dollar", 0.005),
    _forex(14433401, "AUD", "USD", "Australian dollar", 0.00005),
    _forex(15016062, "USD", "CAD", "US dollar", 0.00005),
    _forex(12087820, "USD", "CHF", "US dollar", 0.00005),
)
"""The instruments the simulator knows, with their real IB conIds."""


# ------------------------------------------------------------------ lookup

_EXCHANGE_ALIASES = {"NASDAQ": "ISLAND", "ISLAND": "NASDAQ", "GLOBEX": "CME", "ECBOT": "CBOT",
                     "DTB": "EUREX"}


def _exchange_ok(inst: Instrument, exchange: str) -> bool:
    ex = exchange.upper()
    if not ex:
        return True
    if inst.is_forex:
        return ex in ("IDEALPRO", "IDEAL")
    valid = set(inst.validExchanges.split(","))
    return ex == "SMART" or ex in valid or ex == inst.primaryExchange or (
        _EXCHANGE_ALIASES.get(ex, "") in valid
    )


def _primary_ok(inst: Instrument, primary: str) -> bool:
    p = primary.upper()
    return not p or p == inst.primaryExchange or _EXCHANGE_ALIASES.get(p) == inst.primaryExchange


_NOT_SEARCHED = frozenset(("FUT", "CONTFUT", "OPT", "FOP", "BAG"))
_RIGHTS = {"C": "C", "CALL": "C", "P": "P", "PUT": "P"}


def when_ok(inst: Instrument, when: str) -> bool:
    """Whether ``inst`` is of ``when``, a request's lastTradeDateOrContractMonth:
    empty (any), ``YYYYMM`` (the contract month of a future, the expiry month
    of an option) or ``YYYYMMDD`` (its last trading day or expiry date)."""
    if not when:
        return True
    if not inst.lastTradeDateOrContractMonth:
        return False
    w = when.strip()[:8]
    if len(w) == 6:
        if inst.secType in ("FUT", "CONTFUT"):
            return inst.contractMonth == w
        return w in (inst.lastTradeDateOrContractMonth[:6], inst.realExpirationDate[:6])
    return w in (inst.lastTradeDateOrContractMonth, inst.realExpirationDate)


@dataclass(frozen=True, slots=True)
class Criteria:
    """The fields of a request's contract, normalised, that an instrument
    must agree with (empty: any)."""

    symbol: str
    secType: str
    exchange: str
    primaryExchange: str
    currency: str
    localSymbol: str
    when: str
    strike: float
    right: str
    multiplier: str
    tradingClass: str

    @classmethod
    def of(cls, *, symbol: str = "", secType: str = "", exchange: str = "",
           primaryExchange: str = "", currency: str = "", localSymbol: str = "",
           when: str = "", strike: float = 0.0, right: str = "", multiplier: str = "",
           tradingClass: str = "") -> Criteria:
        """Criteria from request fields (case-insensitive; an unknown right
        matches nothing)."""
        r = right.strip().upper()
        return cls(symbol.strip().upper(), secType.strip().upper(), exchange, primaryExchange,
                   currency.strip().upper(), localSymbol.strip().upper(), when.strip(),
                   float(strike or 0.0), _RIGHTS.get(r, "?") if r and r != "?" else "",
                   multiplier.strip(), tradingClass.strip().upper())

    def accepts(self, inst: Instrument) -> bool:
        """Whether ``inst`` agrees with every given field."""
        if self.symbol and inst.symbol != self.symbol:
            return False
        if self.localSymbol and inst.localSymbol.upper() != self.localSymbol:
            return False
        if self.secType and inst.secType != self.secType:
            return False
        if self.currency and inst.currency != self.currency:
            return False
        if self.tradingClass and inst.tradingClass.upper() != self.tradingClass:
            return False
        if self.right and inst.right != self.right:
            return False
        if self.strike and abs(inst.strike - self.strike) > 1e-9:
            return False
        if self.multiplier and not _same_number(inst.multiplier, self.multiplier):
            return False
        if not when_ok(inst, self.when):
            return False
        return _exchange_ok(inst, self.exchange) and _primary_ok(inst, self.primaryExchange)


def _same_number(a: str, b: str) -> bool:
    try:
        return float(a or 0) == float(b)
    except ValueError:
        return a == b


class InstrumentBook:
    """The set of instruments, with TWS-style contract lookup.

    ``match`` implements reqContractDetails resolution, ``search``
    reqMatchingSymbols.
    """

    def __init__(self, instruments: Iterable[Instrument] = INSTRUMENTS) -> None:
        self._load(instruments)

    def _load(self, instruments: Iterable[Instrument]) -> None:
        """Hold ``instruments``; a CONTFUT shares the conId of its front future
        (as in TWS) and is not indexed by conId. Raises ValueError on any
        other duplicate conId."""
        held = tuple(instruments)
        by_conid: dict[int, Instrument] = {}
        for inst in held:
            if inst.secType == "CONTFUT":
                continue
            if inst.conId in by_conid:
                raise ValueError(f"duplicate conId {inst.conId} in instrument book")
            by_conid[inst.conId] = inst
        self._instruments, self._by_conid = held, by_conid

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self._instruments)

    def __len__(self) -> int:
        return len(self._instruments)

    @property
    def instruments(self) -> tuple[Instrument, ...]:
        """All instruments, in book order."""
        return self._instruments

    def by_conid(self, conId: int) -> Instrument | None:
        """The instrument with this conId, or None."""
        return self._by_conid.get(conId)

    def match(
        self,
        *,
        symbol: str = "",
        secType: str = "",
        exchange: str = "",
        primaryExchange: str = "",
        currency: str = "",
        localSymbol: str = "",
        conId: int = 0,
        lastTradeDateOrContractMonth: str = "",
        strike: float = 0.0,
        right: str = "",
        multiplier: str = "",
        tradingClass: str = "",
    ) -> list[Instrument]:
        """Instruments a (possibly incomplete) API contract designates.

        A non-zero conId alone identifies the contract (other given fields
        must still agree). Otherwise symbol or localSymbol is required
        (case-insensitive) and every other non-empty attribute must match:
        exchange 'SMART' matches any stock, 'IDEALPRO' any forex pair, a
        direct exchange must be one of the contract's valid exchanges; an
        empty exchange matches every listing; an empty secType every
        secType. For derivatives, lastTradeDateOrContractMonth as ``YYYYMM``
        (the contract month) or ``YYYYMMDD`` (last trading day or expiry),
        strike (0: any), right (``C``/``CALL``, ``P``/``PUT``), multiplier
        and tradingClass narrow the match. Several results mean the request
        is ambiguous (TWS then returns all of them).
        """
        sym, lsym = symbol.upper(), localSymbol.upper()
        if conId:
            inst = self.by_conid(conId)
            candidates: Iterable[Instrument] = [inst] if inst is not None else []
        elif sym or lsym:
            candidates = self._instruments
        else:
            return []
        crit = Criteria.of(symbol=symbol, secType=secType, exchange=exchange,
                           primaryExchange=primaryExchange, currency=currency,
                           localSymbol=localSymbol, when=lastTradeDateOrContractMonth,
                           strike=strike, right=right, multiplier=multiplier,
                           tradingClass=tradingClass)
        return [inst for inst in candidates if crit.accepts(inst)]

    def search(self, pattern: str, limit: int = 16) -> list[Instrument]:
        """reqMatchingSymbols: case-insensitive ranked search.

        Only underlyings are searched (stocks, ETFs, indices, forex, CFDs),
        not futures or options: TWS lists those as the underlying's
        ``derivativeSecTypes``. Ranking: exact symbol (or local symbol) first, then symbol prefix
        matches (shorter symbols first), then descriptions containing the
        pattern (word-start matches before inner substrings).
        """
        pat = pattern.strip().upper()
        if not pat:
            return []
        scored: list[tuple[tuple[int, int, str], Instrument]] = []
        for inst in self._instruments:
            if inst.secType in _NOT_SEARCHED:
                continue
            sym, lsym, desc = inst.symbol, inst.localSymbol.upper(), inst.description.upper()
            if pat in (sym, lsym) or pat == lsym.replace(".", ""):
                rank = 0
            elif sym.startswith(pat) or lsym.startswith(pat):
                rank = 1
            elif any(word.startswith(pat) for word in desc.split()) or (
                inst.is_forex and pat in lsym
            ):
                rank = 2
            elif pat in desc:
                rank = 3
            else:
                continue
            scored.append(((rank, len(sym), inst.localSymbol), inst))
        scored.sort(key=lambda item: item[0])
        return [inst for _, inst in scored[: max(0, limit)]]
