"""Field codec of the TWS text protocol (server versions up to 200).

Every field travels as text terminated by a NUL byte. This module converts one
field at a time, in both directions, with the conventions TWS uses:

* ints and floats are decimal text; an *unset* value (``UNSET_INTEGER``,
  ``UNSET_DOUBLE``, ``UNSET_LONG``) travels as the empty string;
* sizes are ``decimal.Decimal``; ``UNSET_DECIMAL`` travels as the empty string,
  and the Java sentinels TWS sometimes sends for "no size" decode to it;
* booleans are ``"1"`` / ``"0"``;
* ``float('inf')`` travels as ``"Infinity"``;
* strings are UTF-8.

Each kind is a :class:`Kind` with a ``decode(str) -> value`` and an
``encode(value) -> str``; the message catalogue names a kind for each field.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "BOOL",
    "DECIMAL",
    "DECIMAL_UNSET_TEXTS",
    "ESTR",
    "FLOAT",
    "FLOAT_MAX",
    "INFINITY",
    "INT",
    "INT_MAX",
    "LONG",
    "PLAIN_EXPONENT_MAX",
    "STR",
    "UNSET_DECIMAL",
    "UNSET_DOUBLE",
    "UNSET_INTEGER",
    "UNSET_LONG",
    "Kind",
    "decode_decimal",
    "decode_float",
    "decode_int",
    "encode_decimal",
    "encode_float",
]

UNSET_INTEGER = 2**31 - 1
UNSET_LONG = 2**63 - 1
UNSET_DOUBLE = sys.float_info.max
UNSET_DECIMAL = Decimal(2**127 - 1)
INFINITY = math.inf

#: The largest decimal exponent (either sign) a size may have: plain notation
#: writes every digit, and ``1E+999999999`` would be a gigabyte of zeros.
PLAIN_EXPONENT_MAX = 1000


#: Texts of a size field that mean "no value" (Java's sentinels and ``""``).
DECIMAL_UNSET_TEXTS = frozenset(
    {"", "2147483647", "9223372036854775807", "1.7976931348623157E308", "-9223372036854775808"}
)


def decode_int(s: str) -> int:
    """Decode an int field; the empty string is ``UNSET_INTEGER``."""
    return int(s) if s else UNSET_INTEGER


def decode_long(s: str) -> int:
    """Decode a long field; the empty string is ``UNSET_LONG``."""
    return int(s) if s else UNSET_LONG


def decode_float(s: str) -> float:
    """Decode a float field: ``""`` is ``UNSET_DOUBLE``, ``"Infinity"`` is inf."""
    if not s:
        return UNSET_DOUBLE
    return float(s)  # float() accepts "Infinity", "-Infinity" and "1.0E-5"


def decode_decimal(s: str) -> Decimal:
    """Decode a size: Java's "no value" sentinels and ``""`` are ``UNSET_DECIMAL``.

    Refused (ValueError) besides what is not a number: a signaling NaN
    (``"sNaN"``, it raises on the first comparison of whoever receives it) and
    an exponent beyond ±:data:`PLAIN_EXPONENT_MAX` (``"1E+999999999"``: any
    arithmetic on it overflows, and its plain text would be a gigabyte).
    """
    if s in DECIMAL_UNSET_TEXTS:
        return UNSET_DECIMAL
    try:
        d = Decimal(s)
    except InvalidOperation:
        raise ValueError(f"not a decimal: {s!r}") from None
    if d.is_snan() or not -PLAIN_EXPONENT_MAX <= d.adjusted() <= PLAIN_EXPONENT_MAX:
        not_a_size(s)
    return d


def not_a_size(s: str) -> Decimal:
    """Raise the error of a size field holding a signaling NaN or a number out of range."""
    raise ValueError(f"not a size: {s[:40]!r} (a signaling NaN, or beyond "
                     f"1E+/-{PLAIN_EXPONENT_MAX})")


def decode_bool(s: str) -> bool:
    """Decode a boolean: ``"1"``/``"true"`` are true, ``""``/``"0"``/``"false"`` false."""
    if s == "1":
        return True
    if s in ("0", ""):
        return False
    low = s.lower()
    if low == "true":
        return True
    if low == "false":
        return False
    return int(s) != 0


_ESCAPE = re.compile(
    r"\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U(0010[0-9a-fA-F]{4}|000[0-9a-fA-F]{5}))"
)


def _unescape(m: re.Match[str]) -> str:
    return chr(int(m.group(1) or m.group(2) or m.group(3), 16))


def decode_escaped(s: str) -> str:
    """Decode a string TWS sends ASCII-7 escaped (``\\uXXXX``) since version 153.

    Only ``\\xXX``, ``\\uXXXX`` and ``\\UXXXXXXXX`` are escapes; any other
    backslash is kept as sent. Java escapes UTF-16 units, so surrogate pairs
    (``\\ud83d\\ude00``) are joined into one character.
    """
    if "\\" not in s:
        return s
    out = _ESCAPE.sub(_unescape, s)
    if any("\ud800" <= c <= "\udfff" for c in out):
        out = out.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return out


def encode_int(v: int) -> str:
    """Encode an int; ``UNSET_INTEGER``/``UNSET_LONG`` become ``""``."""
    if v == UNSET_INTEGER or v == UNSET_LONG:
        return ""
    return str(int(v))


def encode_long(v: int) -> str:
    """Encode a long; only ``UNSET_LONG`` becomes ``""``."""
    if v == UNSET_LONG:
        return ""
    return str(int(v))


def encode_int_max(v: int) -> str:
    """Encode an int as TWS does for fields that carry the sentinel literally."""
    return str(int(v))


def encode_float(v: float) -> str:
    """Encode a float: ``UNSET_DOUBLE`` is ``""``, inf is ``"Infinity"``."""
    if v == UNSET_DOUBLE:
        return ""
    if v == INFINITY:
        return "Infinity"
    if v == -INFINITY:
        return "-Infinity"
    return repr(float(v))


def encode_float_max(v: float) -> str:
    """Encode a float that travels literally even when unset (as Java prints it)."""
    if v == UNSET_DOUBLE:
        return "1.7976931348623157E308"
    return encode_float(v)


def encode_decimal(v: Decimal) -> str:
    """Encode a size: ``UNSET_DECIMAL`` is ``""``, others in plain notation.

    Raises:
        ValueError: for a signaling NaN, or a size beyond 1E±1000 (the plain
        text would be huge; no size is that large or small).
    """
    d = v if isinstance(v, Decimal) else Decimal(str(v))
    if d.is_finite():
        if d == UNSET_DECIMAL:
            return ""
        if abs(d.adjusted()) > PLAIN_EXPONENT_MAX:
            raise ValueError(f"size {d} out of range for plain notation")
    elif d.is_snan():
        raise ValueError(f"not a size: {d} (a signaling NaN)")
    return format(d, "f")


def encode_bool(v: bool) -> str:
    return "1" if v else "0"


def encode_str(v: str) -> str:
    return str(v)


def encode_escaped(v: str) -> str:
    """ASCII-7 text: non-ASCII as ``\\x``/``\\u``/``\\U`` escapes, a backslash as ``\\x5c``."""
    if v.isascii() and "\\" not in v:
        return v
    return v.replace("\\", "\\x5c").encode("ascii", "backslashreplace").decode("ascii")


def _identity(s: str) -> str:
    return s


#: Decoded values of the cached kinds (ints, floats, booleans) are kept per decode
#: function, for field texts of at most :data:`CACHE_TEXT_MAX` characters; a cache
#: is emptied when it reaches :data:`CACHE_SIZE` entries. Ticks repeat their ids,
#: tick types and prices, and a dict lookup costs a third of ``int()``/``float()``.
#: Sizes (``Decimal``) are not cached: volumes rarely repeat, and a miss costs more
#: than the lookup saves.
CACHE_SIZE = 4096
CACHE_TEXT_MAX = 24

_CACHES: dict[Callable[[str], Any], tuple[dict[str, Any], Callable[[str], Any]]] = {}


_MISS = """
def miss(s):
    v = {expr}
    # NaN is not cached: each decoded NaN stays a distinct object, as without a cache
    if len(s) <= CACHE_TEXT_MAX and (not v.is_nan() if type(v) is Decimal else v == v):
        if len(cache) >= CACHE_SIZE:
            cache.clear()
        cache[s] = v
    return v
"""


def _value_cache(
    decode: Callable[[str], Any], inline: str | None
) -> tuple[dict[str, Any], Callable[[str], Any]]:
    """The cache of ``decode``'s values, and the function that decodes a text missing
    from it (with ``inline`` when given: no second call) and caches the value."""
    if decode in _CACHES:
        return _CACHES[decode]
    cache: dict[str, Any] = {}
    ns: dict[str, Any] = {
        "cache": cache,
        "decode": decode,
        "Decimal": Decimal,
        "CACHE_SIZE": CACHE_SIZE,
        "CACHE_TEXT_MAX": CACHE_TEXT_MAX,
        "UNSET_INTEGER": UNSET_INTEGER,
        "UNSET_LONG": UNSET_LONG,
        "UNSET_DOUBLE": UNSET_DOUBLE,
        "UNSET_DECIMAL": UNSET_DECIMAL,
        "DECIMAL_UNSET_TEXTS": DECIMAL_UNSET_TEXTS,
        "_not_a_size": not_a_size,
    }
    src = _MISS.format(expr=inline.format("s") if inline is not None else "decode(s)")
    exec(compile(src, f"<twsbridge value cache {decode.__name__}>", "exec"), ns)
    miss: Callable[[str], Any] = ns["miss"]
    _CACHES[decode] = (cache, miss)
    return cache, miss


class Kind:
    """One field kind: a name, its decoder and its encoder, and its default value.

    ``inline`` is a Python expression template used by the generated decoders
    (``{}`` stands for the field text) so hot paths avoid a function call.
    With ``cached``, generated decoders look the text up in ``cache`` (shared by
    the kinds with the same ``decode``) and call ``miss`` only for a new text;
    ``decode`` must then return immutable values.
    """

    __slots__ = ("cache", "decode", "default", "encode", "inline", "miss", "name", "pytype")

    def __init__(
        self,
        name: str,
        decode: Callable[[str], Any],
        encode: Callable[[Any], str],
        default: Any,
        pytype: type,
        inline: str | None = None,
        *,
        cached: bool = False,
    ) -> None:
        self.name = name
        self.decode = decode
        self.encode = encode
        self.default = default
        self.pytype = pytype
        self.inline = inline
        self.cache: dict[str, Any] | None = None
        self.miss: Callable[[str], Any] | None = None
        if cached:
            self.cache, self.miss = _value_cache(decode, inline)

    def __repr__(self) -> str:
        return f"Kind({self.name})"


STR = Kind("str", _identity, encode_str, "", str, inline="{}")
ESTR = Kind("estr", decode_escaped, encode_escaped, "", str)
INT = Kind("int", decode_int, encode_int, 0, int, inline="(int({0}) if {0} else UNSET_INTEGER)",
           cached=True)
INT_MAX = Kind("int_max", decode_int, encode_int_max, 0, int,
               inline="(int({0}) if {0} else UNSET_INTEGER)", cached=True)
LONG = Kind("long", decode_long, encode_long, 0, int, inline="(int({0}) if {0} else UNSET_LONG)")
FLOAT = Kind("float", decode_float, encode_float, 0.0, float,
             inline="(float({0}) if {0} else UNSET_DOUBLE)", cached=True)
FLOAT_MAX = Kind("float_max", decode_float, encode_float_max, 0.0, float,
                 inline="(float({0}) if {0} else UNSET_DOUBLE)", cached=True)
DECIMAL = Kind("decimal", decode_decimal, encode_decimal, UNSET_DECIMAL, Decimal,
               inline=f"(UNSET_DECIMAL if {{0}} in DECIMAL_UNSET_TEXTS else _d if "
                      f"-{PLAIN_EXPONENT_MAX} <= (_d := Decimal({{0}})).adjusted() <= "
                      f"{PLAIN_EXPONENT_MAX} and not _d.is_snan() else _not_a_size({{0}}))")
BOOL = Kind("bool", decode_bool, encode_bool, False, bool, cached=True)
