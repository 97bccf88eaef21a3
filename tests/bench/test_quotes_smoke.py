"""A very short run of bench/quotes.py's code path (not a timed test): a simulator and a
``twsbridge serve --gateway`` process start, the direct client and the service answer every
request, and the report prints the ratios."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import quotes

pytestmark = pytest.mark.timeout(180)


def test_quotes_bench_runs_and_reports_ratios(capsys: pytest.CaptureFixture[str]) -> None:
    args = quotes.parse_args(["--sequential", "5", "--requests", "20", "--concurrency", "4",
                              "--pause", "0.01"])
    figures = quotes.run(args)
    quotes.report(args, figures)
    out = capsys.readouterr().out
    seq = figures["sequential"]
    assert seq["direct"]["n"] == seq["service"]["n"] == seq["contracts"]["n"] == 5
    for name in ("health", "quotes", "bars"):
        [run] = figures["load"][name]
        assert run["statuses"] == {200: 20}, (name, run)
        assert run["p50"] > 0 and run["per_s"] > 0
    assert "the service adds" in out and "/quotes p50 / /health p50 = " in out
    summary = figures["summary"]
    assert summary["quotes_over_health"] > 0 and summary["bars_over_health"] > 0
