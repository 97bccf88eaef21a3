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
from twsbridge.sim.faults.injector import FaultRecord
from twsbridge.sim.faults.script import ALL_KINDS, FAULT_KINDS, RANDOM_KINDS, FaultScript, FaultStep

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
    assert set(FAULT_KINDS) == set(ALL_KINDS) == {
        *RANDOM_KINDS, "client_id_in_use", "message_rate", "historical_pacing",
        "market_data_lines"}


@pytest.mark.parametrize("kind, params, message", [
    ("message_rate", {}, "missing parameter seconds"),
    ("message_rate", {"seconds": -1}, "seconds must be >= 0"),
    ("message_rate", {"seconds": 1, "limit": 0}, "limit must be >= 1"),
    ("message_rate", {"seconds": 1, "limit": 2.5}, "limit must be an integer"),
    ("message_rate", {"seconds": 1, "limit": True}, "limit must be a number"),
    ("message_rate", {"seconds": 1, "lines": 1}, "unknown parameter"),
    ("historical_pacing", {"seconds": -0.5}, "seconds must be >= 0"),
    ("historical_pacing", {"seconds": 1, "limit": 1}, "unknown parameter"),
    ("market_data_lines", {"seconds": 1, "lines": -1}, "lines must be >= 0"),
    ("market_data_lines", {"lines": 1}, "missing parameter seconds"),
    ("stall", {"seconds": float("nan")}, "seconds must be >= 0"),
    ("market_data_lines", {"seconds": 1, "lines": float("inf")}, "must be an integer"),
])
def test_limit_window_steps_are_checked(kind: str, params: dict[str, Any],
                                        message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FaultStep(1, kind, params)


def test_limit_window_steps() -> None:
    assert FaultStep(1, "message_rate", {"seconds": 2, "limit": 3.0}).params == {
        "seconds": 2.0, "limit": 3}
    assert FaultStep(1, "message_rate", {"seconds": 2}).params == {"seconds": 2.0}
    assert FaultStep(0, "historical_pacing", {"seconds": 0}).params == {"seconds": 0.0}
    step = FaultStep(1, "market_data_lines", {"seconds": 1, "lines": 0})
    assert step.params == {"seconds": 1.0, "lines": 0} and isinstance(
        step.params["lines"], int)


def test_default_random_scripts_did_not_change() -> None:
    """RANDOM_KINDS and the draws of the first kinds are as before the limit windows."""
    script = FaultScript.random(7, 6, 60.0)
    assert [(s.at, s.kind, dict(s.params)) for s in script.steps] == [
        (2.897, "competing_session", {"seconds": 0.234}),
        (5.157, "restart", {"down_seconds": 0.186}),
        (5.443, "restart", {"down_seconds": 0.165}),
        (19.43, "stall", {"seconds": 0.82}),
        (33.927, "stall", {"seconds": 1.28}),
        (34.967, "competing_session", {"seconds": 0.469}),
    ]
    assert RANDOM_KINDS == ("drop_all", "stall", "connectivity_loss", "restart",
                            "competing_session")


def test_a_random_script_of_every_kind() -> None:
    script = FaultScript.random(11, n=300, duration=100.0, kinds=ALL_KINDS, max_outage=1.5,
                                client_id=17)
    assert script == FaultScript.random(11, n=300, duration=100.0, kinds=ALL_KINDS,
                                        max_outage=1.5, client_id=17)
    assert script != FaultScript.random(12, n=300, duration=100.0, kinds=ALL_KINDS,
                                        max_outage=1.5, client_id=17)
    assert {s.kind for s in script.steps} == set(ALL_KINDS)
    by_kind: dict[str, list[FaultStep]] = {}
    for s in script.steps:
        by_kind.setdefault(s.kind, []).append(s)
        assert 0 <= s.at < 100
        for name in ("seconds", "down_seconds"):
            if name in s.params:
                assert 0.05 <= s.params[name] <= 1.5
    assert {s.params["client_id"] for s in by_kind["client_id_in_use"]} == {17}
    limits = [s.params["limit"] for s in by_kind["message_rate"]]
    assert set(limits) == set(range(1, 11))
    assert all(type(v) is int for v in limits)
    assert {s.params["lines"] for s in by_kind["market_data_lines"]} == {0, 1, 2}
    assert {s.params["data_lost"] for s in by_kind["connectivity_loss"]} == {True, False}
    assert all(set(s.params) == {"seconds"} for s in by_kind["historical_pacing"])
    assert all(set(s.params) == {"seconds", "limit"} for s in by_kind["message_rate"])
    drawn = FaultScript.random(11, n=10, duration=10.0, kinds=["client_id_in_use"],
                               client_ids=(3, 4))
    assert {s.params["client_id"] for s in drawn.steps} <= {3, 4}


def test_random_client_id_in_use_needs_a_client_id() -> None:
    with pytest.raises(ValueError, match=r"client_id_in_use .*client_id=N"):
        FaultScript.random(1, n=3, duration=10.0, kinds=ALL_KINDS)
    with pytest.raises(ValueError, match="client_id=N"):
        FaultScript.random(1, n=0, duration=10.0, kinds=["client_id_in_use"])
    with pytest.raises(ValueError, match="not both"):
        FaultScript.random(1, n=3, duration=10.0, kinds=ALL_KINDS, client_id=1,
                           client_ids=(2,))
    without = [k for k in ALL_KINDS if k != "client_id_in_use"]
    assert len(FaultScript.random(1, n=3, duration=10.0, kinds=without)) == 3


def test_load_limit_windows_from_toml_and_json(tmp_path: Path) -> None:
    toml = tmp_path / "windows.toml"
    toml.write_text("""
faults = [
  {at = 1, fault = "message_rate", seconds = 2, limit = 3},
  {at = 2, fault = "historical_pacing", seconds = 1.5},
  {at = 3, fault = "market_data_lines", seconds = 4},
]
seed = 5
[random]
n = 8
duration = 30
kinds = ["message_rate", "historical_pacing", "market_data_lines", "client_id_in_use"]
client_id = 9
""")
    script = FaultScript.load(toml)
    fixed = [FaultStep(1, "message_rate", {"seconds": 2, "limit": 3}),
             FaultStep(2, "historical_pacing", {"seconds": 1.5}),
             FaultStep(3, "market_data_lines", {"seconds": 4})]
    assert all(s in script.steps for s in fixed)
    drawn = FaultScript.random(5, 8, 30.0, ("message_rate", "historical_pacing",
                                            "market_data_lines", "client_id_in_use"),
                               client_id=9)
    assert all(s in script.steps for s in drawn.steps) and len(script) == 11
    listed = tmp_path / "windows.json"
    listed.write_text(json.dumps([{"at": 1, "fault": "message_rate", "seconds": 2,
                                   "limit": 3},
                                  {"at": 2, "fault": "historical_pacing", "seconds": 1.5},
                                  {"at": 3, "fault": "market_data_lines", "seconds": 4}]))
    assert FaultScript.load(listed) == FaultScript(fixed)


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
    ('[random]\nn = 2\nduration = 5\nkinds = ["client_id_in_use"]', "client_id=N"),
    ('[random]\nn = 2\nduration = 5\nkinds = "stall"', "kinds must be a list"),
    ('[random]\nn = 2\nduration = 5\nkinds = ["stall"]\nclient_id = "x"',
     "client id must be an integer"),
    ('faults = [{at = 1, fault = "message_rate", seconds = 1, limit = 0}]',
     "limit must be >= 1"),
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
    script = FaultScript.random(7, n=9, duration=0.6, kinds=ALL_KINDS, max_outage=0.15,
                                client_id=5)
    first = await run_script(script)
    second = await run_script(FaultScript.random(7, n=9, duration=0.6, kinds=ALL_KINDS,
                                                 max_outage=0.15, client_id=5))
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
