"""Historical ticks, histograms, market rules and SMART components, both directions.

Server versions 157-178; every message here is older than 157 (historical ticks
130, histograms 119, market rules 126, SMART components 114), so no layout
changes within the range. The ids of the two directions overlap (96 is
reqHistoricalTicks going out and historicalTicks coming in): the catalogue
registers each direction apart.

Requests send their ints as they are (``INT_MAX``, as IB's client does: an
unset reqId travels as ``2147483647``); so do the ticks' attribute masks, a
bit set and never "unset" (IB's decoder reads an empty field as 0).
cancelHistoricalTicks (107) is not here: TWS takes it only as protobuf, from
server version 215. Decoding a malformed frame raises
:class:`~twsbridge.protocol.errors.ProtocolError` naming the message id and the
field (``"ticks.count"``, ``"price"``).
Sources: TWS API reference, "EClient" and "EWrapper"; IB's client and decoder.
"""

from __future__ import annotations

from dataclasses import field

from ..codec import BOOL, DECIMAL, FLOAT, INT, INT_MAX, LONG, STR
from ..models import Contract
from ..spec import IN, OUT, F, Group, Message, message
from ..tick_models import (
    HistogramEntry,
    HistoricalTick,
    HistoricalTickBidAsk,
    HistoricalTickLast,
    PriceIncrement,
    SmartComponent,
)
from ._contract import contract_fields

__all__ = [
    "CancelHistogramData",
    "HistogramData",
    "HistoricalTicks",
    "HistoricalTicksBidAsk",
    "HistoricalTicksLast",
    "MarketRule",
    "ReqHistogramData",
    "ReqHistoricalTicks",
    "ReqMarketRule",
    "ReqSmartComponents",
    "SmartComponents",
]


# ------------------------------------------------------------------ client to server


@message(OUT, 83, "reqSmartComponents")
class ReqSmartComponents(Message):
    """The exchanges SMART routes to for ``bboExchange`` (id 83; server version
    114+), the ``bboExchange`` of a tickReqParams ("9c0001"); answered by
    smartComponents (82)."""

    reqId: int = 0
    bboExchange: str = ""
    WIRE = (F("reqId", INT_MAX), F("bboExchange", STR))


@message(OUT, 88, "reqHistogramData")
class ReqHistogramData(Message):
    """A volume-at-price histogram of a contract (id 88; server version 119+),
    answered by histogramData (89). ``useRTH`` regular trading hours only;
    ``timePeriod`` how far back, as "3 days", "2 weeks" or "1 month"."""

    reqId: int = 0
    contract: Contract = field(default_factory=Contract)
    useRTH: bool = True
    timePeriod: str = ""
    WIRE = (
        F("reqId", INT_MAX), *contract_fields(), F("contract.includeExpired", BOOL),
        F("useRTH", BOOL), F("timePeriod", STR),
    )


@message(OUT, 89, "cancelHistogramData")
class CancelHistogramData(Message):
    """Cancel a reqHistogramData (id 89; server version 119+)."""

    reqId: int = 0
    WIRE = (F("reqId", INT_MAX),)


@message(OUT, 91, "reqMarketRule")
class ReqMarketRule(Message):
    """The price increments of a market rule (id 91; server version 126+), an id
    of a contractDetails' ``marketRuleIds``; answered by marketRule (93)."""

    marketRuleId: int = 0
    WIRE = (F("marketRuleId", INT_MAX),)


@message(OUT, 96, "reqHistoricalTicks")
class ReqHistoricalTicks(Message):
    """Historical ticks of a contract (id 96; server version 130+).

    Give ``startDateTime`` or ``endDateTime`` ("20231020 09:30:00 US/Eastern",
    the other ""); ``numberOfTicks`` at most 1000; ``whatToShow`` "TRADES"
    (answered by historicalTicksLast, 98), "BID_ASK" (historicalTicksBidAsk,
    97) or "MIDPOINT" (historicalTicks, 96); ``useRth`` regular trading hours
    only; ``ignoreSize`` BID_ASK ticks whose size alone changed are left out;
    ``miscOptions`` a "tag=value;" text.
    """

    reqId: int = 0
    contract: Contract = field(default_factory=Contract)
    startDateTime: str = ""
    endDateTime: str = ""
    numberOfTicks: int = 1000
    whatToShow: str = "TRADES"
    useRth: bool = True
    ignoreSize: bool = False
    miscOptions: str = ""
    WIRE = (
        F("reqId", INT_MAX), *contract_fields(), F("contract.includeExpired", BOOL),
        F("startDateTime", STR), F("endDateTime", STR), F("numberOfTicks", INT_MAX),
        F("whatToShow", STR), F("useRth", BOOL), F("ignoreSize", BOOL),
        F("miscOptions", STR),
    )


# ------------------------------------------------------------------ server to client


@message(IN, 82, "smartComponents")
class SmartComponents(Message):
    """The exchanges behind a BBO exchange (id 82; server version 114+), answering
    reqSmartComponents."""

    reqId: int = 0
    smartComponentMap: list[SmartComponent] = field(default_factory=list)
    WIRE = (
        F("reqId", INT),
        Group("smartComponentMap", SmartComponent, (
            F("bitNumber", INT), F("exchange", STR), F("exchangeLetter", STR),
        )),
    )


@message(IN, 89, "histogramData")
class HistogramData(Message):
    """The histogram of a reqHistogramData (id 89; server version 119+): ``data``
    the size traded at each price, in one message."""

    reqId: int = 0
    data: list[HistogramEntry] = field(default_factory=list)
    WIRE = (
        F("reqId", INT),
        Group("data", HistogramEntry, (F("price", FLOAT), F("size", DECIMAL))),
    )


@message(IN, 93, "marketRule")
class MarketRule(Message):
    """A market rule's price increments (id 93; server version 126+), answering
    reqMarketRule, in ascending ``lowEdge`` order."""

    marketRuleId: int = 0
    priceIncrements: list[PriceIncrement] = field(default_factory=list)
    WIRE = (
        F("marketRuleId", INT),
        Group("priceIncrements", PriceIncrement, (F("lowEdge", FLOAT), F("increment", FLOAT))),
    )


@message(IN, 96, "historicalTicks")
class HistoricalTicks(Message):
    """MIDPOINT ticks of a reqHistoricalTicks (id 96; server version 130+), up to
    1000 a message; ``done`` on the last message of the request."""

    reqId: int = 0
    ticks: list[HistoricalTick] = field(default_factory=list)
    done: bool = False
    WIRE = (
        F("reqId", INT),
        Group("ticks", HistoricalTick, (
            F("time", LONG), F("unused", INT_MAX), F("price", FLOAT), F("size", DECIMAL),
        )),
        F("done", BOOL),
    )


@message(IN, 97, "historicalTicksBidAsk")
class HistoricalTicksBidAsk(Message):
    """BID_ASK ticks of a reqHistoricalTicks (id 97; server version 130+), up to
    1000 a message; ``done`` on the last message of the request."""

    reqId: int = 0
    ticks: list[HistoricalTickBidAsk] = field(default_factory=list)
    done: bool = False
    WIRE = (
        F("reqId", INT),
        Group("ticks", HistoricalTickBidAsk, (
            F("time", LONG), F("mask", INT_MAX), F("priceBid", FLOAT), F("priceAsk", FLOAT),
            F("sizeBid", DECIMAL), F("sizeAsk", DECIMAL),
        )),
        F("done", BOOL),
    )


@message(IN, 98, "historicalTicksLast")
class HistoricalTicksLast(Message):
    """TRADES ticks of a reqHistoricalTicks (id 98; server version 130+), up to
    1000 a message; ``done`` on the last message of the request."""

    reqId: int = 0
    ticks: list[HistoricalTickLast] = field(default_factory=list)
    done: bool = False
    WIRE = (
        F("reqId", INT),
        Group("ticks", HistoricalTickLast, (
            F("time", LONG), F("mask", INT_MAX), F("price", FLOAT), F("size", DECIMAL),
            F("exchange", STR), F("specialConditions", STR),
        )),
        F("done", BOOL),
    )
