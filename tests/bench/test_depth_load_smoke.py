"""A very short run of bench/depth_load.py's code path (not a timed test): every kind
of client gets depth from a simulator process on every book, and after the drain
every client's books equal the simulator's, with no update missing."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import depth_load

pytestmark = [pytest.mark.interop, pytest.mark.timeout(240)]


def test_every_client_book_matches_the_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    args = depth_load.parse_args(["--clients", "3", "--instruments", "2", "--seconds", "2",
                                  "--warmup", "0.3", "--drain", "5", "--lead", "0"])
    figures = depth_load.run(args)
    depth_load.report(args, figures)
    out = capsys.readouterr().out
    assert [f["kind"] for f in figures] == ["twsbridge", "ib_async", "ibapi"]
    assert "3 clients x 2 books on 2 instruments" in out
    for f in figures:
        kind = f["kind"]
        assert f["errors"] == [], kind
        assert f["books"] == 6 and f["mismatched"] == [] and f["lost"] == 0, kind
        assert f["served_s"] > 0 and f["recv_s"] > 0 and f["lag_n"] > 0, kind
        assert f["per_client_s"][0] > 0, kind  # every client got updates in the window
    assert out.count("6/6 match the simulator's at the end; 0 updates missing or extra -> OK") == 3
    assert re.search(r"twsbridge vs ib_async: received updates/s x[\d.]+, CPU per update x",
                     out)
    assert "twsbridge vs ibapi:" in out


def test_more_books_than_tws_allows_raise_the_limit(capsys: pytest.CaptureFixture[str]) -> None:
    args = depth_load.parse_args(["--clients", "1", "--instruments", "5", "--seconds", "1",
                                  "--books-per-client", "5", "--client", "twsbridge",
                                  "--warmup", "0.2", "--drain", "5", "--lead", "0"])
    (f,) = depth_load.run(args)
    out = capsys.readouterr().out
    assert "Depth.max_books raised to 5" in out
    assert f["books"] == 5 and f["mismatched"] == [] and f["lost"] == 0
