"""Options of the whole suite.

``--adversity-faults N`` / ``--adversity-seed S``: the adversity run's size and
seed (tests/adversity; default 24 faults, the CI form, and a seed that rotates
with the commit and the date, printed: tests/adversity/seeds.py).
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
    group.addoption("--adversity-seed", type=int, default=None,
                    help="seed of the adversity run (default: rotating with the commit "
                         "and the date, printed)")
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
            sys.stderr.write(_largest_kinds())
            sys.stderr.write(_event_loops())
            sys.stderr.flush()
            os._exit(3)


def _largest_kinds(top: int = 15) -> str:
    """The object types holding the most memory (shallow sizes), for the watchdog."""
    import gc
    import sys
    from collections import Counter, deque

    count: Counter[str] = Counter()
    size: Counter[str] = Counter()
    big: list[tuple[int, str]] = []
    for obj in gc.get_objects():
        kind = type(obj).__qualname__
        count[kind] += 1
        size[kind] += sys.getsizeof(obj, 0)
        for ref in gc.get_referents(obj):  # big leaves (bytes, str) are not gc-tracked
            if isinstance(ref, (bytes, bytearray, str)) and len(ref) > 2**20:
                big.append((len(ref), f"{type(ref).__qualname__} of {len(ref) / 2**20:.0f} MiB "
                                      f"held by a {kind}: {ref[:60]!r}"))
        if isinstance(obj, (list, dict, set, deque)) and len(obj) > 10_000:
            first = next(iter(obj.values() if isinstance(obj, dict) else obj), None)
            inner = sys.getsizeof(first, 0) if first is not None else 0
            big.append((len(obj), f"{kind} of {len(obj)} x {type(first).__qualname__} "
                                  f"(~{len(obj) * inner / 2**20:.0f} MiB): {repr(first)[:100]}"))
    lines = [f"  {kind:40} {count[kind]:>10} objects {size[kind] / 2**20:>9.1f} MiB"
             for kind, _ in size.most_common(top)]
    lines += ["largest containers:"] + [f"  {text}" for _, text in sorted(big)[-top:]]
    return "\nlargest kinds of object (gc-tracked, shallow):\n" + "\n".join(lines) + "\n"


def pytest_runtest_logstart(nodeid: str) -> None:
    _current[0] = nodeid



def _event_loops(sample: int = 100_000) -> str:
    """Each event loop's ready and timer queues, and what the queued callbacks wake
    (the coroutine and line of the waiting task), for the watchdog."""
    import asyncio
    import gc
    from collections import Counter

    def where(callback: Any, args: tuple[Any, ...]) -> str:
        target = getattr(callback, "__self__", None)
        if not isinstance(target, asyncio.Task) and args and isinstance(args[0], asyncio.Future):
            waiters = [getattr(cb, "__self__", None) for cb, _ctx in
                       getattr(args[0], "_callbacks", None) or ()]
            target = next((t for t in waiters if isinstance(t, asyncio.Task)), target)
        if isinstance(target, asyncio.Task):
            coro = target.get_coro()
            frame = getattr(coro, "cr_frame", None)
            code = getattr(coro, "cr_code", None)
            line = frame.f_lineno if frame is not None else "done"
            name = f"{code.co_filename}:{code.co_name}" if code is not None else repr(coro)
            return f"task {name}:{line}"
        return getattr(callback, "__qualname__", repr(callback))

    out = ["event loops:"]
    for loop in [o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop)]:
        ready = list(getattr(loop, "_ready", ()))
        timers = list(getattr(loop, "_scheduled", ()))
        thread = getattr(loop, "_thread_id", None)
        out.append(f"  {loop!r} (thread {thread}): {len(ready)} ready, {len(timers)} timers")
        for name, queue in (("ready", ready), ("timers", timers)):
            wakes = Counter(where(h._callback, h._args) for h in queue[:sample])
            out += [f"    {name}: {n:>8} x {what}" for what, n in wakes.most_common(6)]
    return "\n".join(out) + "\n"
