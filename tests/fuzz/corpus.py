"""Seed frames and their mutations, for the decoder fuzzers.

Seeds are real frames: every frame of the recorded TWS session (server version
176), the hand-written wire cases of ``tests/protocol/cases.py``, and catalogued
messages filled with random values (:func:`random_message`), realistic ones
(AAPL, LMT, "1 D") or absurd ones (NaN, huge ids, garbage enums). The
mutations (:data:`MUTATIONS`) break them the ways a broken or hostile peer
would: truncated, a field dropped, duplicated or replaced by junk, NULs, flipped
bytes, a wrong length prefix, frames glued together; :func:`chunks` then splits
the byte stream at random points, as a socket does.

Everything is driven by a :class:`random.Random`, so a run is reproducible from
its seed; the hypothesis tests draw those seeds and let hypothesis shrink them.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import random
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from protocol.cases import CASES
from twsbridge.protocol import codec, encode_message
from twsbridge.protocol.catalogue import _order_wire as ow
from twsbridge.protocol.catalogue import options as opt
from twsbridge.protocol.catalogue import outgoing as O
from twsbridge.protocol.codec import Kind
from twsbridge.protocol.models import Contract, ExecutionFilter, TagValue
from twsbridge.protocol.order_models import Order
from twsbridge.protocol.spec import IN, OUT, F, Flag, Group, Message, PolyGroup, When, registry

__all__ = [
    "MUTATIONS",
    "RECORDING",
    "VERSIONS",
    "chunks",
    "incoming_seeds",
    "mutate",
    "random_message",
    "recording_frames",
    "request",
    "request_seeds",
]

#: Server versions the fuzzers negotiate (the range ends and the format gates between).
VERSIONS = (157, 163, 170, 176, 178)
RECORDING = Path(__file__).resolve().parents[2].parent / "shared/data/tws-recording-v176.json"


def frame(payload: bytes) -> bytes:
    """``payload`` with its 4-byte big-endian length (any length: no check)."""
    return len(payload).to_bytes(4, "big") + payload


@cache
def recording_frames() -> tuple[bytes, ...]:
    """Every framed answer of the recorded TWS session but the handshake's (empty
    when the shared data is absent)."""
    if not RECORDING.exists():
        return ()
    raw: dict[str, list[str]] = json.loads(RECORDING.read_text())
    return tuple(base64.b64decode(b) for key, frames in raw.items() if key != "API_"
                 for b in frames)


def case_frames(direction: str, version: int) -> list[bytes]:
    """The frames of the hand-written wire cases of one direction at ``version``."""
    return [encode_message(c.msg, version) for c in CASES if c.msg.DIRECTION == direction]


# ------------------------------------------------------------------ values

_INTS = [0, 1, -1, 2, 7, 100, 2**31 - 1, -(2**31), 2**31, 2**63 - 1, -(2**63), 10**30]
_FLOATS = [0.0, -0.0, 1.5, 101.25, 171.25, -5.0, 1e-9, 1e308, codec.UNSET_DOUBLE,
           float("inf"), float("-inf"), float("nan")]
_DECIMALS = [Decimal(0), Decimal(1), Decimal(100), Decimal(-100), Decimal("0.5"),
             Decimal("1E-30"), Decimal("1E+30"), Decimal("NaN"), Decimal("Infinity"),
             Decimal("-Infinity"), codec.UNSET_DECIMAL]
_TEXTS = ["", "x", "AAPL", "é", "日本", "\U0001f600", "a\\u00e9", "\\ud800", "\\", ";", "=",
          "a" * 300, " ", "-", "nan", "1", "BUY"]

#: Realistic values by the attribute's name (the last part of its path); half the
#: time a realistic message uses these, else the kind's absurd values.
NAMED: dict[str, list[Any]] = {
    "symbol": ["AAPL", "SPY", "IBM", "AMD", "EUR", "MSFT", "XXX", "", "aapl"],
    "secType": ["STK", "OPT", "FUT", "CASH", "BAG", "IND", "BOND", "", "stk", "XYZ"],
    "exchange": ["SMART", "IDEAL", "IDEALPRO", "NASDAQ", "ISLAND", "CBOE", "IBKRATS", "", "smart"],
    "primaryExchange": ["NASDAQ", "NYSE", "ARCA", ""],
    "currency": ["USD", "EUR", "JPY", "", "XXX"],
    "localSymbol": ["AAPL", "EUR.USD", "", "SPY   240119C00450000"],
    "conId": [0, 265598, 8314, 4391, 272093, 12087792, -1, 2**31 - 1, 999999999],
    "secIdType": ["ISIN", "CUSIP", "", "isin"],
    "secId": ["US0378331005", "US5949181045", "", "X"],
    "right": ["C", "P", "", "CALL", "?"],
    "lastTradeDateOrContractMonth": ["", "20130315", "201303", "garbage"],
    "action": ["BUY", "SELL", "SSHORT", "buy", "", "HOLD"],
    "orderType": ["MKT", "LMT", "STP", "STP LMT", "TRAIL", "TRAIL LIMIT", "MOC", "LOC",
                  "MIDPRICE", "REL", "PEG MID", "MIT", "", "lmt", "BOGUS"],
    "totalQuantity": [Decimal(1), Decimal(100), Decimal(0), Decimal(-5), Decimal("0.5"),
                      Decimal("1E+12"), Decimal("NaN"), Decimal("Infinity"),
                      codec.UNSET_DECIMAL],
    "tif": ["DAY", "GTC", "IOC", "FOK", "GTD", "OPG", "", "xyz"],
    "goodTillDate": ["", "20130302 10:00:00", "20130301 09:00:00 US/Eastern", "garbage",
                     "99999999 99:99:99", "20130302-15:00:00"],
    "whatToShow": ["TRADES", "MIDPOINT", "BID", "ASK", "BID_ASK", "ADJUSTED_LAST",
                   "HISTORICAL_VOLATILITY", "", "xyz"],
    "durationStr": ["1 D", "2 W", "1 M", "1 Y", "3600 S", "0 D", "-1 D", "99999999 D", "",
                    "D", "1 X", "1e9 S", "10000000000000000000000 S", "9999 Y", "1 Y",
                    "100 Y", "\u0661 D", "9" * 5000 + " D"],
    "barSizeSetting": ["1 min", "5 secs", "1 hour", "1 day", "1 week", "1 month", "",
                       "7 mins", "1 secs", "1 hour "],
    "endDateTime": ["", "20130228 16:00:00", "20130228 16:00:00 US/Eastern",
                    "20130228-21:00:00", "garbage", "99991231 23:59:59", "00000000 00:00:00",
                    "20130228 16:00:00 Mars/Olympus", "19000101 00:00:00",
                    "00010101 00:00:00", "20130228 16:00:00 " + "Z" * 300, "16:00:00",
                    "20130228 16:00:00 ../etc", "20130228"],
    "formatDate": [1, 2, 0, 3, -1, 2**31 - 1],
    "marketDataType": [1, 2, 3, 4, 0, 5, -1],
    "barSize": [5, 0, 10, -5],
    "pattern": ["IBM", "a", "", "%", ".*", "AAPL" * 50, "("],
    "acctCode": ["", "DU1234567", "DU999"],
    "account": ["", "DU1234567", "DU999"],
    "groupName": ["All", "", "x"],
    "tags": ["NetLiquidation,BuyingPower", "$LEDGER", "$LEDGER:ALL", "", "garbage", ",,,"],
    "modelCode": ["", "M1"],
    "reqId": [1, 2, 3, 0, -1, 2**31 - 1, 10**12],
    "orderId": [1, 2, 3, 50, 0, -1, 2**31 - 1],
    "parentId": [0, 1, 2, -1],
    "clientId": [0, 1, 2, -1, 2**31 - 1],
    "genericTickList": ["", "233", "100,101,104", "abc", "999999", ","],
    "time": ["", "20130301 09:30:00", "garbage", "20130301-14:30:00"],
    "side": ["", "BUY", "SELL", "x"],
    "numIds": [1, -1, 0],
    "lmtPrice": [100.0, 171.25, 0.0, -1.0, 1e300, float("nan"), float("inf"),
                 codec.UNSET_DOUBLE, 0.001],
    "auxPrice": [1.0, 0.0, -1.0, float("nan"), codec.UNSET_DOUBLE, 1e300],
    "trailingPercent": [1.0, 0.0, 150.0, -1.0, float("nan"), codec.UNSET_DOUBLE],
    "trailStopPrice": [100.0, codec.UNSET_DOUBLE, float("nan"), -1.0],
    "whatIf": [True, False],
    "transmit": [True, True, False],
    "outsideRth": [False, True],
    "ocaGroup": ["", "g1", "g2"],
    "ocaType": [0, 1, 2, 3, -1],
}

_KIND_VALUES: dict[str, list[Any]] = {
    codec.STR.name: _TEXTS, codec.ESTR.name: _TEXTS,
    codec.INT.name: _INTS, codec.INT_MAX.name: _INTS, codec.LONG.name: _INTS,
    codec.FLOAT.name: _FLOATS, codec.FLOAT_MAX.name: _FLOATS,
    ow.FLOAT_RAW.name: _FLOATS, ow.FLOAT_TRIM.name: _FLOATS,
    codec.DECIMAL.name: _DECIMALS, codec.BOOL.name: [True, False],
    ow.CONJ.name: [True, False], ow.OPT_BOOL.name: [None, True, False],
    opt.NOT_COMPUTED_M1.name: [None, *_FLOATS], opt.NOT_COMPUTED_M2.name: [None, *_FLOATS],
}


def random_text(rng: random.Random, n: int = 12) -> str:
    """Any text without NUL and without lone surrogates (UTF-8 cannot carry them)."""
    return "".join(chr(c) for c in (rng.randrange(1, 0x2FFFF) for _ in range(rng.randrange(n)))
                   if not 0xD800 <= c <= 0xDFFF)


@cache
def _named(name: str, kind: Kind) -> list[Any]:
    """The values of :data:`NAMED` that fit ``kind`` (``time`` is text or an int)."""
    return [v for v in NAMED[name]
            if isinstance(v, kind.pytype) and (kind.pytype is bool or type(v) is not bool)]


def _value(kind: Kind, path: str, rng: random.Random, realistic: bool) -> Any:
    name = path.rsplit(".", 1)[-1]
    if kind is ow.TAGS:
        return [TagValue(rng.choice(["a", "", "k"]), rng.choice(_TEXTS).replace(";", ""))
                for _ in range(rng.randrange(3))]
    if name in NAMED and (realistic or rng.random() < 0.3):
        named = _named(name, kind)
        if named:
            return rng.choice(named)
    pool = _KIND_VALUES[kind.name]
    if pool is _TEXTS and rng.random() < 0.3:
        return random_text(rng)
    if pool is _INTS and rng.random() < 0.3:
        return rng.randrange(-1000, 1000)
    return rng.choice(pool)


def _set(obj: Any, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for name in parents:
        obj = getattr(obj, name)
    setattr(obj, last, value)


def _fill(obj: Any, items: Sequence[Any], version: int, rng: random.Random,
          realistic: bool) -> None:
    for it in items:
        if not it.present(version):
            continue
        if isinstance(it, F):
            if it.path == "version" and rng.random() < 0.9:
                continue  # the legacy message version: the class default, nearly always
            _set(obj, it.path, _value(it.kind, it.path, rng, realistic))
        elif isinstance(it, Group):
            lst: list[Any] = []
            for _ in range(rng.randrange(4)):
                if it.item_type is None:
                    lst.append(_value(it.items[0].kind, "", rng, realistic))
                else:
                    item = it.item_type()
                    _fill(item, it.items, version, rng, realistic)
                    lst.append(item)
            _set(obj, it.path, lst)
        elif isinstance(it, Flag):
            item = None
            if rng.random() < 0.5:
                item = it.item_type()
                _fill(item, it.items, version, rng, realistic)
            _set(obj, it.path, item)
        elif isinstance(it, PolyGroup):
            members = []
            for _ in range(rng.randrange(3)):
                tag = rng.choice(sorted(it.variants))
                item_type, sub_items = it.variants[tag]
                member = item_type()
                setattr(member, it.tag, tag)
                _fill(member, sub_items, version, rng, realistic)
                members.append(member)
            _set(obj, it.path, members)
        elif isinstance(it, When):
            if it.predicate(obj):
                _fill(obj, it.items, version, rng, realistic)


#: Contracts the simulator knows (by symbol, conId or local symbol).
VALID_CONTRACTS = (
    Contract(symbol="AAPL", secType="STK", exchange="SMART", currency="USD"),
    Contract(conId=265598, exchange="SMART"),
    Contract(symbol="SPY", secType="STK", exchange="SMART", currency="USD"),
    Contract(conId=8314, exchange="SMART"),
    Contract(symbol="EUR", secType="CASH", exchange="IDEALPRO", currency="USD"),
    Contract(localSymbol="USD.JPY", secType="CASH", exchange="IDEALPRO"),
)
#: Order attributes set coherently, then one or two of them made absurd.
_ORDER_CORE: dict[str, list[Any]] = {
    "action": ["BUY", "SELL"],
    "orderType": ["LMT", "MKT", "STP", "STP LMT", "TRAIL", "TRAIL LIMIT", "MOC", "LOC",
                  "MIDPRICE", "REL", "MIT"],
    "totalQuantity": [Decimal(1), Decimal(10), Decimal(100)],
    "lmtPrice": [440.5, 100.0, 1.3, 90.0], "auxPrice": [1.0, 430.0, codec.UNSET_DOUBLE],
    "tif": ["DAY", "GTC", "IOC"], "transmit": [True], "whatIf": [False, False, True],
    "trailingPercent": [codec.UNSET_DOUBLE, 1.0], "outsideRth": [False],
    "goodTillDate": [""], "parentId": [0], "ocaGroup": [""],
}


def _coherent(obj: Any, rng: random.Random) -> None:
    """Make a message's contract one the simulator knows and its order plausible,
    then one or two order attributes absurd: the checks past the look-up run."""
    if isinstance(getattr(obj, "contract", None), Contract):
        obj.contract = dataclasses.replace(rng.choice(VALID_CONTRACTS))
    order = getattr(obj, "order", None)
    if order is not None:
        for name, pool in _ORDER_CORE.items():
            setattr(order, name, rng.choice(pool))
        for name in rng.sample(sorted(_ORDER_CORE), rng.randrange(3)):
            setattr(order, name, rng.choice(NAMED.get(name, _ORDER_CORE[name])))


def random_message(cls: type[Message], version: int, rng: random.Random,
                   realistic: bool = True) -> Message:
    """An instance of ``cls`` with every wire field at ``version`` drawn: from
    :data:`NAMED` (realistic) or from the kind's edge values (0, -1, 2**63, NaN,
    inf, unset sentinels, odd text). A realistic request designates a contract
    the simulator knows, two times in three."""
    obj = cls()
    _fill(obj, cls.WIRE, version, rng, realistic)
    if realistic and rng.random() < 0.67:
        _coherent(obj, rng)
    return obj


_ACCT = "DU1234567"


_LAST_ORDER_ID = [1000]


def _templates() -> dict[type[Message], Callable[[random.Random], Message]]:
    """A well-formed request of every kind the simulator serves (answered, not refused)."""
    def order(rng: random.Random) -> Order:
        return Order(action=rng.choice(["BUY", "SELL"]), totalQuantity=Decimal(100),
                     orderType=rng.choice(["LMT", "MKT", "STP", "TRAIL", "MIDPRICE", "REL"]),
                     lmtPrice=rng.choice([440.0, 1.3, 90.0]), auxPrice=1.0, tif="DAY")

    def order_id(rng: random.Random, new: bool) -> int:
        """Mostly a new id (the next of a counter: ids only grow, as TWS wants them),
        else the last one (modify, cancel) or a small one (103 duplicate, 10147)."""
        x = rng.random()
        if new and x < 0.7:
            _LAST_ORDER_ID[0] += 1
        return _LAST_ORDER_ID[0] if x < 0.8 else rng.choice([1, 2, 3, 5, 8])

    def contract(rng: random.Random) -> Contract:
        return dataclasses.replace(rng.choice(VALID_CONTRACTS))  # a copy: requests mutate it

    def what(c: Contract, rng: random.Random) -> str:
        """Data the contract has (forex: no trades)."""
        if c.secType == "CASH" or c.conId == 12087792:
            return rng.choice(["MIDPOINT", "BID", "ASK"])
        return rng.choice(["TRADES", "MIDPOINT", "BID"])

    def req(rng: random.Random) -> int:
        return rng.choice([1, 2, 3, 7])

    return {
        O.ReqMktData: lambda r: O.ReqMktData(reqId=req(r), contract=contract(r),
                                             genericTickList=r.choice(["", "233"]),
                                             snapshot=r.random() < 0.3),
        O.CancelMktData: lambda r: O.CancelMktData(reqId=req(r)),
        O.ReqAccountUpdates: lambda r: O.ReqAccountUpdates(r.random() < 0.7, _ACCT),
        O.ReqExecutions: lambda r: O.ReqExecutions(req(r), ExecutionFilter(
            clientId=1, time="20130301 09:30:00", symbol="AAPL")),
        O.ReqContractDetails: lambda r: O.ReqContractDetails(req(r), contract(r)),
        O.ReqHistoricalData: lambda r: O.ReqHistoricalData(
            reqId=req(r), contract=(c := contract(r)),
            endDateTime=r.choice(["", "20130228 16:00:00"]),
            barSizeSetting=(b := r.choice(["1 hour", "1 day", "5 mins", "1 week"])),
            durationStr={"1 hour": "2 D", "1 day": "1 M", "5 mins": "1 D"}.get(b, "1 Y"),
            whatToShow=what(c, r), formatDate=r.choice([1, 2]), keepUpToDate=r.random() < 0.2),
        O.CancelHistoricalData: lambda r: O.CancelHistoricalData(reqId=req(r)),
        O.ReqRealTimeBars: lambda r: O.ReqRealTimeBars(req(r), c := contract(r), 5, what(c, r)),
        O.CancelRealTimeBars: lambda r: O.CancelRealTimeBars(reqId=req(r)),
        O.ReqMarketDataType: lambda r: O.ReqMarketDataType(marketDataType=r.randrange(1, 5)),
        O.ReqAccountSummary: lambda r: O.ReqAccountSummary(req(r), "All",
                                                           "NetLiquidation,$LEDGER:ALL"),
        O.CancelAccountSummary: lambda r: O.CancelAccountSummary(reqId=req(r)),
        O.ReqAccountUpdatesMulti: lambda r: O.ReqAccountUpdatesMulti(req(r), _ACCT, "", True),
        O.CancelAccountUpdatesMulti: lambda r: O.CancelAccountUpdatesMulti(reqId=req(r)),
        O.ReqMatchingSymbols: lambda r: O.ReqMatchingSymbols(req(r), r.choice(["AA", "I"])),
        O.ReqHeadTimeStamp: lambda r: O.ReqHeadTimeStamp(req(r), c := contract(r), True,
                                                         what(c, r), r.choice([1, 2])),
        O.PlaceOrder: lambda r: O.PlaceOrder(orderId=order_id(r, True), contract=contract(r),
                                             order=order(r)),
        O.CancelOrder: lambda r: O.CancelOrder(orderId=order_id(r, False)),
        O.ReqPnL: lambda r: O.ReqPnL(reqId=req(r), account=_ACCT, modelCode=""),
        O.ReqPnLSingle: lambda r: O.ReqPnLSingle(reqId=req(r), account=_ACCT, modelCode="",
                                                 conId=r.choice([265598, 12087792])),
    }


TEMPLATES = _templates()
#: How often a fuzzer draws each served request: the deep ones more often.
WEIGHTS = {cls: {O.PlaceOrder: 6, O.ReqHistoricalData: 3, O.ReqMktData: 2,
                 O.CancelOrder: 2}.get(cls, 1) for cls in TEMPLATES}


def _paths(items: Sequence[Any], version: int, prefix: str = "") -> list[tuple[str, Kind]]:
    """(path, kind) of the plain fields of a layout at ``version`` (not in lists)."""
    out: list[tuple[str, Kind]] = []
    for it in items:
        if not it.present(version):
            continue
        if isinstance(it, F) and it.path != "version":
            out.append((prefix + it.path, it.kind))
        elif isinstance(it, When):
            out += _paths(it.items, version, prefix)
    return out


def request(cls: type[Message], version: int, rng: random.Random) -> Message:
    """A well-formed request of ``cls`` (:data:`TEMPLATES`), with 0-2 of its fields
    replaced by realistic or absurd values: the checks past the look-ups run."""
    make = TEMPLATES.get(cls)
    if make is None:
        return random_message(cls, version, rng)
    msg = make(rng)
    paths = _paths(cls.WIRE, version)
    for path, kind in rng.sample(paths, min(len(paths), rng.choice((0, 1, 1, 2)))):
        _set(msg, path, _value(kind, path, rng, rng.random() < 0.5))
    return msg


def _encoded(direction: str, version: int, rng: random.Random, per_class: int,
             classes: Sequence[type[Message]] | None = None) -> list[bytes]:
    out = []
    for cls in classes if classes is not None else registry(direction).values():
        for k in range(per_class):
            out.append(encode_message(random_message(cls, version, rng, k % 2 == 0), version))
    return out


def incoming_seeds(version: int, rng: random.Random, per_class: int = 4) -> list[bytes]:
    """Frames TWS could send at ``version``: the recording's (v176 shapes), the wire
    cases, and ``per_class`` random messages of every catalogued incoming class."""
    return [*recording_frames(), *case_frames(IN, version),
            *_encoded(IN, version, rng, per_class)]


def request_seeds(version: int, rng: random.Random, per_class: int = 4) -> list[bytes]:
    """Requests a client could send at ``version``: the wire cases and
    ``per_class`` random messages of every catalogued outgoing class (the simulator
    answers those no family serves with 503), plus unknown and uncatalogued ids."""
    extra = [frame(b"52\x002\x0042\x008314\x00"), frame(b"999\x001\x00"),
             frame(b"49\x001\x00"), frame(b"17\x001\x00")]
    served = [encode_message(request(cls, version, rng), version)
              for cls in TEMPLATES for _ in range(per_class)]
    return [*case_frames(OUT, version), *_encoded(OUT, version, rng, per_class), *served,
            *extra]


# --------------------------------------------------------------- mutations

#: Field texts that break decoders: junk, numbers too big or not numbers, non-UTF-8.
NASTY: list[bytes] = [
    b"", b"-", b"+", b"nan", b"NaN", b"-nan", b"inf", b"-inf", b"Infinity", b"sNaN",
    b"1e999", b"-1e999", b"1E+999999999", b"9" * 30, b"9" * 5000, b"-" + b"9" * 400,
    b"2147483648", b"-2147483649", b"9223372036854775808", b"18446744073709551616",
    b"1_000", b" 1", b"1 ", b"0x1f", b"1.5", b"1e5", b"\xd9\xa1\xd9\xa2", b"\xc2\xb2",
    b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", b"true", b"false", b"\\ud800", b"\\U0010ffff",
    b"\\x", b"1000000", b"-1", b"0", b"2", b"abc", b"a" * 70000,
]


def _fields(frame_bytes: bytes) -> list[bytes]:
    return frame_bytes[4:].split(b"\0")


def _join(fields: list[bytes]) -> bytes:
    return frame(b"\0".join(fields))


def _pick(rng: random.Random, fields: list[bytes]) -> int:
    """A field index, not the final empty item after the last NUL."""
    return rng.randrange(max(1, len(fields) - 1))


def _truncate_payload(f: bytes, rng: random.Random, other: bytes) -> bytes:
    return frame(f[4:][: rng.randrange(len(f) - 3)])


def _truncate_stream(f: bytes, rng: random.Random, other: bytes) -> bytes:
    return f[: rng.randrange(len(f) + 1)]


def _drop_field(f: bytes, rng: random.Random, other: bytes) -> bytes:
    fields = _fields(f)
    del fields[_pick(rng, fields)]
    return _join(fields)


def _dup_field(f: bytes, rng: random.Random, other: bytes) -> bytes:
    fields = _fields(f)
    k = _pick(rng, fields)
    fields.insert(k, fields[k])
    return _join(fields)


def _replace_field(f: bytes, rng: random.Random, other: bytes) -> bytes:
    fields = _fields(f)
    k = _pick(rng, fields) if rng.random() < 0.9 else 0
    if rng.random() < 0.75:
        fields[k] = rng.choice(NASTY)
    else:
        fields[k] = rng.randbytes(rng.randrange(1, 9))
    return _join(fields)


def _insert_nul(f: bytes, rng: random.Random, other: bytes) -> bytes:
    p = f[4:]
    k = rng.randrange(len(p) + 1)
    return frame(p[:k] + b"\0" + p[k:])


def _flip_bytes(f: bytes, rng: random.Random, other: bytes) -> bytes:
    b = bytearray(f)
    start = 0 if rng.random() < 0.1 else 4  # now and then the length prefix too
    if len(b) > start:
        for _ in range(rng.randrange(1, 5)):
            b[rng.randrange(start, len(b))] ^= rng.randrange(1, 256)
    return bytes(b)


def _wrong_length(f: bytes, rng: random.Random, other: bytes) -> bytes:
    n = len(f) - 4
    bad = rng.choice([0, max(0, n - 1), n + 1, n + rng.randrange(2, 64), max(0, n - 3),
                      0xFFFFFF, 0x1000000, 0xFFFFFFFF, rng.randrange(1 << 32)])
    return bad.to_bytes(4, "big") + f[4:]


def _concat(f: bytes, rng: random.Random, other: bytes) -> bytes:
    return f + other if rng.random() < 0.5 else other + f


def _swap_id(f: bytes, rng: random.Random, other: bytes) -> bytes:
    """The fields of one message under another's id (a valid id, a wrong layout)."""
    fields = _fields(f)
    fields[0] = _fields(other)[0] if rng.random() < 0.5 else str(rng.randrange(110)).encode()
    return _join(fields)


def _splice(f: bytes, rng: random.Random, other: bytes) -> bytes:
    a, b = _fields(f), _fields(other)
    return _join(a[: rng.randrange(len(a) + 1)] + b[rng.randrange(len(b) + 1):])


def _big_count(f: bytes, rng: random.Random, other: bytes) -> bytes:
    fields = _fields(f)
    k = _pick(rng, fields)
    fields[k] = str(rng.choice([3, 10, 1000, 10**6, 10**9, -3])).encode()
    return _join(fields)


def _random_bytes(f: bytes, rng: random.Random, other: bytes) -> bytes:
    body = rng.randbytes(rng.randrange(1, 40))
    return frame(body) if rng.random() < 0.8 else body


Mutation = Callable[[bytes, random.Random, bytes], bytes]

MUTATIONS: dict[str, Mutation] = {
    "truncate_payload": _truncate_payload, "truncate_stream": _truncate_stream,
    "drop_field": _drop_field, "dup_field": _dup_field, "replace_field": _replace_field,
    "insert_nul": _insert_nul, "flip_bytes": _flip_bytes, "wrong_length": _wrong_length,
    "concat": _concat, "swap_id": _swap_id, "splice": _splice, "big_count": _big_count,
    "random_bytes": _random_bytes,
}
#: Mutations that keep the framing intact (the frame still has its exact length).
FRAMED = ("truncate_payload", "drop_field", "dup_field", "replace_field", "insert_nul",
          "swap_id", "splice", "big_count")
_NAMES = tuple(MUTATIONS)
_WEIGHTS = tuple(1 if n in ("truncate_stream", "wrong_length", "random_bytes") else 3
                 for n in _NAMES)


def mutate(seed: bytes, rng: random.Random, seeds: Sequence[bytes],
           rounds: int | None = None) -> tuple[bytes, list[str]]:
    """``seed`` after 1-3 random mutations (another frame from ``seeds`` for the
    ones that mix two); returns the bytes and the names of the mutations."""
    data, names = seed, []
    for _ in range(rounds if rounds is not None else rng.choice((1, 1, 1, 2, 3))):
        name = rng.choices(_NAMES, _WEIGHTS)[0]
        if len(data) < 4 and name != "random_bytes":
            break
        data = MUTATIONS[name](data, rng, rng.choice(seeds))
        names.append(name)
    return data, names


def chunks(data: bytes, rng: random.Random) -> list[bytes]:
    """``data`` split at 0-4 random points (never an empty chunk: that means EOF)."""
    if len(data) < 2 or rng.random() < 0.5:
        return [data] if data else []
    cuts = sorted({rng.randrange(1, len(data)) for _ in range(rng.randrange(1, 5))})
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
