"""Random round trips of the order messages at every layout of 157-178, the order
conditions' polymorphic list, and the field kinds orders add."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twsbridge import protocol
from twsbridge.protocol import (
    IN,
    OUT,
    UNSET_DOUBLE,
    ProtocolError,
    decode_message,
    encode_message,
)
from twsbridge.protocol.catalogue import _order_wire as ow
from twsbridge.protocol.catalogue import incoming as I
from twsbridge.protocol.catalogue import outgoing as O
from twsbridge.protocol.models import TagValue
from twsbridge.protocol.order_models import (
    CONDITION_TYPES,
    MarginCondition,
    Order,
    OrderCondition,
    PriceCondition,
)
from twsbridge.protocol.spec import Message

from .cases import AAPL, OPEN, w
from .strategies import messages

VERSIONS = (157, 163, 164, 166, 170, 176, 178)
CLASSES: list[type[Message]] = [
    O.PlaceOrder, O.CancelOrder, O.ReqGlobalCancel, O.ReqPnL, O.CancelPnL, O.ReqPnLSingle,
    O.CancelPnLSingle, I.OrderStatus, I.OpenOrder, I.ExecDetails, I.CommissionReportMessage,
    I.CompletedOrder, I.PnL, I.PnLSingle,
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.DIRECTION}-{c.NAME}")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_round_trip(cls: type[Message], version: int, data: st.DataObject) -> None:
    msg = data.draw(messages(cls, version))
    frame = encode_message(msg, version)
    back = decode_message(frame[4:], version, cls.DIRECTION)
    assert back == msg
    assert encode_message(back, version) == frame


def test_exported_everywhere() -> None:
    for name in ("OrderStatus", "OpenOrder", "ExecDetails", "CommissionReportMessage",
                 "CompletedOrder", "PnL", "PnLSingle"):
        cls = getattr(I, name)
        assert getattr(protocol, name) is cls
        assert protocol.registry(IN)[cls.ID] is cls
    for name in ("PlaceOrder", "CancelOrder", "ReqGlobalCancel", "ReqPnL", "CancelPnL",
                 "ReqPnLSingle", "CancelPnLSingle"):
        cls = getattr(O, name)
        assert getattr(protocol, name) is cls
        assert protocol.registry(OUT)[cls.ID] is cls
    assert protocol.Order is Order


def test_names_and_ids() -> None:
    assert [(c.ID, c.NAME) for c in CLASSES] == [
        (3, "placeOrder"), (4, "cancelOrder"), (58, "reqGlobalCancel"), (92, "reqPnL"),
        (93, "cancelPnL"), (94, "reqPnLSingle"), (95, "cancelPnLSingle"), (3, "orderStatus"),
        (5, "openOrder"), (11, "execDetails"), (59, "commissionReport"),
        (101, "completedOrder"), (94, "pnl"), (95, "pnlSingle"),
    ]


# ------------------------------------------------------------------ conditions


def _open_text(conditions: list[str]) -> bytes:
    """OPEN (cases.py) at 178 with its conditions' fields replaced."""
    fields = encode_message(OPEN, 178)[4:].decode().split("\0")
    k = fields.index("7", fields.index("Urgent"))  # the condition count precedes this
    assert fields[k - 1] == "1"
    return w(*fields[: k - 1], *conditions, *fields[k + 6 : -1]).encode()


def test_every_condition_type_decodes_to_its_class() -> None:
    texts = {
        1: ["a", "1", "170.5", "265598", "SMART", "2"],
        3: ["o", "0", "20231020 15:00:00 US/Eastern"],
        4: ["a", "1", "30"],
        5: ["o", "STK", "SMART", "IBM"],
        6: ["a", "0", "100000", "265598", "SMART"],
        7: ["a", "1", "-2.5", "265598", "SMART"],
    }
    fields = [str(len(texts))]
    for kind, rest in texts.items():
        fields += [str(kind), *rest]
    msg = decode_message(_open_text(fields), 178, IN)
    assert isinstance(msg, I.OpenOrder)
    got = msg.order.conditions
    assert [type(c) for c in got] == [CONDITION_TYPES[k] for k in texts]
    assert [c.condType for c in got] == list(texts)
    assert [c.isConjunctionConnection for c in got] == [True, False, True, False, True, True]
    assert got[0] == PriceCondition(isMore=True, conId=265598, exchange="SMART", price=170.5,
                                    triggerMethod=2)
    assert got[2] == MarginCondition(isMore=True, percent=30)
    assert encode_message(msg, 178)[4:] == _open_text(fields)


def test_unknown_condition_type_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError) as e:
        decode_message(_open_text(["1", "2", "a", "1", "x"]), 178, IN)
    assert e.value.msg_id == "5"
    assert e.value.field == "order.conditions.condType"
    assert "unknown order.conditions type 2" in str(e.value)


def test_condition_of_unknown_type_is_not_encoded() -> None:
    msg = O.PlaceOrder(orderId=1, contract=AAPL, order=Order(
        action="BUY", totalQuantity=Decimal(1), orderType="MKT",
        conditions=[OrderCondition(condType=2)]))
    with pytest.raises(ValueError, match=r"unknown order\.conditions type 2"):
        encode_message(msg, 178)


def test_bad_condition_count_and_field_are_named() -> None:
    with pytest.raises(ProtocolError) as e:
        decode_message(_open_text(["-1"]), 178, IN)
    assert e.value.field == "order.conditions.count"
    with pytest.raises(ProtocolError) as e:
        decode_message(_open_text(["1", "4", "a", "1", "lots"]), 178, IN)
    assert e.value.field == "percent"


# ------------------------------------------------------------------ kinds


@pytest.mark.parametrize(("value", "text"), [
    (0.0, "0"), (-0.0, "0"), (196.52, "196.52"), (172.0, "172"), (1e16, "1e+16"),
    (UNSET_DOUBLE, ""), (math.inf, "Infinity"), (-math.inf, "-Infinity"),
])
def test_float_trim(value: float, text: str) -> None:
    assert ow.FLOAT_TRIM.encode(value) == text
    assert ow.FLOAT_TRIM.decode(text) == value


@pytest.mark.parametrize(("value", "text"), [
    (UNSET_DOUBLE, "1.7976931348623157e+308"), (0.0, "0.0"), (math.inf, "Infinity"),
    (1e-05, "1e-05"),
])
def test_float_raw(value: float, text: str) -> None:
    assert ow.FLOAT_RAW.encode(value) == text
    assert ow.FLOAT_RAW.decode(text) == value
    assert ow.FLOAT_RAW.decode("") == UNSET_DOUBLE


def test_tri_state_bool_conjunction_and_tag_text() -> None:
    assert [ow.OPT_BOOL.encode(v) for v in (None, True, False)] == ["", "1", "0"]
    assert [ow.OPT_BOOL.decode(t) for t in ("", "1", "0")] == [None, True, False]
    assert [ow.CONJ.encode(v) for v in (True, False)] == ["a", "o"]
    assert [ow.CONJ.decode(t) for t in ("a", "o")] == [True, False]
    tags = [TagValue("a", "1"), TagValue("b", "x=y")]
    assert ow.TAGS.encode(tags) == "a=1;b=x=y;"
    assert ow.TAGS.decode("a=1;b=x=y;") == tags
    assert ow.TAGS.decode("") == [] and ow.TAGS.encode([]) == ""
