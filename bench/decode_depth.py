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

The frames are built by decode_streams.py. Each stream is decoded by
twsbridge (``ClientConnection``), ib_async's ``Client`` framing + ``Decoder``
with a wrapper that records the callback values ("ib_async minimal", its
decoding alone) or with its real ``Wrapper`` ("ib_async real", what its users
run) and ibapi's framing + ``Decoder`` with an ``EWrapper`` that records (see
decode_drive.py). Before timing, every value of every frame is compared with
what was encoded, type and value (sizes: Decimal for twsbridge and ibapi,
float for ib_async; ib_async's historical tick times are datetimes, compared
as epoch seconds; attribute bits as the booleans each library names); ib_async
real is checked as :func:`check_ib_async_real` says. A decoder that
disagrees, raises or misses a frame is not timed and gets no ratio, and the
line says why.
"""

from __future__ import annotations

import asyncio
import logging
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
    connected,
    prepare_ib_async_with,
    prepare_ibapi_with,
    prepare_ours,
)
from decode_streams import build
from ib_async import IB
from ib_async import Contract as IbAsyncContract
from ibapi.wrapper import EWrapper

from twsbridge.protocol.catalogue.depth import TickByTick, UpdateMktDepth, UpdateMktDepthL2
from twsbridge.protocol.catalogue.ticks import (
    HistoricalTicks,
    HistoricalTicksBidAsk,
    HistoricalTicksLast,
)

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


# ---------------------------------------------------------------- ib_async real

#: ib_async's Wrapper methods these workloads call, by message.
CALLBACKS = {"updateMktDepth": "updateMktDepth", "updateMktDepthL2": "updateMktDepthL2",
             "historicalTicks": "historicalTicks",
             "historicalTicksBidAsk": "historicalTicksBidAsk",
             "historicalTicksLast": "historicalTicksLast"}
TICK_BY_TICK_CALLBACKS = {1: "tickByTickAllLast", 2: "tickByTickAllLast", 3: "tickByTickBidAsk",
                          4: "tickByTickMidPoint"}


@dataclass
class IbAsyncSession:
    """An ib_async ``IB`` whose real Wrapper has a Ticker per request id (depth and
    tick-by-tick, as reqMktDepth and reqTickByTickData leave it) or a pending request
    (historical ticks, as reqHistoricalTicks leaves it)."""

    ib: IB
    tickers: dict[int, Any]
    requests: dict[int, asyncio.Future[Any]]


def ib_async_session(name: str, req_ids: list[int]) -> IbAsyncSession:
    ib = IB()
    connected(ib.client)
    tickers, requests = {}, {}
    for r in req_ids:
        if name == "hist-ticks":
            requests[r] = ib.wrapper.startReq(r)  # type: ignore[no-untyped-call]
        else:
            contract = IbAsyncContract(conId=r, symbol=f"S{r}", secType="STK",
                                       exchange="SMART", currency="USD")
            tick_type = "mktDepth" if name.startswith("depth") else "tickByTick"
            tickers[r] = ib.wrapper.startTicker(r, contract, tick_type)
    return IbAsyncSession(ib, tickers, requests)


def prepare_ib_async_real(chunks: list[bytes], name: str,
                          req_ids: list[int]) -> Callable[[], IbAsyncSession]:
    session = ib_async_session(name, req_ids)
    on_data = session.ib.client._onSocketHasData

    def run() -> IbAsyncSession:
        for chunk in chunks:
            on_data(chunk)  # type: ignore[no-untyped-call]
        return session

    return run


class _ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _callback(m: Any) -> str:
    if isinstance(m, TickByTick):
        return TICK_BY_TICK_CALLBACKS.get(m.tickType, "none")
    return CALLBACKS[str(m.NAME)]


def check_ib_async_real(name: str, msgs: list[Any],
                        chunks: list[bytes]) -> tuple[str | None, str | None]:
    """(why ib_async's real Wrapper disagrees or None, a note or None).

    Its Decoder catches and logs any exception, so a silent failure would look fast:
    this run counts the wrapper calls (shims on the instance, this run only),
    collects error logs, then checks what the Wrapper kept: each historical-ticks
    request completed with its ticks (values as :func:`recorded_rows`), each
    tick-by-tick Ticker at its last BidAsk and AllLast. Depth Tickers get a note:
    how many of the books (a side of a request) the Wrapper's ``domBids`` /
    ``domAsks`` hold as the frames describe them.
    """
    session = ib_async_session(name, sorted({m.reqId for m in msgs}))
    wrapper = session.ib.wrapper
    calls: Counter[str] = Counter()

    def counting(method: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def shim(*args: Any) -> Any:
            calls[method] += 1
            return real(*args)

        return shim

    for method in {*CALLBACKS.values(), *TICK_BY_TICK_CALLBACKS.values()}:
        setattr(wrapper, method, counting(method, getattr(wrapper, method)))
    errors = _ErrorLog()
    log = logging.getLogger("ib_async")
    disabled = logging.root.manager.disable
    logging.disable(logging.NOTSET)
    log.addHandler(errors)
    try:
        on_data = session.ib.client._onSocketHasData
        for chunk in chunks:
            on_data(chunk)  # type: ignore[no-untyped-call]
    finally:
        log.removeHandler(errors)
        logging.disable(disabled)
    if errors.records:
        return (f"{len(errors.records)} errors logged, first: "
                f"{errors.records[0].getMessage()[:200]}"), None
    want = Counter(_callback(m) for m in msgs)
    if want["updateMktDepth"]:  # ib_async's updateMktDepth calls its updateMktDepthL2
        want["updateMktDepthL2"] += want["updateMktDepth"]
    if calls != want:
        return f"wrapper calls {dict(calls)}, want {dict(want)}", None
    if name == "hist-ticks":
        for m in msgs:
            fut = session.requests[m.reqId]
            got = fut.result() if fut.done() else None
            kind = ("hist", "histBidAsk", "histLast")[
                (HistoricalTicks, HistoricalTicksBidAsk, HistoricalTicksLast).index(type(m))]
            why = disagreement(expected_rows([m], float),
                               recorded_rows([(kind, m.reqId, got or [], m.done)]))
            if why is not None:
                return f"request {m.reqId}: {why}", None
        return None, None
    if name == "tick-by-tick":
        for req, ticker in session.tickers.items():
            last = [m for m in msgs if m.reqId == req and m.tickType == 2][-1]
            quote = [m for m in msgs if m.reqId == req and m.tickType == 3][-1]
            if (ticker.last, ticker.lastSize) != (last.price, float(last.size)) or (
                    ticker.bid, ticker.ask, ticker.bidSize, ticker.askSize) != (
                    quote.bidPrice, quote.askPrice, float(quote.bidSize), float(quote.askSize)):
                return f"ticker {req} not at its last ticks: {ticker}"[:300], None
        return None, None
    books: dict[tuple[int, int], list[tuple[float, float, str]]] = {}
    for m in msgs:
        rows = books.setdefault((m.reqId, m.side), [])
        row = (m.price, float(m.size), getattr(m, "marketMaker", ""))
        if m.operation == 0:
            rows.insert(m.position, row)
        elif m.operation == 1:
            rows[m.position] = row
        else:
            rows.pop(m.position)
    same = sum(
        [(d.price, d.size, d.marketMaker) for d in (t.domBids if side else t.domAsks)]
        == books[(req, side)] for req, t in session.tickers.items() for side in (0, 1))
    if same == len(books):
        return None, None
    return None, (f"ib_async real's domBids/domAsks hold {same} of the {len(books)} books "
                  "as the frames describe them: its Wrapper keys rows by position, so an "
                  "insert mid-book overwrites the row there and a delete leaves a gap, where "
                  "IB's sample clients move the rows below down or up (the simulator's "
                  "DepthModel inserts and deletes only at the end, so both read it alike)")


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
    note: str | None = None


def readers(chunks: list[bytes], name: str, req_ids: list[int],
            ib_async_recorder: type[Recorder] = IbAsyncRecorder,
            ibapi_recorder: type[Recorder] = IbapiRecorder) -> list[Reader]:
    """The four readers of workload ``name`` (``req_ids`` its request ids)."""
    return [
        Reader("twsbridge", "typed message objects (ClientConnection.receive_data, events())",
               lambda: prepare_ours(chunks)),
        Reader("ib_async minimal", f"ib_async {ib_async.__version__} Client framing + Decoder, "
               "callbacks to a recorder of their values: its decoding alone",
               lambda: prepare_ib_async_with(chunks, ib_async_recorder())),
        Reader("ib_async real", f"ib_async {ib_async.__version__} Client framing + Decoder, "
               "callbacks to its real Wrapper: Tickers' books (domBids, domAsks, domTicks) "
               "and tickByTicks, per-read events, historical ticks completing their requests",
               lambda: prepare_ib_async_real(chunks, name, req_ids)),
        Reader("ibapi", f"ibapi {ibapi.get_version_string()} read_msg/read_fields + Decoder, "
               "callbacks to an EWrapper that records",
               lambda: prepare_ibapi_with(chunks, ibapi_recorder())),
    ]


def check(msgs: list[Any], rs: list[Reader]) -> dict[str, str]:
    """Run each reader once, untimed: the readers that disagree with ``msgs``, and why
    (``ib_async real`` is skipped: :func:`check_ib_async_real` checks it)."""
    out: dict[str, str] = {}
    for r in rs:
        if r.name == "ib_async real":
            continue
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
    rs = readers(chunks, name, sorted({m.reqId for m in msgs}), ib_async_recorder,
                 ibapi_recorder)
    disagree = check(msgs, rs)
    why, note = check_ib_async_real(name, msgs, chunks)
    if why is not None:
        disagree["ib_async real"] = why
    frames = len(msgs)
    del msgs, stream
    if not disagree:
        print("verified: twsbridge, ib_async minimal and ibapi decoded every frame with equal "
              "values; ib_async real called its wrapper once per frame, logged no error and "
              + {"hist-ticks": "completed every request with its ticks",
                 "tick-by-tick": "left each Ticker at its last BidAsk and AllLast"}.get(
                     name, "updated each request's Ticker"))
    best = best_of([r for r in rs if r.name not in disagree], runs)
    outcome = Outcome(name, frames, items, disagree, best, note)
    report(outcome, rs, runs)
    return outcome


def legend() -> None:
    """What each reader of these workloads is."""
    print("\nreaders of the depth, tick-by-tick and historical-ticks workloads:")
    for r in readers([], "depth-l1", []):
        print(f"  {r.name:<17} {r.about}")


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
    if o.note:
        print(f"note: {o.note}")
    if "twsbridge" not in rates:
        print("ratios: none (twsbridge disagrees)")
        return
    ours = rates["twsbridge"]
    parts = [f"twsbridge/{r.name.replace(' ', '-')} {ours / rates[r.name]:.2f}x"
             for r in rs if r.name != "twsbridge" and r.name in rates]
    print("ratios: " + "   ".join(parts) if parts else "ratios: none (every other reader "
          "disagrees)")
