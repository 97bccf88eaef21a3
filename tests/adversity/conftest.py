"""The adversity run's seed in the session's summary (see :mod:`.seeds`)."""

from __future__ import annotations

import pytest

from .seeds import USED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for nodeid, seed in USED.items():
        terminalreporter.write_line(
            f"{nodeid}: adversity seed {seed} (rerun with --adversity-seed {seed})")
