"""bench/adversity_seeds.py: its arguments and report, and one real run of 2 faults (the
suite's own adversity run deals every kind; this checks the script that drives it)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import adversity_seeds

pytestmark = pytest.mark.timeout(600)

PASSED = """
adversity seed 9 (given); rerun with --adversity-seed 9

adversity run: seed 9, 24 faults in 60 s (stall x3, drop_all x3); wall 81 s
  requests 310: by status {200: 290, 503: 20}
.
1 passed in 84.12s
"""
FAILED = """
adversity run: seed 23, 100 faults in 250 s (stall x10); wall 262 s
E       AssertionError: {(17, 813): ('Filled', 202)} != {(17, 813): ('PendingSubmit', 0)}
E         more
1 failed in 265.34s
"""


def test_arguments_and_report_of_canned_runs() -> None:
    args = adversity_seeds.parse_args(["--seeds", "2", "--first-seed", "9"])
    assert (args.seeds, args.first_seed, args.faults, args.jobs) == (2, 9, 24, 1)
    with pytest.raises(SystemExit):
        adversity_seeds.parse_args(["--seeds", "0"])
    ok = adversity_seeds.parse_output(9, 24, 0, 84.1, PASSED)
    bad = adversity_seeds.parse_output(23, 100, 1, 265.3, FAILED)
    assert ok.passed and ok.summary.startswith("adversity run: seed 9, 24 faults")
    assert not bad.passed and bad.failure.startswith("AssertionError: {(17, 813)")
    text = adversity_seeds.report(args, [ok, bad])
    assert "1/2 passed" in text
    assert "failed seeds: [23]" in text and "--adversity-seed 23" in text
    assert "FAILED" in adversity_seeds.line(bad) and "passed" in adversity_seeds.line(ok)


def test_one_real_short_run(capsys: pytest.CaptureFixture[str]) -> None:
    args = adversity_seeds.parse_args(["--seeds", "1", "--first-seed", "5", "--faults", "2"])
    [result] = adversity_seeds.run(args)
    print(adversity_seeds.report(args, [result]))
    out = capsys.readouterr().out
    assert result.seed == 5 and result.seconds > 0
    m = re.match(r"adversity run: seed 5, (\d+) faults", result.summary)
    assert m is not None and int(m.group(1)) >= 2, (result.summary, result.failure)
    assert result.passed == (result.returncode == 0)
    assert f"adversity over 1 seeds (2 faults each, 1 at a time): {int(result.passed)}/1" in out
