"""The field codec: every Kind round-trips, and the TWS conventions hold exactly."""

from __future__ import annotations

import math
import warnings
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from twsbridge.protocol import codec
from twsbridge.protocol.codec import (
    BOOL,
    DECIMAL,
    ESTR,
    FLOAT,
    FLOAT_MAX,
    INT,
    INT_MAX,
    LONG,
    STR,
    UNSET_DECIMAL,
    UNSET_DOUBLE,
    UNSET_INTEGER,
    UNSET_LONG,
)

from .strategies import (
    DECIMAL_SENTINELS,
    decimals,
    floats,
    ints,
    longs,
    non_ascii_texts,
    texts,
)

# ------------------------------------------------------------------ ints


@given(ints)
@example(UNSET_INTEGER)
@example(-(2**31))
@example(0)
def test_int_round_trip(v: int) -> None:
    text = INT.encode(v)
    assert "\0" not in text
    assert INT.decode(text) == v
    assert (text == "") == (v == UNSET_INTEGER)


def test_int_unset_travels_as_empty() -> None:
    assert INT.encode(UNSET_INTEGER) == ""
    assert INT.decode("") == UNSET_INTEGER
    assert INT.encode(-1) == "-1"
    assert INT.decode("217") == 217


@given(longs)
@example(UNSET_LONG)
@example(UNSET_INTEGER)  # a long that happens to equal the *int* sentinel is a real value
@example(-(2**63))
def test_long_round_trip(v: int) -> None:
    text = LONG.encode(v)
    assert LONG.decode(text) == v
    assert (text == "") == (v == UNSET_LONG)


def test_long_unset_travels_as_empty() -> None:
    assert LONG.encode(UNSET_LONG) == ""
    assert LONG.decode("") == UNSET_LONG
    assert LONG.encode(2**40) == "1099511627776"


@given(ints)
def test_int_max_travels_literally(v: int) -> None:
    assert INT_MAX.encode(v) == str(v)
    assert INT_MAX.decode(INT_MAX.encode(v)) == v


# ------------------------------------------------------------------ floats


@given(floats)
def test_float_round_trip(v: float) -> None:
    text = FLOAT.encode(v)
    back = FLOAT.decode(text)
    assert back == v
    assert math.copysign(1.0, back) == math.copysign(1.0, v)
    assert (text == "") == (v == UNSET_DOUBLE)


@given(floats)
def test_float_max_round_trip(v: float) -> None:
    assert FLOAT_MAX.decode(FLOAT_MAX.encode(v)) == v


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (UNSET_DOUBLE, ""),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
        (101.5, "101.5"),
        (0.0, "0.0"),
        (-2.059999999939464, "-2.059999999939464"),
    ],
)
def test_float_texts(value: float, text: str) -> None:
    assert FLOAT.encode(value) == text
    assert FLOAT.decode(text) == value


def test_float_decodes_java_notation() -> None:
    assert FLOAT.decode("1.0E-5") == 1e-5
    assert FLOAT.decode("Infinity") == math.inf
    assert FLOAT.decode("1.7976931348623157E308") == UNSET_DOUBLE
    assert FLOAT_MAX.encode(UNSET_DOUBLE) == "1.7976931348623157E308"


def test_float_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        FLOAT.decode("abc")


# ------------------------------------------------------------------ decimals


@given(decimals)
@example(UNSET_DECIMAL)
@example(Decimal("0.0001"))
@example(Decimal("1E+3"))
@example(Decimal("-2147483647"))
def test_decimal_round_trip(v: Decimal) -> None:
    text = DECIMAL.encode(v)
    assert "E" not in text.upper().replace("INFINITY", "")  # plain notation, as TWS reads it
    assert DECIMAL.decode(text) == v
    assert (text == "") == (v == UNSET_DECIMAL)


@pytest.mark.parametrize("text", ["", *sorted(DECIMAL_SENTINELS)])
def test_decimal_java_sentinels_are_unset(text: str) -> None:
    assert DECIMAL.decode(text) == UNSET_DECIMAL


def test_decimal_texts() -> None:
    assert DECIMAL.encode(UNSET_DECIMAL) == ""
    assert DECIMAL.encode(Decimal("300")) == "300"
    assert DECIMAL.encode(Decimal("1E+2")) == "100"
    assert DECIMAL.encode(Decimal("0.5")) == "0.5"
    assert DECIMAL.decode("12345.5") == Decimal("12345.5")
    assert DECIMAL.decode("2147483646") == Decimal(2147483646)


def test_decimal_rejects_garbage_as_value_error() -> None:
    with pytest.raises(ValueError):
        DECIMAL.decode("12 shares")


# ------------------------------------------------------------------ bools


@given(st.booleans())
def test_bool_round_trip(v: bool) -> None:
    text = BOOL.encode(v)
    assert text == ("1" if v else "0")
    assert BOOL.decode(text) is v


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", True), ("0", False), ("", False), ("true", True), ("false", False), ("True", True)],
)
def test_bool_texts(text: str, value: bool) -> None:
    assert BOOL.decode(text) is value


# ------------------------------------------------------------------ strings


@given(texts)
@example("")
@example("Market data farm connection is OK:usfarm.nj")
@example("Zürich ☃ 東京 😀")
def test_str_round_trip(v: str) -> None:
    text = STR.encode(v)
    assert text == v
    assert STR.decode(text) == v
    assert STR.decode(text.encode().decode()) == v  # survives the UTF-8 of the frame


@given(non_ascii_texts)
@example("Café")
@example("😀 astral")
def test_estr_non_ascii_round_trip(v: str) -> None:
    text = ESTR.encode(v)
    assert text.isascii()  # ASCII-7 on the wire since server version 153
    assert ESTR.decode(text) == v


@given(texts)
@example("C:\\temp\\x")  # a backslash that is not an escape
@example("a\\nb")
@example("\\u00e9 literal")
@example("trailing \\")
def test_estr_round_trip_any_text(v: str) -> None:
    text = ESTR.encode(v)
    assert text.isascii()
    assert ESTR.decode(text) == v


@pytest.mark.parametrize(
    ("wire", "value"),
    [
        ("Caf\\u00e9", "Café"),  # how TWS (Java) escapes
        ("\\u6771\\u4eac", "東京"),
        ("\\ud83d\\ude00", "😀"),  # Java escapes UTF-16 units: a surrogate pair
        ("plain ascii", "plain ascii"),
        ("path C:\\xyz\\d", "path C:\\xyz\\d"),  # not escapes: kept as sent
        ("ends with \\", "ends with \\"),
    ],
)
def test_estr_decodes_tws_text(wire: str, value: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "invalid escape sequence" DeprecationWarning
        assert ESTR.decode(wire) == value


# ------------------------------------------------------------------ kinds


def test_every_kind_has_a_default_of_its_type() -> None:
    kinds = [STR, ESTR, INT, INT_MAX, LONG, FLOAT, FLOAT_MAX, DECIMAL, BOOL]
    for kind in kinds:
        assert isinstance(kind.default, kind.pytype), kind
        assert repr(kind) == f"Kind({kind.name})"


@given(st.data())
def test_inline_decoders_agree_with_functions(data: st.DataObject) -> None:
    """Generated decoders use ``Kind.inline``; it must match ``Kind.decode``."""
    kinds = [(INT, ints), (LONG, longs), (FLOAT, floats), (INT_MAX, ints), (DECIMAL, decimals)]
    for kind, strat in kinds:
        assert kind.inline is not None
        text = kind.encode(data.draw(strat))
        sentinel = data.draw(st.sampled_from(sorted(DECIMAL_SENTINELS)))
        for s in (text, sentinel) if kind is DECIMAL else (text,):
            ns = {
                "UNSET_INTEGER": codec.UNSET_INTEGER,
                "UNSET_LONG": codec.UNSET_LONG,
                "UNSET_DOUBLE": codec.UNSET_DOUBLE,
                "UNSET_DECIMAL": codec.UNSET_DECIMAL,
                "DECIMAL_UNSET_TEXTS": codec.DECIMAL_UNSET_TEXTS,
                "Decimal": Decimal,
                "s": s,
            }
            assert eval(kind.inline.format("s"), ns) == kind.decode(s)


# ------------------------------------------------------------------ value caches

CACHED = [(INT, ints), (INT_MAX, ints), (FLOAT, floats), (FLOAT_MAX, floats), (BOOL, st.booleans())]


def _cached_decode(kind: codec.Kind, s: str) -> Any:
    """What a generated decoder does with a cached kind's field text."""
    assert kind.cache is not None and kind.miss is not None
    v = kind.cache.get(s)
    return v if v is not None else kind.miss(s)


@given(st.data())
def test_cached_kinds_decode_as_their_functions(data: st.DataObject) -> None:
    """A cached value (first decode: a miss; second: a hit) is the function's, type and all."""
    for kind, strat in CACHED:
        text = data.draw(st.sampled_from(["", "0", "-0", "1", " 7", "1e3", "1.0"]) | st.builds(
            kind.encode, strat))
        try:
            want = kind.decode(text)
        except ValueError:
            with pytest.raises(ValueError):
                _cached_decode(kind, text)
            assert kind.cache is not None and text not in kind.cache
            continue
        for _ in range(2):
            got = _cached_decode(kind, text)
            assert type(got) is type(want)
            assert got == want or (math.isnan(want) and math.isnan(got))
            if isinstance(want, float):
                assert math.copysign(1.0, got) == math.copysign(1.0, want)  # -0.0 stays -0.0


def test_sizes_are_not_cached() -> None:
    assert DECIMAL.cache is None and LONG.cache is None and STR.cache is None


def test_nan_is_never_cached() -> None:
    """Each decoded NaN stays its own object, as without a cache."""
    assert FLOAT.cache is not None
    a, b = _cached_decode(FLOAT, "NaN"), _cached_decode(FLOAT, "NaN")
    assert math.isnan(a) and math.isnan(b) and a is not b
    assert "NaN" not in FLOAT.cache


def test_value_caches_are_bounded() -> None:
    assert INT.cache is not None and INT_MAX.cache is INT.cache and FLOAT_MAX.cache is FLOAT.cache
    for k in range(codec.CACHE_SIZE + 50):
        assert _cached_decode(INT, str(10**6 + k)) == 10**6 + k
    assert 0 < len(INT.cache) <= codec.CACHE_SIZE
    long_text = "1" * (codec.CACHE_TEXT_MAX + 1)
    assert _cached_decode(INT, long_text) == int(long_text)
    assert long_text not in INT.cache
