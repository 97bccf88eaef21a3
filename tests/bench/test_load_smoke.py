"""A very short run of bench/load.py's code path (not a timed test): every kind of
client connects to a simulator process, subscribes, and every line of every client
gets ticks; after the drain the clients got exactly what the simulator sent."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import load

pytestmark = [pytest.mark.interop, pytest.mark.timeout(240)]


def test_every_client_gets_ticks_on_every_line(capsys: pytest.CaptureFixture[str]) -> None:
    args = load.parse_args(["--clients", "3", "--instruments", "20", "--procs", "2",
                            "--duration", "2", "--sample-every", "1", "--warmup", "0.5",
                            "--drain", "1.5"])
    figures, raws = load.run(args)
    load.report(args, figures)
    out = capsys.readouterr().out
    assert [f["kind"] for f in figures] == ["twsbridge", "ib_async", "ibapi"]
    assert "20 distinct (14 STK, 6 CASH)" in out  # 18 of the book + 2 synthetic stocks
    for f, raw in zip(figures, raws, strict=True):
        kind = f["kind"]
        assert f["clients"] == 3 and f["lines"] == 60, kind
        assert f["errors"] == [], kind
        for w, cids in raw["split"].items():
            final = raw["info"][w]["final"]["final"]
            for cid in cids:
                assert all(n > 0 for n in final[cid]), (kind, cid, final[cid])
        assert f["sim_msgs_s"] > 0 and f["recv_s"] > 0, kind
        assert (f["missed"], f["extra"]) == (0, 0), kind
        assert f["dropped"] == 0, kind
