"""Market depth and tick-by-tick (``catalogue.depth``): random round trips at every
server version 157-178, malformed frames, and tickByTick's variants and masks."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twsbridge.protocol import (
    IN,
    OUT,
    UNSET_DECIMAL,
    ProtocolError,
    catalogue,
    decode_message,
    encode_message,
    registry,
)
from twsbridge.protocol.catalogue import depth as D
from twsbridge.protocol.codec import Kind
from twsbridge.protocol.depth_models import TICK_BY_TICK_TYPES
from twsbridge.protocol.spec import Message

from .cases import CASES, w
from .strategies import messages, values

VERSIONS = tuple(range(157, 179))
CLASSES: list[type[Message]] = [
    D.ReqMktDepth, D.CancelMktDepth, D.ReqMktDepthExchanges, D.ReqTickByTickData,
    D.CancelTickByTickData, D.UpdateMktDepth, D.UpdateMktDepthL2, D.MktDepthExchanges,
    D.TickByTick,
]


def _pick(kind: Kind, path: str) -> st.SearchStrategy[Any]:
    if path == "tickType" and kind.name == "int":  # tickByTick's variants, often
        return st.sampled_from([0, 1, 2, 3, 4]) | values(kind, path)
    return values(kind, path)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.DIRECTION}-{c.NAME}")
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_round_trip(cls: type[Message], version: int, data: st.DataObject) -> None:
    msg = data.draw(messages(cls, version, _pick))
    frame = encode_message(msg, version)
    back = decode_message(frame[4:], version, cls.DIRECTION)
    assert back == msg
    assert encode_message(back, version) == frame


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_random_ticks_of_every_variant_round_trip(data: st.DataObject) -> None:
    version = data.draw(st.sampled_from(VERSIONS))
    msg = data.draw(messages(D.TickByTick, version, _pick))
    assert isinstance(msg, D.TickByTick)
    back = decode_message(encode_message(msg, version)[4:], version, IN)
    assert back == msg
    assert isinstance(back, D.TickByTick)
    assert (back.pastLimit, back.unreported, back.bidPastLow, back.askPastHigh) == (
        msg.pastLimit, msg.unreported, msg.bidPastLow, msg.askPastHigh)


DEPTH_CASES = [c for c in CASES if type(c.msg).__module__ == D.__name__]


def test_one_layout_for_the_whole_range() -> None:
    """No field of these messages is gated inside 157-178: every version writes the
    same bytes, and the table covers every message of the module."""
    assert {type(c.msg) for c in DEPTH_CASES} == set(CLASSES)
    for c in DEPTH_CASES:
        frames = {encode_message(c.msg, v) for v in VERSIONS}
        assert len(frames) == 1, c.msg.NAME
        (frame,) = frames
        assert frame[4:].decode() == c.texts[178]


def test_catalogued_and_exported() -> None:
    assert catalogue.depth is D
    assert sorted(D.__all__) == sorted(cls.__name__ for cls in CLASSES)
    assert [(c.DIRECTION, c.ID, c.NAME) for c in CLASSES] == [
        (OUT, 10, "reqMktDepth"), (OUT, 11, "cancelMktDepth"), (OUT, 82, "reqMktDepthExchanges"),
        (OUT, 97, "reqTickByTickData"), (OUT, 98, "cancelTickByTickData"),
        (IN, 12, "updateMktDepth"), (IN, 13, "updateMktDepthL2"), (IN, 80, "mktDepthExchanges"),
        (IN, 99, "tickByTick"),
    ]
    for cls in CLASSES:
        assert registry(cls.DIRECTION)[cls.ID] is cls


# ------------------------------------------------------------------ tickByTick


def tick(*fields: str) -> D.TickByTick:
    msg = decode_message(w("99", *fields).encode(), 178, IN)
    assert isinstance(msg, D.TickByTick)
    return msg


@pytest.mark.parametrize(("mask", "flags"), [
    ("0", (False, False)), ("1", (True, False)), ("2", (False, True)), ("3", (True, True)),
    ("4", (False, False)),
])
def test_last_and_all_last_masks(mask: str, flags: tuple[bool, bool]) -> None:
    for tick_type in ("1", "2"):
        msg = tick("9", tick_type, "1697808600", "171.25", "100", mask, "NASDAQ", "")
        assert (msg.pastLimit, msg.unreported) == flags
        assert (msg.bidPastLow, msg.askPastHigh) == (False, False)
        assert msg.attrMask == int(mask)


@pytest.mark.parametrize(("mask", "flags"), [
    ("0", (False, False)), ("1", (True, False)), ("2", (False, True)), ("3", (True, True)),
])
def test_bid_ask_masks(mask: str, flags: tuple[bool, bool]) -> None:
    msg = tick("9", "3", "1697808600", "171.2", "171.3", "300", "", mask)
    assert (msg.bidPastLow, msg.askPastHigh) == flags
    assert (msg.pastLimit, msg.unreported) == (False, False)
    assert (msg.bidSize, msg.askSize) == (Decimal(300), UNSET_DECIMAL)


def test_variants_fill_only_their_fields_and_print_them() -> None:
    mid = tick("11", "4", "1697808603", "171.25")
    assert mid == D.TickByTick(reqId=11, tickType=4, time=1697808603, midPoint=171.25)
    assert repr(mid) == "<tickByTick reqId=11 tickType=4 time=1697808603 midPoint=171.25>"
    last = tick("9", "2", "5", "1.5", "2", "1", "ARCA", "T")
    assert repr(last) == (
        "<tickByTick reqId=9 tickType=2 time=5 price=1.5 size=Decimal('2') attrMask=1 "
        "exchange='ARCA' specialConditions='T'>")
    assert (last.bidPrice, last.midPoint, last.bidSize) == (0.0, 0.0, UNSET_DECIMAL)
    bid_ask = tick("9", "3", "5", "1.5", "1.75", "1", "2", "0")
    assert str(bid_ask) == ("<tickByTick reqId=9 tickType=3 time=5 bidPrice=1.5 askPrice=1.75 "
                            "bidSize=Decimal('1') askSize=Decimal('2') attrMask=0>")
    assert repr(tick("12", "0", "5")) == "<tickByTick reqId=12 tickType=0 time=5>"


def test_a_tick_encodes_only_its_variants_fields() -> None:
    msg = D.TickByTick(reqId=1, tickType=4, time=2, midPoint=3.5, price=9.0, exchange="X",
                       bidSize=Decimal(7))
    assert encode_message(msg, 178)[4:] == w("99", "1", "4", "2", "3.5").encode()


def test_request_tick_types_are_tws_names() -> None:
    assert TICK_BY_TICK_TYPES == {"Last": 1, "AllLast": 2, "BidAsk": 3, "MidPoint": 4}
    assert D.ReqTickByTickData().tickType == "Last"


# ------------------------------------------------------------------ malformed frames

BAD: list[tuple[str, list[str], str]] = [
    # (direction, fields of the frame, the field the error names)
    (IN, ["12", "1", "7", "0", "1", "1", "171.25"], "size"),  # truncated
    (IN, ["12", "1", "7", "top", "1", "1", "171.25", "300"], "position"),
    (IN, ["12", "1", "7", "0", "1", "1", "171.25", "3 00"], "size"),
    (IN, ["13", "1", "8", "2", "NSDQ", "2", "0", "171.3", "0.5"], "isSmartDepth"),
    (IN, ["13", "1", "8", "2", "NSDQ", "2", "0", "1.7.3", "0.5", "1"], "price"),
    (IN, ["13", "1", "8", "2", "NSDQ", "insert", "0", "171.3", "0.5", "1"], "operation"),
    (IN, ["80", "two", "NASDAQ"], "depthMktDataDescriptions.count"),
    (IN, ["80", "2", "NASDAQ", "STK", "", "Deep2", "1"], "exchange"),  # one item of two
    (IN, ["80", "1", "NASDAQ", "STK", "", "Deep2", "1.5"], "aggGroup"),
    (IN, ["99", "9", "Last", "1697808600"], "tickType"),
    (IN, ["99", "9", "1", "noon", "171.25", "100", "0", "NASDAQ", "T"], "time"),
    (IN, ["99", "9", "1", "1697808600", "171.25", "100", "0", "NASDAQ"], "specialConditions"),
    (IN, ["99", "9", "2", "1697808600", "x", "100", "0", "NASDAQ", "T"], "price"),
    (IN, ["99", "9", "2", "1697808600", "171.25", "100", "odd", "NASDAQ", "T"], "attrMask"),
    (IN, ["99", "10", "3", "1697808602", "171.2", "171.3", "300", "200"], "attrMask"),
    (IN, ["99", "10", "3", "1697808602", "171.2", "171.3", "abc", "200", "2"], "bidSize"),
    (IN, ["99", "11", "4", "1697808603"], "midPoint"),
    (IN, ["99", "11", "4", "1697808603", "mid"], "midPoint"),
    (IN, ["99", "11", "4", "1697808603", "171.25", "extra"], "#5"),  # one field too many
    (IN, ["99", "12", "7", "1697808604", "1.5"], "#4"),  # a type without fields, with one
    (OUT, ["10", "5", "20", "0", "AAPL", "STK", "", "0.0", "", "", "ISLAND", "", "USD", "", "",
           "five", "0", ""], "numRows"),
    (OUT, ["10", "5", "20", "0", "AAPL", "STK", "", "0.0", "", "", "ISLAND", "", "USD", "", "",
           "5", "0"], "mktDepthOptions"),
    (OUT, ["10", "5", "20", "0", "AAPL", "STK", "", "strike", "", "", "ISLAND", "", "USD", "",
           "", "5", "0", ""], "contract.strike"),
    (OUT, ["11", "1", "21", "maybe"], "isSmartDepth"),
    (OUT, ["11", "1", "21"], "isSmartDepth"),
    (OUT, ["82", "1"], "#1"),
    (OUT, ["97", "22", "0", "SPY", "OPT", "20240119", "450.0", "C", "100", "CBOE", "", "USD",
           "", "SPY", "BidAsk", "ten", "1"], "numberOfTicks"),
    (OUT, ["97", "22", "0", "SPY", "OPT", "20240119", "450.0", "C", "100", "CBOE", "", "USD",
           "", "SPY", "BidAsk", "10"], "ignoreSize"),
    (OUT, ["98", "1e3"], "reqId"),
]


@pytest.mark.parametrize("version", (157, 178))
@pytest.mark.parametrize(("direction", "fields", "name"), BAD,
                         ids=[f"{f[0]}-{n}-{k}" for k, (_, f, n) in enumerate(BAD)])
def test_malformed_frame_names_message_and_field(version: int, direction: str,
                                                 fields: list[str], name: str) -> None:
    with pytest.raises(ProtocolError) as e:
        decode_message(w(*fields).encode(), version, direction)
    assert e.value.msg_id == fields[0]
    assert e.value.field == name
    assert e.value.fields == [*fields, ""]


def test_the_malformed_frames_are_one_fault_from_good_ones() -> None:
    """Guards the table: each good frame below decodes (so the fault is the error)."""
    good = [
        (IN, ["12", "1", "7", "0", "1", "1", "171.25", "300"]),
        (IN, ["13", "1", "8", "2", "NSDQ", "2", "0", "171.3", "0.5", "1"]),
        (IN, ["80", "1", "NASDAQ", "STK", "", "Deep2", "1"]),
        (IN, ["99", "9", "1", "1697808600", "171.25", "100", "0", "NASDAQ", "T"]),
        (IN, ["99", "10", "3", "1697808602", "171.2", "171.3", "300", "200", "2"]),
        (IN, ["99", "11", "4", "1697808603", "171.25"]),
        (IN, ["99", "12", "7", "1697808604"]),
        (OUT, ["10", "5", "20", "0", "AAPL", "STK", "", "0.0", "", "", "ISLAND", "", "USD", "",
               "", "5", "0", ""]),
        (OUT, ["11", "1", "21", "1"]),
        (OUT, ["82"]),
        (OUT, ["97", "22", "0", "SPY", "OPT", "20240119", "450.0", "C", "100", "CBOE", "",
               "USD", "", "SPY", "BidAsk", "10", "1"]),
        (OUT, ["98", "1000"]),
    ]
    for direction, fields in good:
        msg = decode_message(w(*fields).encode(), 178, direction)
        assert isinstance(msg, Message)
        assert encode_message(msg, 178)[4:] == w(*fields).encode()
