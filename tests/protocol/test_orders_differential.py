"""placeOrder, cancelOrder, reqGlobalCancel and the P&L requests against IB's client.

For every order of ``test_orders_oracle.ORDERS`` and every server version where
the layout changes, the bytes our encoder writes are the bytes
``ibapi.client.EClient`` writes for the same order, and our decoder (the
simulator's side) reads those bytes back into the order placed. Random orders
(every field drawn) must agree with IB's client too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twsbridge.protocol import OUT, UNSET_DOUBLE, decode_message, encode_message
from twsbridge.protocol.catalogue import outgoing as O
from twsbridge.protocol.spec import Message

from .strategies import ascii_values, messages
from .test_orders_oracle import ORDERS, Recorder, Row, ib_send, to_ib

pytest.importorskip("ibapi")

from ibapi.client import EClient
from ibapi.order_cancel import OrderCancel

#: Every server version at which placeOrder's layout changes, and the ends of the range.
VERSIONS = (157, 158, 160, 162, 163, 166, 169, 170, 176, 177, 178)

PARAMS = [
    pytest.param(r, v, id=f"{r.name}-v{v}") for r in ORDERS for v in VERSIONS if v >= r.since
]


def fields(frame: bytes) -> list[str]:
    """The fields of a frame, for readable failures."""
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    return frame[4:].decode().split("\0")


def place(r: Row) -> O.PlaceOrder:
    return O.PlaceOrder(orderId=r.orderId, contract=r.contract, order=r.order)


def check(msg: Message, version: int, ib_call: Callable[[Any], None]) -> None:
    """Our bytes are IB's, and IB's bytes decode back to ``msg``."""
    theirs = ib_send(version, ib_call)
    ours = encode_message(msg, version)
    assert fields(ours) == fields(theirs)
    assert ours == theirs
    assert decode_message(theirs[4:], version, OUT) == msg


@pytest.mark.parametrize(("r", "version"), PARAMS)
def test_place_order_is_byte_for_byte_ibapis(r: Row, version: int) -> None:
    contract, order = to_ib(r.contract), to_ib(r.order)
    check(place(r), version, lambda c: c.placeOrder(r.orderId, contract, order))


@pytest.mark.parametrize("r", [r for r in ORDERS if r.since > 157], ids=lambda r: r.name)
def test_ibapi_refuses_version_gated_orders_below_their_version(r: Row) -> None:
    recorder = Recorder()
    client = EClient(recorder)
    client.conn = type("S", (), {"sendMsg": lambda s, m: None, "isConnected": lambda s: True})()
    client.serverVersion_ = r.since - 1
    client.setConnState(EClient.CONNECTED)
    client.placeOrder(r.orderId, to_ib(r.contract), to_ib(r.order))
    assert [e[1] for e in recorder.errors] == [503]  # "The TWS is out of date..."


def test_the_orders_cover_every_optional_part_of_the_layout() -> None:
    """Each conditional stretch of placeOrder is exercised by at least one order."""
    orders = [r.order for r in ORDERS]
    assert any(r.contract.secType == "BAG" for r in ORDERS)
    assert any(r.contract.deltaNeutralContract for r in ORDERS)
    assert any(o.deltaNeutralOrderType for o in orders)
    assert any(o.scalePriceIncrement not in (0.0, 1.7976931348623157e308) for o in orders)
    assert any(o.hedgeParam for o in orders)
    assert {o.algoStrategy for o in orders} >= {"Adaptive", "Vwap", "Twap"}
    assert {o.orderType for o in orders} >= {
        "MKT", "LMT", "STP", "STP LMT", "TRAIL", "TRAIL LIMIT", "REL", "MOC", "LOC", "MIDPRICE",
        "PEG BENCH", "PEG BEST", "PEG MID", "VOL",
    }
    kinds = {c.condType for o in orders for c in o.conditions}
    assert kinds == {1, 3, 4, 5, 6, 7}
    conj = {c.isConjunctionConnection for o in orders for c in o.conditions}
    assert conj == {True, False}
    assert any(o.whatIf for o in orders) and any(o.orderMiscOptions for o in orders)
    assert any(r.contract.exchange == "IBKRATS" for r in ORDERS)
    assert {o.usePriceMgmtAlgo for o in orders} == {None, True, False}


@pytest.mark.parametrize("version", VERSIONS)
def test_cancel_order(version: int) -> None:
    when = "20231020 10:00:00" if version >= 169 else ""
    cancel = OrderCancel()
    cancel.manualOrderCancelTime = when
    check(O.CancelOrder(orderId=12, manualOrderCancelTime=when), version,
          lambda c: c.cancelOrder(12, cancel))


@pytest.mark.parametrize("version", VERSIONS)
def test_global_cancel_and_pnl_requests(version: int) -> None:
    check(O.ReqGlobalCancel(), version, lambda c: c.reqGlobalCancel(OrderCancel()))
    check(O.ReqPnL(reqId=4, account="DU1", modelCode="M1"), version,
          lambda c: c.reqPnL(4, "DU1", "M1"))
    check(O.CancelPnL(reqId=4), version, lambda c: c.cancelPnL(4))
    check(O.ReqPnLSingle(reqId=5, account="DU1", modelCode="", conId=265598), version,
          lambda c: c.reqPnLSingle(5, "DU1", "", 265598))
    check(O.CancelPnLSingle(reqId=5), version, lambda c: c.cancelPnLSingle(5))


@pytest.mark.parametrize("version", (157, 163, 166, 170, 176, 178))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_orders_are_byte_for_byte_ibapis(version: int, data: st.DataObject) -> None:
    msg = data.draw(messages(O.PlaceOrder, version, ascii_values))
    assert isinstance(msg, O.PlaceOrder)
    # obsolete fields IB's client sends as constants: faProfile (before 177) and the rest
    msg.order.faProfile = ""
    msg.sharesAllocation, msg.eTradeOnly, msg.firmQuoteOnly = "", False, False
    msg.nbboPriceCap = UNSET_DOUBLE
    contract, order = to_ib(msg.contract), to_ib(msg.order)
    check(msg, version, lambda c: c.placeOrder(msg.orderId, contract, order))


def test_fields_ibapi_sends_as_they_are() -> None:
    """Unset ints and floats IB's client does not treat as optional travel as the
    sentinels themselves: duration, postToAts, triggerPrice, cashQty..."""
    (r,) = [r for r in ORDERS if r.name == "market"]
    text = fields(encode_message(place(r), 178))
    assert text.count("2147483647") == 2  # duration, postToAts
    assert text.count("1.7976931348623157e+308") == 6  # triggerPrice ... cashQty
    unset = dataclasses.replace(r.order, duration=60)
    assert fields(encode_message(dataclasses.replace(place(r), order=unset), 178)).count(
        "2147483647") == 1
