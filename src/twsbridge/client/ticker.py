"""Market data of reqMktData: :class:`Tick` events and the :class:`Ticker` they build.

TWS streams tickPrice (id 1), tickSize (2), tickGeneric (45), tickString (46),
marketDataType (58) and tickReqParams (81) for a request id. :class:`TickBook`
turns each into :class:`Tick` objects named after TWS's tick types
(:data:`TICK_TYPE_NAMES`) and keeps the :class:`Ticker` up to date. Delayed
tick types (66 delayedBid … 76 delayedOpen, 88 delayedLastTimestamp, 90
delayedHalted) fill the same Ticker attributes as their live twins.

As IB's client does, a tickPrice that carries a size also yields the size tick
that goes with it (bid → bidSize, ask → askSize, last → lastSize, and the
delayed ones). A price TWS marks unavailable (-1 with size 0, or the empty
field) is ``nan``; an empty size is ``None`` on the Ticker and yields no Tick.

The ticks of reqMktData's genericTickList fill Ticker attributes named as
ib_async's Ticker names them (TWS API, "Available Tick Types"): 165 →
``low13week`` … ``high52week`` (15-20), ``avVolume`` (21); 233 RTVolume
(48) → ``rtVolume`` (the day's volume), ``vwap``, ``rtTime`` and, as IB's
"last trade details", ``last``/``lastSize``; 375 (77) → ``rtTradeVolume``;
236 → ``shortable`` (46: > 2.5 at least 1000 shares to borrow, > 1.5
shortable if shares can be located, else not) and ``shortableShares`` (89);
293/294/295 → ``tradeCount``, ``tradeRate``, ``volumeRate`` (54-56);
318 → ``lastRthTrade`` (57); 411 → ``rtHistVolatility`` (58); 595 →
``volumeRate3Min``, ``volumeRate5Min``, ``volumeRate10Min`` (63-65); 456 →
``dividends`` (59, :class:`Dividends`); and for the options statistics
``histVolatility`` (23), ``impliedVolatility`` (24), ``callOpenInterest``,
``putOpenInterest`` (27, 28), ``callVolume``, ``putVolume`` (29, 30).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from twsbridge.protocol import UNSET_DECIMAL, UNSET_DOUBLE, Contract, Message, incoming

__all__ = ["TICK_TYPE_NAMES", "Dividends", "Tick", "TickBook", "Ticker", "parse_dividends",
           "tick_type_name"]

_NAMES = (
    "bidSize bid ask askSize last lastSize high low volume close "  # 0-9
    "bidOptionComputation askOptionComputation lastOptionComputation "  # 10-12
    "modelOptionComputation open low13Weeks high13Weeks low26Weeks high26Weeks "  # 13-18
    "low52Weeks high52Weeks avgVolume openInterest optionHistoricalVol "  # 19-23
    "optionImpliedVol optionBidExch optionAskExch optionCallOpenInterest "  # 24-27
    "optionPutOpenInterest optionCallVolume optionPutVolume indexFuturePremium "  # 28-31
    "bidExch askExch auctionVolume auctionPrice auctionImbalance markPrice "  # 32-37
    "bidEfpComputation askEfpComputation lastEfpComputation openEfpComputation "  # 38-41
    "highEfpComputation lowEfpComputation closeEfpComputation lastTimestamp "  # 42-45
    "shortable fundamentalRatios rtVolume halted bidYield askYield lastYield "  # 46-52
    "custOptionComputation tradeCount tradeRate volumeRate lastRthTrade "  # 53-57
    "rtHistoricalVol ibDividends bondFactorMultiplier regulatoryImbalance newsTick "  # 58-62
    "shortTermVolume3Min shortTermVolume5Min shortTermVolume10Min "  # 63-65
    "delayedBid delayedAsk delayedLast delayedBidSize delayedAskSize "  # 66-70
    "delayedLastSize delayedHigh delayedLow delayedVolume delayedClose delayedOpen "  # 71-76
    "rtTrdVolume creditmanMarkPrice creditmanSlowMarkPrice "  # 77-79
    "delayedBidOptionComputation delayedAskOptionComputation "  # 80-81
    "delayedLastOptionComputation delayedModelOptionComputation lastExch "  # 82-84
    "lastRegTime futuresOpenInterest avgOptVolume delayedLastTimestamp "  # 85-88
    "shortableShares delayedHalted reuters2MutualFunds etfNavClose etfNavPriorClose "  # 89-93
    "etfNavBid etfNavAsk etfNavLast etfFrozenNavLast etfNavHigh etfNavLow "  # 94-99
    "socialMarketAnalytics estimatedIpoMidpoint finalIpoLast delayedYieldBid "  # 100-103
    "delayedYieldAsk oddLotBid oddLotAsk oddLotBidSize oddLotAskSize oddLotBidExch "  # 104-109
    "oddLotAskExch"  # 110
).split()

#: TWS's tick types (TWS API doc, "Available Tick Types") by id, camelCase.
TICK_TYPE_NAMES: dict[int, str] = dict(enumerate(_NAMES))


def tick_type_name(tickType: int) -> str:
    """The name of a tick type id, ``'tickType<n>'`` for ids TWS added later."""
    return TICK_TYPE_NAMES.get(tickType, f"tickType{tickType}")


#: Price tick types and the Ticker attribute they fill (live and delayed).
PRICE_ATTRS = {1: "bid", 2: "ask", 4: "last", 6: "high", 7: "low", 9: "close", 14: "open",
               66: "bid", 67: "ask", 68: "last", 72: "high", 73: "low", 75: "close",
               76: "open", 15: "low13week", 16: "high13week", 17: "low26week",
               18: "high26week", 19: "low52week", 20: "high52week", 57: "lastRthTrade"}
#: Size tick types and the Ticker attribute they fill.
SIZE_ATTRS = {0: "bidSize", 3: "askSize", 5: "lastSize", 8: "volume",
              69: "bidSize", 70: "askSize", 71: "lastSize", 74: "volume",
              21: "avVolume", 27: "callOpenInterest", 28: "putOpenInterest",
              29: "callVolume", 30: "putVolume", 89: "shortableShares",
              63: "volumeRate3Min", 64: "volumeRate5Min", 65: "volumeRate10Min"}
#: tickGeneric types and the Ticker attribute they fill.
GENERIC_ATTRS = {49: "halted", 90: "halted", 23: "histVolatility", 24: "impliedVolatility",
                 46: "shortable", 54: "tradeCount", 55: "tradeRate", 56: "volumeRate",
                 58: "rtHistVolatility"}
#: RTVolume tickString types and the Ticker attribute their total volume fills.
RT_VOLUME_ATTRS = {48: "rtVolume", 77: "rtTradeVolume"}
_DIVIDENDS = 59
#: The size tick type that comes with a price tick type inside tickPrice.
PRICE_SIZE = {1: 0, 2: 3, 4: 5, 66: 69, 67: 70, 68: 71}
_TIMESTAMPS = (45, 88)


@dataclass(frozen=True, slots=True)
class Dividends:
    """The IB Dividends tick (59, generic tick 456): sums of the dividends
    (currency per share) of the past and of the next 12 months, the next
    ex-date and its amount; None where TWS sends nothing."""

    past12Months: float | None
    next12Months: float | None
    nextDate: date | None
    nextAmount: float | None


def _opt_float(text: str) -> float | None:
    return float(text) if text.strip() else None


def parse_dividends(value: str) -> Dividends:
    """``'0.83,0.92,20130219,0.23'`` → Dividends; ValueError if malformed."""
    past, nxt12, day, amount = value.split(",")
    return Dividends(_opt_float(past), _opt_float(nxt12),
                     datetime.strptime(day.strip(), "%Y%m%d").date() if day.strip() else None,
                     _opt_float(amount))


@dataclass(slots=True)
class Tick:
    """One tick of a market data subscription.

    Attributes:
        reqId: the request id of the subscription.
        tickType: TWS's tick type id (1 bid, 66 delayedBid …).
        name: its name in :data:`TICK_TYPE_NAMES` (``'bid'``, ``'bidSize'``).
        value: a price as float (nan when unavailable) from tickPrice, a size
            as Decimal from tickSize, a float from tickGeneric, the text
            (e.g. epoch seconds of lastTimestamp) from tickString.
        time: when the tick arrived, UTC.
    """

    reqId: int
    tickType: int
    name: str
    value: float | Decimal | str
    time: datetime


@dataclass(slots=True)
class Ticker:
    """The latest market data of one contract; attributes are TWS's tick names.

    Prices are floats in the contract's currency, ``nan`` while unknown;
    sizes are Decimals (shares, contracts; volume in the units TWS sends),
    ``None`` while unknown. ``time`` is the UTC arrival time of the last tick,
    ``lastTimestamp`` TWS's time of the last trade (tick 45/88) in UTC.
    ``marketDataType`` is 1 live, 2 frozen, 3 delayed, 4 delayed frozen.
    ``halted`` is TWS's halted value (0 not halted, 1 general, 2 volatility),
    None until sent. The generic ticks' attributes are in the module doc:
    prices and rates floats (``nan`` until sent), sizes Decimals (None until
    sent), ``rtTime`` the UTC time of the last RTVolume print, volatilities
    annualised decimals (0.25 = 25 %). ``extra`` holds every other tick by name.
    """

    contract: Contract
    bid: float = math.nan
    ask: float = math.nan
    last: float = math.nan
    high: float = math.nan
    low: float = math.nan
    close: float = math.nan
    open: float = math.nan
    bidSize: Decimal | None = None
    askSize: Decimal | None = None
    lastSize: Decimal | None = None
    volume: Decimal | None = None
    time: datetime | None = None
    marketDataType: int = 1
    halted: float | None = None
    lastTimestamp: datetime | None = None
    minTick: float = math.nan
    bboExchange: str = ""
    low13week: float = math.nan
    high13week: float = math.nan
    low26week: float = math.nan
    high26week: float = math.nan
    low52week: float = math.nan
    high52week: float = math.nan
    avVolume: Decimal | None = None
    rtVolume: Decimal | None = None
    rtTradeVolume: Decimal | None = None
    rtTime: datetime | None = None
    vwap: float = math.nan
    shortable: float = math.nan
    shortableShares: Decimal | None = None
    tradeCount: float = math.nan
    tradeRate: float = math.nan
    volumeRate: float = math.nan
    volumeRate3Min: Decimal | None = None
    volumeRate5Min: Decimal | None = None
    volumeRate10Min: Decimal | None = None
    lastRthTrade: float = math.nan
    rtHistVolatility: float = math.nan
    histVolatility: float = math.nan
    impliedVolatility: float = math.nan
    callOpenInterest: Decimal | None = None
    putOpenInterest: Decimal | None = None
    callVolume: Decimal | None = None
    putVolume: Decimal | None = None
    dividends: Dividends | None = None
    extra: dict[str, float | Decimal | str] = field(default_factory=dict)

    def midpoint(self) -> float:
        """(bid + ask) / 2, nan unless both are known."""
        return (self.bid + self.ask) / 2


def _price(msg: incoming.TickPrice) -> float:
    if msg.price == UNSET_DOUBLE or (msg.price == -1 and msg.size in (0, UNSET_DECIMAL)):
        return math.nan
    return msg.price


class TickBook:
    """Turns the market data messages of one reqId into Ticks and a Ticker."""

    __slots__ = ("reqId", "ticker")

    def __init__(self, reqId: int, contract: Contract) -> None:
        self.reqId = reqId
        self.ticker = Ticker(contract)

    def update(self, msg: Message) -> list[Tick]:
        """Apply one message to the Ticker; the Ticks it yields (maybe none)."""
        now = datetime.now(UTC)
        ticks: list[Tick] = []
        t = self.ticker
        if isinstance(msg, incoming.TickPrice):
            value = _price(msg)
            ticks.append(self._tick(msg.tickType, value, now))
            if (attr := PRICE_ATTRS.get(msg.tickType)) is not None:
                setattr(t, attr, value)
            else:
                t.extra[tick_type_name(msg.tickType)] = value
            size_type = PRICE_SIZE.get(msg.tickType)
            if size_type is not None and msg.size != UNSET_DECIMAL:
                ticks += self._size(size_type, msg.size, now)
        elif isinstance(msg, incoming.TickSize):
            ticks += self._size(msg.tickType, msg.size, now)
        elif isinstance(msg, incoming.TickGeneric):
            ticks.append(self._tick(msg.tickType, msg.value, now))
            if (attr := GENERIC_ATTRS.get(msg.tickType)) is not None:
                setattr(t, attr, msg.value)
            else:
                t.extra[tick_type_name(msg.tickType)] = msg.value
        elif isinstance(msg, incoming.TickString):
            ticks.append(self._tick(msg.tickType, msg.value, now))
            if not self._string(msg.tickType, msg.value):
                t.extra[tick_type_name(msg.tickType)] = msg.value
        elif isinstance(msg, incoming.MarketDataType):
            t.marketDataType = msg.marketDataType
            return ticks
        elif isinstance(msg, incoming.TickReqParams):
            t.minTick = msg.minTick
            t.bboExchange = msg.bboExchange
            return ticks
        if ticks:
            t.time = now
        return ticks

    def _string(self, tickType: int, value: str) -> bool:
        """Apply a tickString the Ticker has attributes for; False if it has none
        (or the text is malformed)."""
        t = self.ticker
        if tickType in _TIMESTAMPS and value.strip().isdigit():
            t.lastTimestamp = datetime.fromtimestamp(int(value), UTC)
            return True
        try:
            if tickType == _DIVIDENDS:
                t.dividends = parse_dividends(value)
                return True
            if (attr := RT_VOLUME_ATTRS.get(tickType)) is not None:
                price, size, ms, volume, vwap, _single = value.split(";")
                if volume:
                    setattr(t, attr, Decimal(volume))
                if vwap:
                    t.vwap = float(vwap)
                if ms:
                    sec, milli = divmod(int(ms), 1000)
                    t.rtTime = datetime.fromtimestamp(sec, UTC) + timedelta(milliseconds=milli)
                if price and size:
                    t.last, t.lastSize = float(price), Decimal(size)
                return True
        except (ValueError, ArithmeticError):
            return False
        return False

    def _size(self, tickType: int, size: Decimal, now: datetime) -> list[Tick]:
        value = None if size == UNSET_DECIMAL else size
        if (attr := SIZE_ATTRS.get(tickType)) is not None:
            setattr(self.ticker, attr, value)
        elif value is not None:
            self.ticker.extra[tick_type_name(tickType)] = value
        return [] if value is None else [self._tick(tickType, value, now)]

    def _tick(self, tickType: int, value: float | Decimal | str, now: datetime) -> Tick:
        return Tick(self.reqId, tickType, tick_type_name(tickType), value, now)
