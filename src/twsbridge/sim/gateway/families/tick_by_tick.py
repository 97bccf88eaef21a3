"""The tick-by-tick family: reqTickByTickData (97) and cancelTickByTickData (98),
answered by tickByTick (99).

Events come from the simulator's :class:`~twsbridge.sim.market.ticks.TickModel`
(one per simulator, shared by its sessions), so they agree with the quotes,
trades and historical ticks of the same instant:

* ``"Last"`` / ``"AllLast"`` (tickType 1 / 2): trades, with ``attrMask`` bits
  1 pastLimit and 2 unreported (off-exchange FINRA prints, AllLast only);
* ``"BidAsk"`` (3): each change of bid, ask or sizes (``ignoreSize``: of a
  price only), ``attrMask`` bits 1 bidPastLow and 2 askPastHigh;
* ``"MidPoint"`` (4): each change of the midpoint.

``numberOfTicks`` > 0 sends the last that many ticks (at most 1000) before the
request's time first, as TWS does (TWS API, "Tick-By-Tick Data"); then every
event of the whole seconds since the last poll, in time order. Nothing streams
while connectivity to IB is lost (the events of that time are lost); after a
1101 "data lost" the subscriptions are dropped, as TWS drops them.

Errors, as TWS answers them: 322 duplicate ticker id; 200 no security
definition; 10189 for a tickType TWS does not know and for Last/AllLast of a
forex pair (IDEALPRO has no trades); 10190 "Max number of tick-by-tick requests
has been reached." past :data:`TICK_BY_TICK_LIMIT` subscriptions of one user
(all sessions of the simulator together: TWS's limit is per user, by the same
formula as market depth's, 3 with the default 100 market data lines).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary, WeakSet

from twsbridge.protocol.catalogue import depth
from twsbridge.protocol.depth_models import (
    ASK_PAST_HIGH,
    BID_PAST_LOW,
    PAST_LIMIT,
    TICK_BY_TICK_TYPES,
    UNREPORTED,
)
from twsbridge.protocol.spec import Message
from twsbridge.sim.gateway.families.base import Family, SessionContext, handles
from twsbridge.sim.gateway.families.market_data import DUPLICATE_TICKER
from twsbridge.sim.market.ticks import (
    HISTORICAL_TICKS_MAX,
    BidAskTick,
    MidPointTick,
    TickModel,
    TradeTick,
)
from twsbridge.sim.reference.instruments import Instrument

if TYPE_CHECKING:
    from twsbridge.sim.simulator import Simulator

__all__ = [
    "MAX_TICK_BY_TICK",
    "TICK_BY_TICK_FAILED",
    "TICK_BY_TICK_LIMIT",
    "TickByTick",
    "tick_model",
    "to_tick_by_tick",
]

TICK_BY_TICK_LIMIT = 3
"""Concurrent tick-by-tick subscriptions of one user (TWS: as market depth,
one per 100 market data lines, at least 3)."""
MAX_TICK_BY_TICK = (10190, "Max number of tick-by-tick requests has been reached.")
"""TWS's error past the limit."""
TICK_BY_TICK_FAILED = 10189
"""TWS's error code of a tick-by-tick request it cannot serve."""

_MODELS: WeakKeyDictionary[Simulator, TickModel] = WeakKeyDictionary()
_FAMILIES: WeakKeyDictionary[Simulator, WeakSet[TickByTick]] = WeakKeyDictionary()


def tick_model(sim: Simulator) -> TickModel:
    """The simulator's TickModel (made on first use, shared by its sessions)."""
    model = _MODELS.get(sim)
    if model is None or model.prices is not sim.prices:
        model = _MODELS[sim] = TickModel(sim.prices)
    return model


Event = TradeTick | BidAskTick | MidPointTick


def to_tick_by_tick(reqId: int, tickType: int, ev: Event) -> depth.TickByTick:
    """One TickModel event as the tickByTick (99) TWS sends for ``tickType``."""
    if isinstance(ev, TradeTick):
        mask = (PAST_LIMIT if ev.pastLimit else 0) | (UNREPORTED if ev.unreported else 0)
        return depth.TickByTick(reqId=reqId, tickType=tickType, time=ev.time, price=ev.price,
                                size=ev.size, attrMask=mask, exchange=ev.exchange,
                                specialConditions=ev.specialConditions)
    if isinstance(ev, BidAskTick):
        mask = (BID_PAST_LOW if ev.bidPastLow else 0) | (ASK_PAST_HIGH if ev.askPastHigh else 0)
        return depth.TickByTick(reqId=reqId, tickType=tickType, time=ev.time,
                                bidPrice=ev.bidPrice, askPrice=ev.askPrice, bidSize=ev.bidSize,
                                askSize=ev.askSize, attrMask=mask)
    return depth.TickByTick(reqId=reqId, tickType=tickType, time=ev.time, midPoint=ev.midPoint)


def _ceil(t: dt.datetime) -> int:
    return -int(-t.timestamp() // 1)


@dataclass
class _Sub:
    reqId: int
    inst: Instrument
    tickType: int
    ignoreSize: bool
    cursor: int  # the first second not sent yet


class TickByTick(Family):
    """reqTickByTickData and cancelTickByTickData (see the module doc)."""

    def __init__(self, ctx: SessionContext) -> None:
        super().__init__(ctx)
        self.subs: dict[int, _Sub] = {}
        self._data_lost = ctx.guard.data_lost_count
        _FAMILIES.setdefault(ctx.sim, WeakSet()).add(self)

    @property
    def model(self) -> TickModel:
        return tick_model(self.ctx.sim)

    def _in_use(self) -> int:
        return sum(len(f.subs) for f in _FAMILIES.get(self.ctx.sim, ()))

    @handles(depth.ReqTickByTickData)
    def req_tick_by_tick(self, msg: depth.ReqTickByTickData) -> None:
        ctx = self.ctx
        self._check_data_lost()
        if msg.reqId in self.subs:
            ctx.error(msg.reqId, 322, DUPLICATE_TICKER)
            return
        inst = ctx.single(msg.reqId, msg.contract)
        if inst is None:
            return
        tick_type = TICK_BY_TICK_TYPES.get(msg.tickType.strip())
        if tick_type is None:
            ctx.error(msg.reqId, TICK_BY_TICK_FAILED, f"Failed to request tick-by-tick data.: "
                                                      f"Invalid tick type {msg.tickType!r}")
            return
        if inst.is_forex and tick_type in (1, 2):
            ctx.error(msg.reqId, TICK_BY_TICK_FAILED,
                      f"Failed to request tick-by-tick data.: {msg.tickType} tick-by-tick "
                      f"data is not available for {inst.secType} contracts")
            return
        if self._in_use() >= TICK_BY_TICK_LIMIT:
            ctx.error(msg.reqId, *MAX_TICK_BY_TICK)
            return
        now = _ceil(ctx.now())
        sub = _Sub(msg.reqId, inst, tick_type, bool(msg.ignoreSize), now)
        self.subs[msg.reqId] = sub
        n = min(msg.numberOfTicks, HISTORICAL_TICKS_MAX) if msg.numberOfTicks > 0 else 0
        if n and not ctx.sim.faults.connectivity_lost:
            ctx.emit([to_tick_by_tick(sub.reqId, tick_type, ev)
                      for ev in self.last_ticks(sub, n, now)])

    @handles(depth.CancelTickByTickData)
    def cancel_tick_by_tick(self, msg: depth.CancelTickByTickData) -> None:
        self.subs.pop(msg.reqId, None)

    def last_ticks(self, sub: _Sub, n: int, end: int) -> list[Event]:
        """The last ``n`` events of ``sub``'s kind before second ``end`` (of
        the last session for all but Last, whose window grows until it holds
        ``n`` or spans a week)."""
        model, con = self.model, sub.inst.conId
        if sub.tickType == 1:
            width = max(n, 60)
            while True:
                got: list[Event] = list(model.trades(con, end - width, end, all_last=False))
                if len(got) >= n or width >= 7 * 86400:
                    return got[-n:]
                width *= 4
        what = {2: "TRADES", 3: "BID_ASK", 4: "MIDPOINT"}[sub.tickType]
        events: list[Event] = list(
            model.historical_ticks(con, what, n, end=end, ignoreSize=sub.ignoreSize))
        return events[-n:]

    def events(self, sub: _Sub, start: int, end: int) -> list[Event]:
        """``sub``'s events of the seconds in [start, end)."""
        model, con = self.model, sub.inst.conId
        if sub.tickType in (1, 2):
            return list(model.trades(con, start, end, all_last=sub.tickType == 2))
        if sub.tickType == 3:
            return list(model.bid_asks(con, start, end, sub.ignoreSize))
        return list(model.midpoints(con, start, end))

    def _check_data_lost(self) -> None:
        """TWS dropped the subscriptions at a 1101 (data lost)."""
        count = self.ctx.guard.data_lost_count
        if count != self._data_lost:
            self._data_lost = count
            self.subs.clear()

    def poll(self, now: dt.datetime) -> list[Message]:
        self._check_data_lost()
        if not self.subs:
            return []
        end = _ceil(now)
        lost = self.ctx.sim.faults.connectivity_lost
        out: list[tuple[int, int, depth.TickByTick]] = []
        for order, sub in enumerate(list(self.subs.values())):
            if sub.cursor < end:
                if not lost:
                    out += [(ev.time, order, to_tick_by_tick(sub.reqId, sub.tickType, ev))
                            for ev in self.events(sub, sub.cursor, end)]
                sub.cursor = end
        out.sort(key=lambda x: (x[0], x[1]))  # stable: a second's events keep their order
        return [m for _, _, m in out]

    def close(self) -> None:
        self.subs.clear()
