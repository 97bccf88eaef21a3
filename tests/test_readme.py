"""The README's shell snippets run as written, in order, in one shell (issue 9, item 13).

A newcomer's first hour: later snippets called a bare ``twsbridge`` (not on the PATH: the
venv is never activated), used a ``$ADMIN_KEY`` nobody created, asked a gateway on 7497
nobody started, and nothing said how to stop the service started in the background.

The test runs every ``sh`` block of README.md, in order, as one ``bash`` script with
``set -euo pipefail`` in a fresh directory with a fresh HOME (so the default journal and key
database are new), a PATH without any virtualenv, and real processes: the real service,
the real simulator, real curl. Two changes only, both checked: the first command's install
step (``python3 -m venv .venv && .venv/bin/pip install -q -e .``, minutes) is replaced by a
``.venv/bin`` that runs this checkout's ``twsbridge`` and python, and the ports 8000 and 7497
become free ephemeral ones. The block that runs the whole test suite is not run (that is
``.ci/run``'s job). Then the last snippet must have stopped everything it started.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
INSTALL = "python3 -m venv .venv && .venv/bin/pip install -q -e . && "
TIMEOUT = 240.0


def sh_blocks(text: str) -> list[str]:
    """The ``sh`` fenced blocks of ``text``, in order."""
    return re.findall(r"^```sh\n(.*?)^```$", text, flags=re.M | re.S)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _venv(folder: Path) -> None:
    """``folder/.venv/bin`` with ``twsbridge`` and ``python`` of this test run."""
    bin_dir = folder / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    script = Path(sys.executable).with_name("twsbridge")
    targets = {"twsbridge": [str(script)] if script.exists()
               else [sys.executable, "-m", "twsbridge.cli"],
               "python": [sys.executable], "python3": [sys.executable]}
    for name, command in targets.items():
        wrapper = bin_dir / name
        wrapper.write_text("#!/bin/sh\nexec " + " ".join(f'"{c}"' for c in command) + ' "$@"\n')
        wrapper.chmod(0o755)


def readme_script(service_port: int, sim_port: int) -> str:
    """The README's snippets as one script (see the module doc)."""
    blocks = sh_blocks(README.read_text())
    assert len(blocks) >= 6, "the README lost its snippets?"
    assert blocks[0].startswith(INSTALL), blocks[0]
    run = [blocks[0][len(INSTALL):]] + [b for b in blocks[1:] if "pytest" not in b]
    assert len(run) == len(blocks) - 1, "exactly one block runs the test suite"
    script = "\n".join(run)
    script = re.sub(r"(?<=[:\s])8000\b", str(service_port), script)
    script = re.sub(r"(?<=[:\s])7497\b", str(sim_port), script)
    assert "8000" not in script and "7497" not in script
    return "set -euo pipefail\n" + script


@pytest.mark.timeout(TIMEOUT + 60)
def test_readme_snippets_run_as_written(tmp_path: Path) -> None:
    if not Path("/usr/bin/curl").exists() and not any(
            Path(p, "curl").exists() for p in os.environ.get("PATH", "").split(os.pathsep)):
        pytest.skip("no curl on this machine: the README's snippets need it")
    _venv(tmp_path)
    service_port, sim_port = _free_port(), _free_port()
    script = readme_script(service_port, sim_port)
    (tmp_path / "readme.sh").write_text(script)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWSBRIDGE_", "XDG_", "VIRTUAL_ENV"))}
    env["HOME"] = str(tmp_path)  # the default journal / keys: ~/.local/share/twsbridge
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and "venv" not in p)
    env["COLUMNS"] = "100"
    log = tmp_path / "readme.log"  # a file, not a pipe: what runs in the background keeps it
    with log.open("w") as fh:
        proc = subprocess.Popen(["bash", str(tmp_path / "readme.sh")], cwd=tmp_path, env=env,
                                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the README's snippets did not finish within {TIMEOUT} s:\n"
                        + log.read_text())
        finally:
            try:  # whatever the snippets left running (only this test's own process group)
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    output = log.read_text()
    assert proc.returncode == 0, f"a README snippet failed (exit {proc.returncode}):\n{output}"

    assert "command not found" not in output and "unbound variable" not in output, output
    assert "urn:twsbridge:problem" not in output, f"a snippet got an error answer:\n{output}"
    assert '"symbol":"AAPL"' in output and '"bid":' in output, output  # the first quote
    assert '"mode":"simulator"' in output or '"status"' in output, output  # /health
    assert re.search(r"^401$", output, flags=re.M), "the revoked key was not refused"
    assert (tmp_path / "aapl.csv").stat().st_size > 10_000
    assert "positions" in output and "DU" in output, output  # positions --gateway
    # the last snippet stopped the service and the simulator
    deadline = time.monotonic() + 30
    while (_listening(service_port) or _listening(sim_port)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _listening(service_port), "the service still runs after the README's kill"
    assert not _listening(sim_port), "the simulator still runs after the README's kill"


def test_every_snippet_command_is_reachable_without_activation() -> None:
    """No snippet calls a bare ``twsbridge`` (not on a fresh shell's PATH)."""
    for block in sh_blocks(README.read_text()):
        for line in block.splitlines():
            code = line.split("#", 1)[0]
            bare = re.search(r"(?:^|[\s;&|({$])twsbridge\s", code)
            assert not bare, f"bare twsbridge (use .venv/bin/twsbridge): {line}"
