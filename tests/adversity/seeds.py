"""The adversity run's seed: given (``--adversity-seed``), else rotating.

CI's short form would otherwise replay one fault script forever. Without
``--adversity-seed`` the seed is drawn from the commit under test and the UTC
date (:func:`rotating_seed`), so every commit and every day meet a new script,
and it is printed (the test's output and the end of the session's summary) so a
failure is rerun with ``--adversity-seed N``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: seeds used in this session, for the terminal summary
USED: dict[str, int] = {}


def commit() -> str:
    """The commit checked out (``""`` when git or the repository is absent)."""
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def rotating_seed(today: dt.date | None = None, head: str | None = None) -> int:
    """A seed in 1..99,999 from the commit and the UTC date (stable within a day)."""
    day = (today or dt.datetime.now(dt.UTC).date()).isoformat()
    text = f"{commit() if head is None else head}|{day}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") % 99_999 + 1


def adversity_seed(request: pytest.FixtureRequest) -> int:
    """``--adversity-seed`` if given, else :func:`rotating_seed`; printed and remembered."""
    given = request.config.getoption("--adversity-seed")
    seed = int(given) if given is not None else rotating_seed()
    how = "given" if given is not None else "rotating: from the commit and the date"
    print(f"\nadversity seed {seed} ({how}); rerun with --adversity-seed {seed}")
    USED[request.node.nodeid] = seed
    return seed
