"""Fixtures of the client tests: the real simulator, and a replay of a real TWS
session (:mod:`client_replay`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from client_replay import ReplayTWS

from twsbridge.client import TWSClient
from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.market.clock import REPLAY_START, SimClock


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    """The simulated TWS on a free port; its clock runs at wall-clock speed."""
    async with SimServer(Simulator(clock=SimClock(REPLAY_START)), port=0) as server:
        yield server


@pytest.fixture
async def fast_sim() -> AsyncIterator[SimServer]:
    """The simulator with a clock 60 times faster (prices move every poll)."""
    async with SimServer(Simulator(clock=SimClock(REPLAY_START, speed=60)), port=0) as server:
        yield server


@pytest.fixture
async def ib(sim: SimServer) -> AsyncIterator[TWSClient]:
    """A client connected to ``sim`` as client id 1."""
    async with TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5) as client:
        yield client


@pytest.fixture
async def replay() -> AsyncIterator[ReplayTWS]:
    """The replayed TWS 176 session."""
    async with ReplayTWS() as server:
        yield server
