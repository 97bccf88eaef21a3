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
* No number carries binary noise (``434.93670256999997``): TWS sends prices
  and money as decimal text, and the models keep them as such, rounded when
  the model is built (so REST, GraphQL, MCP and the streams agree):

  - prices, averages and commissions (``bid``, ``lmtPrice``, ``avgFillPrice``,
    ``avgCost``, ``minTick``, ``commission`` ...: :data:`TwsPrice`) to
    :data:`PRICE_DECIMALS` (8) decimal places, which keeps every digit of every
    tick size IB uses (forex 0.00005, bonds 1/256 = 0.00390625) and of TWS's
    averages and fractional-cent commissions;
  - money amounts (P&L, margin and equity figures, market values:
    :data:`Money`) to the minor unit of their currency (:func:`currency_digits`:
    2 decimals for USD, EUR, GBP ...; 0 for JPY, KRW ...; 3 for BHD, KWD ...);
    an amount without a currency of its own (account P&L, what-if margins) is in
    the account's base currency and rounded to 2 decimals.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, Field, PlainSerializer, model_validator

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
    "MONEY",
    "PRICE_DECIMALS",
    "TWS_INT_MAX",
    "TWS_INT_MIN",
    "BarPublic",
    "BarsPublic",
    "ContractDescriptionPublic",
    "ContractDetailsPublic",
    "ContractPublic",
    "HeadTimestampPublic",
    "HealthDetailsPublic",
    "HealthPublic",
    "HealthStatus",
    "JournalHealthPublic",
    "Money",
    "MoneyRounding",
    "PriceValue",
    "QuotePublic",
    "ReconcilePublic",
    "TagValuePublic",
    "TwsPrice",
    "currency_digits",
    "money",
    "price_rounded",
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


PRICE_DECIMALS = 8
"""Decimal places of a price, an average price or a commission in an answer."""

# ISO 4217 minor units of the currencies that do not have 2 (those IB trades or
# settles in, and their neighbours); every other currency has 2.
_CURRENCY_DIGITS = {
    "JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "VND": 0, "PYG": 0, "UGX": 0, "XAF": 0, "XOF": 0,
    "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3, "IQD": 3, "LYD": 3,
}


def currency_digits(currency: str | None) -> int:
    """Decimal places of an amount of ``currency`` (ISO 4217 minor units; 2 for an
    unknown or empty currency and for IB's ``BASE``)."""
    return _CURRENCY_DIGITS.get((currency or "").upper(), 2)


def _rounded(value: float, digits: int) -> float:
    return round(value, digits) + 0.0  # + 0.0: no "-0.0"


def price_rounded(value: float | None) -> float | None:
    """:func:`price` rounded to :data:`PRICE_DECIMALS` places (``None`` as :func:`price`)."""
    value = price(value)
    return None if value is None else _rounded(value, PRICE_DECIMALS)


def money(value: float | None, currency: str | None = None) -> float | None:
    """An amount of ``currency`` rounded to its minor unit (``None`` as :func:`price`)."""
    value = price(value)
    return None if value is None else _rounded(value, currency_digits(currency))


def _round_price(value: float | None) -> float | None:
    return None if value is None else _rounded(value, PRICE_DECIMALS)


TwsPrice = Annotated[float | None, AfterValidator(_round_price)]
"""A price, average price or commission: a JSON number rounded to 8 decimal places."""

PriceValue = Annotated[float, AfterValidator(_round_price)]
"""A :data:`TwsPrice` that is always known."""


class _MoneyMarker:
    def __repr__(self) -> str:
        return "MONEY"


MONEY = _MoneyMarker()
"""Metadata marking a :data:`Money` field (rounded by :class:`MoneyRounding`)."""

Money = Annotated[float | None, MONEY]
"""An amount of money: a JSON number rounded to its currency's minor unit by the
model (:class:`MoneyRounding`)."""


class MoneyRounding(BaseModel):
    """A model whose :data:`Money` fields are rounded to the minor unit of the currency
    named by its field ``_money_currency`` (2 decimals when it has none: an amount in the
    account's base currency)."""

    _money_currency: ClassVar[str] = "currency"

    @model_validator(mode="after")
    def _round_money(self) -> MoneyRounding:
        digits = currency_digits(getattr(self, self._money_currency, None))
        for name, info in type(self).model_fields.items():
            value = getattr(self, name)
            if MONEY in info.metadata and isinstance(value, float):
                setattr(self, name, _rounded(value, digits))
        return self


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
    strike: PriceValue = 0.0
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
    minTick: TwsPrice = None
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
    bid: TwsPrice = None
    ask: TwsPrice = None
    last: TwsPrice = None
    bidSize: Size = None
    askSize: Size = None
    lastSize: Size = None
    volume: Size = None
    high: TwsPrice = None
    low: TwsPrice = None
    open: TwsPrice = None
    close: TwsPrice = Field(None, description="Previous session's close (TWS tick 9).")
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
    open: TwsPrice
    high: TwsPrice
    low: TwsPrice
    close: TwsPrice
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


HealthStatus = Literal["up", "degraded", "down"]


class HealthPublic(BaseModel):
    """Answer of ``GET /health`` (no key needed): always 200, and nothing a stranger
    could use; the details are in ``GET /health/details`` (read scope).

    ``status``: ``"down"`` while the service is not connected to TWS (routes
    that need TWS answer 503; it reconnects in the background); ``"degraded"``
    while connected but the orders may not be durable or current: a journal
    write failed since the last reconciliation, the last reconciliation
    failed, the last journal commit took more than 5 s, or TWS reports its own
    connection to IB lost (error 1100, until 1101/1102); ``"up"`` otherwise.
    """

    status: HealthStatus
    mode: Literal["simulator", "gateway"]
    version: str = Field(description="twsbridge version.")


class HealthDetailsPublic(BaseModel):
    """Answer of ``GET /health/details`` (read scope): the status of ``GET /health``,
    why it is not ``"up"``, the TWS session and the order journal."""

    status: HealthStatus
    reasons: list[str] = Field(
        default_factory=list,
        description="Why the status is not 'up' (empty when it is).",
    )
    mode: Literal["simulator", "gateway"]
    version: str = Field(description="twsbridge version.")
    simulated: bool = Field(description="True when the data come from the embedded simulator.")
    connected: bool
    gateway: str = Field(
        description="HOST:PORT of the TWS the service talks to ('in-process simulator' "
        "for the embedded one)."
    )
    simPort: int | None = Field(
        None, description="Port the embedded simulator listens on (127.0.0.1), null when none."
    )
    clientId: int
    serverVersion: int | None = None
    connectionTime: str | None = None
    accounts: list[str] = Field(default_factory=list)
    simulatedTime: str | None = Field(
        None, description="Simulated clock at startup (simulator mode only)."
    )
    error: str | None = Field(None, description="Last connection error, when disconnected.")
    journal: JournalHealthPublic | None = Field(
        None, description="The order journal: lag, last reconciliation."
    )
