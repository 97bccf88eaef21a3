"""Simulated clock."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest

from twsbridge.sim.market.clock import REPLAY_START, SimClock, parse_start
from twsbridge.sim.reference.calendar import SIM_TZ


def test_replay_start_is_last_real_day_in_session() -> None:
    clock = SimClock(REPLAY_START, speed=0)
    assert clock.now() == REPLAY_START == dt.datetime(2013, 3, 1, 10, tzinfo=SIM_TZ)
    assert clock.now().tzinfo is not None
    assert clock.epoch() == int(REPLAY_START.timestamp()) == 1362150000


def test_default_start_is_the_present() -> None:
    before = dt.datetime.now(dt.UTC)
    clock = SimClock(speed=0)
    after = dt.datetime.now(dt.UTC)
    assert before <= clock.now() <= after
    assert clock.now().tzinfo is not None


@pytest.mark.parametrize(("text", "expected"), [
    ("2013-03-01T10:00", dt.datetime(2013, 3, 1, 10, tzinfo=SIM_TZ)),
    ("2013-03-01 10:00:30", dt.datetime(2013, 3, 1, 10, 0, 30, tzinfo=SIM_TZ)),
    ("2013-03-01", dt.datetime(2013, 3, 1, tzinfo=SIM_TZ)),
    ("2013-03-01T15:00:00+00:00", dt.datetime(2013, 3, 1, 10, tzinfo=SIM_TZ)),
    ("2024-07-01T09:30", dt.datetime(2024, 7, 1, 13, 30, tzinfo=dt.UTC)),  # EDT
])
def test_parse_start_reads_iso_in_us_eastern(text: str, expected: dt.datetime) -> None:
    assert parse_start(text) == expected


@pytest.mark.parametrize("bad", ["", "yesterday", "2013-13-01", "10:00"])
def test_parse_start_refuses_what_is_not_iso(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_start(bad)


def test_frozen_clock_moves_only_when_told() -> None:
    clock = SimClock(REPLAY_START, speed=0)
    first = clock.now()
    time.sleep(0.01)
    assert clock.now() == first
    assert clock.advance(90) == first + dt.timedelta(seconds=90)
    assert clock.now() == first + dt.timedelta(seconds=90)
    target = dt.datetime(2013, 2, 28, 15, 59, 59, tzinfo=SIM_TZ)
    clock.set(target)
    assert clock.now() == target
    clock.advance(-59)
    assert clock.now() == dt.datetime(2013, 2, 28, 15, 59, tzinfo=SIM_TZ)


def test_running_clock_scales_elapsed_time() -> None:
    clock = SimClock(REPLAY_START, speed=1000)
    start = clock.now()
    time.sleep(0.02)
    elapsed = (clock.now() - start).total_seconds()
    assert 15 <= elapsed < 600
    clock.set_speed(0)
    frozen = clock.now()
    time.sleep(0.01)
    assert clock.now() == frozen
    assert clock.speed == 0


def test_naive_start_is_eastern_and_utc_start_converted() -> None:
    naive = SimClock(dt.datetime(2013, 3, 1, 12, 0), speed=0)
    assert naive.now() == dt.datetime(2013, 3, 1, 12, tzinfo=SIM_TZ)
    utc = SimClock(dt.datetime(2013, 3, 1, 17, 0, tzinfo=dt.UTC), speed=0)
    assert utc.now() == dt.datetime(2013, 3, 1, 12, tzinfo=SIM_TZ)
    assert utc.now().tzinfo == SIM_TZ


def test_tws_time_string() -> None:
    clock = SimClock(REPLAY_START, speed=0)
    assert clock.tws_time_string() == "20130301 10:00:00 EST"
    clock.set(dt.datetime(2013, 7, 1, 9, 5, 7, tzinfo=SIM_TZ))
    assert clock.tws_time_string() == "20130701 09:05:07 EDT"
    assert re.fullmatch(r"\d{8} \d{2}:\d{2}:\d{2} [A-Z]{3}", clock.tws_time_string())


def test_negative_speed_rejected() -> None:
    with pytest.raises(ValueError):
        SimClock(REPLAY_START, speed=-1)
    with pytest.raises(ValueError):
        SimClock(REPLAY_START).set_speed(-2)
