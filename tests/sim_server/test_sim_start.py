"""Where the simulator's clock starts: the present by default, ``--start`` for a replay
(issue 10): a real ``twsbridge sim`` process, asked by a real client."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.processes import Process, free_port, wait_for_port  # tests/ is on sys.path
from twsbridge.cli import app
from twsbridge.client import TWSClient
from twsbridge.sim.market.clock import REPLAY_START


async def _tws_time(args: list[str], tmp_path: Path) -> int:
    port = free_port()
    proc = Process(["sim", "--port", str(port), *args], tmp_path / "sim.log",
                   env={"TWSBRIDGE_SIM_START": None})  # the default: the present
    try:
        wait_for_port(port, proc)
        async with TWSClient("127.0.0.1", port, client_id=3) as ib:
            return await ib.reqCurrentTime()
    finally:
        proc.stop()


async def test_the_clock_starts_at_the_present(tmp_path: Path) -> None:
    before = time.time()
    now = await _tws_time([], tmp_path)
    assert before - 1 <= now <= time.time() + 1


async def test_the_start_can_come_from_the_environment(tmp_path: Path) -> None:
    port = free_port()
    proc = Process(["sim", "--port", str(port), "--speed", "0"], tmp_path / "env.log",
                   env={"TWSBRIDGE_SIM_START": "2013-03-01T10:00"})
    try:
        wait_for_port(port, proc)
        async with TWSClient("127.0.0.1", port, client_id=3) as ib:
            assert await ib.reqCurrentTime() == int(REPLAY_START.timestamp())
    finally:
        proc.stop()


async def test_start_replays_from_a_fixed_time_in_us_eastern(tmp_path: Path) -> None:
    now = await _tws_time(["--start", "2013-03-01T10:00", "--speed", "0"], tmp_path)
    assert now == int(REPLAY_START.timestamp()) == 1362150000
    utc = await _tws_time(["--start", "2020-01-02T15:00:00+00:00", "--speed", "0"], tmp_path)
    assert utc == int(dt.datetime(2020, 1, 2, 15, tzinfo=dt.UTC).timestamp())


@pytest.mark.parametrize("command", [["sim", "--start"], ["serve", "--sim-start"]])
def test_a_start_that_is_not_iso_is_refused(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "next tuesday"])
    assert result.exit_code == 2
    assert "not an ISO 8601 date or time" in result.output
