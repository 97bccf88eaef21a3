"""Streaming answers of the simulator: market data ticks and live bars.

:class:`MktDataStream` is one reqMktData (id 1) subscription. Its first
answer is the full set of ticks TWS sends (tickPrice (1) with sizes, tickSize
(2), tickString (46) last timestamp, tickGeneric (45) halted); afterwards
:meth:`MktDataStream.update` sends only the values that changed, about four
times per simulated second. Delayed types (3, 4) use TWS's delayed tick ids
and prices 15 minutes old; frozen types (2, 4) and snapshots send one set.
A line with generic ticks (:mod:`twsbridge.sim.market.generic_ticks`) adds
theirs to each answer, at the same data time; ``mdoff`` leaves out the
top-of-book ticks (tickReqParams and marketDataType still come).

:class:`BarStream` is one keepUpToDate reqHistoricalData (id 20): a
historicalDataUpdate (90) with the current bar about every 5 simulated seconds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from twsbridge.protocol.catalogue import incoming
from twsbridge.protocol.models import BarData
from twsbridge.protocol.spec import Message
from twsbridge.sim.market.generic_ticks import GenericTicks
from twsbridge.sim.market.history import HistBar, HistoryError, bar_update, format_bar_time
from twsbridge.sim.market.prices import PriceModel, Quote
from twsbridge.sim.reference.calendar import SIM_TZ
from twsbridge.sim.reference.instruments import Instrument

__all__ = [
    "BAR_UPDATE_INTERVAL",
    "DELAYED",
    "DELAYED_TICKS",
    "LIVE_TICKS",
    "TICK_INTERVAL",
    "BarStream",
    "MktDataStream",
    "RealTimeBarStream",
    "TickIds",
    "to_bar_data",
]

TICK_INTERVAL = dt.timedelta(milliseconds=250)
"""Simulated time between two tick updates of one subscription."""
BAR_UPDATE_INTERVAL = dt.timedelta(seconds=5)
"""Simulated time between two historicalDataUpdate messages."""
DELAYED = dt.timedelta(minutes=15)
"""Age of delayed market data (types 3 and 4)."""

_CAN_AUTO_EXECUTE = 1
_HALTED = 49  # tickGeneric: 0 not halted


@dataclass(frozen=True, slots=True)
class TickIds:
    """TWS tick type ids of one data flavour (live or delayed)."""

    bid: int
    ask: int
    last: int
    bidSize: int
    askSize: int
    lastSize: int
    high: int
    low: int
    volume: int
    close: int
    open: int
    lastTimestamp: int


LIVE_TICKS = TickIds(1, 2, 4, 0, 3, 5, 6, 7, 8, 9, 14, 45)
DELAYED_TICKS = TickIds(66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 88)


@dataclass(slots=True)
class MktDataStream:
    """One reqMktData subscription.

    ``marketDataType``: 1 live, 2 frozen, 3 delayed, 4 delayed frozen.
    ``snapshot``: one set then tickSnapshotEnd (57). Sizes are in shares
    (forex: base-currency units); prices in the contract's currency.
    ``generic``: the line's generic ticks (None: none asked); ``mdoff``: no
    top-of-book ticks.
    """

    reqId: int
    inst: Instrument
    model: PriceModel
    marketDataType: int = 1
    snapshot: bool = False
    next_due: dt.datetime | None = None
    generic: GenericTicks | None = None
    mdoff: bool = False
    _sent: dict[str, object] = field(default_factory=dict)

    @property
    def ids(self) -> TickIds:
        """The tick ids this subscription uses."""
        return DELAYED_TICKS if self.marketDataType in (3, 4) else LIVE_TICKS

    @property
    def streaming(self) -> bool:
        """True when updates follow the first set (live or delayed, not snapshot)."""
        return not self.snapshot and self.marketDataType in (1, 3)

    def _data_time(self, now: dt.datetime) -> dt.datetime:
        return now - DELAYED if self.marketDataType in (3, 4) else now

    def _quote(self, now: dt.datetime) -> Quote:
        return self.model.quote(self.inst.conId, self._data_time(now))

    def _values(self, q: Quote) -> dict[str, object]:
        vals: dict[str, object] = {
            "bid": q.bid, "bidSize": q.bidSize, "ask": q.ask, "askSize": q.askSize,
            "high": q.high, "low": q.low, "close": q.close,
        }
        if not self.inst.is_forex:
            vals.update({"last": q.last, "lastSize": q.lastSize, "volume": q.volume,
                         "open": q.open, "lastTimestamp": str(int(q.time.timestamp()))})
        return vals

    def first(self, now: dt.datetime) -> list[Message]:
        """tickReqParams (81), marketDataType (58) when not live, the full tick set,
        and tickSnapshotEnd (57) for a snapshot."""
        out: list[Message] = [incoming.TickReqParams(
            reqId=self.reqId, minTick=self.inst.minTick, bboExchange="9c0001",
            snapshotPermissions=3)]
        if self.marketDataType != 1:
            out.append(incoming.MarketDataType(reqId=self.reqId,
                                               marketDataType=self.marketDataType))
        if not self.mdoff:
            vals = self._values(self._quote(now))
            out.extend(self._ticks(vals, full=True))
            self._sent = vals
        if self.generic is not None:
            out.extend(self.generic.first(self._data_time(now)))
        if self.snapshot:
            out.append(incoming.TickSnapshotEnd(reqId=self.reqId))
        else:
            self.next_due = now + TICK_INTERVAL
        return out

    def update(self, now: dt.datetime) -> list[Message]:
        """The ticks whose values changed since the last call (none when not due)."""
        if not self.streaming or self.next_due is None or now < self.next_due:
            return []
        self.next_due += TICK_INTERVAL  # from the due time: a poll's lateness does not add up
        if self.next_due <= now:  # after a long stall: one update, not a burst
            self.next_due = now + TICK_INTERVAL
        out: list[Message] = []
        if not self.mdoff:
            vals = self._values(self._quote(now))
            out = self._ticks(vals, full=False)
            self._sent = vals
        if self.generic is not None:
            out.extend(self.generic.update(self._data_time(now)))
        return out

    def _ticks(self, vals: dict[str, object], *, full: bool) -> list[Message]:
        ids, req, old = self.ids, self.reqId, self._sent
        out: list[Message] = []

        def changed(key: str) -> bool:
            return key in vals and (full or old.get(key) != vals[key])

        for price_key, size_key, attr in (("bid", "bidSize", _CAN_AUTO_EXECUTE),
                                          ("ask", "askSize", _CAN_AUTO_EXECUTE),
                                          ("last", "lastSize", 0)):
            if price_key not in vals:
                continue
            size = vals[size_key]
            assert isinstance(size, Decimal)
            if changed(price_key):  # the price carries its size; TWS repeats it first time
                out.append(incoming.TickPrice(
                    reqId=req, tickType=getattr(ids, price_key), price=_f(vals[price_key]),
                    size=size, attrMask=attr))
                if full:
                    out.append(incoming.TickSize(reqId=req, tickType=getattr(ids, size_key),
                                                 size=size))
            elif changed(size_key):
                out.append(incoming.TickSize(reqId=req, tickType=getattr(ids, size_key),
                                             size=size))
        if changed("volume"):
            vol = vals["volume"]
            assert isinstance(vol, Decimal)
            out.append(incoming.TickSize(reqId=req, tickType=ids.volume, size=vol))
        for key in ("high", "low", "close", "open"):
            if changed(key):
                out.append(incoming.TickPrice(reqId=req, tickType=getattr(ids, key),
                                              price=_f(vals[key]), size=Decimal(0)))
        if "lastTimestamp" in vals and (full or changed("volume") or changed("last")):
            out.append(incoming.TickString(reqId=req, tickType=ids.lastTimestamp,
                                           value=str(vals["lastTimestamp"])))
        if full:
            out.append(incoming.TickGeneric(reqId=req, tickType=_HALTED, value=0.0))
        return out


def _f(x: object) -> float:
    assert isinstance(x, float | int)
    return float(x)


def to_bar_data(bar: HistBar, formatDate: int) -> BarData:
    """A HistBar as the wire's BarData (date text per ``formatDate``)."""
    return BarData(date=format_bar_time(bar.time, formatDate), open=bar.open, high=bar.high,
                   low=bar.low, close=bar.close, volume=bar.volume, wap=bar.wap,
                   barCount=bar.barCount)


@dataclass(slots=True)
class BarStream:
    """One keepUpToDate reqHistoricalData subscription (historicalDataUpdate, id 90).

    Any whatToShow with bars (:mod:`twsbridge.sim.market.bar_kinds`): the update
    is the bar in progress, equal to the last bar of a request made at that
    instant; SCHEDULE never streams (the family sends no BarStream for it)."""

    reqId: int
    conId: int
    model: PriceModel
    barSizeSetting: str
    whatToShow: str
    useRTH: bool
    formatDate: int
    next_due: dt.datetime

    def update(self, now: dt.datetime) -> list[Message]:
        """The current bar, when BAR_UPDATE_INTERVAL has passed since the last one."""
        if now < self.next_due:
            return []
        self.next_due = now + BAR_UPDATE_INTERVAL
        try:
            bar = bar_update(self.model, self.conId, now=now, barSizeSetting=self.barSizeSetting,
                             whatToShow=self.whatToShow, useRTH=self.useRTH)
        except HistoryError:
            return []
        return [incoming.HistoricalDataUpdate(reqId=self.reqId,
                                              bar=to_bar_data(bar, self.formatDate))]


REALTIME_BAR_SECONDS = 5
"""The only bar size of reqRealTimeBars."""
_MAX_BEHIND = 12  # bars sent at most at once after a long pause of poll()


@dataclass(slots=True)
class RealTimeBarStream:
    """One reqRealTimeBars subscription: a realtimeBar (id 50) for each 5 s of
    simulated time, once the 5 s are over. TRADES bars carry the path's volume,
    wap and count; MIDPOINT, BID and ASK bars -1. ``useRTH`` is not applied:
    outside sessions the bars are flat at the last price."""

    reqId: int
    conId: int
    model: PriceModel
    whatToShow: str
    next_start: int  # epoch second where the next bar starts

    def update(self, now: dt.datetime) -> list[Message]:
        """The bars that ended by ``now``."""
        end = int(now.timestamp())
        step = REALTIME_BAR_SECONDS
        if end - self.next_start >= _MAX_BEHIND * step:
            self.next_start = (end // step - _MAX_BEHIND) * step
        out: list[Message] = []
        while self.next_start + step <= end:
            out.append(self._bar(self.next_start))
            self.next_start += step
        return out

    def _bar(self, t0: int) -> incoming.RealTimeBar:
        step = REALTIME_BAR_SECONDS
        what = self.whatToShow.upper()
        if what == "TRADES":
            prices, volumes = self._trades(t0)
        else:
            prices = []
            for k in range(step):
                q = self.model.quote(self.conId, dt.datetime.fromtimestamp(t0 + k, dt.UTC))
                prices.append(q.bid if what == "BID" else q.ask if what == "ASK"
                              else (q.bid + q.ask) / 2)
            volumes = []
        bar = incoming.RealTimeBar(reqId=self.reqId, time=t0, open=prices[0], high=max(prices),
                                   low=min(prices), close=prices[-1], volume=Decimal(-1),
                                   wap=Decimal(-1), count=-1)
        if what == "TRADES":
            total = sum(volumes)
            wap = sum(p * v for p, v in zip(prices, volumes, strict=True)) / total if total \
                else prices[-1]
            bar.volume = Decimal(total)
            bar.wap = Decimal(repr(round(wap, 6)))
            bar.count = sum(1 for v in volumes if v)
        return bar

    def _trades(self, t0: int) -> tuple[list[float], list[int]]:
        step = REALTIME_BAR_SECONDS
        day = dt.datetime.fromtimestamp(t0, SIM_TZ).date()
        path = self.model.path(self.conId, day)
        if path is not None and path.start <= t0 and t0 + step <= path.end:
            k = t0 - path.start
            return ([float(x) for x in path.prices[k:k + step]],
                    [int(x) for x in path.volumes[k:k + step]])
        last = self.model.price_at(self.conId, dt.datetime.fromtimestamp(t0, dt.UTC))
        return [last] * step, [0] * step
