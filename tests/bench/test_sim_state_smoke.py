"""A very short run of bench/sim_state.py's code path (not a timed test): the same
orders on a simulator in memory and on one with a store, and the account continued."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import sim_state

pytestmark = pytest.mark.timeout(120)


def test_both_simulators_take_the_same_orders(capsys: pytest.CaptureFixture[str]) -> None:
    args = sim_state.parse_args(["--orders", "20", "--steps", "5"])
    figures = sim_state.run(args)
    sim_state.report(args, figures)
    memory, stored = figures["memory"], figures["stored"]
    assert (memory["executions"], memory["working"]) == (stored["executions"],
                                                         stored["working"]) == (10, 10)
    assert figures["size"] > 0
    assert "ratio" in capsys.readouterr().out
