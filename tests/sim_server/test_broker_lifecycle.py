"""Modify, cancel, global cancel, order ids, brackets and OCA groups."""

from __future__ import annotations

from twsbridge.protocol import incoming, outgoing

from .broker_wire import Desk, errors, lmt, mkt, of, order, statuses

PLACED = ["PreSubmitted", "Submitted"]


# ------------------------------------------------------------------- modify
def test_modify_price_and_size_of_a_working_order() -> None:
    d = Desk()
    w = d.connect()
    d.place(w, 1, lmt("BUY", 100, 300.0))
    events = d.place(w, 1, lmt("BUY", 200, 301.0))
    assert [type(e) for e in events] == [incoming.OpenOrder, incoming.OrderStatus]
    (opened,) = of(events, incoming.OpenOrder)
    assert (opened.order.lmtPrice, opened.order.totalQuantity) == (301.0, 200)
    (status,) = of(events, incoming.OrderStatus)
    assert (status.status, status.remaining) == ("Submitted", 200)
    rec = d.sim.broker.find(1, 1)
    assert rec is not None and rec.order.lmtPrice == 301.0 and rec.perm_id == opened.order.permId


def test_modify_to_a_marketable_price_fills() -> None:
    d = Desk()
    w = d.connect()
    d.place(w, 1, lmt("BUY", 100, 300.0))
    events = d.place(w, 1, lmt("BUY", 100, round(d.quote().ask + 0.5, 2)))
    assert statuses(events) == ["Submitted", "Filled"]
    assert of(events, incoming.ExecDetails)[0].execution.price == d.quote().ask


def test_modify_of_type_stop_limit_to_limit() -> None:
    d = Desk()
    w = d.connect()
    d.place(w, 1, order("BUY", 100, "STP LMT", auxPrice=500.0, lmtPrice=501.0))
    events = d.place(w, 1, lmt("BUY", 100, 300.0))
    assert of(events, incoming.OpenOrder)[0].order.orderType == "LMT"
    assert statuses(events) == ["PreSubmitted", "Submitted"]


def test_modify_of_a_done_or_different_order_is_refused() -> None:
    d = Desk()
    w = d.connect()
    d.place(w, 1, mkt("BUY", 100))
    assert errors(d.place(w, 1, mkt("BUY", 200))) == [(1, 104)]
    d.place(w, 2, lmt("BUY", 100, 300.0))
    d.cancel(w, 2)
    assert errors(d.place(w, 2, lmt("BUY", 100, 301.0))) == [(2, 103)]
    d.place(w, 3, lmt("BUY", 100, 300.0))
    events = d.place(w, 3, lmt("SELL", 100, 300.0))
    assert errors(events) == [(3, 105)]
    assert of(events, incoming.ErrorMessage)[0].errorString == (
        "Order being modified does not match original order.")
    assert errors(d.place(w, 3, lmt("BUY", 100, 300.001))) == [(3, 110)]
    assert d.sim.broker.find(1, 3).order.lmtPrice == 300.0  # type: ignore[union-attr]


# ------------------------------------------------------------------- cancel
def test_cancel_of_a_working_order() -> None:
    d = Desk()
    w = d.connect()
    d.place(w, 1, lmt("BUY", 100, 300.0))
    events = d.cancel(w, 1)
    assert statuses(events) == ["PendingCancel", "Cancelled"]
    assert errors(events) == [(1, 202)]
    assert of(events, incoming.ErrorMessage)[0].errorString == "Order Canceled - reason:"
    assert isinstance(events[-1], incoming.ErrorMessage)


def test_cancel_of_a_held_order_is_immediate() -> None:
    d = Desk("2013-03-01 08:00")
    w = d.connect()
    d.place(w, 1, lmt("BUY", 100, 300.0))
    assert statuses(d.cancel(w, 1)) == ["Cancelled"]


def test_cancel_of_unknown_and_done_orders() -> None:
    d = Desk()
    w = d.connect()
    (err,) = of(d.cancel(w, 42), incoming.ErrorMessage)
    assert (err.reqId, err.errorCode) == (42, 10147)
    assert err.errorString == "OrderId 42 that needs to be cancelled is not found."
    d.place(w, 1, mkt("BUY", 100))
    (err,) = of(d.cancel(w, 1), incoming.ErrorMessage)
    assert (err.reqId, err.errorCode) == (1, 10148)
    assert err.errorString == ("OrderId 1 that needs to be cancelled cannot be cancelled, "
                               "state: Filled.")


def test_global_cancel_cancels_every_client_and_reports_done_orders() -> None:
    d = Desk()
    w1, w2 = d.connect(1), d.connect(2)
    d.place(w1, 1, mkt("BUY", 100))
    d.place(w1, 2, lmt("BUY", 100, 300.0))
    d.place(w2, 1, lmt("BUY", 100, 301.0))
    events = w1.send(outgoing.ReqGlobalCancel())
    (e161,) = [e for e in of(events, incoming.ErrorMessage) if e.errorCode == 161]
    perm = d.sim.broker.find(1, 1).perm_id  # type: ignore[union-attr]
    assert e161.reqId == 1 and e161.errorString == (
        f"Cancel attempted when order is not in a cancellable state.  Order permId ={perm}")
    assert statuses(events, 2)[-1] == "Cancelled"
    other = w2.poll()
    assert statuses(other, 1)[-1] == "Cancelled" and errors(other) == [(1, 202)]
    assert d.sim.broker.open_orders() == []


# ---------------------------------------------------------------- order ids
def test_order_ids_are_per_client_and_next_valid_id_is_above_them() -> None:
    d = Desk()
    w1, w2 = d.connect(1), d.connect(2)
    d.place(w1, 10, lmt("BUY", 100, 300.0))
    assert errors(d.place(w1, 7, lmt("BUY", 100, 300.0))) == [(7, 103)]
    assert of(d.place(w1, 7, lmt("BUY", 100, 300.0)), incoming.ErrorMessage)[0].errorString \
        == "Duplicate order id"
    assert statuses(d.place(w2, 7, lmt("BUY", 100, 300.0))) == PLACED
    (nid,) = of(w2.send(outgoing.ReqIds(numIds=1)), incoming.NextValidId)
    assert nid.orderId == 11


# ------------------------------------------------------------------ brackets
def bracket(d: Desk, w: object, parent_price: float, take: float, stop: float) -> list[object]:
    events: list[object] = []
    events += d.place(w, 1, lmt("BUY", 100, parent_price, transmit=False))  # type: ignore[arg-type]
    events += d.place(w, 2, lmt("SELL", 100, take, parentId=1,  # type: ignore[arg-type]
                                transmit=False))
    assert events == []  # nothing is transmitted before the last order of the group
    events += d.place(w, 3, order("SELL", 100, "STP", auxPrice=stop,  # type: ignore[arg-type]
                                  parentId=1))
    return events


def test_bracket_children_wait_for_the_parent() -> None:
    d = Desk()
    w = d.connect()
    events = bracket(d, w, 300.0, 500.0, 250.0)
    assert statuses(events, 1) == PLACED
    child = [s for s in of(events, incoming.OrderStatus) if s.orderId in (2, 3)]
    assert [(s.orderId, s.status, s.whyHeld, s.parentId) for s in child] == [
        (2, "PreSubmitted", "child", 1), (3, "PreSubmitted", "child,trigger", 1)]
    opened = {e.orderId: e.order for e in of(events, incoming.OpenOrder)}
    parent_perm = opened[1].permId
    assert opened[2].ocaGroup == opened[3].ocaGroup == str(parent_perm)
    child_rec = d.sim.broker.find(1, 3)
    assert child_rec is not None and child_rec.wire_order().parentPermId == parent_perm


def test_filled_parent_activates_children_and_one_side_cancels_the_other() -> None:
    d = Desk()
    w = d.connect()
    q = d.quote()
    events = bracket(d, w, round(q.ask + 1, 2), round(q.bid - 1, 2), 250.0)
    assert statuses(events, 1)[-1] == "Filled"
    assert statuses(events, 2)[-1] == "Filled"  # the take-profit was marketable at once
    assert statuses(events, 3) == ["PreSubmitted", "Cancelled"]
    assert (3, 202) in errors(events)
    assert d.sim.account.holdings[265598].position == 0


def test_cancelling_the_parent_cancels_the_children() -> None:
    d = Desk()
    w = d.connect()
    bracket(d, w, 300.0, 500.0, 250.0)
    events = d.cancel(w, 1)
    assert [statuses(events, i)[-1] for i in (1, 2, 3)] == ["Cancelled"] * 3
    assert sorted(errors(events)) == [(1, 202), (2, 202), (3, 202)]


def test_child_of_an_unknown_parent_is_refused() -> None:
    d = Desk()
    w = d.connect()
    events = d.place(w, 5, lmt("SELL", 100, 500.0, parentId=4))
    assert errors(events) == [(5, 10006)]
    assert of(events, incoming.ErrorMessage)[0].errorString == "Missing parent order."


# ----------------------------------------------------------------------- OCA
def test_oca_type_1_cancels_the_others() -> None:
    d = Desk()
    w = d.connect()
    d.place(w, 1, lmt("BUY", 100, 300.0, ocaGroup="g1", ocaType=1))
    events = d.place(w, 2, mkt("BUY", 100, ocaGroup="g1", ocaType=1))
    assert statuses(events, 2)[-1] == "Filled"
    assert statuses(events, 1)[-1] == "Cancelled" and (1, 202) in errors(events)
    late = d.place(w, 3, lmt("BUY", 100, 300.0, ocaGroup="g1", ocaType=1))
    assert statuses(late) == ["Inactive"]
    err = of(late, incoming.ErrorMessage)[0]
    assert (err.errorCode, err.errorString) == (201, "Order rejected - reason:OCA group is "
                                                     "already filled.")


def test_oca_type_3_reduces_the_others() -> None:
    d = Desk()
    w = d.connect()
    d.place(w, 1, lmt("BUY", 300, 300.0, ocaGroup="g3", ocaType=3))
    events = d.place(w, 2, mkt("BUY", 100, ocaGroup="g3", ocaType=3))
    assert statuses(events, 2)[-1] == "Filled"
    reduced = [e for e in of(events, incoming.OpenOrder) if e.orderId == 1]
    assert reduced and reduced[-1].order.totalQuantity == 200
    assert d.sim.broker.find(1, 1).status == "Submitted"  # type: ignore[union-attr]


def test_oca_type_2_reduces_to_nothing_and_cancels() -> None:
    d = Desk()
    w = d.connect()
    d.place(w, 1, lmt("BUY", 100, 300.0, ocaGroup="g2", ocaType=2))
    events = d.place(w, 2, mkt("BUY", 100, ocaGroup="g2", ocaType=2))
    assert statuses(events, 1)[-1] == "Cancelled"
