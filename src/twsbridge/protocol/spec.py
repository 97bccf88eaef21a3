"""The declaration language of the message catalogue, and its compiler.

Each message is a slotted dataclass decorated with :func:`message`, which
names its direction and id, and may give ``WIRE``: the order of its fields on
the wire, each with its :class:`~twsbridge.protocol.codec.Kind` and the server
versions that carry it. Without ``WIRE`` the wire order is the order of the
annotations and the kind follows the type (int, float, str, bool, Decimal).

For one server version the compiler turns a declaration into two Python
functions, generated once and cached (as ``dataclasses`` and ``attrs`` do):
a decoder from the list of fields to the object, and an encoder from the
object to the payload text. No parser tests versions or kinds at run time.

Wire items:

* ``F(path, kind, since=, until=)``: one field; ``path`` may be dotted
  (``"contract.symbol"``) to fill a nested object.
* ``Group(path, item_type, items, ...)``: a count, then that many items.
* ``Flag(path, item_type, items)``: ``"1"`` and the items when the attribute
  is not None, ``"0"`` otherwise.
* ``When(predicate, items)``: items present only when ``predicate(msg)`` holds
  on what has been decoded so far (for example, combo legs of a BAG contract).
* ``PolyGroup(path, tag, variants)``: a count, then per item a type id (the
  item's ``tag`` attribute) choosing the item's class and layout (order conditions).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from itertools import repeat
from typing import Any, ClassVar, TypeVar, cast, dataclass_transform

from . import codec, decode_errors
from .codec import Kind
from .errors import ProtocolError

__all__ = [
    "IN",
    "OUT",
    "F",
    "Flag",
    "Group",
    "Message",
    "PolyGroup",
    "When",
    "field_name",
    "message",
]

IN = "in"  #: server to client (TWS's EIncomingMessage ids)
OUT = "out"  #: client to server (TWS's EOutgoingMessage ids)

_KIND_BY_TYPE: dict[Any, Kind] = {
    int: codec.INT,
    float: codec.FLOAT,
    str: codec.STR,
    bool: codec.BOOL,
    Decimal: codec.DECIMAL,
}


class _Item:
    since: int | None
    until: int | None

    def present(self, version: int) -> bool:
        if self.since is not None and version < self.since:
            return False
        return not (self.until is not None and version >= self.until)


class F(_Item):
    """One field: ``path`` of the attribute, its kind, versions [since, until)."""

    __slots__ = ("kind", "path", "since", "until")

    def __init__(
        self, path: str, kind: Kind, *, since: int | None = None, until: int | None = None
    ) -> None:
        self.path = path
        self.kind = kind
        self.since = since
        self.until = until


class Group(_Item):
    """A counted list: the count, then each item's fields (``item_type`` None: scalars)."""

    __slots__ = ("count_kind", "item_type", "items", "path", "since", "until")

    def __init__(
        self,
        path: str,
        item_type: type | None,
        items: Sequence[_Item],
        *,
        since: int | None = None,
        until: int | None = None,
    ) -> None:
        self.path = path
        self.item_type = item_type
        self.items = tuple(items)
        self.since = since
        self.until = until


class Flag(_Item):
    """An optional object: ``"1"`` then its fields, or ``"0"`` when it is None."""

    __slots__ = ("item_type", "items", "path", "since", "until")

    def __init__(
        self,
        path: str,
        item_type: type,
        items: Sequence[F],
        *,
        since: int | None = None,
        until: int | None = None,
    ) -> None:
        self.path = path
        self.item_type = item_type
        self.items = tuple(items)
        self.since = since
        self.until = until


class When(_Item):
    """Items present only when ``predicate(msg)`` holds (evaluated in wire order)."""

    __slots__ = ("items", "predicate", "since", "until")

    def __init__(
        self,
        predicate: Callable[[Any], bool],
        items: Sequence[_Item],
        *,
        since: int | None = None,
        until: int | None = None,
    ) -> None:
        self.predicate = predicate
        self.items = tuple(items)
        self.since = since
        self.until = until


class PolyGroup(_Item):
    """A counted list of items of several types: the count, then per item its int
    type id (the item's ``tag`` attribute) and the fields of the layout that id
    chooses in ``variants`` (``{type id: (item class, items)}``)."""

    __slots__ = ("path", "since", "tag", "until", "variants")

    def __init__(
        self,
        path: str,
        tag: str,
        variants: Mapping[int, tuple[type, Sequence[_Item]]],
        *,
        since: int | None = None,
        until: int | None = None,
    ) -> None:
        self.path = path
        self.tag = tag
        self.variants = {k: (t, tuple(items)) for k, (t, items) in variants.items()}
        self.since = since
        self.until = until


Decoder = Callable[[list[str]], "Message"]
Encoder = Callable[["Message"], str]


class Message:
    """Base of every catalogued message.

    Class attributes set by :func:`message`: ``ID`` (int message id),
    ``NAME`` (the TWS API's name, ``"tickPrice"``), ``DIRECTION`` (``IN`` from
    TWS, ``OUT`` to TWS) and ``WIRE`` (the wire layout).

    Messages print as IbPy printed them: ``<nextValidId orderId=1>``.
    """

    __slots__ = ()
    ID: ClassVar[int]
    NAME: ClassVar[str]
    DIRECTION: ClassVar[str]
    WIRE: ClassVar[tuple[_Item, ...]]
    _codecs: ClassVar[dict[int, tuple[Decoder, Encoder]]]

    def __repr__(self) -> str:
        parts = [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in _fields(self)
            if f.name != "version"
        ]
        return f"<{self.NAME} {' '.join(parts)}>" if parts else f"<{self.NAME}>"

    __str__ = __repr__

    def items(self) -> list[tuple[str, Any]]:
        """``(name, value)`` pairs of the message's attributes, in order."""
        return [(f.name, getattr(self, f.name)) for f in _fields(self)]

    @classmethod
    def codec(cls, version: int) -> tuple[Decoder, Encoder]:
        """The (decoder, encoder) pair compiled for ``version`` (cached)."""
        try:
            return cls._codecs[version]
        except KeyError:
            pair = _compile(cls, version)
            cls._codecs[version] = pair
            return pair


M = TypeVar("M", bound=type[Message])


@dataclass_transform(field_specifiers=(dataclasses.field,))
def message(direction: str, msg_id: int, name: str) -> Callable[[M], M]:
    """Class decorator: make ``cls`` a slotted dataclass and register its wire layout.

    Raises:
        TypeError: when ``WIRE`` names an attribute the class does not have.
    """

    def wrap(cls: M) -> M:
        dc = cast(M, dataclasses.dataclass(slots=True, repr=False)(cls))
        dc.ID = msg_id
        dc.NAME = name
        dc.DIRECTION = direction
        wire = cls.__dict__.get("WIRE")
        if wire is None:
            hints = typing.get_type_hints(dc)
            wire = tuple(
                F(f.name, _KIND_BY_TYPE[hints[f.name]]) for f in _fields(dc)
            )
        dc.WIRE = tuple(wire)
        names = {f.name for f in _fields(dc)}
        for top in _top_names(dc.WIRE):
            if top not in names:
                raise TypeError(f"{cls.__name__}.WIRE names unknown attribute {top!r}")
        dc._codecs = {}
        _REGISTRY[direction][msg_id] = dc
        return dc

    return wrap


_REGISTRY: dict[str, dict[int, type[Message]]] = {IN: {}, OUT: {}}


def _fields(cls: type[Message] | Message) -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(cls)  # type: ignore[arg-type]


def registry(direction: str) -> dict[int, type[Message]]:
    """Every message class of one direction, by message id."""
    return _REGISTRY[direction]


def _top_names(items: Sequence[_Item]) -> list[str]:
    out: list[str] = []
    for it in items:
        if isinstance(it, (F, Group, Flag, PolyGroup)):
            out.append(it.path.split(".")[0])
        elif isinstance(it, When):
            out.extend(_top_names(it.items))
    return out


# ---------------------------------------------------------------- compiler


class _Gen:
    """Builds the source of one decoder and one encoder."""

    def __init__(self, cls: type[Message], version: int) -> None:
        self.cls = cls
        self.version = version
        self.ns: dict[str, Any] = {
            "UNSET_INTEGER": codec.UNSET_INTEGER,
            "UNSET_LONG": codec.UNSET_LONG,
            "UNSET_DOUBLE": codec.UNSET_DOUBLE,
            "UNSET_DECIMAL": codec.UNSET_DECIMAL,
            "DECIMAL_UNSET_TEXTS": codec.DECIMAL_UNSET_TEXTS,
            "_not_a_size": codec.not_a_size,
            "Decimal": Decimal,
            "_new": object.__new__,
            "_cls": cls,
        }
        self.dec: list[str] = []
        self.enc: list[str] = []
        self.names: list[str] = []  # field path for each fixed index, for errors
        self._n = 0
        self.trace = False

    def sym(self, obj: Any, prefix: str = "_k") -> str:
        self._n += 1
        name = f"{prefix}{self._n}"
        self.ns[name] = obj
        return name

    def decode_expr(self, kind: Kind, src: str) -> str:
        # the tracing decoder (errors only) calls the functions, for their error messages
        if self.trace:
            return f"{self.sym(kind.decode, '_d')}({src})"
        if kind.cache is not None and kind.miss is not None:
            # a cached value, else kind.miss (decodes, then caches): one dict lookup
            get = f"_g{id(kind.cache)}"
            miss = f"_m{id(kind.cache)}"
            self.ns[get] = kind.cache.get
            self.ns[miss] = kind.miss
            return f"(_v if (_v := {get}({src})) is not None else {miss}({src}))"
        if kind.inline is not None:
            return kind.inline.format(src)
        return f"{self.sym(kind.decode, '_d')}({src})"

    def encode_expr(self, kind: Kind, src: str) -> str:
        if kind is codec.STR:
            return src
        return f"{self.sym(kind.encode, '_e')}({src})"


def _compile(cls: type[Message], version: int) -> tuple[Decoder, Encoder]:
    flat = _flat_decoder(cls, version)
    decode = flat if flat is not None else _build(cls, version, trace=False)[0]
    encode = _build(cls, version, trace=False)[1]
    return decode, encode


def _build(cls: type[Message], version: int, *, trace: bool) -> tuple[Decoder, Encoder]:
    g = _Gen(cls, version)
    g.trace = trace
    dec = g.dec
    enc = g.enc
    dec.append("def decode(f):")
    dec.append("    o = _cls()")
    dec.append("    i = 1")
    dec.append("    t = u = ''")
    dec.append("    try:")
    dec.append("        pass")
    enc.append("def encode(o):")
    enc.append("    p = [_id]")
    g.ns["_id"] = str(cls.ID)
    _emit(g, cls.WIRE, "o", 2, 1)
    dec.append("    except (ValueError, IndexError, TypeError, ArithmeticError) as e:")
    # traced: past the end, the field that read the final "" is the first one missing
    last = "u if u and isinstance(e, IndexError) else t" if trace else "t"
    dec.append(f"        raise _fail(f, i, e, {last}) from None")
    dec.append("    if i != len(f) - 1:")
    dec.append("        raise _extra(f, i, t)")
    dec.append("    return o")
    enc.append("    p.append('')")
    enc.append("    s = '\\0'.join(p)")
    enc.append("    if s.count('\\0') != len(p) - 1:")  # a NUL inside a value would split it
    enc.append("        raise _nul(p)")
    enc.append("    return s")
    def retrace(f: list[str]) -> object:
        return _traced(cls, version)(f)

    g.ns["_fail"] = decode_errors.failure(cls.NAME, retrace)
    g.ns["_extra"] = decode_errors.extra(cls.NAME, retrace)
    g.ns["_nul"] = decode_errors.nul_in_value(cls.NAME, cls.ID)
    src = "\n".join(dec) + "\n\n" + "\n".join(enc) + "\n"
    exec(compile(src, f"<twsbridge codec {cls.__name__} v{version}>", "exec"), g.ns)
    return g.ns["decode"], g.ns["encode"]


_TRACED: dict[tuple[type[Message], int], Decoder] = {}


def _traced(cls: type[Message], version: int) -> Decoder:
    """The tracing decoder of ``cls`` at ``version`` (errors only), compiled once."""
    key = (cls, version)
    decoder = _TRACED.get(key)
    if decoder is None:
        decoder = _TRACED[key] = _build(cls, version, trace=True)[0]
    return decoder


def _flat_decoder(cls: type[Message], version: int) -> Decoder | None:
    """A faster decoder for messages whose fields are all plain and present."""
    items = [it for it in cls.WIRE if it.present(version)]
    if not all(isinstance(it, F) and "." not in it.path for it in items):
        return None
    fields = [f.name for f in _fields(cls)]
    by_path = {it.path: (k + 1, it) for k, it in enumerate(items) if isinstance(it, F)}
    if sorted(by_path) != sorted(fields) or len(by_path) != len(items):
        return None
    if hasattr(cls, "__post_init__"):
        return None
    g = _Gen(cls, version)
    defaults = {f.name: f.default for f in _fields(cls)}
    sets = []
    for name in fields:
        k, it = by_path[name]
        expr = g.decode_expr(it.kind, f"v{k}")
        if name == "version" and _decodes_to_itself(it.kind, defaults[name]):
            # the legacy version is nearly always the class default: a text compare
            d = defaults[name]
            expr = f"({d!r} if v{k} == {str(d)!r} else {expr})"
        sets.append(f"        o.{name} = {expr}\n")
    # the fields are unpacked into locals (a wrong count raises ValueError: the slow
    # decoder then reports it); every slot is set, so the object is built without
    # __init__ (a dataclass __init__ costs about as much as two int() conversions)
    unpack = ", ".join(["_", *(f"v{k}" for k in range(1, len(items) + 1)), "_"])
    g.ns["_slow"] = _build(cls, version, trace=False)[0]
    src = (
        "def decode(f):\n"
        "    try:\n"
        f"        {unpack} = f\n"
        "        o = _new(_cls)\n"
        f"{''.join(sets)}"
        "        return o\n"
        "    except (ValueError, TypeError, ArithmeticError):\n"
        "        return _slow(f)\n"
    )
    exec(compile(src, f"<twsbridge fast decoder {cls.__name__} v{version}>", "exec"), g.ns)
    decode: Decoder = g.ns["decode"]
    return decode


def _decodes_to_itself(kind: Kind, value: Any) -> bool:
    """``value`` is an int that ``kind`` decodes from ``str(value)`` to itself."""
    if type(value) is not int:
        return False
    try:
        back = kind.decode(str(value))
    except (ValueError, TypeError, ArithmeticError):
        return False
    return type(back) is int and back == value


def _target(path: str, obj: str) -> str:
    return obj + "." + path if path else obj


def _emit(g: _Gen, items: Sequence[_Item], obj: str, dind: int, eind: int) -> None:
    dpad = "    " * dind
    epad = "    " * eind
    for it in items:
        if not it.present(g.version):
            continue
        if isinstance(it, F):
            if g.trace:
                g.dec.append(f"{dpad}u, t = t, {it.path!r}")
            g.dec.append(f"{dpad}{_target(it.path, obj)} = {g.decode_expr(it.kind, 'f[i]')}")
            g.dec.append(f"{dpad}i += 1")
            g.enc.append(f"{epad}p.append({g.encode_expr(it.kind, _target(it.path, obj))})")
        elif isinstance(it, Group):
            lst, item, n = _emit_count_loop(g, it.path, obj, dpad, epad)
            cnt = f"_n{n}"
            if it.item_type is None:
                (sub,) = it.items
                assert isinstance(sub, F), "a scalar group holds one F"
                if g.trace:
                    g.dec.append(f"{dpad}    u, t = t, {it.path!r}")
                g.dec.append(f"{dpad}    {lst}.append({g.decode_expr(sub.kind, 'f[i]')})")
                g.dec.append(f"{dpad}    i += 1")
                g.enc.append(f"{epad}    p.append({g.encode_expr(sub.kind, item)})")
            elif (flat := None if g.trace else _flat_items(it, g.version)) is not None:
                # items that are exactly the item type's plain fields: the objects are
                # built without __init__ (as the flat decoder does), then filled in one
                # loop over one strided slice of the fields per attribute
                mark = len(g.dec)
                _emit(g, it.items, item, dind + 1, eind + 1)  # for the encoder lines
                # the list and loop lines above are replaced here
                assert g.dec[mark - 2 : mark] == [f"{dpad}{lst} = []",
                                                  f"{dpad}for _ in range({cnt}):"]
                del g.dec[mark - 2 :]
                k, end = len(flat), f"_e{n}"
                names = [f"_v{n}_{j}" for j in range(k)]
                cols = ", ".join(f"f[{f'i + {j}' if j else 'i'} : {end} : {k}]" for j in range(k))
                g.ns["_repeat"] = repeat
                g.dec.append(f"{dpad}{end} = i + {k} * {cnt}")
                g.dec.append(f"{dpad}if {end} > len(f): raise ValueError('bad count')")
                new = f"_new, _repeat({g.sym(it.item_type, '_t')}, {cnt})"
                g.dec.append(f"{dpad}{lst} = list(map({new}))")
                g.dec.append(f"{dpad}for {item}, {', '.join(names)} in zip({lst}, {cols}):")
                for sub, v in zip(flat, names, strict=True):
                    g.dec.append(f"{dpad}    {item}.{sub.path} = {g.decode_expr(sub.kind, v)}")
                g.dec.append(f"{dpad}i = {end}")
            else:
                g.dec.append(f"{dpad}    {item} = {g.sym(it.item_type, '_t')}()")
                _emit(g, it.items, item, dind + 1, eind + 1)
                g.dec.append(f"{dpad}    {lst}.append({item})")
            g.dec.append(f"{dpad}{_target(it.path, obj)} = {lst}")
        elif isinstance(it, Flag):
            n = g._n = g._n + 1
            item = f"_it{n}"
            if g.trace:
                g.dec.append(f"{dpad}u, t = t, {it.path!r}")
            g.dec.append(f"{dpad}if f[i] not in ('', '0'):")
            g.dec.append(f"{dpad}    i += 1")
            g.dec.append(f"{dpad}    {item} = {g.sym(it.item_type, '_t')}()")
            body_start = len(g.enc)
            _emit(g, it.items, item, dind + 1, eind + 1)
            g.dec.append(f"{dpad}    {_target(it.path, obj)} = {item}")
            g.dec.append(f"{dpad}else:")
            g.dec.append(f"{dpad}    i += 1")
            g.dec.append(f"{dpad}    {_target(it.path, obj)} = None")
            # encoder: the sub-items were emitted above at eind + 1; wrap them
            body = g.enc[body_start:]
            del g.enc[body_start:]
            g.enc.append(f"{epad}{item} = {_target(it.path, obj)}")
            g.enc.append(f"{epad}if {item} is None:")
            g.enc.append(f"{epad}    p.append('0')")
            g.enc.append(f"{epad}else:")
            g.enc.append(f"{epad}    p.append('1')")
            g.enc.extend(body)
        elif isinstance(it, PolyGroup):
            _emit_poly(g, it, obj, dind, eind)
        elif isinstance(it, When):
            pred = g.sym(it.predicate, "_p")
            g.dec.append(f"{dpad}if {pred}({obj}):")
            g.dec.append(f"{dpad}    pass")
            g.enc.append(f"{epad}if {pred}({obj}):")
            g.enc.append(f"{epad}    pass")
            _emit(g, it.items, obj, dind + 1, eind + 1)
        else:  # pragma: no cover - declarations are static
            raise TypeError(f"unknown wire item {it!r}")


def _emit_count_loop(
    g: _Gen, path: str, obj: str, dpad: str, epad: str
) -> tuple[str, str, int]:
    """The count field and the loop header of a counted list, in decoder and encoder.

    Returns the list variable, the item variable and the serial number used.
    """
    n = g._n = g._n + 1
    lst, item, cnt = f"_l{n}", f"_it{n}", f"_n{n}"
    if g.trace:
        g.dec.append(f"{dpad}u, t = t, {path + '.count'!r}")
    g.dec.append(f"{dpad}{cnt} = int(f[i])")
    g.dec.append(f"{dpad}i += 1")
    g.dec.append(f"{dpad}if {cnt} < 0 or {cnt} > len(f): raise ValueError('bad count')")
    g.dec.append(f"{dpad}{lst} = []")
    g.dec.append(f"{dpad}for _ in range({cnt}):")
    g.enc.append(f"{epad}{lst} = {_target(path, obj)}")
    g.enc.append(f"{epad}p.append(str(len({lst})))")
    g.enc.append(f"{epad}for {item} in {lst}:")
    return lst, item, n


def _emit_poly(g: _Gen, it: PolyGroup, obj: str, dind: int, eind: int) -> None:
    dpad = "    " * dind
    epad = "    " * eind
    lst, item, n = _emit_count_loop(g, it.path, obj, dpad, epad)
    tag = f"_tg{n}"
    if g.trace:
        g.dec.append(f"{dpad}    u, t = t, {it.path + '.' + it.tag!r}")
    g.dec.append(f"{dpad}    {tag} = int(f[i])")
    g.dec.append(f"{dpad}    i += 1")
    g.enc.append(f"{epad}    {tag} = {item}.{it.tag}")
    g.enc.append(f"{epad}    p.append(str(int({tag})))")
    for k, (value, (item_type, items)) in enumerate(it.variants.items()):
        kw = "if" if k == 0 else "elif"
        g.dec.append(f"{dpad}    {kw} {tag} == {int(value)}:")
        g.dec.append(f"{dpad}        {item} = {g.sym(item_type, '_t')}()")
        g.enc.append(f"{epad}    {kw} {tag} == {int(value)}:")
        g.enc.append(f"{epad}        pass")
        _emit(g, items, item, dind + 2, eind + 2)
    for lines, pad in ((g.dec, dpad), (g.enc, epad)):
        lines.append(f"{pad}    else:")
        lines.append(f"{pad}        raise ValueError('unknown {it.path} type ' + str({tag}))")
    g.dec.append(f"{dpad}    {item}.{it.tag} = {tag}")
    g.dec.append(f"{dpad}    {lst}.append({item})")
    g.dec.append(f"{dpad}{_target(it.path, obj)} = {lst}")


def _flat_items(group: Group, version: int) -> list[F] | None:
    """The items of ``group`` when they are all its item type's fields, plain."""
    items = [it for it in group.items if it.present(version)]
    item_type = group.item_type
    if item_type is None or not dataclasses.is_dataclass(item_type):
        return None
    if hasattr(item_type, "__post_init__") or not hasattr(item_type, "__slots__"):
        return None
    names = [f.name for f in dataclasses.fields(item_type)]
    flat = [it for it in items if isinstance(it, F) and "." not in it.path]
    if len(flat) != len(items) or sorted(it.path for it in flat) != sorted(names):
        return None
    return flat


def field_name(cls: type[Message], version: int, fields: Sequence[str], index: int) -> str:
    """The name (path) of the field at ``index`` in a frame of ``cls`` whose fields
    before it are ``fields[:index]`` (they decide counts and optional items);
    ``"#index"`` when the layout has no field there.

    The tracing decoder reads the known fields then one empty one where the
    field at fault is: the error it raises past them names that field.
    """
    probe = [*fields[:index], ""]
    try:
        _traced(cls, version)(probe)
    except ProtocolError as e:
        if e.field and not e.field.startswith("#"):
            return e.field
    return f"#{index}"
