"""Tick-by-tick data of a TWSClient: reqTickByTickData (97) / cancelTickByTickData (98)
→ tickByTick (99), as typed events.

:class:`TickByTickMethods` is a mixin of :class:`~twsbridge.client.TWSClient`
(it uses only the client's :class:`~twsbridge.client.core.ClientCore`). Each
tickByTick message becomes a :class:`TickByTickTrade` (``"Last"``,
``"AllLast"``), :class:`TickByTickBidAsk` or :class:`TickByTickMidPoint`, with
an aware UTC datetime and the attribute mask's bits as booleans. Source: TWS
API reference, "Tick-By-Tick Data" (minimum server version 137; numberOfTicks
and ignoreSize 140).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from twsbridge.protocol import Contract, Message
from twsbridge.protocol.catalogue import depth
from twsbridge.protocol.depth_models import TICK_BY_TICK_TYPES

from .core import ClientCore
from .requests import Subscription

__all__ = ["TickByTickBidAsk", "TickByTickEvent", "TickByTickMethods", "TickByTickMidPoint",
           "TickByTickTrade", "tick_by_tick_event"]

_NAMES = {v: k for k, v in TICK_BY_TICK_TYPES.items()}


@dataclass(frozen=True, slots=True)
class TickByTickTrade:
    """One trade (tickType ``"Last"`` or ``"AllLast"``): ``time`` aware UTC (TWS
    sends whole seconds), ``price`` in the contract's currency, ``size`` a
    Decimal (shares); ``exchange`` where it printed; ``specialConditions`` TWS's
    sale condition codes (text); ``pastLimit`` printed outside the bid/ask
    (attrMask bit 1); ``unreported`` an off-exchange print (bit 2, AllLast)."""

    tickType: str
    time: datetime
    price: float
    size: Decimal
    exchange: str
    specialConditions: str
    pastLimit: bool
    unreported: bool


@dataclass(frozen=True, slots=True)
class TickByTickBidAsk:
    """One bid/ask change (tickType ``"BidAsk"``): prices in the contract's
    currency, sizes Decimal; ``bidPastLow`` the bid is below the day's low
    (attrMask bit 1), ``askPastHigh`` the ask above its high (bit 2)."""

    time: datetime
    bidPrice: float
    askPrice: float
    bidSize: Decimal
    askSize: Decimal
    bidPastLow: bool
    askPastHigh: bool


@dataclass(frozen=True, slots=True)
class TickByTickMidPoint:
    """One midpoint change (tickType ``"MidPoint"``)."""

    time: datetime
    midPoint: float


TickByTickEvent = TickByTickTrade | TickByTickBidAsk | TickByTickMidPoint


def tick_by_tick_event(msg: Message) -> list[TickByTickEvent]:
    """The typed event of one tickByTick (99); none for other messages or for
    tickType 0 (None)."""
    if not isinstance(msg, depth.TickByTick):
        return []
    t = datetime.fromtimestamp(msg.time, UTC)
    if msg.tickType in (1, 2):
        return [TickByTickTrade(_NAMES[msg.tickType], t, msg.price, msg.size, msg.exchange,
                                msg.specialConditions, msg.pastLimit, msg.unreported)]
    if msg.tickType == 3:
        return [TickByTickBidAsk(t, msg.bidPrice, msg.askPrice, msg.bidSize, msg.askSize,
                                 msg.bidPastLow, msg.askPastHigh)]
    if msg.tickType == 4:
        return [TickByTickMidPoint(t, msg.midPoint)]
    return []


class TickByTickMethods:
    """TWSClient's tick-by-tick requests (a mixin over the client's core)."""

    _core: ClientCore

    def reqTickByTickData(
        self, contract: Contract, tickType: str, numberOfTicks: int = 0,
        ignoreSize: bool = False,
    ) -> Subscription[TickByTickEvent]:
        """Stream every trade, bid/ask change or midpoint change of ``contract``
        (reqTickByTickData, message 97; sent at once; answers tickByTick 99).

        ``tickType``: ``"Last"`` (trades, without odd lots and off-exchange
        prints), ``"AllLast"`` (every trade), ``"BidAsk"`` or ``"MidPoint"``.
        ``numberOfTicks`` > 0: TWS sends that many ticks from before the request
        first (at most 1000); ``ignoreSize``: BidAsk ticks only when a price
        changes. ``async for ev in sub`` yields :class:`TickByTickTrade`,
        :class:`TickByTickBidAsk` or :class:`TickByTickMidPoint` events in TWS's
        order, and a :class:`~twsbridge.client.Gap` before the events of a
        resumed subscription (sent again with a new reqId after a reconnect or
        error 1101; its ``numberOfTicks`` history comes again, so ticks may
        repeat). ``await sub.cancel()`` or leaving ``async with`` sends
        cancelTickByTickData (98). Minimum server version 137 (140 for
        numberOfTicks / ignoreSize).

        Raises:
            ValueError: ``tickType`` is not one of the four (at once).
            TWSError: from iteration, as TWS refuses the request: 200 unknown
                contract, 322 duplicate ticker id, 10189 tick-by-tick data
                not available, 10190 "Max number of tick-by-tick requests has
                been reached." (TWS's limit is per user, as market depth's).
        """
        if tickType not in TICK_BY_TICK_TYPES:
            raise ValueError(f"tickType must be one of {sorted(TICK_BY_TICK_TYPES)}, "
                             f"not {tickType!r}")
        core = self._core
        reqId = core.next_id()

        def renew(rid: int | None) -> tuple[Message, Message]:
            assert rid is not None
            return (depth.ReqTickByTickData(reqId=rid, contract=contract, tickType=tickType,
                                            numberOfTicks=numberOfTicks, ignoreSize=ignoreSize),
                    depth.CancelTickByTickData(reqId=rid))

        msg, cancel = renew(reqId)
        sub: Subscription[TickByTickEvent] = Subscription(
            "reqTickByTickData", reqId, (depth.TickByTick,), convert=tick_by_tick_event,
            cancel=cancel, maxlen=100_000, renew=renew)
        return core.start(sub, msg)
