"""Which client sees which orders, snapshots, executions and reconnects."""

from __future__ import annotations

from twsbridge.protocol import ExecutionFilter, incoming, outgoing

from .broker_wire import AAPL, Desk, Wire, errors, lmt, mkt, of, statuses


def test_each_client_sees_only_its_own_orders() -> None:
    d = Desk()
    w1, w2 = d.connect(1), d.connect(2)
    d.place(w1, 1, mkt("BUY", 100))
    d.place(w1, 2, lmt("BUY", 100, 300.0))
    assert w2.poll() == []
    assert [type(e) for e in w2.send(outgoing.ReqOpenOrders())] == [incoming.OpenOrderEnd]
    mine = w1.send(outgoing.ReqOpenOrders())
    assert [(type(e), getattr(e, "orderId", None)) for e in mine] == [
        (incoming.OpenOrder, 2), (incoming.OrderStatus, 2), (incoming.OpenOrderEnd, None)]
    every = w2.send(outgoing.ReqAllOpenOrders())
    assert [e.orderId for e in of(every, incoming.OpenOrder)] == [2]
    assert of(every, incoming.OpenOrder)[0].order.clientId == 1
    assert errors(d.cancel(w2, 2)) == [(2, 10147)]  # another client's id is unknown


def test_master_client_sees_every_api_order() -> None:
    d = Desk()
    d.sim.master_client_id = 9
    w1, w9 = d.connect(1), d.connect(9)
    d.place(w1, 1, mkt("BUY", 100))
    seen = w9.poll()
    assert statuses(seen, 1)[-1] == "Filled"
    assert of(seen, incoming.ExecDetails) and of(seen, incoming.CommissionReportMessage)
    assert errors(seen) == []


def test_manual_orders_bind_to_client_zero() -> None:
    d = Desk()
    w0, w1 = d.connect(0), d.connect(1)
    unbound = d.sim.broker.place_manual(AAPL, lmt("BUY", 100, 300.0))
    assert unbound.order_id == 0 and w0.poll() == [] and w1.poll() == []
    listed = w1.send(outgoing.ReqAllOpenOrders())
    assert [(e.orderId, e.order.clientId) for e in of(listed, incoming.OpenOrder)] == [(0, 0)]
    bound = w0.send(outgoing.ReqOpenOrders())
    (opened,) = of(bound, incoming.OpenOrder)
    assert opened.orderId > 0 and unbound.order_id == opened.orderId
    assert w0.send(outgoing.ReqAutoOpenOrders(bAutoBind=True)) == []
    auto = d.sim.broker.place_manual(AAPL, lmt("BUY", 50, 301.0))
    later = w0.poll()
    assert auto.order_id > opened.orderId
    assert statuses(later, auto.order_id) == ["PreSubmitted", "Submitted"]
    assert w1.poll() == []
    assert statuses(d.cancel(w0, auto.order_id)) == ["PendingCancel", "Cancelled"]


def test_reconnect_sends_open_orders_before_managed_accounts() -> None:
    d = Desk()
    w = d.connect(3)
    d.place(w, 1, lmt("BUY", 100, 300.0))
    w.session.close("test")
    again = Wire(d.sim)
    events = again.connect(3)
    assert [type(e) for e in events[:5]] == [
        incoming.OpenOrder, incoming.OrderStatus, incoming.OpenOrderEnd,
        incoming.ManagedAccounts, incoming.NextValidId]
    assert events[4].orderId == 2
    assert statuses(again.send(outgoing.CancelOrder(orderId=1)))[-1] == "Cancelled"
    fresh = Wire(d.sim).connect(4)
    assert isinstance(fresh[0], incoming.ManagedAccounts)


def test_completed_orders_of_the_day() -> None:
    d = Desk()
    w = d.connect()
    d.place(w, 1, mkt("BUY", 100))
    d.place(w, 2, lmt("BUY", 100, 300.0))
    d.cancel(w, 2)
    d.sim.broker.place_manual(AAPL, mkt("SELL", 100))
    events = w.send(outgoing.ReqCompletedOrders(apiOnly=False))
    assert isinstance(events[-1], incoming.CompletedOrdersEnd)
    done = of(events, incoming.CompletedOrder)
    assert [(c.order.permId > 0, c.orderState.status, c.orderState.completedStatus)
            for c in done] == [(True, "Filled", "Filled Size: 100"),
                               (True, "Cancelled", "Cancelled by Trader"),
                               (True, "Filled", "Filled Size: 100")]
    assert all(c.orderState.completedTime == "20130301 10:00:00 US/Eastern" for c in done)
    api = of(w.send(outgoing.ReqCompletedOrders(apiOnly=True)), incoming.CompletedOrder)
    assert len(api) == 2


def test_executions_snapshot_with_filters() -> None:
    d = Desk()
    w1, w2 = d.connect(1), d.connect(2)
    d.place(w1, 1, mkt("BUY", 100))
    d.advance(60)
    d.place(w2, 1, mkt("SELL", 100))
    everything = w1.send(outgoing.ReqExecutions(reqId=5, execFilter=ExecutionFilter()))
    assert [type(e) for e in everything] == [
        incoming.ExecDetails, incoming.ExecDetails, incoming.CommissionReportMessage,
        incoming.CommissionReportMessage, incoming.ExecDetailsEnd]
    assert {e.reqId for e in everything if hasattr(e, "reqId")} == {5}
    reports = [e.commissionReport.execId for e in of(everything, incoming.CommissionReportMessage)]
    assert reports == [e.execution.execId for e in of(everything, incoming.ExecDetails)]

    def ids(flt: ExecutionFilter) -> list[int]:
        got = w1.send(outgoing.ReqExecutions(reqId=6, execFilter=flt))
        return [e.execution.clientId for e in of(got, incoming.ExecDetails)]

    assert ids(ExecutionFilter(clientId=2)) == [2]
    assert ids(ExecutionFilter(side="BUY")) == [1]
    assert ids(ExecutionFilter(symbol="AAPL", secType="STK", acctCode="DU1234567")) == [1, 2]
    assert ids(ExecutionFilter(symbol="MSFT")) == []
    assert ids(ExecutionFilter(time="20130301 10:00:30")) == [2]
    assert ids(ExecutionFilter(time="20130301-15:00:30")) == [2]  # UTC form


def test_broker_state_survives_sessions() -> None:
    d = Desk()
    w = d.connect()
    d.place(w, 1, mkt("BUY", 100))
    w.session.close("gone")
    d.advance(10)
    again = Wire(d.sim)
    again.connect(1)
    assert len(d.sim.broker.executions()) == 1
    assert errors(again.send(outgoing.PlaceOrder(orderId=1, contract=AAPL,
                                                  order=mkt("BUY", 100)))) == [(1, 104)]
