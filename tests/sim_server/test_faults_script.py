"""Fault scripts: seeded random scripts are reproducible, files load, the server
runs them, and ``twsbridge sim --faults FILE --fault-seed N`` passes them on."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import twsbridge.sim
from twsbridge.cli import app
from twsbridge.sim.fault_script import FAULT_KINDS, RANDOM_KINDS, FaultScript, FaultStep
from twsbridge.sim.faults import FaultRecord

from .test_faults_wire import TIMEOUT, Client, errors, serve

TOML = """
seed = 3
faults = [
  {at = 2, fault = "connectivity_loss", seconds = 5, data_lost = true},
  {at = 1.5, fault = "restart", down_seconds = 2},
  {at = 4, fault = "client_id_in_use", client_id = 7},
]

[random]
n = 4
duration = 60
kinds = ["drop_all", "stall"]
max_outage = 3
"""


def test_a_seeded_random_script_is_reproducible() -> None:
    one = FaultScript.random(7, n=20, duration=60.0)
    assert one == FaultScript.random(7, n=20, duration=60.0)
    assert one != FaultScript.random(8, n=20, duration=60.0)
    assert len(one) == 20
    assert [s.at for s in one.steps] == sorted(s.at for s in one.steps)
    assert all(0 <= s.at < 60 and s.kind in RANDOM_KINDS for s in one.steps)
    for s in one.steps:
        for value in s.params.values():
            assert isinstance(value, bool) or 0.05 <= value <= 2.0
    only = FaultScript.random(1, n=10, duration=5.0, kinds=["stall"], max_outage=0.5)
    assert {s.kind for s in only.steps} == {"stall"}
    assert all(s.params["seconds"] <= 0.5 for s in only.steps)


def test_steps_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        FaultStep(1, "meteor")
    with pytest.raises(ValueError, match="missing parameter seconds"):
        FaultStep(1, "stall")
    with pytest.raises(ValueError, match="unknown parameter"):
        FaultStep(1, "drop_all", {"seconds": 1})
    with pytest.raises(ValueError, match="true or false"):
        FaultStep(1, "connectivity_loss", {"seconds": 1, "data_lost": 1})
    with pytest.raises(ValueError, match="at must be"):
        FaultStep(-1, "drop_all")
    step = FaultStep(1, "restart", {"down_seconds": 2})
    assert step.params == {"down_seconds": 2.0} and isinstance(step.params["down_seconds"],
                                                               float)
    assert set(FAULT_KINDS) == {*RANDOM_KINDS, "client_id_in_use"}


def test_load_toml_with_a_seeded_random_part(tmp_path: Path) -> None:
    path = tmp_path / "faults.toml"
    path.write_text(TOML)
    script = FaultScript.load(path)
    fixed = [s for s in script.steps if s.kind not in ("drop_all", "stall")]
    assert [(s.at, s.kind) for s in fixed] == [
        (1.5, "restart"), (2.0, "connectivity_loss"), (4.0, "client_id_in_use")]
    assert fixed[1].params == {"seconds": 5.0, "data_lost": True}
    assert fixed[2].params == {"client_id": 7}
    random_part = FaultScript.random(3, 4, 60.0, ["drop_all", "stall"], max_outage=3.0)
    assert all(s in script.steps for s in random_part.steps)
    assert len(script) == 7
    assert script == FaultScript.load(path)  # same seed, same script
    reseeded = FaultScript.load(path, seed=11)  # --fault-seed wins over the file's seed
    assert reseeded != script
    assert all(s in reseeded.steps for s in FaultScript.random(
        11, 4, 60.0, ["drop_all", "stall"], max_outage=3.0).steps)


def test_load_toml_tables_and_json(tmp_path: Path) -> None:
    tables = tmp_path / "faults.toml"
    tables.write_text('[[faults]]\nat = 1\nfault = "stall"\nseconds = 0.5\n\n'
                      '[[faults]]\nat = 0.5\nfault = "drop_all"\n')
    expected = FaultScript([FaultStep(0.5, "drop_all"), FaultStep(1, "stall", {"seconds": 0.5})])
    assert FaultScript.load(tables) == expected
    listed = tmp_path / "faults.json"
    listed.write_text(json.dumps([{"at": 1, "fault": "stall", "seconds": 0.5},
                                  {"at": 0.5, "fault": "drop_all"}]))
    assert FaultScript.load(listed) == expected
    keyed = tmp_path / "script.txt"  # no known suffix: TOML, then JSON
    keyed.write_text(json.dumps({"faults": [{"at": 0.5, "fault": "drop_all"},
                                            {"at": 1, "fault": "stall", "seconds": 0.5}]}))
    assert FaultScript.load(keyed) == expected


@pytest.mark.parametrize("text, message", [
    ('faults = [{at = 1, fault = "stall"}]', "missing parameter seconds"),
    ('faults = [{fault = "stall", seconds = 1}]', "needs 'at' and 'fault'"),
    ('fautls = []', "unknown key"),
    ('[random]\nn = 2', "'random' needs 'duration'"),
    ('faults = [', "faults.toml"),
])
def test_bad_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "faults.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        FaultScript.load(path)


async def run_script(script: FaultScript) -> list[FaultRecord]:
    """Run ``script`` on a fresh simulator with a client connected; its fault log."""
    async with serve() as server:
        client = await Client.connected(server.port)
        async with asyncio.timeout(TIMEOUT):
            await server.simulator.faults.schedule(script)
        again = await Client.connected(server.port, 2)  # listening again at the end
        assert not errors(again.events, 326)
        await again.close()
        await client.close()
        return server.simulator.faults.log


async def test_a_seeded_random_script_runs_to_the_same_fault_log() -> None:
    kinds = [*RANDOM_KINDS, "client_id_in_use"]
    script = FaultScript.random(7, n=6, duration=0.6, kinds=kinds, max_outage=0.15,
                                client_ids=(5,))
    first = await run_script(script)
    second = await run_script(FaultScript.random(7, n=6, duration=0.6, kinds=kinds,
                                                 max_outage=0.15, client_ids=(5,)))
    assert first == second
    assert [(r.time, r.kind, r.params) for r in first] == [
        (s.at, s.kind, dict(s.params)) for s in script.steps]
    assert all(r.scripted and r.sim_time is not None for r in first)


async def test_a_scheduled_script_acts_on_the_clients() -> None:
    script = FaultScript([FaultStep(0.05, "connectivity_loss",
                                    {"seconds": 0.1, "data_lost": True}),
                          FaultStep(0.3, "drop_all")])
    async with serve() as server:
        c = await Client.connected(server.port)
        task = server.simulator.faults.schedule(script)
        await c.until(lambda ev: errors(ev, 1101))
        assert await c.closed_by_server()
        await task
        assert [(r.kind, r.time) for r in server.simulator.faults.log] == [
            ("connectivity_loss", 0.05), ("drop_all", 0.3)]


async def test_stopping_the_server_cancels_its_scripts() -> None:
    async with serve() as server:
        task = server.simulator.faults.schedule(
            FaultScript([FaultStep(30, "restart", {"down_seconds": 1})]))
    with pytest.raises(asyncio.CancelledError):
        await task
    assert server.simulator.faults.log == []


def test_cli_sim_runs_the_fault_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "faults.toml"
    path.write_text(TOML)
    seen: dict[str, Any] = {}

    async def fake_run_sim(host: str, port: int, **kw: Any) -> None:
        seen.update(kw, host=host, port=port)

    monkeypatch.setattr(twsbridge.sim, "run_sim", fake_run_sim)
    runner = CliRunner()
    result = runner.invoke(app, ["sim", "--port", "0", "--faults", str(path),
                                 "--fault-seed", "7"])
    assert result.exit_code == 0, result.output
    assert seen["port"] == 0 and seen["faults"] == FaultScript.load(path, seed=7)
    result = runner.invoke(app, ["sim", "--port", "0"])
    assert result.exit_code == 0 and seen["faults"] is None
    bad = tmp_path / "bad.json"
    bad.write_text('[{"at": 1, "fault": "meteor"}]')
    result = runner.invoke(app, ["sim", "--faults", str(bad)])
    assert result.exit_code == 2 and "unknown fault" in result.output
    result = runner.invoke(app, ["sim", "--fault-seed", "7"])
    assert result.exit_code == 2 and "needs --faults" in result.output


def test_cli_sim_help_documents_the_file_format() -> None:
    result = CliRunner().invoke(app, ["sim", "--help"], terminal_width=120)
    assert result.exit_code == 0
    for text in ("--faults", "--fault-seed", "down_seconds", "connectivity_loss", "[random]"):
        assert text in result.output
