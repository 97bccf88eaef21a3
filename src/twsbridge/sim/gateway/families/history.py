"""The historical data family: reqHistoricalData (20) with keepUpToDate,
cancelHistoricalData (25), reqHeadTimeStamp (87) and its cancel (90),
reqRealTimeBars (50) and cancelRealTimeBars (51).

Bars come from :mod:`twsbridge.sim.market.history` (every whatToShow TWS serves;
which secType serves which: :mod:`twsbridge.sim.market.bar_kinds`); whatToShow
SCHEDULE is answered with historicalSchedule (106) from
:mod:`twsbridge.sim.market.schedule`, and never streams. Pacing (162/420/366) is
the session guard's. Streamed bars (keepUpToDate, real-time bars) live in the
session's ``bars``, which the guard polls.
"""

from __future__ import annotations

import datetime as dt

from twsbridge.protocol.catalogue import incoming, outgoing
from twsbridge.protocol.catalogue.schedule import HistoricalSchedule, HistoricalSession
from twsbridge.sim.gateway.families.base import Family, handles
from twsbridge.sim.gateway.families.market_data import DUPLICATE_TICKER
from twsbridge.sim.market.history import (
    HistoryError,
    format_bar_time,
    head_timestamp,
    historical_bars,
)
from twsbridge.sim.market.schedule import Schedule, historical_schedule
from twsbridge.sim.market.streams import (
    REALTIME_BAR_SECONDS,
    BarStream,
    RealTimeBarStream,
    to_bar_data,
)
from twsbridge.sim.reference.instruments import Instrument

HISTORICAL_SCHEDULE_VERSION = 165
"""The first server version with historicalSchedule (106)."""

__all__ = ["LIVE_UPDATES_END", "History"]

LIVE_UPDATES_END = ("Error validating request.-'bP' : cause - End date not supported "
                    "with live updates")


class History(Family):
    """Historical bars, head timestamps and real-time bars."""

    @handles(outgoing.ReqHistoricalData)
    def req_historical_data(self, msg: outgoing.ReqHistoricalData) -> None:
        ctx = self.ctx
        inst = ctx.single(msg.reqId, msg.contract)
        if inst is None:
            return
        if msg.keepUpToDate and msg.endDateTime.strip():
            ctx.error(msg.reqId, 321, LIVE_UPDATES_END)
            return
        if ctx.guard.historical_refused(inst.conId, msg):  # pacing: 162 / 420
            return
        now = ctx.now()
        if msg.whatToShow.strip().upper() == "SCHEDULE":
            self._schedule(msg, inst, now)
            return
        try:
            start, end, bars = historical_bars(
                ctx.sim.prices, inst.conId, now=now, endDateTime=msg.endDateTime,
                durationStr=msg.durationStr, barSizeSetting=msg.barSizeSetting,
                whatToShow=msg.whatToShow, useRTH=msg.useRTH)
        except HistoryError as e:
            ctx.error(msg.reqId, e.code, e.message)
            return
        ctx.emit([incoming.HistoricalData(
            reqId=msg.reqId, startDateStr=format_bar_time(start, 1),
            endDateStr=format_bar_time(end, 1),
            bars=[to_bar_data(b, msg.formatDate) for b in bars])])
        if msg.keepUpToDate:
            ctx.bars[msg.reqId] = BarStream(
                msg.reqId, inst.conId, ctx.sim.prices, msg.barSizeSetting, msg.whatToShow,
                msg.useRTH, msg.formatDate, next_due=now + dt.timedelta(seconds=5))

    def _schedule(self, msg: outgoing.ReqHistoricalData, inst: Instrument,
                  now: dt.datetime) -> None:
        """whatToShow SCHEDULE: one historicalSchedule (106), no bars, no updates."""
        ctx = self.ctx
        if ctx.server_version < HISTORICAL_SCHEDULE_VERSION:
            ctx.error(msg.reqId, 503, f"The TWS is out of date and must be upgraded. It does "
                                      f"not support historical schedule below server version "
                                      f"{HISTORICAL_SCHEDULE_VERSION}.")
            return
        try:
            sched = historical_schedule(inst, now=now, endDateTime=msg.endDateTime,
                                        durationStr=msg.durationStr, useRTH=msg.useRTH)
        except HistoryError as e:
            ctx.error(msg.reqId, e.code, e.message)
            return
        stamp = Schedule.stamp
        ctx.emit([HistoricalSchedule(
            reqId=msg.reqId, startDateTime=stamp(sched.sessions[0][0]),
            endDateTime=stamp(sched.sessions[-1][1]), timeZone=sched.timeZone,
            sessions=[HistoricalSession(stamp(s), stamp(e), f"{d:%Y%m%d}")
                      for s, e, d in sched.sessions])])

    @handles(outgoing.CancelHistoricalData)
    def cancel_historical_data(self, msg: outgoing.CancelHistoricalData) -> None:
        self.ctx.guard.cancel_historical(msg.reqId)

    @handles(outgoing.ReqRealTimeBars)
    def req_real_time_bars(self, msg: outgoing.ReqRealTimeBars) -> None:
        ctx = self.ctx
        inst = ctx.single(msg.reqId, msg.contract)
        if inst is None:
            return
        if msg.barSize != REALTIME_BAR_SECONDS:
            ctx.error(msg.reqId, 321, f"Error validating request.-'bL' : cause - Invalid "
                                      f"bar size {msg.barSize}: only 5 seconds bars are "
                                      f"supported")
            return
        if msg.whatToShow.upper() not in ("TRADES", "MIDPOINT", "BID", "ASK"):
            ctx.error(msg.reqId, 321, f"Error validating request.-'bL' : cause - Invalid "
                                      f"whatToShow {msg.whatToShow}")
            return
        if msg.reqId in ctx.bars:
            ctx.error(msg.reqId, 322, DUPLICATE_TICKER)
            return
        now = int(ctx.now().timestamp())
        ctx.bars[msg.reqId] = RealTimeBarStream(
            msg.reqId, inst.conId, ctx.sim.prices, msg.whatToShow,
            next_start=(now // REALTIME_BAR_SECONDS + 1) * REALTIME_BAR_SECONDS)

    @handles(outgoing.CancelRealTimeBars)
    def cancel_real_time_bars(self, msg: outgoing.CancelRealTimeBars) -> None:
        self.ctx.bars.pop(msg.reqId, None)

    @handles(outgoing.ReqHeadTimeStamp)
    def req_head_timestamp(self, msg: outgoing.ReqHeadTimeStamp) -> None:
        ctx = self.ctx
        inst = ctx.single(msg.reqId, msg.contract)
        if inst is None:
            return
        try:
            t = head_timestamp(ctx.sim.prices, inst.conId, msg.whatToShow, msg.useRTH)
        except HistoryError as e:
            ctx.error(msg.reqId, e.code, e.message)
            return
        if msg.formatDate == 2:
            text = str(int(t.timestamp()))
        else:
            text = t.astimezone(dt.UTC).strftime("%Y%m%d-%H:%M:%S")
        ctx.emit([incoming.HeadTimestamp(reqId=msg.reqId, headTimestamp=text)])

    @handles(outgoing.CancelHeadTimeStamp)
    def cancel_head_timestamp(self, msg: outgoing.CancelHeadTimeStamp) -> None:
        """Answered at once: nothing to stop."""
