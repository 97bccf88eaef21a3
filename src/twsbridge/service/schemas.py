"""Response models of the service, with TWS's field names.

Conventions:

* Field names are TWS's (``conId``, ``secType``, ``lastTradeDateOrContractMonth``,
  ``minTick``, ``barCount``), so the TWS API documentation documents them.
* TWS's "unset" values (``UNSET_DOUBLE``, ``UNSET_INTEGER``, ``UNSET_DECIMAL``),
  NaN, infinities and the ``-1`` "no value" sizes of bars become ``null``;
  JSON never carries NaN.
* Sizes (TWS ``Decimal``: ``bidSize``, ``volume``, ``minSize`` ...) are JSON
  **numbers**: integers when whole (``100``), fractions otherwise (``0.5``).
* Prices are JSON numbers; strings TWS sends as comma-separated lists
  (``orderTypes``, ``validExchanges``) stay strings, as in TWS.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, PlainSerializer

from twsbridge.client import Ticker
from twsbridge.protocol import (
    UNSET_DECIMAL,
    UNSET_DOUBLE,
    UNSET_INTEGER,
    UNSET_LONG,
    BarData,
    Contract,
    ContractDescription,
    ContractDetails,
)

from .journal import Journal, ReconcileSummary

__all__ = [
    "TWS_INT_MAX",
    "TWS_INT_MIN",
    "BarPublic",
    "BarsPublic",
    "ContractDescriptionPublic",
    "ContractDetailsPublic",
    "ContractPublic",
    "HeadTimestampPublic",
    "HealthPublic",
    "JournalHealthPublic",
    "QuotePublic",
    "ReconcilePublic",
    "TagValuePublic",
]


def _size_number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


Size = Annotated[
    Decimal | None,
    PlainSerializer(_size_number, return_type=int | float | None, when_used="always"),
]
"""A TWS size (``Decimal``) served as a JSON number, ``null`` when unknown."""

TWS_INT_MIN = -(2**31)
TWS_INT_MAX = 2**31 - 1
"""Bounds of TWS's ids (conId, orderId, clientId, reqId: Java ints): the routes refuse
others with 422 (the journal's database could not even look them up)."""


def price(value: float | None) -> float | None:
    """A TWS price, or ``None`` for NaN, infinities and ``UNSET_DOUBLE``."""
    if value is None or not math.isfinite(value) or value == UNSET_DOUBLE:
        return None
    return float(value)


def size(value: Decimal | float | int | None) -> Decimal | None:
    """A TWS size, or ``None`` for unset, NaN and negative ("no value") sizes."""
    if value is None:
        return None
    dec = value if isinstance(value, Decimal) else Decimal(str(value))
    if not dec.is_finite() or dec == UNSET_DECIMAL or dec < 0:
        return None
    return dec


def integer(value: int | None) -> int | None:
    """A TWS int, or ``None`` for ``UNSET_INTEGER`` / ``UNSET_LONG``."""
    if value is None or value in (UNSET_INTEGER, UNSET_LONG):
        return None
    return int(value)


class ContractPublic(BaseModel):
    """An instrument (TWS ``Contract``)."""

    conId: int = Field(description="IB's contract id, unique per instrument.")
    symbol: str
    secType: str = Field(description="STK, CASH, FUT, OPT, IND ...")
    lastTradeDateOrContractMonth: str = ""
    strike: float = 0.0
    right: str = ""
    multiplier: str = ""
    exchange: str = ""
    primaryExchange: str = ""
    currency: str = ""
    localSymbol: str = ""
    tradingClass: str = ""
    description: str = ""

    @classmethod
    def from_tws(cls, c: Contract) -> ContractPublic:
        """Convert a protocol :class:`Contract`."""
        return cls(
            conId=c.conId,
            symbol=c.symbol,
            secType=c.secType,
            lastTradeDateOrContractMonth=c.lastTradeDateOrContractMonth,
            strike=price(c.strike) or 0.0,
            right=c.right,
            multiplier=c.multiplier,
            exchange=c.exchange,
            primaryExchange=c.primaryExchange,
            currency=c.currency,
            localSymbol=c.localSymbol,
            tradingClass=c.tradingClass,
            description=c.description,
        )


class TagValuePublic(BaseModel):
    """A ``tag=value`` pair (``secIdList`` entries: ISIN, CUSIP ...)."""

    tag: str
    value: str


class ContractDetailsPublic(BaseModel):
    """Everything TWS knows of a contract (TWS ``ContractDetails``)."""

    contract: ContractPublic
    marketName: str = ""
    minTick: float | None = None
    orderTypes: str = Field("", description="Comma-separated order types, as TWS sends them.")
    validExchanges: str = Field("", description="Comma-separated exchanges, as TWS sends them.")
    priceMagnifier: int | None = None
    underConId: int | None = None
    longName: str = ""
    contractMonth: str = ""
    industry: str = ""
    category: str = ""
    subcategory: str = ""
    timeZoneId: str = ""
    tradingHours: str = ""
    liquidHours: str = ""
    evRule: str = ""
    evMultiplier: int | None = None
    mdSizeMultiplier: int | None = None
    secIdList: list[TagValuePublic] = Field(default_factory=list)
    aggGroup: int | None = None
    underSymbol: str = ""
    underSecType: str = ""
    marketRuleIds: str = ""
    realExpirationDate: str = ""
    stockType: str = ""
    sizeMinTick: Size = None
    minSize: Size = None
    sizeIncrement: Size = None
    suggestedSizeIncrement: Size = None

    @classmethod
    def from_tws(cls, d: ContractDetails) -> ContractDetailsPublic:
        """Convert protocol :class:`ContractDetails`."""
        return cls(
            contract=ContractPublic.from_tws(d.contract),
            marketName=d.marketName,
            minTick=price(d.minTick),
            orderTypes=d.orderTypes,
            validExchanges=d.validExchanges,
            priceMagnifier=integer(d.priceMagnifier),
            underConId=integer(d.underConId),
            longName=d.longName,
            contractMonth=d.contractMonth,
            industry=d.industry,
            category=d.category,
            subcategory=d.subcategory,
            timeZoneId=d.timeZoneId,
            tradingHours=d.tradingHours,
            liquidHours=d.liquidHours,
            evRule=d.evRule,
            evMultiplier=integer(d.evMultiplier),
            mdSizeMultiplier=integer(d.mdSizeMultiplier),
            secIdList=[TagValuePublic(tag=t.tag, value=t.value) for t in d.secIdList],
            aggGroup=integer(d.aggGroup),
            underSymbol=d.underSymbol,
            underSecType=d.underSecType,
            marketRuleIds=d.marketRuleIds,
            realExpirationDate=d.realExpirationDate,
            stockType=d.stockType,
            sizeMinTick=size(d.sizeMinTick),
            minSize=size(d.minSize),
            sizeIncrement=size(d.sizeIncrement),
            suggestedSizeIncrement=size(d.suggestedSizeIncrement),
        )


class ContractDescriptionPublic(BaseModel):
    """One answer of ``reqMatchingSymbols``."""

    contract: ContractPublic
    derivativeSecTypes: list[str] = Field(default_factory=list)

    @classmethod
    def from_tws(cls, d: ContractDescription) -> ContractDescriptionPublic:
        """Convert a protocol :class:`ContractDescription`."""
        return cls(
            contract=ContractPublic.from_tws(d.contract),
            derivativeSecTypes=list(d.derivativeSecTypes),
        )


class QuotePublic(BaseModel):
    """A market data snapshot; ``null`` where TWS sent nothing."""

    conId: int
    symbol: str
    secType: str = ""
    exchange: str = ""
    currency: str = ""
    bid: float | None = None
    ask: float | None = None
    last: float | None = None
    bidSize: Size = None
    askSize: Size = None
    lastSize: Size = None
    volume: Size = None
    high: float | None = None
    low: float | None = None
    open: float | None = None
    close: float | None = Field(None, description="Previous session's close (TWS tick 9).")
    time: dt.datetime | None = Field(
        None, description="When the snapshot's last tick arrived (UTC, the gateway's clock)."
    )
    lastTimestamp: dt.datetime | None = Field(
        None, description="TWS's time of the last trade (UTC; tick 45), if sent."
    )
    marketDataType: int | None = Field(
        None, description="1 live, 2 frozen, 3 delayed, 4 delayed frozen."
    )

    @classmethod
    def from_ticker(cls, t: Ticker, contract: Contract) -> QuotePublic:
        """Convert a client :class:`Ticker` of ``contract``."""
        return cls(
            conId=contract.conId,
            symbol=contract.symbol,
            secType=contract.secType,
            exchange=contract.exchange,
            currency=contract.currency,
            bid=price(t.bid),
            ask=price(t.ask),
            last=price(t.last),
            bidSize=size(t.bidSize),
            askSize=size(t.askSize),
            lastSize=size(t.lastSize),
            volume=size(t.volume),
            high=price(t.high),
            low=price(t.low),
            open=price(t.open),
            close=price(t.close),
            time=t.time,
            lastTimestamp=getattr(t, "lastTimestamp", None),
            marketDataType=integer(getattr(t, "marketDataType", None)),
        )


class BarPublic(BaseModel):
    """One historical bar; ``date`` is TWS's text (``yyyymmdd`` for daily bars)."""

    date: str
    open: float | None
    high: float | None
    low: float | None
    close: float | None
    volume: Size = None
    wap: Size = None
    barCount: int | None = None

    @classmethod
    def from_tws(cls, b: BarData) -> BarPublic:
        """Convert a protocol :class:`BarData`."""
        return cls(
            date=b.date,
            open=price(b.open),
            high=price(b.high),
            low=price(b.low),
            close=price(b.close),
            volume=size(b.volume),
            wap=size(b.wap),
            barCount=integer(b.barCount) if b.barCount >= 0 else None,
        )


class BarsPublic(BaseModel):
    """Answer of ``GET /bars``: the request as TWS saw it and its bars."""

    contract: ContractPublic
    endDateTime: str
    durationStr: str
    barSizeSetting: str
    whatToShow: str
    useRTH: bool
    count: int
    bars: list[BarPublic]


class HeadTimestampPublic(BaseModel):
    """Answer of ``GET /head-timestamp``: the earliest data TWS has."""

    contract: ContractPublic
    whatToShow: str
    useRTH: bool
    headTimestamp: str = Field(description="TWS's text, e.g. '20000301-14:30:00'.")


class ReconcilePublic(BaseModel):
    """The last reconciliation of the journal with TWS."""

    startedAt: dt.datetime
    finishedAt: dt.datetime | None
    executionsReported: int
    executionsMissing: int
    commissionsMissing: int
    completedOrdersReported: int
    openOrdersReported: int
    ordersNew: int
    ordersLost: int = Field(0, description="Orders sent but never received by TWS (status "
                                           "'Lost' in the journal).")
    error: str | None

    @classmethod
    def from_summary(cls, s: ReconcileSummary) -> ReconcilePublic:
        """Convert a :class:`ReconcileSummary`."""
        return cls(
            startedAt=s.started_at, finishedAt=s.finished_at,
            executionsReported=s.executions_reported, executionsMissing=s.executions_missing,
            commissionsMissing=s.commissions_missing,
            completedOrdersReported=s.completed_orders_reported,
            openOrdersReported=s.open_orders_reported, ordersNew=s.orders_new,
            ordersLost=s.orders_lost, error=s.error,
        )


class JournalHealthPublic(BaseModel):
    """The journal: where it is, how far behind TWS it runs, the last reconciliation."""

    url: str = Field(description="Journal database URL (password hidden).")
    messages: int = Field(description="Messages committed since the service started.")
    failures: int = Field(description="Messages that could not be written.")
    lagLast: float | None = Field(description="Seconds from receipt to commit, last message.")
    lagMax: float | None
    lagMean: float | None
    lagP99: float | None = Field(description="99th percentile over the last 1024 messages.")
    reconciling: bool
    lastReconcile: ReconcilePublic | None

    @classmethod
    def from_journal(cls, j: Journal) -> JournalHealthPublic:
        """The journal's figures now."""
        st = j.stats
        last = j.last_reconcile
        return cls(
            url=j.display_url, messages=st.messages, failures=st.failures, lagLast=st.last_lag,
            lagMax=st.max_lag if st.messages else None, lagMean=st.mean_lag,
            lagP99=st.percentile(0.99), reconciling=j.reconciling,
            lastReconcile=None if last is None else ReconcilePublic.from_summary(last),
        )


class HealthPublic(BaseModel):
    """Answer of ``GET /health``: always given, connected or not."""

    status: Literal["ok", "disconnected"]
    mode: Literal["simulator", "gateway"]
    simulated: bool = Field(description="True when the data come from the embedded simulator.")
    connected: bool
    gateway: str = Field(description="HOST:PORT of the TWS the service talks to.")
    clientId: int
    serverVersion: int | None = None
    connectionTime: str | None = None
    accounts: list[str] = Field(default_factory=list)
    simulatedTime: str | None = Field(
        None, description="Simulated clock at startup (simulator mode only)."
    )
    error: str | None = Field(None, description="Last connection error, when disconnected.")
    version: str = Field(description="twsbridge version.")
    journal: JournalHealthPublic | None = Field(
        None, description="The order journal: lag, last reconciliation."
    )
