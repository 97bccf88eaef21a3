"""The options family: random round trips at every server version 157-178, the
"not computed" values of tickOptionComputation, malformed frames, and where the
messages are found."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twsbridge.protocol import (
    IN,
    OUT,
    UNSET_DOUBLE,
    ProtocolError,
    decode_message,
    encode_message,
    registry,
)
from twsbridge.protocol import catalogue as cat
from twsbridge.protocol.catalogue import options as OPT
from twsbridge.protocol.spec import Message

from .cases import SPY_C, w
from .strategies import messages

VERSIONS = tuple(range(157, 179))
CLASSES: list[type[Message]] = [
    OPT.ExerciseOptions, OPT.CalculateImpliedVolatility, OPT.CalculateOptionPrice,
    OPT.CancelCalculateImpliedVolatility, OPT.CancelCalculateOptionPrice,
    OPT.ReqSecDefOptParams, OPT.TickOptionComputation,
    OPT.SecurityDefinitionOptionParameter, OPT.SecurityDefinitionOptionParameterEnd,
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.DIRECTION}-{c.NAME}")
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_round_trip(cls: type[Message], version: int, data: st.DataObject) -> None:
    msg = data.draw(messages(cls, version))
    frame = encode_message(msg, version)
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    back = decode_message(frame[4:], version, cls.DIRECTION)
    assert back == msg
    assert encode_message(back, version) == frame


def test_names_ids_and_exports() -> None:
    assert [(c.DIRECTION, c.ID, c.NAME) for c in CLASSES] == [
        (OUT, 21, "exerciseOptions"), (OUT, 54, "calculateImpliedVolatility"),
        (OUT, 55, "calculateOptionPrice"), (OUT, 56, "cancelCalculateImpliedVolatility"),
        (OUT, 57, "cancelCalculateOptionPrice"), (OUT, 78, "reqSecDefOptParams"),
        (IN, 21, "tickOptionComputation"), (IN, 75, "securityDefinitionOptionParameter"),
        (IN, 76, "securityDefinitionOptionParameterEnd"),
    ]
    assert cat.options is OPT and "options" in cat.__all__
    for cls in CLASSES:
        assert registry(cls.DIRECTION)[cls.ID] is cls
        assert getattr(OPT, cls.__name__) is cls and cls.__name__ in OPT.__all__


# ---------------------------------------------------------------- not computed

#: tickOptionComputation's float fields and the value TWS sends when it has not computed one.
SENTINELS = {"impliedVol": "-1", "delta": "-2", "optPrice": "-1", "pvDividend": "-1",
             "gamma": "-2", "vega": "-2", "theta": "-2", "undPrice": "-1"}
HEAD = ["21", "5", "13", "0"]
VALUES = ["0.1875", "0.5125", "5.25", "1.5", "0.0123", "0.4375", "-0.0625", "451.5"]


@pytest.mark.parametrize("k", range(8), ids=list(SENTINELS))
@pytest.mark.parametrize("text", ["-1", "-1.0", "-2", "-2.0"])
def test_the_sentinel_of_each_field_is_none_and_travels_back(k: int, text: str) -> None:
    name, sentinel = list(SENTINELS.items())[k]
    fields = [*HEAD, *VALUES]
    fields[4 + k] = text
    got = decode_message(w(*fields).encode(), 178)
    assert isinstance(got, OPT.TickOptionComputation)
    if float(text) == float(sentinel):
        assert getattr(got, name) is None
        fields[4 + k] = sentinel  # the value TWS sent, in TWS's text
    else:  # the other field family's sentinel is a value here
        assert getattr(got, name) == float(text)
        fields[4 + k] = repr(float(text))
    others = [getattr(got, n) for n in SENTINELS if n != name]
    assert None not in others
    assert encode_message(got, 178)[4:] == w(*fields).encode()


def test_defaults_are_not_computed() -> None:
    msg = OPT.TickOptionComputation(reqId=5, tickType=13)
    assert [getattr(msg, n) for n in SENTINELS] == [None] * 8
    assert encode_message(msg, 157)[4:] == w(*HEAD, *SENTINELS.values()).encode()


def test_values_near_the_sentinels_are_values() -> None:
    fields = [*HEAD, "-1.5", "-1", "-2", "-0.5", "-1", "-1", "-1", "-2"]
    got = decode_message(w(*fields).encode(), 170)
    assert isinstance(got, OPT.TickOptionComputation)
    assert (got.impliedVol, got.delta, got.optPrice, got.pvDividend, got.gamma, got.vega,
            got.theta, got.undPrice) == (-1.5, -1.0, -2.0, -0.5, -1.0, -1.0, -1.0, -2.0)
    assert encode_message(got, 170)[4:] == w(
        *HEAD, "-1.5", "-1.0", "-2.0", "-0.5", "-1.0", "-1.0", "-1.0", "-2.0").encode()


def test_an_unset_value_travels_as_java_prints_it() -> None:
    msg = OPT.TickOptionComputation(reqId=5, tickType=13, undPrice=UNSET_DOUBLE)
    text = encode_message(msg, 178)[4:].split(b"\0")
    assert text[11] == b"1.7976931348623157E308"
    assert decode_message(encode_message(msg, 178)[4:], 178) == msg


def test_chain_lists_keep_order_and_duplicates() -> None:
    msg = OPT.SecurityDefinitionOptionParameter(
        reqId=1, exchange="SMART", underlyingConId=756733, tradingClass="SPY", multiplier="100",
        expirations=["20240216", "20240119", "20240216"], strikes=[450.0, 440.0, 450.0])
    back = decode_message(encode_message(msg, 178)[4:], 178)
    assert isinstance(back, OPT.SecurityDefinitionOptionParameter)
    assert back.expirations == ["20240216", "20240119", "20240216"]
    assert back.strikes == [450.0, 440.0, 450.0]


def test_exercise_options_sends_no_field_beyond_178() -> None:
    """manualOrderTime (180), customerAccount (183), professionalCustomer (184) are not sent."""
    msg = OPT.ExerciseOptions(reqId=3, contract=SPY_C, exerciseAction=1, exerciseQuantity=1,
                              account="DU1", override=0)
    fields = encode_message(msg, 178)[4:].split(b"\0")[:-1]
    assert len(fields) == 2 + 1 + 11 + 4  # id, version, reqId, contract, the four values
    assert fields[-4:] == [b"1", b"1", b"DU1", b"0"]


# ---------------------------------------------------------------- malformed frames

GOOD_TICK = [*HEAD, *VALUES]
EXERCISE = ["21", "2", "14", "0", "ES", "FOP", "20240315", "4550.0", "C", "50", "CME", "USD",
            "", "ES", "2", "3", "DU1", "1"]
MALFORMED = [
    (IN, [*GOOD_TICK[:5], "abc", *GOOD_TICK[6:]], "21", "delta"),
    (IN, [*GOOD_TICK[:2], "x", *GOOD_TICK[3:]], "21", "tickType"),
    (IN, GOOD_TICK[:-1], "21", "undPrice"),
    (IN, [*GOOD_TICK, "9"], "21", "#12"),
    (IN, ["75", "11", "CBOE", "zz", "SPY", "100", "0", "0"], "75", "underlyingConId"),
    (IN, ["75", "11", "CBOE", "1", "SPY", "100", "x", "0"], "75", "expirations.count"),
    (IN, ["75", "11", "CBOE", "1", "SPY", "100", "-1", "0"], "75", "expirations.count"),
    (IN, ["75", "11", "CBOE", "1", "SPY", "100", "2", "a"], "75", "expirations"),
    (IN, ["75", "11", "CBOE", "1", "SPY", "100", "1", "a", "99999"], "75", "strikes.count"),
    (IN, ["75", "11", "CBOE", "1", "SPY", "100", "1", "a", "2", "1.0", "x"], "75", "strikes"),
    (IN, ["76"], "76", "reqId"),
    (OUT, ["78", "11", "SPY", "", "STK", "x"], "78", "underlyingConId"),
    (OUT, [*EXERCISE[:14], "exercise", *EXERCISE[15:]], "21", "exerciseAction"),
    (OUT, EXERCISE[:-1], "21", "override"),
    (OUT, ["54", "3", "12", "0", "SPY", "OPT", "", "450.0", "C", "100", "SMART", "", "USD", "",
           "SPY", "5.x", "451.5", ""], "54", "optionPrice"),
    (OUT, ["55", "3", "12", "0", "SPY", "OPT", "", "strike", "C", "100", "SMART", "", "USD",
           "", "SPY", "0.2", "451.5", ""], "55", "contract.strike"),
    (OUT, ["56", "1"], "56", "reqId"),
    (OUT, ["57", "one", "13"], "57", "version"),
]


@pytest.mark.parametrize(("direction", "fields", "msg_id", "field"), MALFORMED,
                         ids=[f"{m[2]}-{m[3]}-{k}" for k, m in enumerate(MALFORMED)])
@pytest.mark.parametrize("version", [157, 178])
def test_a_malformed_frame_names_its_message_and_field(
    direction: str, fields: list[str], msg_id: str, field: str, version: int
) -> None:
    with pytest.raises(ProtocolError) as e:
        decode_message(w(*fields).encode(), version, direction)
    assert (e.value.msg_id, e.value.field) == (msg_id, field)
    assert f"message id {msg_id}" in str(e.value) and repr(field) in str(e.value)
