"""Market depth and tick-by-tick data, both directions, server versions 157-178.

Requests (EOutgoingMessage ids): reqMktDepth (10), cancelMktDepth (11),
reqMktDepthExchanges (82), reqTickByTickData (97), cancelTickByTickData (98).
Answers (EIncomingMessage ids): updateMktDepth (12), updateMktDepthL2 (13),
mktDepthExchanges (80), tickByTick (99).

Every gate of these layouts (SMART depth 146, primaryExchange in depth
requests 149, tick-by-tick numberOfTicks/ignoreSize 140, the service data type
of depth exchanges 120) lies below 157, so one layout serves the whole range.
Ints IB's clients send as they are (reqId, numRows, numberOfTicks) use
``INT_MAX``: an unset value travels as the sentinel itself, as TWS's clients
send it. Sources: TWS API reference, "Market Depth (Level II)" and
"Tick-By-Tick Data"; the field order of IB's EClient and EDecoder (the tests
check the bytes against IB's Python client and decoder).
"""

from __future__ import annotations

from dataclasses import field
from decimal import Decimal

from ..codec import BOOL, DECIMAL, FLOAT, INT, INT_MAX, LONG, STR, UNSET_DECIMAL
from ..depth_models import (
    ASK_PAST_HIGH,
    BID_PAST_LOW,
    PAST_LIMIT,
    UNREPORTED,
    DepthMktDataDescription,
)
from ..models import Contract, TagValue
from ..spec import IN, OUT, F, Group, Message, When, message
from ._contract import contract_fields
from ._order_wire import TAGS

__all__ = [
    "CancelMktDepth",
    "CancelTickByTickData",
    "MktDepthExchanges",
    "ReqMktDepth",
    "ReqMktDepthExchanges",
    "ReqTickByTickData",
    "TickByTick",
    "UpdateMktDepth",
    "UpdateMktDepthL2",
]


# ------------------------------------------------------------------ requests


@message(OUT, 10, "reqMktDepth")
class ReqMktDepth(Message):
    """Subscribe to a contract's order book (id 10), answered by updateMktDepth (12)
    or updateMktDepthL2 (13) rows.

    ``numRows`` the number of rows per side; ``isSmartDepth`` aggregates the
    depth of every exchange (a SMART contract; rows then arrive as
    updateMktDepthL2 with ``isSmartDepth``); ``mktDepthOptions`` TWS reserves
    for internal use, sent as one ``"tag=value;"`` text (IB's Python client
    refuses any but an empty list). Legacy version 5.
    """

    reqId: int = 0
    contract: Contract = field(default_factory=Contract)
    numRows: int = 0
    isSmartDepth: bool = False
    mktDepthOptions: list[TagValue] = field(default_factory=list)
    version: int = 5
    WIRE = (
        F("version", INT), F("reqId", INT_MAX), *contract_fields(), F("numRows", INT_MAX),
        F("isSmartDepth", BOOL), F("mktDepthOptions", TAGS),
    )


@message(OUT, 11, "cancelMktDepth")
class CancelMktDepth(Message):
    """Cancel a reqMktDepth (id 11); ``isSmartDepth`` as the request had it."""

    reqId: int = 0
    isSmartDepth: bool = False
    version: int = 1
    WIRE = (F("version", INT), F("reqId", INT_MAX), F("isSmartDepth", BOOL))


@message(OUT, 82, "reqMktDepthExchanges")
class ReqMktDepthExchanges(Message):
    """The exchanges that offer market depth (id 82), answered by mktDepthExchanges."""

    WIRE = ()


@message(OUT, 97, "reqTickByTickData")
class ReqTickByTickData(Message):
    """Subscribe to tick-by-tick data (id 97), answered by tickByTick (99).

    ``tickType`` ``"Last"``, ``"AllLast"``, ``"BidAsk"`` or ``"MidPoint"``
    (:data:`~twsbridge.protocol.depth_models.TICK_BY_TICK_TYPES`);
    ``numberOfTicks`` historical ticks to send first (0: none, at most 1000);
    ``ignoreSize`` skips BidAsk ticks that change only a size.
    """

    reqId: int = 0
    contract: Contract = field(default_factory=Contract)
    tickType: str = "Last"
    numberOfTicks: int = 0
    ignoreSize: bool = False
    WIRE = (
        F("reqId", INT_MAX), *contract_fields(), F("tickType", STR),
        F("numberOfTicks", INT_MAX), F("ignoreSize", BOOL),
    )


@message(OUT, 98, "cancelTickByTickData")
class CancelTickByTickData(Message):
    """Cancel a reqTickByTickData (id 98)."""

    reqId: int = 0
    WIRE = (F("reqId", INT_MAX),)


# ------------------------------------------------------------------ answers


@message(IN, 12, "updateMktDepth")
class UpdateMktDepth(Message):
    """One order book row of a reqMktDepth (id 12, one exchange's depth).

    ``position`` the row (0 is the best price); ``operation`` 0 insert,
    1 update, 2 delete the row; ``side`` 0 ask, 1 bid; ``price`` in the
    contract's currency; ``size`` a Decimal quantity. Legacy version 1.
    """

    reqId: int = 0
    position: int = 0
    operation: int = 0
    side: int = 0
    price: float = 0.0
    size: Decimal = UNSET_DECIMAL
    version: int = 1
    WIRE = (
        F("version", INT), F("reqId", INT), F("position", INT), F("operation", INT),
        F("side", INT), F("price", FLOAT), F("size", DECIMAL),
    )


@message(IN, 13, "updateMktDepthL2")
class UpdateMktDepthL2(Message):
    """One order book row with its market maker (id 13, Level II depth).

    As updateMktDepth, with ``marketMaker`` the market maker or, for SMART
    depth, the exchange holding the order, and ``isSmartDepth`` true for rows
    of a SMART depth request. Legacy version 1.
    """

    reqId: int = 0
    position: int = 0
    marketMaker: str = ""
    operation: int = 0
    side: int = 0
    price: float = 0.0
    size: Decimal = UNSET_DECIMAL
    isSmartDepth: bool = False
    version: int = 1
    WIRE = (
        F("version", INT), F("reqId", INT), F("position", INT), F("marketMaker", STR),
        F("operation", INT), F("side", INT), F("price", FLOAT), F("size", DECIMAL),
        F("isSmartDepth", BOOL),
    )


@message(IN, 80, "mktDepthExchanges")
class MktDepthExchanges(Message):
    """The exchanges that offer market depth (id 80), answering reqMktDepthExchanges:
    a list of :class:`~twsbridge.protocol.depth_models.DepthMktDataDescription`."""

    depthMktDataDescriptions: list[DepthMktDataDescription] = field(default_factory=list)
    WIRE = (
        Group("depthMktDataDescriptions", DepthMktDataDescription, (
            F("exchange", STR), F("secType", STR), F("listingExch", STR),
            F("serviceDataType", STR), F("aggGroup", INT),
        )),
    )


def _is_last(m: TickByTick) -> bool:
    return m.tickType in (1, 2)


def _is_bid_ask(m: TickByTick) -> bool:
    return m.tickType == 3


def _is_mid_point(m: TickByTick) -> bool:
    return m.tickType == 4


#: The fields each tickType carries after reqId, tickType and time.
_VARIANTS: dict[int, tuple[str, ...]] = {
    1: ("price", "size", "attrMask", "exchange", "specialConditions"),
    2: ("price", "size", "attrMask", "exchange", "specialConditions"),
    3: ("bidPrice", "askPrice", "bidSize", "askSize", "attrMask"),
    4: ("midPoint",),
}


@message(IN, 99, "tickByTick")
class TickByTick(Message):
    """One tick of a reqTickByTickData (id 99); its fields depend on ``tickType``.

    Every tick has ``reqId``, ``tickType`` and ``time`` (epoch seconds), then:

    * 1 Last, 2 AllLast: ``price``, ``size`` (Decimal), ``attrMask``,
      ``exchange``, ``specialConditions`` (the trade's condition codes, as text);
      ``attrMask`` bits 1 :attr:`pastLimit`, 2 :attr:`unreported`;
    * 3 BidAsk: ``bidPrice``, ``askPrice``, ``bidSize``, ``askSize``,
      ``attrMask``; bits 1 :attr:`bidPastLow`, 2 :attr:`askPastHigh`;
    * 4 MidPoint: ``midPoint``;
    * 0 None: nothing more.

    The fields of the other types keep their defaults and do not travel; the
    message prints only the fields its type carries. A tickType not listed
    here carries no fields (a frame with more raises ProtocolError).
    """

    reqId: int = 0
    tickType: int = 0
    time: int = 0
    price: float = 0.0
    size: Decimal = UNSET_DECIMAL
    attrMask: int = 0
    exchange: str = ""
    specialConditions: str = ""
    bidPrice: float = 0.0
    askPrice: float = 0.0
    bidSize: Decimal = UNSET_DECIMAL
    askSize: Decimal = UNSET_DECIMAL
    midPoint: float = 0.0
    WIRE = (
        F("reqId", INT), F("tickType", INT), F("time", LONG),
        When(_is_last, (
            F("price", FLOAT), F("size", DECIMAL), F("attrMask", INT_MAX), F("exchange", STR),
            F("specialConditions", STR),
        )),
        When(_is_bid_ask, (
            F("bidPrice", FLOAT), F("askPrice", FLOAT), F("bidSize", DECIMAL),
            F("askSize", DECIMAL), F("attrMask", INT_MAX),
        )),
        When(_is_mid_point, (F("midPoint", FLOAT),)),
    )

    @property
    def pastLimit(self) -> bool:
        """A Last/AllLast trade past the price limit (``attrMask`` bit 1; False for
        other tick types)."""
        return _is_last(self) and bool(self.attrMask & PAST_LIMIT)

    @property
    def unreported(self) -> bool:
        """A Last/AllLast trade that is an unreported one (``attrMask`` bit 2; False
        for other tick types)."""
        return _is_last(self) and bool(self.attrMask & UNREPORTED)

    @property
    def bidPastLow(self) -> bool:
        """A BidAsk tick whose bid is below the day's low (``attrMask`` bit 1;
        False for other tick types)."""
        return _is_bid_ask(self) and bool(self.attrMask & BID_PAST_LOW)

    @property
    def askPastHigh(self) -> bool:
        """A BidAsk tick whose ask is above the day's high (``attrMask`` bit 2;
        False for other tick types)."""
        return _is_bid_ask(self) and bool(self.attrMask & ASK_PAST_HIGH)

    def __repr__(self) -> str:
        names = ("reqId", "tickType", "time", *_VARIANTS.get(self.tickType, ()))
        return f"<{self.NAME} {' '.join(f'{n}={getattr(self, n)!r}' for n in names)}>"

    __str__ = __repr__
