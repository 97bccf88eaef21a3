"""Real processes for the tests: ``twsbridge sim`` and ``twsbridge serve`` as subprocesses."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's st column


def _address(hex_ip: str) -> str:
    raw = bytes.fromhex(hex_ip)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1]))
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))  # four host-order words
    return str(ipaddress.IPv6Address(words))


def listening(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket process ``pid`` holds in the LISTEN state."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == _LISTEN and inode in inodes:
                hex_ip, hex_port = local.split(":")
                found.add((_address(hex_ip), int(hex_port, 16)))
    return found


def twsbridge_command() -> list[str]:
    """The installed ``twsbridge`` script (or ``python -m twsbridge.cli``)."""
    script = Path(sys.executable).with_name("twsbridge")
    if script.exists():
        return [str(script)]
    found = shutil.which("twsbridge")
    return [found] if found else [sys.executable, "-m", "twsbridge.cli"]


REPLAY_TEXT = "2013-03-01T10:00"
"""Where the tests' simulators start (the market is open): TWSBRIDGE_SIM_START."""


class Process:
    """A ``twsbridge`` subprocess with its output in ``log`` (a file); ``env``: variables
    to set on top of this process's environment (less its TWSBRIDGE_* ones, plus
    TWSBRIDGE_SIM_START: its simulator replays from 2013-03-01 10:00), None to unset one."""

    def __init__(self, args: list[str], log: Path,
                 env: dict[str, str | None] | None = None) -> None:
        self.args = args
        self.log = log
        merged = {**{k: v for k, v in os.environ.items() if not k.startswith("TWSBRIDGE_")},
                  "TWSBRIDGE_SIM_START": REPLAY_TEXT,  # a simulator replays 2013-03-01 10:00
                  **(env or {})}
        env = {k: v for k, v in merged.items() if v is not None}  # None: unset
        env["PYTHONUNBUFFERED"] = "1"
        self._fh = log.open("w")
        self.proc = subprocess.Popen(
            [*twsbridge_command(), *args], stdout=self._fh, stderr=subprocess.STDOUT, env=env
        )

    @property
    def pid(self) -> int:
        """The process id."""
        return self.proc.pid

    def output(self) -> str:
        """Everything the process printed so far."""
        self._fh.flush()
        return self.log.read_text()

    def kill9(self) -> None:
        """``kill -9``: no cleanup at all."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = 20.0) -> None:
        """Ctrl-C, then SIGKILL if it does not end within ``timeout`` s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._fh.close()


def wait_for_port(port: int, proc: Process, timeout: float = 60.0) -> None:
    """Until something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited:\n{proc.output()}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s:\n{proc.output()}")


async def eventually(
    probe: Callable[[], Awaitable[T | None]], what: str, timeout: float, every: float = 0.2
) -> T:
    """Poll ``probe`` until it returns something not None (and not False)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = await probe()
        except httpx.TransportError as exc:
            last = exc
        else:
            if last is not None and last is not False:
                return last
        await asyncio.sleep(every)
    raise TimeoutError(f"{what}: not within {timeout} s (last: {last!r})")
