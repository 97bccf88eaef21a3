"""Pacing of market data lines: about four updates per simulated second,
whatever the poll's period and lateness (I/O-free, explicit ``now``)."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import pytest

from twsbridge.sim.market.prices import PriceModel
from twsbridge.sim.market.streams import TICK_INTERVAL, MktDataStream
from twsbridge.sim.reference.calendar import SIM_TZ
from twsbridge.sim.reference.instruments import InstrumentBook

MODEL = PriceModel()
T0 = dt.datetime(2013, 3, 1, 10, 0, tzinfo=SIM_TZ)


def _stream(symbol: str = "AAPL", marketDataType: int = 1) -> MktDataStream:
    inst = next(i for i in InstrumentBook() if i.symbol == symbol)
    return MktDataStream(reqId=1, inst=inst, model=MODEL, marketDataType=marketDataType)


def _due_updates(stream: MktDataStream, polls: list[dt.datetime]) -> list[dt.datetime]:
    """The poll times at which ``stream`` made a due update."""
    due = []
    for now in polls:
        before = stream.next_due
        stream.update(now)
        if stream.next_due != before:
            due.append(now)
    return due


def _polls(start: dt.datetime, seconds: float, *, interval: float, late_ms: tuple[float, float],
           seed: int = 1) -> list[dt.datetime]:
    """Poll times as the server's loop makes them: ``interval`` then a sleep that
    wakes ``late_ms`` (uniform) late, for ``seconds`` after ``start``."""
    rnd = random.Random(seed)
    out: list[dt.datetime] = []
    t = start
    end = start + dt.timedelta(seconds=seconds)
    while True:
        t += dt.timedelta(seconds=interval, milliseconds=rnd.uniform(*late_ms))
        if t > end:
            return out
        out.append(t)


@pytest.mark.parametrize(("symbol", "md_type"), [("AAPL", 1), ("EUR", 1), ("AAPL", 3)])
@pytest.mark.parametrize("late_ms", [(0.0, 0.0), (0.5, 4.0), (5.0, 30.0)])
def test_idle_line_at_a_50_ms_poll_gets_four_updates_per_second(
        symbol: str, md_type: int, late_ms: tuple[float, float]) -> None:
    stream = _stream(symbol, md_type)
    stream.first(T0)
    due = _due_updates(stream, _polls(T0, 10.0, interval=0.05, late_ms=late_ms))
    assert 39 <= len(due) <= 41  # 4 per second +-0.1 over the 10 s
    # never two in one poll interval, never closer than a poll apart
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(due)]
    assert min(gaps) >= 0.05


def test_no_burst_after_a_stall() -> None:
    stream = _stream()
    stream.first(T0)
    polls = _polls(T0, 2.0, interval=0.05, late_ms=(0.5, 4.0))
    stall_end = polls[-1] + dt.timedelta(seconds=3)  # the loop blocked for 3 s
    after = _polls(stall_end, 2.0, interval=0.05, late_ms=(0.5, 4.0), seed=2)
    due = _due_updates(stream, [*polls, stall_end, *after])
    assert sum(1 for t in due if t == stall_end) == 1
    assert stream.next_due is not None
    # one update at the first poll after the stall (not one per poll to catch
    # up the 12 missed), then the usual pace from there
    resumed = [t for t in due if t >= stall_end]
    assert [t for t in resumed if t < stall_end + TICK_INTERVAL] == [stall_end]
    assert 8 <= len(resumed) <= 10


def test_lateness_does_not_add_up_but_each_poll_makes_one_update_at_most() -> None:
    stream = _stream()
    stream.first(T0)
    polls = _polls(T0, 10.0, interval=0.05, late_ms=(0.5, 4.0))
    due = _due_updates(stream, polls)
    for k, t in enumerate(due, start=1):  # the k-th update: at the first poll from T0 + k/4 s
        assert t == min(p for p in polls if p >= T0 + k * TICK_INTERVAL)
