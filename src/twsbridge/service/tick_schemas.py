"""Public models of historical ticks, histograms, market rules and SMART components.

Answers of ``GET /ticks/historical``, ``/market/histogram``, ``/market/rules/{id}`` and
``/market/smart-components/{bboExchange}`` (and of their GraphQL and MCP twins). Times are
TWS's own stamps (the gateway's clock) as aware UTC datetimes, ISO 8601 in JSON; prices are
in the contract's currency, sizes JSON numbers (shares; forex: units).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from twsbridge.client.historical_ticks import HistoricalBidAsk, HistoricalLast, HistoricalMidPoint
from twsbridge.protocol.tick_models import HistogramEntry, PriceIncrement

from .schemas import ContractPublic, Size, TwsPrice, price, size

__all__ = [
    "TICKS_MAX",
    "WHAT_TO_SHOW_TICKS",
    "HistogramEntryPublic",
    "HistogramPublic",
    "HistoricalTickPublic",
    "HistoricalTicksPublic",
    "MarketRulePublic",
    "PriceIncrementPublic",
    "SmartComponentPublic",
    "SmartComponentsPublic",
]

TICKS_MAX = 1000
"""TWS's most ticks per reqHistoricalTicks ("Historical Time and Sales Data")."""
WHAT_TO_SHOW_TICKS = ("TRADES", "BID_ASK", "MIDPOINT")
"""The whatToShow values reqHistoricalTicks takes."""

_TRADE_EXAMPLE: dict[str, Any] = {"time": "2013-03-01T14:59:58Z", "price": 430.12, "size": 100,
                  "exchange": "NASDAQ", "specialConditions": "", "pastLimit": False,
                  "unreported": False}


class HistoricalTickPublic(BaseModel):
    """One historical tick. Every kind has ``time``; TRADES ticks (historicalTicksLast 98)
    have ``price``, ``size``, ``exchange``, ``specialConditions``, ``pastLimit``,
    ``unreported``; BID_ASK ticks (historicalTicksBidAsk 97) ``priceBid``, ``priceAsk``,
    ``sizeBid``, ``sizeAsk``, ``bidPastLow``, ``askPastHigh``; MIDPOINT ticks
    (historicalTicks 96) ``price`` and ``size`` (0). Fields of the other kinds are left out."""

    model_config = ConfigDict(json_schema_extra={"examples": [_TRADE_EXAMPLE]})

    time: dt.datetime = Field(description="TWS's stamp (whole seconds), UTC.")
    price: TwsPrice = Field(default=None, description="TRADES: the print; MIDPOINT: the midpoint.")
    size: Size = Field(default=None, description="TRADES: shares printed; MIDPOINT: 0.")
    exchange: str | None = Field(default=None, description="TRADES: where it printed (NASDAQ ...).")
    specialConditions: str | None = Field(
        default=None, description="TRADES: TWS's sale condition codes, space separated.")
    pastLimit: bool | None = Field(default=None, description="TRADES: printed outside the bid/ask.")
    unreported: bool | None = Field(default=None, description="TRADES: an unreported print.")
    priceBid: TwsPrice = Field(default=None, description="BID_ASK: the bid.")
    priceAsk: TwsPrice = Field(default=None, description="BID_ASK: the ask.")
    sizeBid: Size = Field(default=None, description="BID_ASK: the bid size.")
    sizeAsk: Size = Field(default=None, description="BID_ASK: the ask size.")
    bidPastLow: bool | None = Field(default=None,
                                    description="BID_ASK: the bid below the day's low.")
    askPastHigh: bool | None = Field(default=None,
                                     description="BID_ASK: the ask above the day's high.")

    @classmethod
    def from_client(cls, tick: Any) -> HistoricalTickPublic:
        """Convert a client tick (:class:`~twsbridge.client.historical_ticks.HistoricalLast`,
        ``HistoricalBidAsk`` or ``HistoricalMidPoint``)."""
        if isinstance(tick, HistoricalLast):
            return cls(time=tick.time, price=price(tick.price), size=size(tick.size),
                       exchange=tick.exchange, specialConditions=tick.specialConditions,
                       pastLimit=tick.pastLimit, unreported=tick.unreported)
        if isinstance(tick, HistoricalBidAsk):
            return cls(time=tick.time, priceBid=price(tick.priceBid),
                       priceAsk=price(tick.priceAsk), sizeBid=size(tick.sizeBid),
                       sizeAsk=size(tick.sizeAsk), bidPastLow=tick.bidPastLow,
                       askPastHigh=tick.askPastHigh)
        if isinstance(tick, HistoricalMidPoint):
            return cls(time=tick.time, price=price(tick.price), size=size(tick.size))
        raise TypeError(f"not a historical tick: {tick!r}")


class HistoricalTicksPublic(BaseModel):
    """Answer of ``GET /ticks/historical``: the request as TWS saw it and its ticks,
    ascending in time (of one trading session; whole seconds, so a few more than
    ``numberOfTicks`` may come)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "contract": {"conId": 265598, "symbol": "AAPL", "secType": "STK",
                     "exchange": "SMART", "primaryExchange": "NASDAQ", "currency": "USD"},
        "startDateTime": "", "endDateTime": "20130301 10:00:00 US/Eastern",
        "numberOfTicks": 1, "whatToShow": "TRADES", "useRth": True, "ignoreSize": False,
        "count": 1, "ticks": [_TRADE_EXAMPLE]}]})

    contract: ContractPublic
    startDateTime: str = Field(description="As sent to TWS ('' for none).")
    endDateTime: str = Field(description="As sent to TWS ('' for none).")
    numberOfTicks: int
    whatToShow: str = Field(description="TRADES, BID_ASK or MIDPOINT.")
    useRth: bool
    ignoreSize: bool
    count: int
    ticks: list[HistoricalTickPublic]


class HistogramEntryPublic(BaseModel):
    """The volume traded at one price."""

    price: TwsPrice
    size: Size = Field(default=None, description="Volume (shares) traded at price.")

    @classmethod
    def from_tws(cls, entry: HistogramEntry) -> HistogramEntryPublic:
        """Convert a protocol :class:`HistogramEntry`."""
        return cls(price=price(entry.price), size=size(entry.size))


class HistogramPublic(BaseModel):
    """Answer of ``GET /market/histogram``: volume by price (reqHistogramData 88 →
    histogramData 89), ascending in price."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "contract": {"conId": 265598, "symbol": "AAPL", "secType": "STK",
                     "exchange": "SMART", "primaryExchange": "NASDAQ", "currency": "USD"},
        "period": "3 days", "useRTH": True, "count": 2,
        "entries": [{"price": 429.5, "size": 12000}, {"price": 429.51, "size": 800}]}]})

    contract: ContractPublic
    period: str = Field(description="TWS's timePeriod as sent: '3 days', '1 week' ...")
    useRTH: bool
    count: int
    entries: list[HistogramEntryPublic]


class PriceIncrementPublic(BaseModel):
    """One step of a market rule: from ``lowEdge`` up to the next step's, prices move by
    ``increment``."""

    lowEdge: float
    increment: float

    @classmethod
    def from_tws(cls, step: PriceIncrement) -> PriceIncrementPublic:
        """Convert a protocol :class:`PriceIncrement`."""
        return cls(lowEdge=step.lowEdge, increment=step.increment)


class MarketRulePublic(BaseModel):
    """Answer of ``GET /market/rules/{marketRuleId}`` (reqMarketRule 91 → marketRule 93):
    the price increments of one of a contract details' ``marketRuleIds``."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "marketRuleId": 110, "priceIncrements": [{"lowEdge": 0.0, "increment": 0.05},
                                                 {"lowEdge": 3.0, "increment": 0.1}]}]})

    marketRuleId: int
    priceIncrements: list[PriceIncrementPublic]


class SmartComponentPublic(BaseModel):
    """One venue SMART routes to."""

    bitNumber: int = Field(description="Its bit in TWS's exchange mask.")
    exchange: str = Field(description="Exchange name, e.g. NASDAQ.")
    exchangeLetter: str = Field(description="One-letter code, as in tick data (Q).")


class SmartComponentsPublic(BaseModel):
    """Answer of ``GET /market/smart-components/{bboExchange}`` (reqSmartComponents 83 →
    smartComponents 82), ascending in bit number."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "bboExchange": "9c0001", "components": [
            {"bitNumber": 1, "exchange": "NASDAQ", "exchangeLetter": "Q"}]}]})

    bboExchange: str = Field(description="The code of a tickReqParams (81), e.g. 9c0001.")
    components: list[SmartComponentPublic]
