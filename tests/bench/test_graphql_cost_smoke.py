"""A very short run of bench/graphql_cost.py (not a timed test): a few aliases of quote are
answered, a thousand are refused naming the limit, and the probes ran meanwhile."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import graphql_cost

pytestmark = pytest.mark.timeout(240)


def test_a_few_aliases_answer_and_a_thousand_are_refused(
        capsys: pytest.CaptureFixture[str]) -> None:
    args = graphql_cost.parse_args(["--aliases", "3", "--field", "quote"])
    figures = graphql_cost.run(args)
    graphql_cost.report(args, figures)
    assert figures.status == 200 and figures.refusal is None
    assert figures.during["/health"] and figures.during["/bars"]
    args = graphql_cost.parse_args(["--aliases", "1000", "--field", "quote"])
    figures = graphql_cost.run(args)
    graphql_cost.report(args, figures)
    assert figures.status == 400 and figures.refusal == "graphql_max_tokens"
    out = capsys.readouterr().out
    assert "1000 aliases of quote: status 400" in out and "GET /bars: idle p50" in out
