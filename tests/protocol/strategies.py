"""Hypothesis strategies: field values of every Kind, and random catalogued messages.

``messages(cls, version)`` walks the class's WIRE declaration the way the
compiler does: it fills only the items present at ``version`` (so the object
survives an encode/decode round trip), evaluates ``When`` predicates on what
it has generated so far, draws ``Flag`` objects present or absent and
``Group`` lists of 0..3 items.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from twsbridge.protocol import codec
from twsbridge.protocol.codec import Kind
from twsbridge.protocol.spec import F, Flag, Group, Message, When, _Item

#: Texts a decimal field must not encode to: TWS's "no value" sentinels.
DECIMAL_SENTINELS = frozenset(
    {"2147483647", "9223372036854775807", "-9223372036854775808", "1.7976931348623157E308"}
)

#: Any text that can travel in one field: every code point but NUL (and lone surrogates,
#: which UTF-8 cannot carry).
texts = st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)))
#: Texts with at least one non-ASCII character (what ESTR escapes).
non_ascii_texts = st.builds(
    lambda a, c, b: a + c + b,
    texts,
    st.characters(min_codepoint=0x80, blacklist_categories=("Cs",)),
    texts,
)

ints = st.integers(-(2**31), 2**31 - 1)
longs = st.integers(-(2**63), 2**63 - 1)
floats = st.floats(allow_nan=False) | st.sampled_from(
    [codec.UNSET_DOUBLE, codec.INFINITY, -codec.INFINITY, 0.0, -0.0, 1e-5, 1e22, 101.5]
)
decimals = (
    st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**15), max_value=10**15)
    | st.decimals(allow_nan=False, allow_infinity=True, places=4)
    | st.just(codec.UNSET_DECIMAL)
).filter(lambda d: d == codec.UNSET_DECIMAL or codec.encode_decimal(d) not in DECIMAL_SENTINELS)
bools = st.booleans()

#: Security types, BAG often enough to exercise combo legs.
sec_types = st.sampled_from(["STK", "OPT", "FUT", "CASH", "BAG", "BAG", ""]) | texts

VALUES: dict[str, st.SearchStrategy[Any]] = {
    codec.STR.name: texts,
    codec.ESTR.name: texts,
    codec.INT.name: ints,
    codec.INT_MAX.name: ints,
    codec.LONG.name: longs,
    codec.FLOAT.name: floats,
    codec.FLOAT_MAX.name: floats,
    codec.DECIMAL.name: decimals,
    codec.BOOL.name: bools,
}


def values(kind: Kind, path: str = "") -> st.SearchStrategy[Any]:
    """Values of one field kind (``path`` picks sharper strategies for some fields)."""
    if path.endswith("secType"):
        return sec_types
    return VALUES[kind.name]


def set_path(obj: Any, path: str, value: Any) -> None:
    """``obj.a.b = value`` for ``path`` ``"a.b"``."""
    *parents, last = path.split(".")
    for name in parents:
        obj = getattr(obj, name)
    setattr(obj, last, value)


def _fill(draw: Any, obj: Any, items: Sequence[_Item], version: int) -> None:
    for it in items:
        if not it.present(version):
            continue
        if isinstance(it, F):
            set_path(obj, it.path, draw(values(it.kind, it.path)))
        elif isinstance(it, Group):
            n = draw(st.integers(0, 3))
            lst: list[Any] = []
            for _ in range(n):
                if it.item_type is None:
                    (sub,) = it.items
                    lst.append(draw(values(sub.kind)))
                else:
                    item = it.item_type()
                    _fill(draw, item, it.items, version)
                    lst.append(item)
            set_path(obj, it.path, lst)
        elif isinstance(it, Flag):
            if draw(st.booleans()):
                item = it.item_type()
                _fill(draw, item, it.items, version)
                set_path(obj, it.path, item)
            else:
                set_path(obj, it.path, None)
        elif isinstance(it, When):
            if it.predicate(obj):
                _fill(draw, obj, it.items, version)
        else:  # pragma: no cover
            raise TypeError(it)


@st.composite
def messages(draw: Any, cls: type[Message], version: int) -> Message:
    """A random instance of ``cls`` whose every wire field at ``version`` is drawn."""
    obj = cls()
    _fill(draw, obj, cls.WIRE, version)
    return obj
