"""Hypothesis strategies: field values of every Kind, and random catalogued messages.

``messages(cls, version)`` walks the class's WIRE declaration the way the
compiler does: it fills only the items present at ``version`` (so the object
survives an encode/decode round trip), evaluates ``When`` predicates on what
it has generated so far, draws ``Flag`` objects present or absent, ``Group``
lists of 0..3 items and ``PolyGroup`` lists of 0..3 items of drawn types.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import strategies as st

from twsbridge.protocol import codec
from twsbridge.protocol.catalogue import _order_wire as ow
from twsbridge.protocol.catalogue import options as opt
from twsbridge.protocol.codec import Kind
from twsbridge.protocol.models import TagValue
from twsbridge.protocol.spec import F, Flag, Group, Message, PolyGroup, When, _Item

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
SEC_TYPES = ["STK", "OPT", "FUT", "CASH", "BAG", "BAG", ""]
#: Order types, the pegged ones often enough to exercise their fields.
ORDER_TYPES = ["MKT", "LMT", "PEG BENCH", "PEGBENCH", "PEG BEST", "PEGBEST", "PEG MID", "PEGMID"]
#: Exchanges, IBKRATS often enough to exercise minTradeQty.
EXCHANGES = ["SMART", "IBKRATS", "IBKRATS", ""]
sec_types = st.sampled_from(SEC_TYPES) | texts
order_types = st.sampled_from(ORDER_TYPES) | texts
exchanges = st.sampled_from(EXCHANGES) | texts
#: TagValue lists that travel as one "tag=value;" text (orderMiscOptions).
tag_lists = st.lists(
    st.builds(
        TagValue,
        st.text(st.characters(blacklist_characters="\0=;", blacklist_categories=("Cs",))),
        st.text(st.characters(blacklist_characters="\0;", blacklist_categories=("Cs",))),
    ),
    max_size=3,
)

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
    ow.FLOAT_RAW.name: floats,
    ow.FLOAT_TRIM.name: floats,
    ow.CONJ.name: bools,
    ow.OPT_BOOL.name: st.none() | bools,
    ow.TAGS.name: tag_lists,
    # "not computed" (-1 / -2) travels as None: the sentinel itself is not a value
    opt.NOT_COMPUTED_M1.name: st.none() | floats.filter(lambda v: v != -1.0),
    opt.NOT_COMPUTED_M2.name: st.none() | floats.filter(lambda v: v != -2.0),
}


def values(kind: Kind, path: str = "") -> st.SearchStrategy[Any]:
    """Values of one field kind (``path`` picks sharper strategies for some fields)."""
    if path.endswith("secType"):
        return sec_types
    if path.endswith("orderType"):
        return order_types
    if path.endswith("exchange"):
        return exchanges
    return VALUES[kind.name]


def set_path(obj: Any, path: str, value: Any) -> None:
    """``obj.a.b = value`` for ``path`` ``"a.b"``."""
    *parents, last = path.split(".")
    for name in parents:
        obj = getattr(obj, name)
    setattr(obj, last, value)


Pick = Callable[[Kind, str], st.SearchStrategy[Any]]


def _fill(draw: Any, obj: Any, items: Sequence[_Item], version: int, pick: Pick) -> None:
    for it in items:
        if not it.present(version):
            continue
        if isinstance(it, F):
            set_path(obj, it.path, draw(pick(it.kind, it.path)))
        elif isinstance(it, Group):
            n = draw(st.integers(0, 3))
            lst: list[Any] = []
            for _ in range(n):
                if it.item_type is None:
                    (sub,) = it.items
                    lst.append(draw(pick(sub.kind, "")))
                else:
                    item = it.item_type()
                    _fill(draw, item, it.items, version, pick)
                    lst.append(item)
            set_path(obj, it.path, lst)
        elif isinstance(it, Flag):
            if draw(st.booleans()):
                item = it.item_type()
                _fill(draw, item, it.items, version, pick)
                set_path(obj, it.path, item)
            else:
                set_path(obj, it.path, None)
        elif isinstance(it, PolyGroup):
            members: list[Any] = []
            for _ in range(draw(st.integers(0, 3))):
                tag = draw(st.sampled_from(sorted(it.variants)))
                item_type, sub_items = it.variants[tag]
                item = item_type()
                setattr(item, it.tag, tag)
                _fill(draw, item, sub_items, version, pick)
                members.append(item)
            set_path(obj, it.path, members)
        elif isinstance(it, When):
            if it.predicate(obj):
                _fill(draw, obj, it.items, version, pick)
        else:  # pragma: no cover
            raise TypeError(it)


#: Values IB's Python client sends as TWS does: printable ASCII text (it refuses other
#: text), finite floats (it sends an infinity as "inf"), sizes in plain notation.
ascii_texts = st.text(st.characters(min_codepoint=32, max_codepoint=126))
ASCII_VALUES: dict[str, st.SearchStrategy[Any]] = {
    **VALUES,
    codec.STR.name: ascii_texts,
    codec.ESTR.name: ascii_texts,
    codec.DECIMAL.name: st.decimals(allow_nan=False, allow_infinity=False, places=4,
                                    min_value=-(10**12), max_value=10**12),
    ow.TAGS.name: st.lists(st.builds(
        TagValue,
        st.text(st.characters(min_codepoint=32, max_codepoint=126, blacklist_characters="=;")),
        st.text(st.characters(min_codepoint=32, max_codepoint=126, blacklist_characters=";")),
    ), max_size=3),
    **{
        k.name: st.floats(allow_nan=False, allow_infinity=False)
        | st.sampled_from([codec.UNSET_DOUBLE, 0.0, -0.0, 1e-5, 1e22, 101.5])
        for k in (codec.FLOAT, codec.FLOAT_MAX, ow.FLOAT_RAW, ow.FLOAT_TRIM)
    },
    **{
        k.name: st.none() | st.sampled_from([codec.UNSET_DOUBLE, 0.0, -0.5, 101.5])
        | st.floats(allow_nan=False, allow_infinity=False).filter(sentinel.__ne__)
        for k, sentinel in ((opt.NOT_COMPUTED_M1, -1.0), (opt.NOT_COMPUTED_M2, -2.0))
    },
}


def ascii_values(kind: Kind, path: str = "") -> st.SearchStrategy[Any]:
    """Like :func:`values`, within what IB's Python client can send."""
    for end, named in (("secType", SEC_TYPES), ("orderType", ORDER_TYPES),
                       ("exchange", EXCHANGES)):
        if path.endswith(end):
            return st.sampled_from(named) | ascii_texts
    return ASCII_VALUES[kind.name]


@st.composite
def messages(draw: Any, cls: type[Message], version: int, pick: Pick = values) -> Message:
    """A random instance of ``cls`` whose every wire field at ``version`` is drawn
    (``pick``: the strategy of each field, :func:`values` or :func:`ascii_values`)."""
    obj = cls()
    _fill(draw, obj, cls.WIRE, version, pick)
    return obj
