"""Options of the whole suite.

``--adversity-faults N`` / ``--adversity-seed S``: the adversity run's size and
seed (tests/adversity; default 24 faults, seed 7: the CI form).
``--soak``: run the long forms too (the 100-fault adversity run, ...).
``--failures-now``: print each failure (with its captured output) when it
happens rather than at the end; on by default when ``CI`` is set, so that a run
cut short still shows what failed.
"""

from __future__ import annotations

import os
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("twsbridge")
    group.addoption("--adversity-faults", type=int, default=24,
                    help="faults injected by the adversity run (default 24)")
    group.addoption("--adversity-seed", type=int, default=7,
                    help="seed of the adversity run (default 7)")
    group.addoption("--soak", action="store_true", default=False,
                    help="also run the long (soak) forms of the resilience tests")
    group.addoption("--failures-now", action="store_true", default=bool(os.environ.get("CI")),
                    help="print each failure as it happens (default on when CI is set)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: a long run, only with --soak")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--soak"):
        return
    skip = pytest.mark.skip(reason="a soak run: give --soak to run it")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """With ``--failures-now``: the failure, its captured output, at once."""
    if not report.failed or not _failures_now:
        return
    reporter = _failures_now[0]
    reporter.ensure_newline()
    reporter.section(f"FAILED NOW: {report.nodeid} ({report.when})", sep="!", red=True)
    reporter.line(report.longreprtext)
    for title, content in report.sections:
        reporter.section(title, sep="-")
        reporter.line(content[-20_000:])
    reporter.section("continuing", sep="!")


_failures_now: list[Any] = []  # the terminal reporter, when on


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    import threading

    if os.path.exists("/proc/self/statm"):
        threading.Thread(target=_watch_memory, args=(session.config,), name="rss-watchdog",
                         daemon=True).start()
    if session.config.getoption("--failures-now"):
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            _failures_now.append(reporter)


#: Past this resident size the suite stops itself, saying where it was, rather
#: than let the kernel's OOM killer end it (or the machine) without a word.
RSS_LIMIT_MIB = int(os.environ.get("TWSBRIDGE_TEST_RSS_LIMIT_MIB", "6144"))
_current: list[str] = ["(collecting)"]


def _rss_mib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 2**20


def _watch_memory(config: pytest.Config) -> None:
    import faulthandler
    import sys
    import time

    while True:
        time.sleep(2.0)
        rss = _rss_mib()
        if rss > RSS_LIMIT_MIB:
            capture = config.pluginmanager.get_plugin("capturemanager")
            if capture is not None:  # the words must reach the terminal, not a capture file
                capture.suspend_global_capture(in_=False)
            sys.stderr.write(f"\n!!! the test process holds {rss} MiB (limit {RSS_LIMIT_MIB}) "
                             f"in {_current[0]}: its threads now:\n")
            sys.stderr.flush()
            faulthandler.dump_traceback(all_threads=True)
            os._exit(3)


def pytest_runtest_logstart(nodeid: str) -> None:
    _current[0] = nodeid

