"""Rejected orders: TWS's codes, texts and answer shapes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from twsbridge.protocol import Contract, incoming

from .broker_wire import EURUSD, Desk, lmt, mkt, of, order, statuses

ERROR_ONLY = [
    # (order, contract, code, text)
    (mkt("BUY", 100), Contract(symbol="XXX", secType="STK", exchange="SMART", currency="USD"),
     200, "No security definition has been found for the request"),
    (mkt("BUY", 100), Contract(symbol="EUR", secType="CASH", currency="USD"),
     321, "Error validating request.-'bN' : cause - Missing order exchange."),
    (lmt("BUY", 100, 300.001), None,
     110, "The price does not conform to the minimum price variation for this contract."),
    (order("BUY", 100, "STP", auxPrice=300.005), None,
     110, "The price does not conform to the minimum price variation for this contract."),
    # a price must be a positive multiple of the tick, within bounds (issue 9)
    (lmt("BUY", 100, 1e-300), None,
     110, "The price does not conform to the minimum price variation for this contract."),
    (lmt("SELL", 100, 1e-300), None,
     110, "The price does not conform to the minimum price variation for this contract."),
    (lmt("BUY", 100, 0.0), None,
     110, "The price does not conform to the minimum price variation for this contract."),
    (lmt("BUY", 100, -430.0), None,
     110, "The price does not conform to the minimum price variation for this contract."),
    (order("BUY", 100, "STP", auxPrice=-5.0), None,
     110, "The price does not conform to the minimum price variation for this contract."),
    (order("BUY", 100, "STP LMT", lmtPrice=431.0, auxPrice=1e-300), None,
     110, "The price does not conform to the minimum price variation for this contract."),
    (lmt("BUY", 100, 1e300), None,
     110, "The price does not conform to the minimum price variation for this contract."),
    (order("BUY", 100, "REL", lmtPrice=-1.0), None,
     110, "The price does not conform to the minimum price variation for this contract."),
    (mkt("BUY", 100, account="DU999"), None,
     321, "Error validating request.-'bN' : cause - Invalid account code"),
    (mkt("BUY", 100, account="DU999", whatIf=True), None,
     321, "Error validating request.-'bN' : cause - Invalid account code"),
    (mkt("BUY", 0), None, 434, "The order size cannot be zero."),
    (mkt("BUY", -5), None, 434, "The order size cannot be zero."),
    (mkt("BUY", 1.5), None, 10243, "Fractional-sized order cannot be placed via API. Please "
                                   "use desktop version to place this order."),
    (order("BUY", 100, "FEELINGS"), None,
     321, "Error validating request.-'v' : cause - Invalid order type was entered"),
    (order("BUY", 100, "VWAP"), None,
     387, "Unsupported order type for this exchange and security type."),
    (order("BUY", 100_000, "MOC"), EURUSD,
     387, "Unsupported order type for this exchange and security type."),
    (order("BUY", 100, "LMT"), None, 107, "Cannot transmit incomplete order."),
    (order("BUY", 100, "STP"), None, 107, "Cannot transmit incomplete order."),
    (order("SELL", 100, "TRAIL"), None,
     158, "You must specify an offset amount or a percent offset value."),
    (order("SELL", 100, "TRAIL", trailingPercent=150.0), None,
     159, "The percent offset value must be between 0% and 100%."),
    (order("BUY", 100, "MOC", tif="GTC"), None,
     113, "The Tif option should be set to DAY for MOC and LOC orders."),
    (lmt("BUY", 100, 300.0, tif="XYZ"), None,
     111, "The TIF (Tif type) and the order type are incompatible."),
    (lmt("BUY", 100, 300.0, tif="GTD"), None, 334, "Invalid Good Till Date order"),
    (lmt("BUY", 100, 300.0, tif="GTD", goodTillDate="20130228 10:00:00"), None,
     334, "Invalid Good Till Date order"),
    (mkt("HOLD", 100), None, 303, "Invalid action: HOLD"),
    (mkt("BUY", 100, whatIf=True, transmit=False), None,
     413, "What-if order should have the transmit flag set to true."),
]


@pytest.mark.parametrize(("o", "contract", "code", "text"), ERROR_ONLY)
def test_error_only_rejections(o: Any, contract: Contract | None, code: int,
                               text: str) -> None:
    d = Desk()
    w = d.connect()
    events = d.place(w, 7, o, *(c for c in (contract,) if c is not None))
    assert [(e.reqId, e.errorCode, e.errorString) for e in events] == [(7, code, text)]
    assert d.sim.broker.orders() == []
    assert d.sim.broker.find(1, 7) is None
    # the id is used: the next order needs a higher one
    assert d.place(w, 7, lmt("BUY", 100, 300.0))[0].errorCode == 103


def test_fill_or_kill_stock_is_rejected_inactive() -> None:
    d = Desk()
    w = d.connect()
    events = d.place(w, 1, lmt("BUY", 100, 300.0, tif="FOK"))
    assert [type(e) for e in events] == [incoming.OpenOrder, incoming.OrderStatus,
                                         incoming.ErrorMessage]
    assert of(events, incoming.OpenOrder)[0].orderState.status == "Inactive"
    assert statuses(events) == ["Inactive"]
    err = events[-1]
    assert (err.reqId, err.errorCode) == (1, 201)
    assert err.errorString == ("Order rejected - reason:The time-in-force FOK is invalid for "
                               "this combination of exchange and security type.")
    assert d.sim.broker.open_orders() == []


def test_order_beyond_the_margin_is_rejected_inactive() -> None:
    d = Desk()
    w = d.connect()
    events = d.place(w, 1, mkt("BUY", 100_000))
    assert statuses(events) == ["Inactive"]
    err = of(events, incoming.ErrorMessage)[0]
    assert err.errorCode == 201
    assert err.errorString.startswith("Order rejected - reason:YOUR ORDER IS NOT ACCEPTED. IN "
                                      "ORDER TO OBTAIN THE DESIRED POSITION YOUR EQUITY WITH "
                                      "LOAN VALUE [1000000.00 USD] MUST EXCEED THE INITIAL "
                                      "MARGIN [")
    assert d.sim.broker.executions() == []


def test_closing_a_position_needs_no_margin() -> None:
    d = Desk()
    w = d.connect()
    holding, _ = d.sim.account.book_fill(  # a large position, booked straight in the account
        Contract(conId=265598, symbol="AAPL", secType="STK", currency="USD"),
        Decimal(9000), d.quote().last)
    assert holding.position == 9000
    assert statuses(d.place(w, 1, mkt("BUY", 9000))) == ["Inactive"]
    assert "Inactive" not in statuses(d.place(w, 2, mkt("SELL", 9000)))


def test_warnings_let_the_order_through() -> None:
    d = Desk()
    w = d.connect()
    events = d.place(w, 1, mkt("BUY", 100_000, outsideRth=True), EURUSD)
    err = events[0]
    assert (err.reqId, err.errorCode) == (1, 2109)
    assert err.errorString == ("Order Event Warning: Attribute 'Outside Regular Trading Hours' "
                               "is ignored based on the order type and destination. PlaceOrder "
                               "is now being processed.")
    assert statuses(events)[-1] == "Filled"


def test_rejected_order_is_completed_not_open() -> None:
    d = Desk()
    w = d.connect()
    d.place(w, 1, lmt("BUY", 100, 300.0, tif="FOK"))
    assert d.sim.broker.open_orders() == []
    (done,) = d.sim.broker.completed_orders(d.now.date())
    assert (done.status, done.completed_status) == ("Inactive", "Rejected")
