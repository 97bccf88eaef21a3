"""Data objects carried inside messages: contracts, contract details, bars.

Attribute names are TWS's (``conId``, ``secType``, ``lastTradeDateOrContractMonth``)
so that anyone who knows the TWS API documentation knows these objects.
Sizes are :class:`decimal.Decimal`; prices are ``float``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .codec import UNSET_DECIMAL, UNSET_INTEGER

__all__ = [
    "BarData",
    "ComboLeg",
    "Contract",
    "ContractDescription",
    "ContractDetails",
    "DeltaNeutralContract",
    "ExecutionFilter",
    "TagValue",
]


@dataclass(slots=True)
class TagValue:
    """A ``tag=value`` pair (secIdList entries, options lists)."""

    tag: str = ""
    value: str = ""


@dataclass(slots=True)
class ComboLeg:
    """One leg of a BAG contract (TWS doc: ComboLeg).

    ``openClose`` 0 same as parent, 1 open, 2 close, 3 unknown; ``shortSaleSlot``,
    ``designatedLocation`` and ``exemptCode`` for institutional short sales. Market
    data requests send only the first four; placeOrder and openOrder all eight.
    """

    conId: int = 0
    ratio: int = 0
    action: str = ""
    exchange: str = ""
    openClose: int = 0
    shortSaleSlot: int = 0
    designatedLocation: str = ""
    exemptCode: int = -1


@dataclass(slots=True)
class DeltaNeutralContract:
    """Delta-neutral underlying of a combo (TWS doc: DeltaNeutralContract)."""

    conId: int = 0
    delta: float = 0.0
    price: float = 0.0


@dataclass(slots=True)
class Contract:
    """An instrument (TWS doc: Contract).

    ``strike`` is a float price, ``multiplier`` a string as TWS sends it.
    ``Contract(conId=4391)`` alone identifies AMD; ``Contract(symbol='AMD',
    secType='STK', exchange='SMART', currency='USD')`` describes it.
    """

    conId: int = 0
    symbol: str = ""
    secType: str = ""
    lastTradeDateOrContractMonth: str = ""
    strike: float = 0.0
    right: str = ""
    multiplier: str = ""
    exchange: str = ""
    primaryExchange: str = ""
    currency: str = ""
    localSymbol: str = ""
    tradingClass: str = ""
    includeExpired: bool = False
    secIdType: str = ""
    secId: str = ""
    description: str = ""
    issuerId: str = ""
    comboLegsDescrip: str = ""
    comboLegs: list[ComboLeg] = field(default_factory=list)
    deltaNeutralContract: DeltaNeutralContract | None = None


@dataclass(slots=True)
class ContractDetails:
    """Everything TWS knows of a contract (TWS doc: ContractDetails, message 10)."""

    contract: Contract = field(default_factory=Contract)
    marketName: str = ""
    minTick: float = 0.0
    orderTypes: str = ""
    validExchanges: str = ""
    priceMagnifier: int = 0
    underConId: int = 0
    longName: str = ""
    contractMonth: str = ""
    industry: str = ""
    category: str = ""
    subcategory: str = ""
    timeZoneId: str = ""
    tradingHours: str = ""
    liquidHours: str = ""
    evRule: str = ""
    evMultiplier: int = 0
    mdSizeMultiplier: int = 1
    secIdList: list[TagValue] = field(default_factory=list)
    aggGroup: int = UNSET_INTEGER
    underSymbol: str = ""
    underSecType: str = ""
    marketRuleIds: str = ""
    realExpirationDate: str = ""
    stockType: str = ""
    sizeMinTick: Decimal = UNSET_DECIMAL
    minSize: Decimal = UNSET_DECIMAL
    sizeIncrement: Decimal = UNSET_DECIMAL
    suggestedSizeIncrement: Decimal = UNSET_DECIMAL


@dataclass(slots=True)
class ContractDescription:
    """One answer of reqMatchingSymbols (message 79)."""

    contract: Contract = field(default_factory=Contract)
    derivativeSecTypes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class BarData:
    """One historical bar (messages 17 and 90).

    ``date`` is TWS's text: ``yyyymmdd`` for daily bars, ``yyyymmdd hh:mm:ss
    TZ`` (formatDate 1) or epoch seconds (formatDate 2) for intraday bars.
    ``volume`` and ``wap`` are ``Decimal``; ``-1`` where TWS has none.
    """

    date: str = ""
    open: float = 0.0
    high: float = 0.0
    low: float = 0.0
    close: float = 0.0
    volume: Decimal = UNSET_DECIMAL
    wap: Decimal = UNSET_DECIMAL
    barCount: int = 0


@dataclass(slots=True)
class ExecutionFilter:
    """Filter of reqExecutions (message 7); empty fields match everything."""

    clientId: int = 0
    acctCode: str = ""
    time: str = ""
    symbol: str = ""
    secType: str = ""
    exchange: str = ""
    side: str = ""
