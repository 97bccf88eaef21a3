"""Framing + decode rate of twsbridge, ib_async 2.1.0 and IB's ibapi on the same bytes.

Usage::

    .venv/bin/python bench/decode.py [--n 200000] [--chunk 65536] [--runs 5]
                                     [--no-gc] [--stages] [--profile]

One synthetic stream of framed TWS messages at server version 176 is built
with twsbridge's encoder: a market-data mix of tickPrice, tickSize, tickString
and tickGeneric, with some 30-bar historicalData messages. It is cut into
``--chunk``-byte reads, and each library turns the same reads into typed
values, the way it does behind a socket:

* twsbridge: a ``ClientConnection`` that has seen the server hello;
  ``receive_data(chunk)`` then ``events()`` (typed message objects).
* ib_async: the real ``Client._onSocketHasData`` (its framing loop) of a
  ``Client`` put in the connected state without a socket, which calls
  ``Decoder(wrapper, 176).interpret(fields)``. The wrapper is a minimal
  recorder (priceSizeTick, tickSize, tickString, tickGeneric,
  historicalData, historicalDataEnd), NOT ib_async's real ``Wrapper``,
  which does much more work per tick (Ticker objects, events).
* ibapi: ``EReader.run``'s loop over ``comm.read_msg`` and ``EClient.run``'s
  message-id split + ``comm.read_fields`` + ``Decoder(wrapper, 176)
  .interpret(fields, msgId)`` inline (no reader thread, no queue: that
  favours ibapi), with an ``EWrapper`` subclass that records.

Every consumer appends one item per callback to a list. The counts and the
values of all three are checked against each other before timing. The
figure is the best of ``--runs`` rounds (the three take turns in each round),
in messages (frames) per second of process CPU time.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import logging
import pstats
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import ib_async
import ibapi
from ib_async.client import Client as IbAsyncClient
from ibapi import comm
from ibapi.decoder import Decoder as IbapiDecoder
from ibapi.wrapper import EWrapper

from twsbridge.protocol import (
    ClientConnection,
    FrameReader,
    encode_frame,
    encode_message,
    split_fields,
)
from twsbridge.protocol.catalogue import incoming as I
from twsbridge.protocol.models import BarData

VERSION = 176
TIME = "20231021 13:28:15 EST"
#: ibapi turns these tickPrice types into an extra tickSize callback (bid/ask/last, delayed).
SIZE_FROM_PRICE = {1, 2, 4, 66, 67, 68}


# ---------------------------------------------------------------- the stream


def build_messages(n: int, seed: int = 176) -> list[Any]:
    """``n`` incoming messages: 36% tickPrice, 40% tickSize, 15% tickString,
    7% tickGeneric, 2% historicalData of 30 bars."""
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
            out.append(I.HistoricalData(reqId=1000 + req, startDateStr="20231019 16:00:00",
                                        endDateStr="20231020 16:00:00", bars=bars))
    return out


def build_chunks(msgs: list[Any], chunk: int) -> tuple[bytes, list[bytes]]:
    stream = b"".join(encode_message(m, VERSION) for m in msgs)
    return stream, [stream[k : k + chunk] for k in range(0, len(stream), chunk)]


# ---------------------------------------------------------------- the three readers


def run_ours(chunks: list[bytes]) -> list[Any]:
    conn = ClientConnection()
    conn.hello()
    conn.receive_data(encode_frame(f"{VERSION}\0{TIME}\0".encode()))
    list(conn.events())
    out: list[Any] = []
    append = out.append
    receive = conn.receive_data
    events = conn.events
    for chunk in chunks:
        receive(chunk)
        for ev in events():
            append(ev)
    return out


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


def run_ib_async(chunks: list[bytes]) -> list[Any]:
    wrapper = IbAsyncRecorder()
    client = IbAsyncClient(wrapper)
    # the state _onSocketHasData reaches after the server hello and startApi answers
    client._serverVersion = VERSION
    client.decoder.serverVersion = VERSION
    client.connState = IbAsyncClient.CONNECTED
    client._apiReady = True
    on_data = client._onSocketHasData
    for chunk in chunks:
        on_data(chunk)
    return wrapper.out


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


def run_ibapi(chunks: list[bytes]) -> list[Any]:
    wrapper = IbapiRecorder()
    decoder = IbapiDecoder(wrapper, VERSION)
    interpret = decoder.interpret
    read_msg = comm.read_msg
    read_fields = comm.read_fields
    buf = b""
    for data in chunks:
        # EReader.run
        buf += data
        msgs = []
        while len(buf) > 0:
            (_size, msg, buf) = read_msg(buf)
            if msg:
                msgs.append(msg)
            else:
                break
        # EClient.run, for server versions below protobuf
        for text in msgs:
            sMsgId = text[: text.index(b"\0")]
            text = text[text.index(b"\0") + len(b"\0") :]
            msgId = int(sMsgId)
            fields = read_fields(text)
            interpret(fields, msgId)
    return wrapper.out


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


# ---------------------------------------------------------------- timing

Runner = Callable[[list[bytes]], list[Any]]
RUNNERS: dict[str, Runner] = {
    "twsbridge": run_ours,
    f"ib_async {ib_async.__version__}": run_ib_async,
    f"ibapi {ibapi.get_version_string()}": run_ibapi,
}


def best_of(chunks: list[bytes], runs: int, *, gc_on: bool = True) -> dict[str, float]:
    """Best CPU time of each reader over ``runs`` rounds; the readers take turns in each
    round, so a noisy neighbour slows all three alike."""
    best = dict.fromkeys(RUNNERS, float("inf"))
    for _ in range(runs):
        for name, fn in RUNNERS.items():
            gc.collect()
            if not gc_on:
                gc.disable()
            t0 = time.process_time()
            fn(chunks)
            best[name] = min(best[name], time.process_time() - t0)
            gc.enable()
    return best


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
    print("twsbridge stages (CPU s, cumulative):")
    for name, secs in best.items():
        print(f"  {name:<34} {secs:.3f}")


def profile_ours(chunks: list[bytes], top: int = 25) -> None:
    prof = cProfile.Profile()
    prof.enable()
    run_ours(chunks)
    prof.disable()
    pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(top)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000, help="messages in the stream")
    ap.add_argument("--chunk", type=int, default=65_536, help="bytes per read")
    ap.add_argument("--runs", type=int, default=5, help="runs per library (best is kept)")
    ap.add_argument("--profile", action="store_true", help="cProfile twsbridge's run")
    ap.add_argument("--stages", action="store_true", help="time twsbridge stage by stage")
    ap.add_argument("--no-gc", action="store_true",
                    help="also time with the cyclic GC off (every reader keeps what it decodes)")
    args = ap.parse_args(argv)
    logging.disable(logging.CRITICAL)  # no library logs (all three log at debug only)

    msgs = build_messages(args.n)
    stream, chunks = build_chunks(msgs, args.chunk)
    mix = Counter(m.NAME for m in msgs)
    print(f"stream: {len(msgs)} messages, {len(stream) / 1e6:.1f} MB, {len(chunks)} reads of "
          f"{args.chunk} B, server version {VERSION}; python {sys.version.split()[0]}")
    print("mix: " + ", ".join(f"{k} {v}" for k, v in mix.most_common()))

    outs = {name: fn(chunks) for name, fn in RUNNERS.items()}
    verify(msgs, *outs.values())
    print("verified: all three decoded every message, with equal values")

    best = best_of(chunks, args.runs)
    rates = {name: len(msgs) / secs for name, secs in best.items()}
    for name, rate in rates.items():
        print(f"{name:<22} {rate:>12,.0f} msg/s   (best of {args.runs}: {best[name]:.3f} s CPU)")
    ours, ib_a, ib_i = rates.values()
    print(f"ratio twsbridge/ib_async: {ours / ib_a:.2f}x   twsbridge/ibapi: {ours / ib_i:.2f}x")
    if args.no_gc:
        off = best_of(chunks, args.runs, gc_on=False)
        o, a, i = (len(msgs) / v for v in off.values())
        print(f"with the cyclic GC off: twsbridge {o:,.0f}  ib_async {a:,.0f}  ibapi {i:,.0f} "
              f"msg/s; ratios {o / a:.2f}x  {o / i:.2f}x")
    if args.stages:
        stages(chunks, args.runs)
    if args.profile:
        profile_ours(chunks)


if __name__ == "__main__":
    main()
