"""reqHistoricalData's whatToShow values through a SimSession (``Wire``, no socket)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from twsbridge.protocol import ClientConnection, Contract, incoming, outgoing
from twsbridge.protocol.catalogue.schedule import HistoricalSchedule, HistoricalSession
from twsbridge.sim.market.bar_kinds import ADJUSTED_LAST_END, FEE_RATE, implied_vol_level
from twsbridge.sim.market.history import historical_bars
from twsbridge.sim.reference.calendar import SIM_TZ

from .test_session import AAPL, Wire, frozen_sim

EURUSD = Contract(symbol="EUR", secType="CASH", exchange="IDEALPRO", currency="USD")
HMDS = "Historical Market Data Service error message:"


def _wire(start: dt.datetime | None = None) -> Wire:
    w = Wire(frozen_sim(start))
    w.connect()
    return w


def _req(req_id: int, what: str, *, contract: Contract = AAPL, dur: str = "1 D",
         size: str = "1 hour", end: str = "", keep: bool = False) -> outgoing.ReqHistoricalData:
    return outgoing.ReqHistoricalData(reqId=req_id, contract=contract, endDateTime=end,
                                      durationStr=dur, barSizeSetting=size, whatToShow=what,
                                      useRTH=True, formatDate=1, keepUpToDate=keep)


def test_every_stock_value_answers_bars_like_the_market_model() -> None:
    w = _wire()
    values = ("TRADES", "ADJUSTED_LAST", "MIDPOINT", "BID", "ASK", "BID_ASK",
              "HISTORICAL_VOLATILITY", "OPTION_IMPLIED_VOLATILITY", "FEE_RATE", "REBATE_RATE")
    for k, what in enumerate(values):
        (hist,) = w.send(_req(30 + k, what))
        assert isinstance(hist, incoming.HistoricalData) and hist.reqId == 30 + k, what
        want = historical_bars(w.sim.prices, 265598, now=w.sim.clock.now(), endDateTime="",
                               durationStr="1 D", barSizeSetting="1 hour", whatToShow=what,
                               useRTH=True)[2]
        assert [b.close for b in hist.bars] == [b.close for b in want], what
        if what not in ("TRADES", "ADJUSTED_LAST"):
            assert {(b.volume, b.wap, b.barCount) for b in hist.bars} == {
                (Decimal(-1), Decimal(-1), -1)}, what
    (iv,) = w.send(_req(50, "OPTION_IMPLIED_VOLATILITY", size="1 day", dur="5 D"))
    assert {b.close for b in iv.bars} == {implied_vol_level("STK")}
    (fee,) = w.send(_req(51, "FEE_RATE", size="1 day", dur="5 D"))
    assert {b.close for b in fee.bars} == {FEE_RATE}


def test_errors_per_sec_type_carry_the_request_id() -> None:
    w = _wire()
    (err,) = w.send(_req(60, "TRADES", contract=EURUSD, size="1 day", dur="5 D"))
    assert (err.reqId, err.errorCode, err.errorString) == (
        60, 162, HMDS + "No historical market data for EUR/CASH@FXSUBPIP Last 1d")
    (err,) = w.send(_req(61, "HISTORICAL_VOLATILITY", contract=EURUSD))
    assert (err.reqId, err.errorCode) == (61, 162)
    (err,) = w.send(_req(62, "AGGTRADES"))
    assert (err.reqId, err.errorCode, err.errorString) == (
        62, 162, HMDS + "No historical market data for AAPL/STK@SMART Aggtrades 3600")
    (err,) = w.send(_req(63, "ADJUSTED_LAST", end="20130228 16:00:00"))
    assert (err.reqId, err.errorCode, err.errorString) == (63, 321, ADJUSTED_LAST_END)
    (hist,) = w.send(_req(64, "MIDPOINT", contract=EURUSD))
    assert isinstance(hist, incoming.HistoricalData) and hist.bars


def test_schedule_answers_historical_schedule() -> None:
    w = _wire()
    (sched,) = w.send(_req(70, "SCHEDULE", dur="3 D", size="1 day"))
    assert sched == HistoricalSchedule(
        reqId=70, startDateTime="20130227-09:30:00", endDateTime="20130301-16:00:00",
        timeZone="US/Eastern", sessions=[
            HistoricalSession("20130227-09:30:00", "20130227-16:00:00", "20130227"),
            HistoricalSession("20130228-09:30:00", "20130228-16:00:00", "20130228"),
            HistoricalSession("20130301-09:30:00", "20130301-16:00:00", "20130301")])
    (sched,) = w.send(_req(71, "SCHEDULE", dur="1 D", size="1 day", keep=True))
    assert isinstance(sched, HistoricalSchedule) and len(sched.sessions) == 1
    w.sim.clock.advance(10)
    assert w.poll() == []  # a schedule never streams
    (err,) = w.send(_req(72, "SCHEDULE", end="19990104 12:00:00", dur="5 D", size="1 day"))
    assert (err.reqId, err.errorCode) == (72, 162)


def test_schedule_needs_server_version_165() -> None:
    old = Wire(frozen_sim(), client=ClientConnection(max_version=164))
    old.connect()
    assert old.session.server_version == 164
    (err,) = old.send(_req(73, "SCHEDULE", dur="1 D", size="1 day"))
    assert (err.reqId, err.errorCode) == (73, 503) and "165" in err.errorString
    at_165 = Wire(frozen_sim(), client=ClientConnection(max_version=165))
    at_165.connect()
    (sched,) = at_165.send(_req(74, "SCHEDULE", dur="1 D", size="1 day"))
    assert isinstance(sched, HistoricalSchedule)


def test_keep_up_to_date_streams_volatility_bars() -> None:
    w = _wire(dt.datetime(2013, 3, 1, 11, 0, tzinfo=SIM_TZ))
    (hist,) = w.send(_req(80, "HISTORICAL_VOLATILITY", dur="600 S", size="1 min", keep=True))
    w.sim.clock.advance(6)
    (update,) = w.poll()
    assert isinstance(update, incoming.HistoricalDataUpdate) and update.reqId == 80
    assert update.bar.barCount == -1 and 0 < update.bar.close < 1
    assert update.bar.date == hist.bars[-1].date
    w.send(outgoing.CancelHistoricalData(reqId=80))


def test_head_timestamp_of_values() -> None:
    w = _wire()
    req = outgoing.ReqHeadTimeStamp(reqId=90, contract=AAPL, whatToShow="HISTORICAL_VOLATILITY",
                                    useRTH=True, formatDate=1)
    (head,) = w.send(req)
    assert head.headTimestamp == "20000302-14:30:00"  # the first day has no return
    req = outgoing.ReqHeadTimeStamp(reqId=91, contract=EURUSD, whatToShow="TRADES",
                                    useRTH=True, formatDate=1)
    (err,) = w.send(req)
    assert (err.reqId, err.errorCode) == (91, 162)
