"""The historical ticks family: reqHistoricalTicks (96) and reqHistogramData (88)
with its cancel (89).

Ticks and histograms come from :class:`~twsbridge.sim.market.ticks.TickModel`
over the simulator's price model, so they agree with the quotes, bars and
tick-by-tick events of the same instant; nothing after the simulated ``now`` is
served. A request is answered at once, in one message:

* reqHistoricalTicks → historicalTicks (96, MIDPOINT), historicalTicksBidAsk
  (97, BID_ASK) or historicalTicksLast (98, TRADES) with ``done`` set. TWS's
  rules (TWS API, "Historical Time and Sales Data"): ``numberOfTicks`` at most
  1000; ticks of one session only; whole seconds (the last second is completed,
  so a few more ticks than asked may come). ``startDateTime`` alone: the first
  ticks from it on (up to now); ``endDateTime`` alone: the last ticks before it;
  both: the first ticks from the start, none after the end. Times are
  "yyyymmdd hh:mm:ss [zone]" (no zone: US/Eastern, the simulated TWS's zone) or
  UTC "yyyymmdd-hh:mm:ss". Forex has no TRADES ticks (an empty answer).
* reqHistogramData → histogramData (89): volume by price over ``timePeriod``
  ("3 days", "1 week", "2 months", "1 year") back from now.

Errors (``errorCode`` and the start of ``errorString``): 200 unknown contract;
321 "Error validating request.-'bX'"… for a bad whatToShow, numberOfTicks
outside 1..1000, neither start nor end, and a bad timePeriod; 10314 for an
unreadable date/time. Pacing of historical ticks is the client's (the
simulator's pacing fault applies to reqHistoricalData only).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from twsbridge.protocol.catalogue import ticks as wire
from twsbridge.protocol.spec import Message
from twsbridge.protocol.tick_models import (
    HistogramEntry,
    HistoricalTick,
    HistoricalTickBidAsk,
    HistoricalTickLast,
)
from twsbridge.sim.gateway.families.base import Family, SessionContext, handles
from twsbridge.sim.market.history import HistoryError, parse_end_datetime
from twsbridge.sim.market.ticks import (
    HISTORICAL_TICKS_MAX,
    BidAskTick,
    MidPointTick,
    TickModel,
    TradeTick,
)

__all__ = ["TICKS_PREFIX", "WHAT_TO_SHOW", "HistoricalTicks", "to_messages"]

TICKS_PREFIX = "Error validating request.-'bX' : cause - "
"""Start of the 321 errors of reqHistoricalTicks and reqHistogramData."""
WHAT_TO_SHOW = ("TRADES", "BID_ASK", "MIDPOINT")
"""The whatToShow values reqHistoricalTicks takes."""


def to_messages(reqId: int, what: str,
                ticks: list[TradeTick] | list[BidAskTick] | list[MidPointTick]) -> Message:
    """The one answer (``done`` set) of a reqHistoricalTicks for ``what``."""
    if what == "TRADES":
        return wire.HistoricalTicksLast(reqId=reqId, done=True, ticks=[
            HistoricalTickLast(
                time=t.time, price=t.price, size=t.size, exchange=t.exchange,
                specialConditions=t.specialConditions,
                mask=(HistoricalTickLast.PAST_LIMIT if t.pastLimit else 0)
                | (HistoricalTickLast.UNREPORTED if t.unreported else 0))
            for t in ticks if isinstance(t, TradeTick)])
    if what == "BID_ASK":
        return wire.HistoricalTicksBidAsk(reqId=reqId, done=True, ticks=[
            HistoricalTickBidAsk(
                time=t.time, priceBid=t.bidPrice, priceAsk=t.askPrice, sizeBid=t.bidSize,
                sizeAsk=t.askSize,
                mask=(HistoricalTickBidAsk.ASK_PAST_HIGH if t.askPastHigh else 0)
                | (HistoricalTickBidAsk.BID_PAST_LOW if t.bidPastLow else 0))
            for t in ticks if isinstance(t, BidAskTick)])
    return wire.HistoricalTicks(reqId=reqId, done=True, ticks=[
        HistoricalTick(time=t.time, price=t.midPoint, size=Decimal(0))
        for t in ticks if isinstance(t, MidPointTick)])


class HistoricalTicks(Family):
    """reqHistoricalTicks, reqHistogramData and cancelHistogramData."""

    def __init__(self, ctx: SessionContext) -> None:
        super().__init__(ctx)
        self._model: TickModel | None = None

    @property
    def model(self) -> TickModel:
        """The tick model of the simulator's prices (made on first use)."""
        if self._model is None or self._model.prices is not self.ctx.sim.prices:
            self._model = TickModel(self.ctx.sim.prices)
        return self._model

    @handles(wire.ReqHistoricalTicks)
    def req_historical_ticks(self, msg: wire.ReqHistoricalTicks) -> None:
        ctx = self.ctx
        inst = ctx.single(msg.reqId, msg.contract)
        if inst is None:
            return
        what = msg.whatToShow.strip().upper()
        if what not in WHAT_TO_SHOW:
            ctx.error(msg.reqId, 321, f"{TICKS_PREFIX}Invalid whatToShow {msg.whatToShow!r}: "
                                      f"TRADES, BID_ASK or MIDPOINT")
            return
        if not 1 <= msg.numberOfTicks <= HISTORICAL_TICKS_MAX:
            ctx.error(msg.reqId, 321, f"{TICKS_PREFIX}Number of ticks {msg.numberOfTicks} "
                                      f"must be between 1 and {HISTORICAL_TICKS_MAX}")
            return
        start_text, end_text = msg.startDateTime.strip(), msg.endDateTime.strip()
        if not start_text and not end_text:
            ctx.error(msg.reqId, 321, f"{TICKS_PREFIX}Either start time or end time "
                                      f"must be specified")
            return
        now = ctx.now()
        try:
            start = parse_end_datetime(start_text, now) if start_text else None
            end = parse_end_datetime(end_text, now) if end_text else None
        except HistoryError as e:
            ctx.error(msg.reqId, e.code, e.message)
            return
        end = now if end is None or end > now else end
        if start is not None and start >= end:
            ctx.emit([to_messages(msg.reqId, what, [])])
            return
        ticks = self.model.historical_ticks(
            inst.conId, what, msg.numberOfTicks, start=start,
            end=_floor_second(end), useRth=bool(msg.useRth), ignoreSize=bool(msg.ignoreSize))
        ctx.emit([to_messages(msg.reqId, what, ticks)])

    @handles(wire.ReqHistogramData)
    def req_histogram_data(self, msg: wire.ReqHistogramData) -> None:
        ctx = self.ctx
        inst = ctx.single(msg.reqId, msg.contract)
        if inst is None:
            return
        try:
            rows = self.model.histogram(inst.conId, msg.timePeriod, _floor_second(ctx.now()),
                                        useRth=bool(msg.useRTH))
        except ValueError:
            ctx.error(msg.reqId, 321, f"{TICKS_PREFIX}Invalid time period "
                                      f"{msg.timePeriod!r}: e.g. '3 days', '1 week'")
            return
        ctx.emit([wire.HistogramData(reqId=msg.reqId, data=[
            HistogramEntry(price=p, size=s) for p, s in rows])])

    @handles(wire.CancelHistogramData)
    def cancel_histogram_data(self, msg: wire.CancelHistogramData) -> None:
        """Answered at once: nothing to stop."""


def _floor_second(t: dt.datetime) -> int:
    """The whole epoch second of ``t``: the second under way is not served
    (its quotes and trades are not complete yet)."""
    return int(t.timestamp() // 1)
