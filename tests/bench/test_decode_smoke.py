"""A very short run of bench/decode.py's code path (not a timed test): every workload is
built, verified value by value for twsbridge, ib_async and ibapi, timed once and printed
with its ratios; a decoder that disagrees, raises or misses frames is not timed and gets
no ratio; the depth streams replay as books of 10 rows a side."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import decode
import decode_depth
import decode_streams
from decode_drive import build_chunks

from twsbridge.protocol.catalogue.depth import UpdateMktDepthL2

pytestmark = pytest.mark.timeout(120)

READERS = {"twsbridge", "ib_async minimal", "ib_async real", "ibapi"}


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    """decode.main silences logging and sets an event loop (for ib_async's futures)."""
    ours = asyncio.new_event_loop()
    asyncio.set_event_loop(ours)
    yield
    logging.disable(logging.NOTSET)
    asyncio.get_event_loop_policy().get_event_loop().close()
    ours.close()
    asyncio.set_event_loop(None)


def test_every_workload_verifies_and_prints_ratios(capsys: pytest.CaptureFixture[str]) -> None:
    outcomes = decode.main(["--n", "400", "--depth-n", "400", "--tbt-n", "400",
                            "--hist-frames", "3", "--runs", "1", "--chunk", "4096"])
    out = capsys.readouterr().out
    assert [o.name for o in outcomes] == ["depth-l1", "depth-l2", "tick-by-tick", "hist-ticks"]
    for o in outcomes:
        assert o.disagree == {}, o.name
        assert set(o.best) == READERS and all(s > 0 for s in o.best.values()), o.name
    assert [o.frames for o in outcomes] == [400, 400, 400, 3]
    assert outcomes[-1].items == 3000  # 1000 ticks a frame
    # every workload prints three ratios
    assert out.count("twsbridge/ib_async-real") == 5
    assert out.count("ratios: twsbridge/ib_async-minimal ") == 5
    assert out.count("twsbridge/ibapi ") == 5
    assert out.count("decoded every frame with equal values") == 4
    assert "BidAsk" in out and "AllLast" in out and "MidPoint" in out
    assert "readers of the depth, tick-by-tick and historical-ticks workloads:" in out
    assert "historicalTicksLast of 1000 1" in out and "ticks/s" in out
    # ib_async 2.1.0's Wrapper keys depth rows by position (inserts overwrite, deletes
    # leave gaps): the note says its books differ from those the frames describe
    for o in outcomes:
        assert (o.note is not None) == o.name.startswith("depth"), o.name
    assert out.count("note: ib_async real's domBids/domAsks hold ") == 2


def test_only_the_chosen_workloads_run(capsys: pytest.CaptureFixture[str]) -> None:
    outcomes = decode.main(["--workloads", "tick-by-tick", "--tbt-n", "50", "--runs", "1"])
    assert [o.name for o in outcomes] == ["tick-by-tick"]
    assert "stream:" not in capsys.readouterr().out  # no market-data workload
    with pytest.raises(SystemExit):
        decode.parse_args(["--workloads", "depth"])


class SwapsASide(decode_depth.IbAsyncRecorder):
    """An ib_async that reads one row's side wrong."""

    def updateMktDepthL2(self, reqId: int, position: int, marketMaker: str, operation: int,
                         side: int, price: float, size: Any, isSmartDepth: bool) -> None:
        if len(self.out) == 150:
            side = 1 - side
        super().updateMktDepthL2(reqId, position, marketMaker, operation, side, price, size,
                                 isSmartDepth)


def test_a_decoder_that_disagrees_gets_no_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    o = decode_depth.run_workload("depth-l2", 300, chunk=4096, runs=1,
                                  ib_async_recorder=SwapsASide)
    out = capsys.readouterr().out
    assert set(o.disagree) == {"ib_async minimal"} and "row 150" in o.disagree["ib_async minimal"]
    assert set(o.best) == {"twsbridge", "ib_async real", "ibapi"}
    assert "twsbridge/ib_async-minimal" not in out and "twsbridge/ibapi " in out
    assert re.search(r"^ib_async minimal +- +disagrees, not timed: row 150", out, re.M)
    assert "verified" not in out


class DropsBidAsk(decode_depth.IbAsyncRecorder):
    def historicalTicksBidAsk(self, reqId: int, ticks: list[Any], done: bool) -> None:
        pass


class RaisesOnLast(decode_depth.IbapiRecorder):
    def historicalTicksLast(self, reqId: int, ticks: list[Any], done: bool) -> None:
        raise ValueError("bad tick")


def test_missing_frames_and_errors_are_disagreements(capsys: pytest.CaptureFixture[str]) -> None:
    o = decode_depth.run_workload("hist-ticks", 3, chunk=65536, runs=1,
                                  ib_async_recorder=DropsBidAsk, ibapi_recorder=RaisesOnLast)
    out = capsys.readouterr().out
    assert "row 1001" in o.disagree["ib_async minimal"]  # the BidAsk frame's header is missing
    assert o.disagree["ibapi"].startswith("raised ValueError('bad tick')")
    assert set(o.best) == {"twsbridge", "ib_async real"}
    assert re.search(r"^ratios: twsbridge/ib_async-real [0-9.]+x$", out, re.M)


def test_a_twsbridge_disagreement_stops_every_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    msgs = decode_streams.build("tick-by-tick", 200)
    _, chunks = build_chunks(msgs, 4096)
    k = next(i for i, m in enumerate(msgs) if m.tickType == 3)
    told = [*msgs[:k], replace(msgs[k], askPrice=msgs[k].askPrice + 0.01), *msgs[k + 1:]]
    rs = decode_depth.readers(chunks, "tick-by-tick", sorted({m.reqId for m in msgs}))
    bad = decode_depth.check(told, rs)
    assert set(bad) == READERS - {"ib_async real"}  # check_ib_async_real checks that one
    assert all(why.startswith(f"row {k}:") for why in bad.values())
    assert decode_depth.check(msgs, rs) == {}
    o = decode_depth.Outcome("x", 200, 200, bad, {"ib_async real": 1.0})
    decode_depth.report(o, rs, 1)
    out = capsys.readouterr().out
    assert re.search(r"^twsbridge +- +disagrees, not timed: row", out, re.M)
    assert "ratios: none (twsbridge disagrees)" in out


def test_depth_streams_replay_as_ordered_books_of_ten_rows() -> None:
    frames = decode_streams.build_depth(3000, level2=True)
    assert all(isinstance(m, UpdateMktDepthL2) and m.isSmartDepth for m in frames)
    assert all(m.marketMaker in decode_streams.EXCHANGES for m in frames)
    snapshot = 6 * 2 * decode_streams.ROWS
    assert all(m.operation == 0 for m in frames[:snapshot])
    ops = Counter(m.operation for m in frames[snapshot:])
    assert ops[1] > 0.6 * sum(ops.values()) and ops[0] > 0 and ops[2] > 0
    books: dict[tuple[int, int], list[tuple[float, Any, str]]] = {}
    for k, m in enumerate(frames):
        rows = books.setdefault((m.reqId, m.side), [])
        row = (m.price, m.size, m.marketMaker)
        if m.operation == 0:
            assert m.position <= len(rows)
            rows.insert(m.position, row)
        elif m.operation == 1:
            assert rows[m.position][0] == m.price and rows[m.position][2] == m.marketMaker
            rows[m.position] = row
        else:
            assert rows.pop(m.position) == row  # a delete names the row it removes
        prices = [p for p, _, _ in rows]
        assert prices == sorted(prices, reverse=m.side == 1) and len(set(prices)) == len(prices)
        assert len(rows) <= decode_streams.ROWS
        if k >= snapshot:
            assert len(rows) >= 8
    asks, bids = books[(1, 0)], books[(1, 1)]
    assert bids[0][0] < asks[0][0]
