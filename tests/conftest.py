"""Options of the whole suite.

``--adversity-faults N`` / ``--adversity-seed S``: the adversity run's size and
seed (tests/adversity; default 24 faults, seed 7: the CI form).
``--soak``: run the long forms too (the 100-fault adversity run, ...).
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("twsbridge")
    group.addoption("--adversity-faults", type=int, default=24,
                    help="faults injected by the adversity run (default 24)")
    group.addoption("--adversity-seed", type=int, default=7,
                    help="seed of the adversity run (default 7)")
    group.addoption("--soak", action="store_true", default=False,
                    help="also run the long (soak) forms of the resilience tests")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: a long run, only with --soak")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--soak"):
        return
    skip = pytest.mark.skip(reason="a soak run: give --soak to run it")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)
