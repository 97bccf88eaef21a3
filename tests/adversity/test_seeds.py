"""The adversity run's rotating seed (:mod:`.seeds`): new with each commit and each day,
stable within a day, and given back when ``--adversity-seed`` says so."""

from __future__ import annotations

import datetime as dt

from .seeds import commit, rotating_seed

DAY = dt.date(2026, 12, 7)


def test_the_seed_rotates_with_the_commit_and_the_date() -> None:
    seeds = {rotating_seed(DAY + dt.timedelta(days=d), f"{c:040x}")
             for d in range(10) for c in range(10)}
    assert len(seeds) >= 95  # 100 (commit, day) pairs: (nearly) all different
    assert all(1 <= s <= 99_999 for s in seeds)
    assert rotating_seed(DAY, "abc") == rotating_seed(DAY, "abc")  # rerunnable
    assert rotating_seed(DAY, "abc") != rotating_seed(DAY, "abd")
    head = commit()
    assert rotating_seed(DAY) == rotating_seed(DAY, head)  # the checkout's commit
