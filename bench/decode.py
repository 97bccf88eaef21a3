"""Framing + decode rate of twsbridge, ib_async 2.1.0 and IB's ibapi on the same bytes.

Usage (from the repository root; about two minutes on one free core)::

    .venv/bin/python bench/decode.py [--n 200000] [--depth-n 200000] [--tbt-n 200000]
                                     [--hist-frames 150] [--chunk 65536] [--runs 5]
                                     [--workloads market-data,depth-l1,depth-l2,
                                                  tick-by-tick,hist-ticks]
                                     [--no-gc] [--stages] [--profile]

Five workloads, each one stream at server version 176 cut into
``--chunk``-byte reads that every reader decodes in turn: ``market-data``
(below; ``--n`` messages, four readers, ``--no-gc``/``--stages``/``--profile``
apply to it), and, in decode_depth.py (frames built by decode_streams.py),
``depth-l1`` (updateMktDepth, 12) and ``depth-l2`` (updateMktDepthL2, 13): a
book of 10 rows a side per request, moved by inserts, updates and deletes
(``--depth-n`` frames each); ``tick-by-tick`` (tickByTick, 99, mixing AllLast,
BidAsk and MidPoint; ``--tbt-n`` frames); ``hist-ticks``
(historicalTicks/BidAsk/Last, 96/97/98, of 1000 ticks a frame;
``--hist-frames`` frames). Those four have the same four readers as below
(ib_async real with Tickers started for depth or tick-by-tick, or requests for
historical ticks).

What it prints, per workload: the stream (frames, MB, reads, the mix), a
``verified:`` line once every reader decoded every value as encoded, then a
table ``reader  msg/s  CPU s (best of N)`` (``hist-ticks`` adds ticks/s) and
``ratios: twsbridge/<reader> X.XXx`` (above 1: twsbridge is faster). A reader
that decodes a value differently, misses a frame or raises is not timed: its
row says ``disagrees, not timed:`` and the first differing value, and it gets
no ratio (none at all if twsbridge is the one); the market-data workload stops
the run (SystemExit) on a disagreement. ``main()`` returns the figures of the
four newer workloads (tests/bench/test_decode_smoke.py runs them tiny).

The market-data workload: one synthetic stream of framed TWS messages at
server version 176 is built with twsbridge's encoder: a market-data mix of
tickPrice, tickSize, tickString and tickGeneric for 50 tickers, with some
30-bar historicalData messages (one request id each). It is cut into
``--chunk``-byte reads, and each reader turns the same reads into typed
values, the way it does behind a socket:

* twsbridge: a ``ClientConnection`` that has seen the server hello;
  ``receive_data(chunk)`` then ``events()`` (typed message objects).
* ib_async minimal: the real ``Client._onSocketHasData`` (its framing loop) of
  a ``Client`` put in the connected state without a socket, which calls
  ``Decoder(wrapper, 176).interpret(fields)``; the wrapper is a minimal
  recorder of the callback values (priceSizeTick, tickSize, tickString,
  tickGeneric, historicalData, historicalDataEnd). This is ib_async's framing
  and decoding alone, with no Ticker work.
* ib_async real: the same ``Client`` and ``Decoder`` feeding ib_async's real
  ``Wrapper`` (of an ``IB``), what an ib_async user runs: a Ticker is started
  for each ticker's request id and a request for each historicalData id
  beforehand (``Wrapper.startTicker``, ``Wrapper.startReq``), so its callbacks
  do their work: Ticker fields and TickData lists, per-read ``tcpDataArrived``
  / ``tcpDataProcessed`` events, bar dates parsed into BarData lists that
  complete the request futures.
* ibapi: ``EReader.run``'s loop over ``comm.read_msg`` and ``EClient.run``'s
  message-id split + ``comm.read_fields`` + ``Decoder(wrapper, 176)
  .interpret(fields, msgId)`` inline (no reader thread, no queue: that
  favours ibapi), with an ``EWrapper`` subclass that records.

Every reader is set up (connection, handshake state, tickers, requests) before
its clock starts. twsbridge and the recorders keep one item per message or
callback. The counts and the values of twsbridge, ib_async minimal and ibapi
are checked against each other before timing; ib_async real is checked to
have called its wrapper once per message and bar, logged no error, completed
every bar request with parsed bars, and left each Ticker's prices at the
stream's last ones. The verification outputs are dropped before timing, so
the cyclic GC of every reader walks only what that reader keeps. The figure
is the best of ``--runs`` rounds (the readers take turns in each round), in
messages (frames) per second of process CPU time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import logging
import pstats
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import decode_depth
import decode_streams
import ib_async
import ibapi
from decode_drive import (
    TIME,
    VERSION,
    Reader,
    best_of,
    build_chunks,
    connected,
    prepare_ib_async_with,
    prepare_ibapi_with,
    prepare_ours,
)
from ib_async import IB
from ib_async import Contract as IbAsyncContract
from ibapi.wrapper import EWrapper

from twsbridge.protocol import ClientConnection, FrameReader, encode_frame, split_fields
from twsbridge.protocol.catalogue import incoming as I
from twsbridge.protocol.models import BarData

#: ibapi turns these tickPrice types into an extra tickSize callback (bid/ask/last, delayed).
SIZE_FROM_PRICE = {1, 2, 4, 66, 67, 68}
#: Request ids: tickers 1..50; historicalData HIST_ID0 + its index in the stream.
TICKER_IDS = range(1, 51)
HIST_ID0 = 100_000


# ---------------------------------------------------------------- the stream


def build_messages(n: int, seed: int = 176) -> list[Any]:
    """``n`` incoming messages: 36% tickPrice, 40% tickSize, 15% tickString,
    7% tickGeneric for request ids 1..50, 2% historicalData of 30 bars (one request
    id each)."""
    rnd = random.Random(seed)
    kinds = ["price"] * 36 + ["size"] * 40 + ["string"] * 15 + ["generic"] * 7 + ["hist"] * 2
    last = {r: 100.0 + r for r in range(1, 51)}
    out: list[Any] = []
    for k in range(n):
        req = rnd.randint(1, 50)
        kind = kinds[rnd.randrange(len(kinds))]
        if kind == "price":
            last[req] = round(max(0.01, last[req] + rnd.randint(-5, 5) / 100), 2)
            out.append(I.TickPrice(reqId=req, tickType=rnd.choice((1, 2, 4, 6, 7, 9, 14)),
                                   price=last[req], size=Decimal(rnd.randint(1, 50) * 100),
                                   attrMask=rnd.randint(0, 3)))
        elif kind == "size":
            out.append(I.TickSize(reqId=req, tickType=rnd.choice((0, 3, 5, 8)),
                                  size=Decimal(rnd.randint(1, 5000))))
        elif kind == "string":
            out.append(I.TickString(reqId=req, tickType=45, value=str(1697900000 + k)))
        elif kind == "generic":
            out.append(I.TickGeneric(reqId=req, tickType=rnd.choice((49, 23, 24)),
                                     value=round(rnd.random(), 4)))
        else:
            px = last[req]
            bars = []
            for b in range(30):
                o = round(px + rnd.randint(-20, 20) / 100, 2)
                c = round(o + rnd.randint(-20, 20) / 100, 2)
                bars.append(BarData(date=f"20231020 {9 + b // 6:02d}:{b % 6 * 10:02d}:00",
                                    open=o, high=round(max(o, c) + 0.05, 2),
                                    low=round(min(o, c) - 0.05, 2), close=c,
                                    volume=Decimal(rnd.randint(100, 90000)),
                                    wap=Decimal(f"{(o + c) / 2:.3f}"),
                                    barCount=rnd.randint(1, 500)))
            out.append(I.HistoricalData(reqId=HIST_ID0 + k, startDateStr="20231019 16:00:00",
                                        endDateStr="20231020 16:00:00", bars=bars))
    return out


# ---------------------------------------------------------------- the readers
#
# Each prepare_* function sets a reader up (untimed) and returns the timed part: a
# function that feeds it every chunk and returns what it kept.


class IbAsyncRecorder:
    """The wrapper methods ib_async's Decoder calls for this mix, recording typed values."""

    def __init__(self) -> None:
        self.out: list[Any] = []

    def priceSizeTick(self, reqId: int, tickType: int, price: float, size: float) -> None:
        self.out.append(("price", reqId, tickType, price, size))

    def tickSize(self, reqId: int, tickType: int, size: float) -> None:
        self.out.append(("size", reqId, tickType, size))

    def tickString(self, reqId: int, tickType: int, value: str) -> None:
        self.out.append(("string", reqId, tickType, value))

    def tickGeneric(self, reqId: int, tickType: int, value: float) -> None:
        self.out.append(("generic", reqId, tickType, value))

    def historicalData(self, reqId: int, bar: Any) -> None:
        self.out.append(("bar", reqId, bar))

    def historicalDataEnd(self, reqId: int, start: str, end: str) -> None:
        self.out.append(("histEnd", reqId, start, end))


def prepare_ib_async(chunks: list[bytes]) -> Callable[[], list[Any]]:
    run = prepare_ib_async_with(chunks, IbAsyncRecorder())
    return lambda: run().out


@dataclass
class IbAsyncSession:
    """An ib_async ``IB`` whose real Wrapper has a Ticker per ticker id and a pending
    request per historicalData id, as reqMktData and reqHistoricalData leave it."""

    ib: IB
    tickers: dict[int, Any]
    requests: dict[int, asyncio.Future[Any]]


def ib_async_session(hist_ids: list[int]) -> IbAsyncSession:
    ib = IB()
    connected(ib.client)
    wrapper = ib.wrapper
    tickers = {}
    for r in TICKER_IDS:
        contract = IbAsyncContract(conId=r, symbol=f"S{r}", secType="STK", exchange="SMART",
                                   currency="USD")
        tickers[r] = wrapper.startTicker(r, contract, "mktData")
    requests = {r: wrapper.startReq(r) for r in hist_ids}
    return IbAsyncSession(ib, tickers, requests)


def prepare_ib_async_real(chunks: list[bytes], hist_ids: list[int]) -> Callable[[], Any]:
    session = ib_async_session(hist_ids)
    on_data = session.ib.client._onSocketHasData

    def run() -> IbAsyncSession:
        for chunk in chunks:
            on_data(chunk)
        return session

    return run


class IbapiRecorder(EWrapper):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.out: list[Any] = []

    def tickPrice(self, reqId: int, tickType: int, price: float, attrib: Any) -> None:
        self.out.append(("price", reqId, tickType, price, attrib))

    def tickSize(self, reqId: int, tickType: int, size: Decimal) -> None:
        self.out.append(("size", reqId, tickType, size))

    def tickString(self, reqId: int, tickType: int, value: str) -> None:
        self.out.append(("string", reqId, tickType, value))

    def tickGeneric(self, reqId: int, tickType: int, value: float) -> None:
        self.out.append(("generic", reqId, tickType, value))

    def historicalData(self, reqId: int, bar: Any) -> None:
        self.out.append(("bar", reqId, bar))

    def historicalDataEnd(self, reqId: int, start: str, end: str) -> None:
        self.out.append(("histEnd", reqId, start, end))


def prepare_ibapi(chunks: list[bytes]) -> Callable[[], list[Any]]:
    run = prepare_ibapi_with(chunks, IbapiRecorder())
    return lambda: run().out


def run_ours(chunks: list[bytes]) -> list[Any]:
    return prepare_ours(chunks)()


def run_ib_async(chunks: list[bytes]) -> list[Any]:
    return prepare_ib_async(chunks)()


def run_ibapi(chunks: list[bytes]) -> list[Any]:
    return prepare_ibapi(chunks)()


# ---------------------------------------------------------------- verification


def verify(msgs: list[Any], ours: list[Any], ib_a: list[Any], ib_i: list[Any]) -> None:
    """All three saw every message, with the same values; raise SystemExit otherwise."""
    sent = Counter(type(m).__name__ for m in msgs)
    if ours != msgs:
        raise SystemExit("twsbridge: decoded objects differ from the encoded ones")
    n_bars = sum(len(m.bars) for m in msgs if isinstance(m, I.HistoricalData))
    n_size_from_price = sum(
        1 for m in msgs if isinstance(m, I.TickPrice) and m.tickType in SIZE_FROM_PRICE
    )
    want_a = {"price": sent["TickPrice"], "size": sent["TickSize"], "string": sent["TickString"],
              "generic": sent["TickGeneric"], "bar": n_bars, "histEnd": sent["HistoricalData"]}
    want_i = dict(want_a, size=sent["TickSize"] + n_size_from_price)
    got_a = Counter(t[0] for t in ib_a)
    got_i = Counter(t[0] for t in ib_i)
    if got_a != want_a or got_i != want_i:
        raise SystemExit(f"count mismatch:\n  ib_async {dict(got_a)} want {want_a}\n"
                         f"  ibapi    {dict(got_i)} want {want_i}")
    # values, message by message, in order, per kind
    for kind in ("price", "size", "string", "generic"):
        ours_k = [m for m in msgs if _kind(m) == kind]
        a_k = [t for t in ib_a if t[0] == kind]
        i_k = [t for t in ib_i if t[0] == kind]
        if kind == "size":  # drop ibapi's tickSize callbacks derived from tickPrice
            i_k = _without_derived(ib_i)
        for m, a, i in zip(ours_k, a_k, i_k, strict=True):
            vals = _values(m)
            if a[1:3] != vals[:2] or i[1:3] != vals[:2]:
                raise SystemExit(f"{kind}: ids differ: ours {vals} ib_async {a} ibapi {i}")
            if not (_same(a[3], vals[2]) and _same(i[3], vals[2])):
                raise SystemExit(f"{kind}: value differs: ours {vals} ib_async {a} ibapi {i}")
            if kind == "price" and a[4] != float(m.size):
                raise SystemExit(f"price: size differs: ours {m} ib_async {a}")
    ours_bars = [b for m in msgs if isinstance(m, I.HistoricalData) for b in m.bars]
    a_bars = [t[2] for t in ib_a if t[0] == "bar"]
    i_bars = [t[2] for t in ib_i if t[0] == "bar"]
    for b, a, i in zip(ours_bars, a_bars, i_bars, strict=True):
        ob = (b.date, b.open, b.high, b.low, b.close, float(b.volume), b.barCount)
        ab = (a.date, a.open, a.high, a.low, a.close, a.volume, a.barCount)
        ib = (i.date, i.open, i.high, i.low, i.close, float(i.volume), i.barCount)
        types_ok = all(isinstance(v, float) for v in (*ab[1:5], a.volume, a.average))
        if not (ob == ab == ib and types_ok) or float(b.wap) != a.average or b.wap != i.wap:
            raise SystemExit(f"bar differs: ours {b} ib_async {a} ibapi {i}")


def _kind(m: Any) -> str:
    return {I.TickPrice: "price", I.TickSize: "size", I.TickString: "string",
            I.TickGeneric: "generic"}.get(type(m), "hist")


def _values(m: Any) -> tuple[Any, ...]:
    if isinstance(m, I.TickPrice):
        return (m.reqId, m.tickType, m.price)
    if isinstance(m, I.TickSize):
        return (m.reqId, m.tickType, m.size)
    return (m.reqId, m.tickType, m.value)


def _same(x: Any, ref: Any) -> bool:
    """``x`` is a typed value equal to ``ref`` (sizes: a float or a Decimal)."""
    if isinstance(ref, Decimal):
        return isinstance(x, (Decimal, float)) and x == ref
    return type(x) is type(ref) and bool(x == ref)


def _without_derived(ib_i: list[Any]) -> list[Any]:
    """ibapi's own tickSize callbacks, without those it derives from a tickPrice (the
    callback right after a bid/ask/last tickPrice)."""
    out: list[Any] = []
    skip = False
    for t in ib_i:
        if t[0] == "size" and not skip:
            out.append(t)
        skip = t[0] == "price" and t[2] in SIZE_FROM_PRICE
    return out


class _ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


WRAPPER_CALLS = ("priceSizeTick", "tickSize", "tickString", "tickGeneric", "historicalData",
                 "historicalDataEnd")


def verify_ib_async_real(msgs: list[Any], chunks: list[bytes], hist_ids: list[int]) -> None:
    """ib_async's real Wrapper did its work for every message; raise SystemExit otherwise.

    Its Decoder catches and logs any exception, so a silent failure would look fast:
    this run counts the wrapper calls (through shims on the instance, this run only),
    collects error logs, and checks the completed requests and the Tickers' prices.
    """
    session = ib_async_session(hist_ids)
    wrapper = session.ib.wrapper
    calls: Counter[str] = Counter()

    def counting(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def shim(*args: Any) -> Any:
            calls[name] += 1
            return real(*args)

        return shim

    for name in WRAPPER_CALLS:
        setattr(wrapper, name, counting(name, getattr(wrapper, name)))
    errors = _ErrorLog()
    log = logging.getLogger("ib_async")
    logging.disable(logging.NOTSET)
    log.addHandler(errors)
    try:
        on_data = session.ib.client._onSocketHasData
        for chunk in chunks:
            on_data(chunk)
    finally:
        log.removeHandler(errors)
        logging.disable(logging.CRITICAL)
    if errors.records:
        raise SystemExit(f"ib_async real: {len(errors.records)} errors logged, first: "
                         f"{errors.records[0].getMessage()[:300]}")
    sent = Counter(type(m).__name__ for m in msgs)
    n_bars = sum(len(m.bars) for m in msgs if isinstance(m, I.HistoricalData))
    want = {"priceSizeTick": sent["TickPrice"], "tickSize": sent["TickSize"],
            "tickString": sent["TickString"], "tickGeneric": sent["TickGeneric"],
            "historicalData": n_bars, "historicalDataEnd": sent["HistoricalData"]}
    if dict(calls) != want:
        raise SystemExit(f"ib_async real: wrapper calls {dict(calls)} want {want}")
    # every request completed with its bars, dates parsed
    for m in msgs:
        if isinstance(m, I.HistoricalData):
            fut = session.requests.get(m.reqId)
            bars = fut.result() if fut is not None and fut.done() else None
            if not bars or len(bars) != len(m.bars) or not all(
                isinstance(b.date, datetime) and b.close == o.close
                for b, o in zip(bars, m.bars, strict=True)
            ):
                raise SystemExit(f"ib_async real: request {m.reqId} not completed with its bars")
    # each Ticker holds the stream's last price of each tick type
    attrs = {1: "bid", 2: "ask", 4: "last", 6: "high", 7: "low", 9: "close", 14: "open"}
    last = {(m.reqId, m.tickType): m.price for m in msgs if isinstance(m, I.TickPrice)}
    for (req, tick_type), price in last.items():
        got = getattr(session.tickers[req], attrs[tick_type])
        if got != price:
            raise SystemExit(f"ib_async real: ticker {req} {attrs[tick_type]} {got} want {price}")


# ---------------------------------------------------------------- timing


def readers(chunks: list[bytes], hist_ids: list[int]) -> list[Reader]:
    return [
        Reader("twsbridge", "typed message objects (ClientConnection.receive_data, events())",
               lambda: prepare_ours(chunks)),
        Reader("ib_async minimal", f"ib_async {ib_async.__version__} Client framing + Decoder, "
               "callbacks to a recorder of their values: its decoding alone, no Ticker work",
               lambda: prepare_ib_async(chunks)),
        Reader("ib_async real", f"ib_async {ib_async.__version__} Client framing + Decoder, "
               "callbacks to its real Wrapper: Tickers, TickData, events, BarData lists",
               lambda: prepare_ib_async_real(chunks, hist_ids)),
        Reader("ibapi", f"ibapi {ibapi.get_version_string()} read_msg/read_fields + Decoder, "
               "callbacks to an EWrapper that records", lambda: prepare_ibapi(chunks)),
    ]


def report(rs: list[Reader], n: int, best: dict[str, float], runs: int) -> None:
    rates = {name: n / secs for name, secs in best.items()}
    print(f"{'reader':<17} {'msg/s':>10}  CPU s (best of {runs})")
    for r in rs:
        print(f"{r.name:<17} {rates[r.name]:>10,.0f}  {best[r.name]:.3f}")
    ours = rates["twsbridge"]
    print(f"ratios: twsbridge/ib_async-minimal {ours / rates['ib_async minimal']:.2f}x   "
          f"twsbridge/ib_async-real {ours / rates['ib_async real']:.2f}x   "
          f"twsbridge/ibapi {ours / rates['ibapi']:.2f}x")


def legend(rs: list[Reader]) -> None:
    print("readers:")
    for r in rs:
        print(f"  {r.name:<17} {r.about}")


def stages(chunks: list[bytes], runs: int) -> None:
    """Where twsbridge's time goes: each stage adds one step to the previous one."""
    conn = ClientConnection()
    conn.receive_data(encode_frame(f"{VERSION}\0{TIME}\0".encode()))
    decoders = conn._codecs.decoders if conn._codecs else {}

    def framing(split: bool = False, decode: bool = False) -> None:
        reader = FrameReader()
        for chunk in chunks:
            reader.feed(chunk)
            for payload in reader.frames():
                if split:
                    fields = split_fields(payload)
                    if decode:
                        decoders[fields[0]](fields)

    def connection() -> None:
        c = ClientConnection()
        c.receive_data(encode_frame(f"{VERSION}\0{TIME}\0".encode()))
        for chunk in chunks:
            c.receive_data(chunk)
            for _ in c.events():
                pass

    steps: list[tuple[str, Callable[[], object]]] = [
        ("FrameReader.frames", framing),
        ("+ split_fields", lambda: framing(split=True)),
        ("+ typed decode", lambda: framing(split=True, decode=True)),
        ("ClientConnection, events dropped", connection),
        ("ClientConnection, events kept", lambda: run_ours(chunks)),
    ]
    best = dict.fromkeys([name for name, _ in steps], float("inf"))
    for _ in range(runs):
        for name, fn in steps:
            gc.collect()
            t0 = time.process_time()
            fn()
            best[name] = min(best[name], time.process_time() - t0)
    print("twsbridge stages (CPU s, cumulative; the first three use FrameReader.frames and "
          "split_fields, which ClientConnection inlines):")
    for name, secs in best.items():
        print(f"  {name:<34} {secs:.3f}")


def profile_ours(chunks: list[bytes], top: int = 25) -> None:
    run = prepare_ours(chunks)
    prof = cProfile.Profile()
    prof.enable()
    run()
    prof.disable()
    pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(top)


WORKLOADS = ("market-data", *decode_streams.WORKLOADS)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000, help="messages in the market-data stream")
    ap.add_argument("--depth-n", type=int, default=200_000,
                    help="frames in each depth stream (depth-l1, depth-l2)")
    ap.add_argument("--tbt-n", type=int, default=200_000, help="frames in the tick-by-tick stream")
    ap.add_argument("--hist-frames", type=int, default=150,
                    help="historical-ticks frames of 1000 ticks (hist-ticks)")
    ap.add_argument("--workloads", default=",".join(WORKLOADS),
                    help=f"comma-separated, of {', '.join(WORKLOADS)} (default: all)")
    ap.add_argument("--chunk", type=int, default=65_536, help="bytes per read")
    ap.add_argument("--runs", type=int, default=5, help="runs per reader (best is kept)")
    ap.add_argument("--profile", action="store_true", help="cProfile twsbridge's run (market-data)")
    ap.add_argument("--stages", action="store_true",
                    help="time twsbridge stage by stage (market-data)")
    ap.add_argument("--no-gc", action="store_true",
                    help="also time with the cyclic GC off (market-data; the readers keep what "
                    "they decode)")
    args = ap.parse_args(argv)
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = set(args.workloads) - set(WORKLOADS)
    if unknown:
        ap.error(f"unknown workloads {sorted(unknown)}; choose from {', '.join(WORKLOADS)}")
    return args


def market_data(args: argparse.Namespace) -> None:
    """The market-data workload: tick types and historicalData, four readers."""
    msgs = build_messages(args.n)
    stream, chunks = build_chunks(msgs, args.chunk)
    hist_ids = [m.reqId for m in msgs if isinstance(m, I.HistoricalData)]
    mix = Counter(m.NAME for m in msgs)
    print(f"stream: {len(msgs)} messages, {len(stream) / 1e6:.1f} MB, {len(chunks)} reads of "
          f"{args.chunk} B, server version {VERSION}; python {sys.version.split()[0]}")
    print("mix: " + ", ".join(f"{k} {v}" for k, v in mix.most_common()))

    verify(msgs, run_ours(chunks), run_ib_async(chunks), run_ibapi(chunks))
    verify_ib_async_real(msgs, chunks, hist_ids)
    print("verified: twsbridge, ib_async minimal and ibapi decoded every message with equal "
          "values; ib_async real called its wrapper for every message and bar, logged no "
          "error, completed every bar request and left the Tickers at the last prices")
    n = len(msgs)
    del msgs, stream  # only the reads stay alive while timing
    gc.collect()

    rs = readers(chunks, hist_ids)
    legend(rs)
    report(rs, n, best_of(rs, args.runs), args.runs)
    if args.no_gc:
        print("with the cyclic GC off:")
        report(rs, n, best_of(rs, args.runs, gc_on=False), args.runs)
    if args.stages:
        stages(chunks, args.runs)
    if args.profile:
        profile_ours(chunks)


def main(argv: list[str] | None = None) -> list[decode_depth.Outcome]:
    """Run the chosen workloads; the outcomes of the depth, tick-by-tick and
    historical-ticks ones."""
    args = parse_args(argv)
    logging.disable(logging.CRITICAL)  # no library logs (all three log at debug only)
    asyncio.set_event_loop(asyncio.new_event_loop())  # ib_async's request futures
    if "market-data" in args.workloads:
        market_data(args)
    if set(args.workloads) & set(decode_streams.WORKLOADS):
        decode_depth.legend()
    sizes = {"depth-l1": args.depth_n, "depth-l2": args.depth_n, "tick-by-tick": args.tbt_n,
             "hist-ticks": args.hist_frames}
    return [decode_depth.run_workload(w, sizes[w], chunk=args.chunk, runs=args.runs)
            for w in decode_streams.WORKLOADS if w in args.workloads]


if __name__ == "__main__":
    main()
