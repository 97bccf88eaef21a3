"""Fixtures: the real service under uvicorn on 127.0.0.1:0, embedded simulator behind it;
journal databases (SQLite in tmp_path, throw-away PostgreSQL)."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Iterator
from importlib import resources
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from .databases import throwaway_pg_database
from .processes import REPLAY_TEXT
from .support import auth, running_service, sim_settings


@pytest.fixture(autouse=True)
def _sim_replays_2013(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every simulator the service tests start (in process, CLI look-ups, subprocesses)
    replays 2013-03-01 10:00, the market open: orders fill, bars are the real data's."""
    monkeypatch.setenv("TWSBRIDGE_SIM_START", REPLAY_TEXT)


@pytest.fixture(scope="session")
def service_url() -> Iterator[str]:
    """Base URL of the service on the embedded simulator (one for the whole session)."""
    with running_service(sim_settings()) as url:
        yield url


@pytest_asyncio.fixture
async def http(service_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client for the session's service, sending its admin key."""
    async with httpx.AsyncClient(base_url=service_url, headers=auth(service_url),
                                 timeout=30.0) as client:
        yield client


@pytest.fixture(scope="session")
def real_closes() -> dict[tuple[str, str], float]:
    """(ticker, 'yyyymmdd') -> close, from bokeh_sampledata's stocks.csv.gz (the real data)."""
    path = resources.files("bokeh_sampledata") / "_data" / "stocks.csv.gz"
    closes: dict[tuple[str, str], float] = {}
    with gzip.open(str(path), "rt") as fh:
        header = fh.readline().strip().split(",")
        i_ticker, i_date, i_close = (header.index(k) for k in ("Ticker", "Date", "Close"))
        for line in fh:
            row = line.strip().split(",")
            closes[(row[i_ticker], row[i_date].replace("-", ""))] = float(row[i_close])
    assert len(closes) > 10_000
    return closes


@pytest.fixture(params=["sqlite", "postgresql"])
def journal_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh journal database: a SQLite file, or a throw-away PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'journal.sqlite3'}"
        return
    with throwaway_pg_database() as url:
        yield url
