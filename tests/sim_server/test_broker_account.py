"""Commissions, positions, account values, P&L and what-if of the simulated broker."""

from __future__ import annotations

from decimal import Decimal

import pytest

from twsbridge.protocol import incoming, outgoing
from twsbridge.protocol.codec import UNSET_DOUBLE
from twsbridge.sim.broker.commissions import Liquidity, idealpro_fx, us_stock_tiered
from twsbridge.sim.broker.whatif import java_double

from .broker_wire import AAPL_ID, EURUSD, Desk, mkt, of, statuses


# -------------------------------------------------------------- schedules
def test_tiered_stock_commission_components() -> None:
    buy = us_stock_tiered(Decimal(100), 50.0, sell=False, liquidity=Liquidity.REMOVED)
    assert buy.ibkr == 0.35  # 100 * 0.0035 = 0.35, the minimum
    assert buy.fees == pytest.approx(100 * 0.003 + 100 * 0.0002 + 0.35 * (0.000175 + 0.00056))
    assert buy.commission == pytest.approx(buy.ibkr + buy.fees)
    big = us_stock_tiered(Decimal(10_000), 50.0, sell=False, liquidity=Liquidity.ADDED)
    assert big.ibkr == pytest.approx(35.0)  # per share above the minimum, no exchange fee
    cheap = us_stock_tiered(Decimal(10), 1.0, sell=False, liquidity=Liquidity.ADDED)
    assert cheap.ibkr == pytest.approx(0.10)  # capped at 1 % of the trade value
    sell = us_stock_tiered(Decimal(100), 50.0, sell=True, liquidity=Liquidity.REMOVED)
    assert sell.fees - buy.fees == pytest.approx(5000 * 0.0000278 + 100 * 0.000166)


def test_idealpro_commission() -> None:
    assert idealpro_fx(Decimal(20_000), 1.30, 1.0).commission == 2.0  # the minimum
    assert idealpro_fx(Decimal(1_000_000), 1.30, 1.0).commission == pytest.approx(26.0)
    assert idealpro_fx(Decimal(1_000_000), 93.5, 1 / 93.5).commission == pytest.approx(20.0)


# ------------------------------------------------------------- positions
def test_average_cost_includes_the_commission_and_realized_is_net() -> None:
    d = Desk()
    w = d.connect()
    buy = d.place(w, 1, mkt("BUY", 100))
    (b,) = [m.execution for m in of(buy, incoming.ExecDetails)]
    (bc,) = [m.commissionReport for m in of(buy, incoming.CommissionReportMessage)]
    assert bc.realizedPNL == UNSET_DOUBLE  # an opening fill realizes nothing
    holding = d.sim.account.holdings[AAPL_ID]
    assert holding.avgCost == pytest.approx(b.price + bc.commission / 100)
    d.advance(60)
    sell = d.place(w, 2, mkt("SELL", 100))
    (s,) = [m.execution for m in of(sell, incoming.ExecDetails)]
    (sc,) = [m.commissionReport for m in of(sell, incoming.CommissionReportMessage)]
    expected = 100 * (s.price - b.price) - bc.commission - sc.commission
    assert sc.realizedPNL == pytest.approx(expected, abs=1e-6)
    assert holding.position == 0 and holding.realizedPnL == pytest.approx(expected, abs=1e-6)


def test_position_subscribers_get_updates_after_fills() -> None:
    d = Desk()
    w1, w2 = d.connect(1), d.connect(2)
    assert of(w2.send(outgoing.ReqPositions()), incoming.PositionEnd)
    events = d.place(w1, 1, mkt("BUY", 100))
    assert of(events, incoming.Position) == []  # client 1 did not subscribe
    (pos,) = of(w2.poll(), incoming.Position)
    assert (pos.contract.conId, pos.position) == (AAPL_ID, 100)
    assert pos.avgCost == pytest.approx(d.sim.account.holdings[AAPL_ID].avgCost)


def test_account_updates_follow_a_fill() -> None:
    d = Desk()
    w = d.connect()
    w.send(outgoing.ReqAccountUpdates(subscribe=True, acctCode=""))
    events = d.place(w, 1, mkt("BUY", 100))
    (b,) = [m.execution for m in of(events, incoming.ExecDetails)]
    later = w.poll()
    (row,) = of(later, incoming.UpdatePortfolio)
    assert (row.contract.conId, row.position) == (AAPL_ID, 100)
    values = {(v.key, v.currency): v.val for v in of(later, incoming.UpdateAccountValue)}
    assert float(values[("GrossPositionValue", "USD")]) == pytest.approx(
        100 * d.quote().last, abs=0.01)
    cash = 1_000_000 - 100 * b.price - d.sim.broker.executions()[0][1].commission
    assert float(values[("TotalCashValue", "USD")]) == pytest.approx(cash, abs=0.01)


# -------------------------------------------------------------------- P&L
def test_pnl_subscriptions_report_and_update() -> None:
    d = Desk()
    w = d.connect()
    (first,) = of(w.send(outgoing.ReqPnL(reqId=7, account="DU1234567", modelCode="")),
                  incoming.PnL)
    assert (first.reqId, first.dailyPnL, first.unrealizedPnL, first.realizedPnL) == (
        7, 0.0, 0.0, 0.0)
    d.place(w, 1, mkt("BUY", 100))
    (single,) = of(w.send(outgoing.ReqPnLSingle(reqId=8, account="DU1234567", modelCode="",
                                                conId=AAPL_ID)), incoming.PnLSingle)
    h = d.sim.account.holdings[AAPL_ID]
    last = d.quote().last
    assert single.pos == 100
    assert single.value == pytest.approx(100 * last)
    assert single.unrealizedPnL == pytest.approx(100 * last - 100 * h.avgCost)
    assert single.dailyPnL == pytest.approx(single.unrealizedPnL)  # opened today
    updates = d.advance(30, step=1)[1]
    assert of(updates, incoming.PnL) and of(updates, incoming.PnLSingle)
    final = of(updates, incoming.PnLSingle)[-1]
    assert final.unrealizedPnL == pytest.approx(100 * d.quote().last - 100 * h.avgCost)
    w.send(outgoing.CancelPnL(reqId=7))
    w.send(outgoing.CancelPnLSingle(reqId=8))
    assert of(d.advance(30, step=1)[1], incoming.PnL) == []


# ---------------------------------------------------------------- what-if
def test_what_if_answers_one_open_order_and_places_nothing() -> None:
    d = Desk()
    w = d.connect()
    events = d.place(w, 1, mkt("BUY", 100, whatIf=True))
    (answer,) = events
    assert isinstance(answer, incoming.OpenOrder)
    st = answer.orderState
    assert answer.orderId == 1 and answer.order.whatIf and st.status == "PreSubmitted"
    ask = d.quote().ask
    taker = us_stock_tiered(Decimal(100), ask, sell=False, liquidity=Liquidity.REMOVED)
    maker = us_stock_tiered(Decimal(100), ask, sell=False, liquidity=Liquidity.ADDED)
    assert (st.commission, st.maxCommission, st.minCommission) == pytest.approx(
        (taker.commission, taker.commission, maker.commission))
    assert st.commissionCurrency == "USD"
    assert float(st.equityWithLoanBefore) == 1_000_000.0
    assert float(st.initMarginBefore) == 0.0
    assert float(st.initMarginChange) == pytest.approx(0.25 * 100 * d.quote().last, rel=1e-3)
    assert float(st.initMarginAfter) == pytest.approx(float(st.initMarginChange), abs=0.01)
    assert d.sim.broker.orders() == [] and d.sim.broker.executions() == []


def test_forex_what_if_warns_of_an_odd_lot() -> None:
    d = Desk()
    w = d.connect()
    (answer,) = d.place(w, 1, mkt("BUY", 100, whatIf=True), EURUSD)
    assert answer.orderState.warningText.startswith(
        "Important Note: Your order size is below the EUR 20000 IdealPro minimum.")
    assert answer.orderState.commission == 2.0


def test_java_double_texts() -> None:
    assert java_double(148839.9) == "148839.9"
    assert java_double(-0.8499999998603016) == "-0.8499999998603016"
    assert java_double(0.0) == "0.0"
    assert java_double(1000000.0) == "1000000.0"
    assert java_double(12345678.9) == "1.23456789E7"


def test_statuses_of_a_filled_order_in_the_ledger() -> None:
    d = Desk()
    w = d.connect()
    assert statuses(d.place(w, 1, mkt("BUY", 100)))[-1] == "Filled"
    (rec,) = d.sim.broker.orders()
    (execution, report, contract) = d.sim.broker.executions()[0]
    assert (execution.permId, contract.conId) == (rec.perm_id, AAPL_ID)
    assert rec.commission == pytest.approx(report.commission)
