"""The catalogue against hand-written payloads (one table), and random round trips."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twsbridge.protocol import (
    IN,
    OUT,
    UNSET_DECIMAL,
    ProtocolError,
    decode_message,
    encode_frame,
    encode_message,
    registry,
)
from twsbridge.protocol.catalogue import incoming as I
from twsbridge.protocol.catalogue import outgoing as O
from twsbridge.protocol.models import ComboLeg, Contract
from twsbridge.protocol.spec import Message

from .cases import AAPL, AAPL_F, CASES, Case, replace, w
from .strategies import messages

PARAMS = [
    pytest.param(case, version, id=f"{case.msg.DIRECTION}-{case.msg.NAME}-{n}-v{version}")
    for n, case in enumerate(CASES)
    for version in sorted(case.texts)
]


@pytest.mark.parametrize(("case", "version"), PARAMS)
def test_encode(case: Case, version: int) -> None:
    text = case.texts[version]
    assert type(case.msg).codec(version)[1](case.msg) == text
    assert encode_message(case.msg, version) == encode_frame(text.encode())


@pytest.mark.parametrize(("case", "version"), PARAMS)
def test_decode(case: Case, version: int) -> None:
    text = case.texts[version]
    got = decode_message(text.encode(), version, case.msg.DIRECTION)
    assert type(got) is type(case.msg)
    assert got == case.expected(version)


@pytest.mark.parametrize(("case", "version"), PARAMS)
def test_decoded_object_encodes_back(case: Case, version: int) -> None:
    expected = case.expected(version)
    assert encode_message(expected, version) == encode_frame(case.texts[version].encode())


@pytest.mark.parametrize("direction", [IN, OUT])
def test_table_covers_every_catalogued_message(direction: str) -> None:
    for version in (157, 178):
        covered = {
            type(c.msg) for c in CASES if c.msg.DIRECTION == direction and version in c.texts
        }
        missing = set(registry(direction).values()) - covered
        assert not missing, f"no case at v{version} for {sorted(m.NAME for m in missing)}"


def test_gated_variants_really_differ() -> None:
    """The table's version-gated rows are not trivially equal (guards the table itself)."""
    gated = [c for c in CASES if c.decoded]
    assert {type(c.msg) for c in gated} >= {
        I.ErrorMessage, I.ContractData, I.SymbolSamples, O.ReqContractDetails,
    }
    for c in gated:
        assert len(set(c.texts.values())) >= 2, c.msg.NAME
        for version, obj in c.decoded.items():
            assert obj != c.msg, (c.msg.NAME, version)


# ------------------------------------------------------------------ When / Flag details


def test_combo_legs_of_a_non_bag_contract_are_not_sent() -> None:
    legs = [ComboLeg(1, 1, "BUY", "SMART")]
    msg = O.ReqMktData(reqId=5, contract=replace(AAPL, comboLegs=legs))
    text = w("1", "11", "5", *AAPL_F, "0", "", "0", "0", "")
    assert O.ReqMktData.codec(178)[1](msg) == text
    back = decode_message(text.encode(), 178, OUT)
    assert isinstance(back, O.ReqMktData)
    assert back.contract.comboLegs == []
    assert back == O.ReqMktData(reqId=5, contract=AAPL)


def test_delta_neutral_flag_decodes_empty_as_absent() -> None:
    text = w("1", "11", "5", *AAPL_F, "", "", "0", "0", "")
    back = decode_message(text.encode(), 178, OUT)
    assert isinstance(back, O.ReqMktData)
    assert back.contract.deltaNeutralContract is None


def test_bag_with_no_legs_sends_a_zero_count() -> None:
    msg = O.ReqHistoricalData(reqId=1, contract=Contract(symbol="X", secType="BAG"))
    text = O.ReqHistoricalData.codec(176)[1](msg)
    fields = text.split("\0")
    assert fields[20:22] == ["1", "0"]  # formatDate, then the leg count
    assert decode_message(text.encode(), 176, OUT) == msg


# ------------------------------------------------------------------ decode-only vectors


@pytest.mark.parametrize("size", ["2147483647", "9223372036854775807", "1.7976931348623157E308"])
def test_java_size_sentinels_decode_to_unset(size: str) -> None:
    got = decode_message(w("2", "6", "5", "8", size).encode(), 176)
    assert got == I.TickSize(reqId=5, tickType=8, size=UNSET_DECIMAL)
    got = decode_message(w("1", "6", "5", "1", "1.5", size, "0").encode(), 176)
    assert isinstance(got, I.TickPrice)
    assert got.size == UNSET_DECIMAL
    assert got.price == 1.5


def test_tick_price_infinity_and_unset_price() -> None:
    got = decode_message(w("1", "6", "5", "1", "Infinity", "1", "0").encode(), 176)
    assert isinstance(got, I.TickPrice)
    assert got.price == float("inf")
    assert got.size == Decimal(1)
    got = decode_message(w("1", "6", "5", "1", "", "", "").encode(), 176)
    assert isinstance(got, I.TickPrice)
    assert got.price == 1.7976931348623157e308


def test_group_count_larger_than_frame_is_rejected() -> None:
    with pytest.raises(ProtocolError) as e:
        decode_message(w("17", "3", "a", "b", "99999").encode(), 176)
    assert e.value.msg_id == "17"
    assert e.value.field == "bars.count"


def test_group_negative_count_is_rejected() -> None:
    with pytest.raises(ProtocolError) as e:
        decode_message(w("17", "3", "a", "b", "-1").encode(), 176)
    assert e.value.field == "bars.count"


def test_messages_print_like_ibpy() -> None:
    assert repr(I.NextValidId(orderId=217)) == "<nextValidId orderId=217>"
    assert str(I.OpenOrderEnd()) == "<openOrderEnd>"
    assert I.NextValidId(orderId=3).items() == [("orderId", 3), ("version", 1)]


# ------------------------------------------------------------------ random round trips

VERSIONS = (157, 163, 164, 166, 176, 178)
CLASSES = sorted(
    [*registry(IN).values(), *registry(OUT).values()], key=lambda c: (c.DIRECTION, c.ID)
)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.DIRECTION}-{c.NAME}")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_round_trip(cls: type[Message], version: int, data: st.DataObject) -> None:
    msg = data.draw(messages(cls, version))
    frame = encode_message(msg, version)
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    back = decode_message(frame[4:], version, cls.DIRECTION)
    assert back == msg
    assert encode_message(back, version) == frame
