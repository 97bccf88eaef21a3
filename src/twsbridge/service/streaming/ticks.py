"""The tick-by-tick upstream of the hub (kind ``tick_by_tick``, reqTickByTickData 97).

One TWS subscription per (conId, tickType, ignoreSize), shared by every
subscriber of ``/ws/ticks``, ``/sse/ticks`` and GraphQL ``tickByTick``. Each
tickByTick (99) is one JSON item (:func:`tick_by_tick_item`), e.g. a trade
``{"tickType": "AllLast", "time": "2013-03-01T15:00:01Z", "price": 441.5,
"size": 100, "exchange": "NASDAQ", "specialConditions": "", "pastLimit": false,
"unreported": false}``, a ``BidAsk`` (bidPrice, askPrice, bidSize, askSize,
bidPastLow, askPastHigh) or a ``MidPoint`` (midPoint). Messages are
``{"type": "tickByTick", "conId", "symbol", "tickType", "ignoreSize", "t_hub",
"ticks": [...]}``; the ``snapshot`` a subscriber gets first holds the last
:data:`RECENT` ticks the topic has seen (none for its first subscriber).

Ticks are never conflated: a subscriber ``max_queue`` messages behind is dropped
(``"slow consumer: …"``, WebSocket close 1008, SSE ``event: error``). When the
subscription is resumed (the client's own resume after a reconnect or 1101, or
the hub subscribing again after the gateway came back) a ``{"tickType": "Gap",
"since", "until", "reason"}`` item comes first: ticks in between are lost
(``since``: the last tick's time, ``until``: when it was subscribed again, both on
the gateway's clock).
TWS's refusals end the topic with an error frame carrying TWS's code: 10190
"Max number of tick-by-tick requests has been reached." (3 per user), 200 no
security definition, 10189 not available.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import AsyncIterator, Hashable
from decimal import Decimal
from typing import Any

from twsbridge.client import Contract, Gap, Subscription, TWSClient
from twsbridge.client.tick_by_tick import (
    TickByTickBidAsk,
    TickByTickEvent,
    TickByTickMidPoint,
    TickByTickTrade,
)

from ..gateway import GatewayManager
from ..gateway_clock import GatewayClock, gateway_clock
from .hub import Emit, Item, StreamHub, TopicKind, TopicSpec, Upstream, UpstreamFactory
from .upstreams import _resilient

__all__ = ["RECENT", "TICK_BY_TICK", "TICK_TYPES", "gap_item", "register_tick_by_tick_upstream",
           "tick_by_tick_item", "tick_by_tick_spec"]

TICK_BY_TICK = "tick_by_tick"
TICK_TYPES = ("Last", "AllLast", "BidAsk", "MidPoint")
RECENT = 100
"""Ticks kept for the snapshot of a new subscriber."""


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _price(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _size(value: Decimal) -> int | float | None:
    if not value.is_finite():
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def tick_by_tick_item(ev: TickByTickEvent) -> Item:
    """A client tick-by-tick event as a JSON-ready item (sizes as numbers, NaN as null)."""
    if isinstance(ev, TickByTickTrade):
        return {"tickType": ev.tickType, "time": _iso(ev.time), "price": _price(ev.price),
                "size": _size(ev.size), "exchange": ev.exchange,
                "specialConditions": ev.specialConditions, "pastLimit": ev.pastLimit,
                "unreported": ev.unreported}
    if isinstance(ev, TickByTickBidAsk):
        return {"tickType": "BidAsk", "time": _iso(ev.time), "bidPrice": _price(ev.bidPrice),
                "askPrice": _price(ev.askPrice), "bidSize": _size(ev.bidSize),
                "askSize": _size(ev.askSize), "bidPastLow": ev.bidPastLow,
                "askPastHigh": ev.askPastHigh}
    assert isinstance(ev, TickByTickMidPoint)
    return {"tickType": "MidPoint", "time": _iso(ev.time), "midPoint": _price(ev.midPoint)}


def gap_item(since: dt.datetime, until: dt.datetime, reason: str) -> Item:
    """The item that precedes the ticks of a resumed subscription."""
    return {"tickType": "Gap", "since": _iso(since), "until": _iso(until), "reason": reason}


def tick_by_tick_spec(contract: Contract, tickType: str, ignoreSize: bool = False) -> TopicSpec:
    """The tick-by-tick topic of a resolved ``contract`` (shared per conId, tickType and
    ignoreSize). ``tickType`` must be one of :data:`TICK_TYPES`."""
    header = {"conId": contract.conId, "symbol": contract.symbol, "tickType": tickType,
              "ignoreSize": ignoreSize}
    return TopicSpec(TICK_BY_TICK, (contract.conId, tickType, ignoreSize), header,
                     (contract, tickType, ignoreSize))


def _each(item: Item) -> Hashable:
    return id(item)  # every tick its own: the snapshot keeps the last RECENT of them


def _factory(gateway: GatewayManager) -> UpstreamFactory:
    def factory(spec: TopicSpec) -> Upstream:
        contract, tick_type, ignore_size = spec.context

        async def run(emit: Emit) -> None:
            # the gateway's time of the last tick (or of subscribing), for a Gap's "since"
            last: dt.datetime | None = None
            clock: GatewayClock | None = None

            def start(ib: TWSClient) -> Subscription[TickByTickEvent]:
                nonlocal last, clock
                sub = ib.reqTickByTickData(contract, tick_type, 0, ignore_size)
                clock = gateway_clock(ib)
                now = clock.now()
                if last is not None:  # subscribed again: what happened meanwhile is lost
                    emit((gap_item(last, max(last, now), "subscribed again after the "
                                                         "connection to TWS was lost"),))
                last = now
                emit(())  # live: the first subscriber's snapshot (empty) comes at once
                return sub

            async def consume(sub: AsyncIterator[Any]) -> None:
                nonlocal last
                async for ev in sub:
                    if isinstance(ev, Gap):  # the client resumed it (host times: converted)
                        since, until = ev.since, ev.until
                        if clock is not None:
                            since, until = clock.at(since), clock.at(until)
                        emit((gap_item(since, until, ev.reason),))
                    else:
                        last = ev.time
                        emit((tick_by_tick_item(ev),))
            await _resilient(gateway, start, consume)
        return run
    return factory


def register_tick_by_tick_upstream(hub: StreamHub, gateway: GatewayManager) -> None:
    """Register the ``tick_by_tick`` kind on ``hub`` (never conflated), fed by ``gateway``."""
    hub.register(TopicKind(TICK_BY_TICK, _factory(gateway), message="tickByTick",
                           field="ticks", key=_each, max_state=RECENT, conflate=False))
