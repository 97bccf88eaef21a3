"""Order types, time in force and the status sequences of the simulated broker."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from twsbridge.protocol import incoming
from twsbridge.sim.broker.commissions import us_stock_tiered
from twsbridge.sim.reference.calendar import SIM_TZ

from .broker_wire import (
    EURUSD,
    EURUSD_ID,
    Desk,
    errors,
    lmt,
    mkt,
    of,
    order,
    statuses,
)

EXEC_ID = re.compile(r"^[0-9a-f]{8}\.[0-9a-f]{8}\.[0-9a-f]{2}\.01$")
PLACED = ["PreSubmitted", "Submitted"]


def exec_time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text[:17], "%Y%m%d %H:%M:%S").replace(tzinfo=SIM_TZ)


def test_limit_far_from_the_market_rests_submitted() -> None:
    d = Desk()
    w = d.connect()
    events = d.place(w, 1, lmt("BUY", 100, 300.0))
    assert [type(e) for e in events] == [incoming.OpenOrder, incoming.OrderStatus] * 2
    assert [e.orderState.status for e in of(events, incoming.OpenOrder)] == PLACED
    assert statuses(events) == PLACED
    opened = of(events, incoming.OpenOrder)[0]
    assert opened.contract.conId == 265598 and opened.order.permId > 0
    assert opened.order.lmtPrice == 300.0 and opened.order.account == "DU1234567"
    status = of(events, incoming.OrderStatus)[-1]
    assert (status.filled, status.remaining, status.clientId) == (0, 100, 1)
    later = d.advance(600, step=5)[1]
    assert later == []
    assert d.sim.broker.find(1, 1).status == "Submitted"  # type: ignore[union-attr]


def test_market_order_fills_at_the_ask_with_a_commission() -> None:
    d = Desk()
    w = d.connect()
    q = d.quote()
    events = d.place(w, 1, mkt("BUY", 100))
    assert [type(e) for e in events[4:]] == [
        incoming.ExecDetails, incoming.OpenOrder, incoming.OrderStatus,
        incoming.CommissionReportMessage]
    (ex,) = of(events, incoming.ExecDetails)
    e = ex.execution
    assert ex.reqId == -1 and EXEC_ID.match(e.execId)
    assert (e.side, e.shares, e.price, e.cumQty, e.avgPrice) == ("BOT", 100, q.ask, 100, q.ask)
    assert (e.orderId, e.clientId, e.acctNumber, e.exchange) == (1, 1, "DU1234567", "NASDAQ")
    assert e.lastLiquidity == 2 and e.time == "20130301 10:00:00 US/Eastern"
    filled = of(events, incoming.OpenOrder)[-1].orderState
    assert filled.status == "Filled"
    status = of(events, incoming.OrderStatus)[-1]
    assert (status.status, status.filled, status.remaining) == ("Filled", 100, 0)
    assert status.avgFillPrice == status.lastFillPrice == q.ask
    (report,) = [m.commissionReport for m in of(events, incoming.CommissionReportMessage)]
    expected = us_stock_tiered(Decimal(100), q.ask, sell=False, liquidity=2).commission
    assert report.execId == e.execId and report.commission == pytest.approx(expected)
    assert report.currency == "USD" and filled.commission == pytest.approx(expected)


def test_large_market_order_fills_against_the_quote_then_over_time() -> None:
    d = Desk()
    w = d.connect()
    q = d.quote()
    first = d.place(w, 1, mkt("BUY", 5_000))
    (ex,) = of(first, incoming.ExecDetails)
    assert ex.execution.shares == q.askSize
    assert of(first, incoming.OrderStatus)[-1].remaining == 5_000 - q.askSize
    later = d.advance(300, step=0.25)[1]
    execs = [ex.execution, *(m.execution for m in of(later, incoming.ExecDetails))]
    assert sum(x.shares for x in execs) == 5_000
    assert [x.cumQty for x in execs] == sorted(x.cumQty for x in execs)
    assert len({x.execId for x in execs}) == len(execs) > 2
    final = of(later, incoming.OrderStatus)[-1]
    assert final.status == "Filled"
    vwap = sum(x.shares * Decimal(str(x.price)) for x in execs) / 5_000
    assert final.avgFillPrice == pytest.approx(float(vwap))
    assert len(of(later, incoming.CommissionReportMessage)) == len(execs) - 1


def test_marketable_limit_fills_at_the_better_quote() -> None:
    d = Desk()
    w = d.connect()
    q = d.quote()
    events = d.place(w, 1, lmt("SELL", 100, round(q.bid - 1, 2)))
    (ex,) = of(events, incoming.ExecDetails)
    assert (ex.execution.side, ex.execution.price) == ("SLD", q.bid)


def test_resting_limit_fills_when_trades_go_through_it() -> None:
    d = Desk()
    w = d.connect()
    low, _ = d.path_range(600)
    limit = round(low + 0.03, 2)
    assert limit < d.quote().ask
    assert statuses(d.place(w, 1, lmt("BUY", 100, limit))) == PLACED
    later = d.advance(600, step=1)[1]
    execs = [m.execution for m in of(later, incoming.ExecDetails)]
    assert execs and all(x.price == limit and x.lastLiquidity == 1 for x in execs)
    assert statuses(later)[-1] == "Filled"


def test_stop_is_held_until_triggered() -> None:
    d = Desk()
    w = d.connect()
    _, high = d.path_range(600)
    stop = round(high - 0.01, 2)
    assert stop > d.quote().ask
    events = d.place(w, 1, order("BUY", 100, "STP", auxPrice=stop))
    (status,) = of(events, incoming.OrderStatus)
    assert (status.status, status.whyHeld) == ("PreSubmitted", "trigger")
    later = d.advance(600, step=1)[1]
    assert statuses(later)[0] == "Submitted" and statuses(later)[-1] == "Filled"
    (ex,) = of(later, incoming.ExecDetails)
    assert ex.execution.price >= stop - 0.05


def test_stop_limit_becomes_a_limit_when_triggered() -> None:
    d = Desk()
    w = d.connect()
    low, _ = d.path_range(600)
    stop = round(low + 0.01, 2)
    events = d.place(w, 1, order("SELL", 100, "STP LMT", auxPrice=stop,
                                 lmtPrice=round(stop - 0.5, 2)))
    assert of(events, incoming.OrderStatus)[-1].whyHeld == "trigger"
    later = d.advance(600, step=1)[1]
    assert statuses(later)[-1] == "Filled"
    assert all(m.execution.price >= stop - 0.5 for m in of(later, incoming.ExecDetails))


@pytest.mark.parametrize("trail", [{"auxPrice": 0.2}, {"trailingPercent": 0.05}])
def test_trailing_stop_follows_the_market_and_triggers(trail: dict[str, float]) -> None:
    d = Desk()
    w = d.connect()
    last = d.quote().last
    events = d.place(w, 1, order("SELL", 100, "TRAIL", **trail))
    opened = of(events, incoming.OpenOrder)[0].order
    amount = trail.get("auxPrice") or round(last * 0.0005, 2)
    assert opened.trailStopPrice == pytest.approx(last - amount, abs=0.011)
    assert of(events, incoming.OrderStatus)[-1].whyHeld == "trigger"
    later = d.advance(1800, step=1)[1]
    assert statuses(later)[-1] == "Filled"
    rec = d.sim.broker.find(1, 1)
    assert rec is not None and rec.trail_stop is not None
    assert rec.trail_stop >= opened.trailStopPrice
    (ex,) = of(later, incoming.ExecDetails)
    assert ex.execution.price <= rec.trail_stop + 0.05


def test_trailing_limit_uses_the_offset_from_the_stop() -> None:
    d = Desk()
    w = d.connect()
    d.place(w, 1, order("SELL", 100, "TRAIL LIMIT", auxPrice=0.2, lmtPriceOffset=0.05))
    later = d.advance(1800, step=1)[1]
    rec = d.sim.broker.find(1, 1)
    assert rec is not None and rec.trail_stop is not None
    assert statuses(later)[-1] == "Filled"
    assert all(m.execution.price >= rec.trail_stop - 0.05 - 1e-9
               for m in of(later, incoming.ExecDetails))


def test_market_on_close_fills_at_the_closing_price() -> None:
    d = Desk("2013-03-01 15:30")
    w = d.connect()
    assert statuses(d.place(w, 1, order("BUY", 100, "MOC"))) == PLACED
    assert statuses(d.place(w, 2, order("SELL", 100, "LOC", lmtPrice=440.0))) == PLACED
    assert d.go_to("2013-03-01 15:59:59", step=60)[1] == []
    later = d.advance(2)[1]
    close = d.sim.prices.daily_bar(265598, d.now.date()).close  # type: ignore[union-attr]
    (ex,) = of(later, incoming.ExecDetails)
    assert (ex.execution.orderId, ex.execution.price) == (1, close)
    assert statuses(later, 1)[-1] == "Filled"
    assert statuses(later, 2) == ["Cancelled"]  # the close is below the LOC's limit


def test_midprice_fills_at_the_midpoint() -> None:
    d = Desk()
    w = d.connect()
    assert statuses(d.place(w, 1, order("BUY", 100, "MIDPRICE"))) == PLACED
    later = d.advance(600, step=1)[1]
    execs = [m.execution for m in of(later, incoming.ExecDetails)]
    assert execs and statuses(later)[-1] == "Filled"
    for x in execs:
        q = d.quote(t=exec_time(x.time))
        assert x.price == pytest.approx((q.bid + q.ask) / 2)


def test_relative_order_pegs_to_the_bid_plus_offset() -> None:
    d = Desk()
    w = d.connect()
    assert statuses(d.place(w, 1, order("BUY", 100, "REL", auxPrice=0.01))) == PLACED
    later = d.advance(600, step=1)[1]
    execs = [m.execution for m in of(later, incoming.ExecDetails)]
    assert execs
    for x in execs:
        q = d.quote(t=exec_time(x.time))
        assert x.price == pytest.approx(min(q.bid + 0.01, q.ask))


def test_order_outside_regular_hours_waits_for_the_open() -> None:
    d = Desk("2013-03-01 08:00")
    w = d.connect()
    events = d.place(w, 1, lmt("BUY", 100, 300.0))
    assert statuses(events) == ["PreSubmitted", "PreSubmitted"]
    (err,) = of(events, incoming.ErrorMessage)
    assert (err.reqId, err.errorCode) == (1, 399)
    assert err.errorString == ("Order Message:\nBUY 100 AAPL NASDAQ.NMS\nWarning: Your order "
                               "will not be placed at the exchange until 2013-03-01 09:30:00 "
                               "US/Eastern.")
    later = d.go_to("2013-03-01 09:30:01", step=600)[1]
    assert statuses(later) == ["Submitted"]


def test_outside_rth_limit_works_in_the_pre_market() -> None:
    d = Desk("2013-03-01 08:00")
    w = d.connect()
    events = d.place(w, 1, lmt("BUY", 100, round(d.quote().ask + 1, 2), outsideRth=True))
    assert errors(events) == []
    assert statuses(events) == ["PreSubmitted", "Submitted", "Filled"]


def test_outside_rth_on_a_market_order_is_ignored_with_2109() -> None:
    d = Desk()
    w = d.connect()
    events = d.place(w, 1, mkt("BUY", 100, outsideRth=True))
    assert errors(events) == [(1, 2109)]
    assert isinstance(events[0], incoming.ErrorMessage)
    assert statuses(events)[-1] == "Filled"


def test_day_order_expires_at_the_close_and_gtc_stays() -> None:
    d = Desk("2013-03-01 15:59")
    w = d.connect()
    d.place(w, 1, lmt("BUY", 100, 300.0))
    d.place(w, 2, lmt("BUY", 100, 300.0, tif="GTC"))
    later = d.advance(120, step=30)[1]
    assert statuses(later, 1) == ["Cancelled"] and statuses(later, 2) == []
    assert errors(later) == []
    assert d.sim.broker.find(1, 2).status == "Submitted"  # type: ignore[union-attr]


def test_good_till_date_expires_at_its_time() -> None:
    d = Desk()
    w = d.connect()
    d.place(w, 1, lmt("BUY", 100, 300.0, tif="GTD", goodTillDate="20130301 10:05:00 US/Eastern"))
    assert d.advance(299, step=60)[1] == []
    assert statuses(d.advance(2)[1]) == ["Cancelled"]


def test_immediate_or_cancel_cancels_what_does_not_fill() -> None:
    d = Desk()
    w = d.connect()
    far = d.place(w, 1, lmt("BUY", 100, 300.0, tif="IOC"))
    assert statuses(far) == ["PreSubmitted", "Submitted", "PendingCancel", "Cancelled"]
    assert errors(far) == [(1, 202)]
    q = d.quote()
    partial = d.place(w, 2, lmt("BUY", 1000, round(q.ask + 1, 2), tif="IOC"))
    assert sum(m.execution.shares for m in of(partial, incoming.ExecDetails)) == q.askSize
    final = of(partial, incoming.OrderStatus)[-1]
    assert (final.status, final.filled, final.remaining) == ("Cancelled", q.askSize,
                                                            1000 - q.askSize)


def test_fill_or_kill_forex_fills_completely_or_not_at_all() -> None:
    d = Desk()
    w = d.connect()
    q = d.quote(EURUSD_ID)
    whole = d.place(w, 1, mkt("BUY", 100_000, tif="FOK"), EURUSD)
    assert statuses(whole)[-1] == "Filled"
    too_big = d.place(w, 2, mkt("BUY", int(q.askSize) + 100_000, tif="FOK"), EURUSD)
    assert of(too_big, incoming.ExecDetails) == []
    assert statuses(too_big)[-1] == "Cancelled"


def test_forex_fill_is_charged_idealpro_commission_and_held_as_cash() -> None:
    d = Desk()
    w = d.connect()
    q = d.quote(EURUSD_ID)
    events = d.place(w, 1, mkt("BUY", 100_000), EURUSD)
    (ex,) = of(events, incoming.ExecDetails)
    assert (ex.execution.exchange, ex.execution.price) == ("IDEALPRO", q.ask)
    (report,) = [m.commissionReport for m in of(events, incoming.CommissionReportMessage)]
    assert report.commission == pytest.approx(max(2.0, 100_000 * q.ask * 0.00002))
    assert d.sim.account.cash["EUR"] == 100_000
    small = d.place(w, 2, mkt("SELL", 20_000), EURUSD)
    (report,) = [m.commissionReport for m in of(small, incoming.CommissionReportMessage)]
    assert report.commission == 2.0
