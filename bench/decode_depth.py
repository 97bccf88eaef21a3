"""The depth, tick-by-tick and historical-ticks workloads of bench/decode.py.

Four workloads, each one stream of frames at server version 176 built with
twsbridge's encoder (``twsbridge.protocol.catalogue.depth`` and ``.ticks``):

* ``depth-l1``: updateMktDepth (12) for 6 books of 10 rows per side; each
  book starts with 20 inserts, then rows change: 70% updates (a new size),
  15% inserts (a new price level between two rows or past the last one),
  15% deletes, keeping 8 to 10 rows a side, as a book moves.
* ``depth-l2``: the same book moves as updateMktDepthL2 (13) of SMART depth,
  each row with the exchange holding it and ``isSmartDepth`` set.
* ``tick-by-tick``: tickByTick (99) for 6 request ids, 45% BidAsk, 35%
  AllLast (with exchanges, trade conditions and attribute bits), 20%
  MidPoint, the seconds moving on now and then.
* ``hist-ticks``: historicalTicks (96), historicalTicksBidAsk (97) and
  historicalTicksLast (98) in turn, 1000 ticks a frame (TWS's most), one
  request each.

Each stream is decoded by twsbridge (``ClientConnection``), ib_async's
``Client`` framing + ``Decoder`` with a wrapper that records the callback
values (its decoding alone) and ibapi's framing + ``Decoder`` with an
``EWrapper`` that records (see decode_drive.py). Before timing, every value of
every frame is compared with what was encoded, type and value (sizes: Decimal
for twsbridge and ibapi, float for ib_async; ib_async's historical tick times
are datetimes, compared as epoch seconds; attribute bits as the booleans each
library names): a decoder that disagrees, raises or misses a frame is not
timed and gets no ratio, and the line says why.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import ib_async
import ibapi
from decode_drive import (
    Reader,
    best_of,
    build_chunks,
    prepare_ib_async_with,
    prepare_ibapi_with,
    prepare_ours,
)
from ibapi.wrapper import EWrapper

from twsbridge.protocol.catalogue.depth import TickByTick, UpdateMktDepth, UpdateMktDepthL2
from twsbridge.protocol.catalogue.ticks import (
    HistoricalTicks,
    HistoricalTicksBidAsk,
    HistoricalTicksLast,
)
from twsbridge.protocol.tick_models import HistoricalTick, HistoricalTickBidAsk, HistoricalTickLast

WORKLOADS = ("depth-l1", "depth-l2", "tick-by-tick", "hist-ticks")
BOOK_IDS = range(1, 7)
ROWS = 10
#: Exchanges holding SMART depth rows, and trading in tick-by-tick and historical ticks.
EXCHANGES = ("NSDQ", "ARCA", "BATS", "EDGX", "IEX", "NYSE", "MEMX", "BYX")
CONDITIONS = ("", "", "", "", "I", "T", "F T", "O X")
T0 = 1697808600  # 2023-10-20 09:30 US/Eastern
HIST_TICKS_ID0 = 300_000
TICKS_PER_FRAME = 1000


# ---------------------------------------------------------------- the streams


def build_depth(n: int, *, level2: bool, seed: int = 12) -> list[Any]:
    """``n`` depth frames (updateMktDepth, or updateMktDepthL2 of SMART depth when
    ``level2``) for books 1..6, 10 rows a side; operations 0 insert, 1 update,
    2 delete at a position, so that replaying them keeps each side in price order."""
    rnd = random.Random(seed)
    mids = {r: 10_000 + 250 * r for r in BOOK_IDS}  # cents
    # books[reqId][side]: rows [distance from mid in cents, size, exchange], best first
    books: dict[int, list[list[list[Any]]]] = {r: [[], []] for r in BOOK_IDS}
    out: list[Any] = []

    def emit(req: int, pos: int, op: int, side: int, row: list[Any]) -> None:
        cents = mids[req] + row[0] if side == 0 else mids[req] - row[0]
        price, size = cents / 100, Decimal(row[1])
        if level2:
            out.append(UpdateMktDepthL2(reqId=req, position=pos, marketMaker=row[2],
                                        operation=op, side=side, price=price, size=size,
                                        isSmartDepth=True))
        else:
            out.append(UpdateMktDepth(reqId=req, position=pos, operation=op, side=side,
                                      price=price, size=size))

    def new_row(d: int) -> list[Any]:
        return [d, rnd.randint(1, 40) * 100, rnd.choice(EXCHANGES)]

    for req in BOOK_IDS:  # the snapshot: 10 inserts a side
        for side in (0, 1):
            d = 0
            for pos in range(ROWS):
                d += rnd.randint(1, 3)
                row = new_row(d)
                books[req][side].append(row)
                emit(req, pos, 0, side, row)
    while len(out) < n:
        req = rnd.choice(BOOK_IDS)
        side = rnd.randint(0, 1)
        rows = books[req][side]
        r = rnd.random()
        insert = (r < 0.15 and len(rows) < ROWS) or (r < 0.30 and len(rows) <= 8)
        delete = not insert and r < 0.30
        if insert:
            pos = rnd.randrange(len(rows) + 1)
            low = rows[pos - 1][0] if pos > 0 else 0
            high = rows[pos][0] if pos < len(rows) else low + 4
            if high - low < 2:  # no price between: a level past the last one
                pos, low, high = len(rows), rows[-1][0], rows[-1][0] + 4
            row = new_row(rnd.randint(low + 1, high - 1))
            rows.insert(pos, row)
            emit(req, pos, 0, side, row)
        elif delete:
            pos = rnd.randrange(len(rows))
            emit(req, pos, 2, side, rows.pop(pos))
        else:
            pos = rnd.randrange(len(rows))
            rows[pos][1] = rnd.randint(1, 40) * 100
            emit(req, pos, 1, side, rows[pos])
    return out[:n]


def build_tick_by_tick(n: int, seed: int = 99) -> list[TickByTick]:
    """``n`` tickByTick frames for request ids 1..6: 45% BidAsk, 35% AllLast, 20%
    MidPoint, around a mid that moves a cent now and then."""
    rnd = random.Random(seed)
    mids = {r: 10_000 + 250 * r for r in BOOK_IDS}
    t = T0
    out: list[TickByTick] = []
    for _ in range(n):
        req = rnd.choice(BOOK_IDS)
        t += rnd.random() < 0.3
        mids[req] += rnd.choice((-1, 0, 0, 0, 0, 1))
        bid, ask = mids[req] - rnd.randint(1, 2), mids[req] + rnd.randint(1, 2)
        kind = rnd.random()
        if kind < 0.45:
            out.append(TickByTick(reqId=req, tickType=3, time=t, bidPrice=bid / 100,
                                  askPrice=ask / 100, bidSize=Decimal(rnd.randint(1, 60) * 100),
                                  askSize=Decimal(rnd.randint(1, 60) * 100),
                                  attrMask=rnd.choice((0, 0, 0, 0, 0, 1, 2, 3))))
        elif kind < 0.80:
            out.append(TickByTick(reqId=req, tickType=2, time=t,
                                  price=rnd.choice((bid, ask, mids[req])) / 100,
                                  size=Decimal(rnd.randint(1, 500)),
                                  attrMask=rnd.choice((0, 0, 0, 0, 0, 0, 1, 2)),
                                  exchange=rnd.choice(EXCHANGES),
                                  specialConditions=rnd.choice(CONDITIONS)))
        else:
            out.append(TickByTick(reqId=req, tickType=4, time=t, midPoint=(bid + ask) / 200))
    return out


def build_hist_ticks(frames: int, seed: int = 96,
                     per_frame: int = TICKS_PER_FRAME) -> list[Any]:
    """``frames`` historicalTicks / historicalTicksBidAsk / historicalTicksLast
    frames in turn, ``per_frame`` ticks each, one request id each, ``done`` set."""
    rnd = random.Random(seed)
    out: list[Any] = []
    mid = 15_000
    for k in range(frames):
        t = T0 + 60 * k
        ticks: list[Any] = []
        for _ in range(per_frame):
            t += rnd.randint(0, 2)
            mid += rnd.choice((-1, 0, 0, 1))
            bid, ask = mid - rnd.randint(1, 2), mid + rnd.randint(1, 2)
            if k % 3 == 0:
                ticks.append(HistoricalTick(time=t, price=(bid + ask) / 200, size=Decimal(0)))
            elif k % 3 == 1:
                ticks.append(HistoricalTickBidAsk(
                    time=t, mask=rnd.choice((0, 0, 0, 0, 1, 2, 3)), priceBid=bid / 100,
                    priceAsk=ask / 100, sizeBid=Decimal(rnd.randint(1, 60) * 100),
                    sizeAsk=Decimal(rnd.randint(1, 60) * 100)))
            else:
                ticks.append(HistoricalTickLast(
                    time=t, mask=rnd.choice((0, 0, 0, 0, 0, 1, 2)),
                    price=rnd.choice((bid, ask)) / 100, size=Decimal(rnd.randint(1, 500)),
                    exchange=rnd.choice(EXCHANGES), specialConditions=rnd.choice(CONDITIONS)))
        cls = (HistoricalTicks, HistoricalTicksBidAsk, HistoricalTicksLast)[k % 3]
        out.append(cls(reqId=HIST_TICKS_ID0 + k, ticks=ticks, done=True))
    return out


def build(name: str, n: int) -> list[Any]:
    """The messages of workload ``name``: ``n`` frames (``hist-ticks``: ``n`` frames of
    1000 ticks)."""
    if name == "depth-l1":
        return build_depth(n, level2=False)
    if name == "depth-l2":
        return build_depth(n, level2=True)
    if name == "tick-by-tick":
        return list(build_tick_by_tick(n))
    if name == "hist-ticks":
        return build_hist_ticks(n)
    raise ValueError(f"unknown workload {name!r}")


# ---------------------------------------------------------------- the recorders


class Recorder:
    """The wrapper methods of these messages (the same names and arguments in
    ib_async's Wrapper and ibapi's EWrapper), keeping the arguments as they come."""

    def __init__(self) -> None:
        self.out: list[Any] = []
        self.defaultTimezone = UTC  # ib_async's historical ticks read it

    def updateMktDepth(self, reqId: int, position: int, operation: int, side: int,
                       price: float, size: Any) -> None:
        self.out.append(("depth", reqId, position, operation, side, price, size))

    def updateMktDepthL2(self, reqId: int, position: int, marketMaker: str, operation: int,
                         side: int, price: float, size: Any, isSmartDepth: bool) -> None:
        self.out.append(("depthL2", reqId, position, marketMaker, operation, side, price, size,
                         isSmartDepth))

    def tickByTickAllLast(self, reqId: int, tickType: int, time: int, price: float, size: Any,
                          attrib: Any, exchange: str, specialConditions: str) -> None:
        self.out.append(("last", reqId, tickType, time, price, size, attrib, exchange,
                         specialConditions))

    def tickByTickBidAsk(self, reqId: int, time: int, bidPrice: float, askPrice: float,
                         bidSize: Any, askSize: Any, attrib: Any) -> None:
        self.out.append(("bidAsk", reqId, time, bidPrice, askPrice, bidSize, askSize, attrib))

    def tickByTickMidPoint(self, reqId: int, time: int, midPoint: float) -> None:
        self.out.append(("midPoint", reqId, time, midPoint))

    def historicalTicks(self, reqId: int, ticks: list[Any], done: bool) -> None:
        self.out.append(("hist", reqId, ticks, done))

    def historicalTicksBidAsk(self, reqId: int, ticks: list[Any], done: bool) -> None:
        self.out.append(("histBidAsk", reqId, ticks, done))

    def historicalTicksLast(self, reqId: int, ticks: list[Any], done: bool) -> None:
        self.out.append(("histLast", reqId, ticks, done))


class IbAsyncRecorder(Recorder):
    """What ib_async's Decoder calls for these messages."""


class IbapiRecorder(Recorder, EWrapper):  # type: ignore[misc]
    """What ibapi's Decoder calls for these messages (the other EWrapper methods
    keep IB's defaults)."""


# ---------------------------------------------------------------- verification
#
# Everything becomes rows of plain values: one per depth frame or tick-by-tick tick, one
# header per historical frame then one per tick. Sizes go through ``sz`` (Decimal for
# twsbridge and ibapi, float for ib_async).


def expected_rows(msgs: list[Any], sz: Callable[[Decimal], Any]) -> list[tuple[Any, ...]]:
    """The rows of twsbridge messages, their attribute bits as twsbridge reads them."""
    rows: list[tuple[Any, ...]] = []
    add = rows.append
    for m in msgs:
        if isinstance(m, UpdateMktDepth):
            add(("depth", m.reqId, m.position, m.operation, m.side, m.price, sz(m.size)))
        elif isinstance(m, UpdateMktDepthL2):
            add(("depthL2", m.reqId, m.position, m.marketMaker, m.operation, m.side, m.price,
                 sz(m.size), m.isSmartDepth))
        elif isinstance(m, TickByTick) and m.tickType in (1, 2):
            add(("last", m.reqId, m.tickType, m.time, m.price, sz(m.size), m.pastLimit,
                 m.unreported, m.exchange, m.specialConditions))
        elif isinstance(m, TickByTick) and m.tickType == 3:
            add(("bidAsk", m.reqId, m.time, m.bidPrice, m.askPrice, sz(m.bidSize),
                 sz(m.askSize), m.bidPastLow, m.askPastHigh))
        elif isinstance(m, TickByTick) and m.tickType == 4:
            add(("midPoint", m.reqId, m.time, m.midPoint))
        elif isinstance(m, HistoricalTicks):
            add(("hist", m.reqId, len(m.ticks), m.done))
            rows.extend((t.time, t.price, sz(t.size)) for t in m.ticks)
        elif isinstance(m, HistoricalTicksBidAsk):
            add(("histBidAsk", m.reqId, len(m.ticks), m.done))
            rows.extend((t.time, t.askPastHigh, t.bidPastLow, t.priceBid, t.priceAsk,
                         sz(t.sizeBid), sz(t.sizeAsk)) for t in m.ticks)
        elif isinstance(m, HistoricalTicksLast):
            add(("histLast", m.reqId, len(m.ticks), m.done))
            rows.extend((t.time, t.pastLimit, t.unreported, t.price, sz(t.size), t.exchange,
                         t.specialConditions) for t in m.ticks)
        else:
            add(("unexpected", m))
    return rows


def _epoch(t: Any) -> Any:
    """ib_async's tick times are aware datetimes: as epoch seconds (ibapi's are ints)."""
    if isinstance(t, datetime) and t.tzinfo is not None:
        return int(t.timestamp())
    return t


def recorded_rows(out: list[Any]) -> list[tuple[Any, ...]]:
    """The rows of a recorder's callbacks (ib_async's or ibapi's objects)."""
    rows: list[tuple[Any, ...]] = []
    add = rows.append
    for rec in out:
        kind = rec[0]
        if kind == "last":
            *head, attrib, exchange, conditions = rec
            add((*head, attrib.pastLimit, attrib.unreported, exchange, conditions))
        elif kind == "bidAsk":
            add((*rec[:-1], rec[-1].bidPastLow, rec[-1].askPastHigh))
        elif kind in ("hist", "histBidAsk", "histLast"):
            _, reqId, ticks, done = rec
            add((kind, reqId, len(ticks), done))
            for t in ticks:
                if kind == "hist":
                    add((_epoch(t.time), t.price, t.size))
                elif kind == "histBidAsk":
                    a = t.tickAttribBidAsk
                    add((_epoch(t.time), a.askPastHigh, a.bidPastLow, t.priceBid, t.priceAsk,
                         t.sizeBid, t.sizeAsk))
                else:
                    a = t.tickAttribLast
                    add((_epoch(t.time), a.pastLimit, a.unreported, t.price, t.size, t.exchange,
                         t.specialConditions))
        else:
            add(tuple(rec))
    return rows


def disagreement(want: list[tuple[Any, ...]], got: list[tuple[Any, ...]]) -> str | None:
    """None if ``got`` has ``want``'s rows, each value of the same type and equal;
    else the first difference."""
    for k, (w, g) in enumerate(zip(want, got, strict=False)):
        if len(w) != len(g) or any(type(a) is not type(b) or a != b
                                   for a, b in zip(w, g, strict=True)):
            return f"row {k}: {g!r}, want {w!r}"
    if len(want) != len(got):
        return f"{len(got)} rows, want {len(want)}"
    return None


# ---------------------------------------------------------------- one workload


@dataclass
class Outcome:
    """One workload's figures: ``disagree`` the readers refused (name: why), ``best`` the
    best CPU seconds of the others."""

    name: str
    frames: int
    items: int
    disagree: dict[str, str]
    best: dict[str, float]


def readers(chunks: list[bytes], ib_async_recorder: type[Recorder] = IbAsyncRecorder,
            ibapi_recorder: type[Recorder] = IbapiRecorder) -> list[Reader]:
    return [
        Reader("twsbridge", "typed message objects (ClientConnection.receive_data, events())",
               lambda: prepare_ours(chunks)),
        Reader("ib_async minimal", f"ib_async {ib_async.__version__} Client framing + Decoder, "
               "callbacks to a recorder of their values",
               lambda: prepare_ib_async_with(chunks, ib_async_recorder())),
        Reader("ibapi", f"ibapi {ibapi.get_version_string()} read_msg/read_fields + Decoder, "
               "callbacks to an EWrapper that records",
               lambda: prepare_ibapi_with(chunks, ibapi_recorder())),
    ]


def check(msgs: list[Any], rs: list[Reader]) -> dict[str, str]:
    """Run each reader once, untimed: the readers that disagree with ``msgs``, and why."""
    out: dict[str, str] = {}
    for r in rs:
        try:
            kept = r.prepare()()
        except Exception as exc:  # ibapi's decoder raises on a bad frame
            out[r.name] = f"raised {exc!r}"[:300]
            continue
        if r.name == "twsbridge":
            want = expected_rows(msgs, lambda s: s)
            why = disagreement(want, expected_rows(kept, lambda s: s))
            if why is None and kept != msgs:
                why = "decoded objects differ from the encoded ones"
        else:
            sz: Callable[[Decimal], Any] = float if r.name.startswith("ib_async") else Decimal
            why = disagreement(expected_rows(msgs, sz), recorded_rows(kept.out))
        if why is not None:
            out[r.name] = why[:300]
    return out


def run_workload(name: str, n: int, *, chunk: int, runs: int,
                 ib_async_recorder: type[Recorder] = IbAsyncRecorder,
                 ibapi_recorder: type[Recorder] = IbapiRecorder) -> Outcome:
    """Build, verify, time and print workload ``name`` (see :func:`build` for ``n``)."""
    msgs = build(name, n)
    stream, chunks = build_chunks(msgs, chunk)
    items = sum(len(m.ticks) for m in msgs if hasattr(m, "ticks")) or len(msgs)
    mix = Counter(_label(m) for m in msgs)
    print(f"\nworkload {name}: {len(msgs)} frames, {len(stream) / 1e6:.1f} MB, {len(chunks)} "
          f"reads of {chunk} B; " + ", ".join(f"{k} {v}" for k, v in mix.most_common()))
    rs = readers(chunks, ib_async_recorder, ibapi_recorder)
    disagree = check(msgs, rs)
    frames = len(msgs)
    del msgs, stream
    agreeing = [r for r in rs if r.name not in disagree]
    if not disagree:
        print(f"verified: {', '.join(r.name for r in rs)} decoded every frame with equal values")
    best = best_of(agreeing, runs)
    outcome = Outcome(name, frames, items, disagree, best)
    report(outcome, rs, runs)
    return outcome


def _label(m: Any) -> str:
    if isinstance(m, TickByTick):
        return {1: "Last", 2: "AllLast", 3: "BidAsk", 4: "MidPoint"}.get(m.tickType, "None")
    if isinstance(m, (UpdateMktDepth, UpdateMktDepthL2)):
        return f"{m.NAME} " + ("insert", "update", "delete")[m.operation]
    return f"{m.NAME} of {len(m.ticks)}" if hasattr(m, "ticks") else str(m.NAME)


def report(o: Outcome, rs: list[Reader], runs: int) -> None:
    """The table of bench/decode.py (reader, msg/s, best CPU s) and the ratios of the
    readers that agreed; a reader that disagreed is named with the reason, no figure."""
    rates = {name: o.frames / secs for name, secs in o.best.items()}
    ticks = o.items != o.frames
    print(f"{'reader':<17} {'msg/s':>10}  CPU s (best of {runs})"
          + ("   ticks/s" if ticks else ""))
    for r in rs:
        if r.name in o.disagree:
            print(f"{r.name:<17} {'-':>10}  disagrees, not timed: {o.disagree[r.name]}")
            continue
        extra = f"   {o.items / o.best[r.name]:,.0f}" if ticks else ""
        print(f"{r.name:<17} {rates[r.name]:>10,.0f}  {o.best[r.name]:.3f}{extra}")
    if "twsbridge" not in rates:
        print("ratios: none (twsbridge disagrees)")
        return
    ours = rates["twsbridge"]
    parts = [f"twsbridge/{r.name.replace(' ', '-')} {ours / rates[r.name]:.2f}x"
             for r in rs if r.name != "twsbridge" and r.name in rates]
    print("ratios: " + "   ".join(parts) if parts else "ratios: none (every other reader "
          "disagrees)")
