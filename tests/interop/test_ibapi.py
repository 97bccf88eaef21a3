"""IB's own ibapi (EClient/EWrapper, reader thread) against the simulator."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from ibapi.client import EClient
from ibapi.contract import Contract, ContractDetails
from ibapi.wrapper import EWrapper

from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.market.clock import REPLAY_START, SimClock

pytestmark = pytest.mark.interop

WAIT = 5.0


class App(EWrapper, EClient):  # type: ignore[misc]
    """Records what the simulator sends through ibapi's decoder."""

    def __init__(self) -> None:
        EWrapper.__init__(self)
        EClient.__init__(self, wrapper=self)
        self.errors: list[tuple[int, int, str]] = []
        self.next_id: int | None = None
        self.accounts = ""
        self.details: list[tuple[int, ContractDetails]] = []
        self.details_end: list[int] = []
        self.ready = threading.Event()
        self.done = threading.Event()
        self.run_error: BaseException | None = None

    def error(self, reqId: int, errorTime: int, errorCode: int, errorString: str,
              advancedOrderRejectJson: str = "") -> None:
        self.errors.append((reqId, errorCode, errorString))

    def nextValidId(self, orderId: int) -> None:
        self.next_id = orderId
        if self.accounts:
            self.ready.set()

    def managedAccounts(self, accountsList: str) -> None:
        self.accounts = accountsList
        if self.next_id is not None:
            self.ready.set()

    def contractDetails(self, reqId: int, contractDetails: ContractDetails) -> None:
        self.details.append((reqId, contractDetails))

    def contractDetailsEnd(self, reqId: int) -> None:
        self.details_end.append(reqId)
        self.done.set()

    def run_safely(self) -> None:
        try:
            self.run()
        except BaseException as e:  # the decoder must not raise
            self.run_error = e


def scenario(port: int) -> tuple[App, int, bool, bool]:
    """Connect, ask for AAPL's details, disconnect (blocking, run in a thread)."""
    app = App()
    app.connect("127.0.0.1", port, clientId=3)
    server_version: int = app.serverVersion()
    reader = threading.Thread(target=app.run_safely, daemon=True)
    reader.start()
    ready = app.ready.wait(WAIT)
    contract = Contract()
    contract.symbol, contract.secType = "AAPL", "STK"
    contract.exchange, contract.currency = "SMART", "USD"
    app.reqContractDetails(7, contract)
    done = app.done.wait(WAIT)
    app.disconnect()
    reader.join(WAIT)
    return app, server_version, ready, done


@pytest.fixture
async def server() -> AsyncIterator[SimServer]:
    async with SimServer(Simulator(clock=SimClock(REPLAY_START)), port=0) as srv:
        yield srv


async def test_ibapi_connects_and_gets_contract_details(
        server: SimServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    app, version, ready, done = await asyncio.to_thread(scenario, server.port)
    assert 157 <= version <= 178
    assert ready, "no nextValidId + managedAccounts"
    assert app.next_id is not None and app.next_id >= 1
    assert app.accounts == "DU1234567"
    assert done, "no contractDetailsEnd"
    assert app.details_end == [7]
    assert len(app.details) == 1
    req_id, details = app.details[0]
    assert req_id == 7
    assert details.contract.conId == 265598
    assert details.contract.symbol == "AAPL"
    assert details.longName == "APPLE INC"
    assert details.minTick == 0.01
    # fields after the variable-length parts land where they belong
    assert details.contract.primaryExchange == "NASDAQ"
    assert details.timeZoneId == "US/Eastern"
    assert [(t.tag, t.value) for t in details.secIdList] == [("ISIN", "US0378331005")]
    assert details.stockType == "COMMON"
    assert str(details.suggestedSizeIncrement) == "100"
    assert app.run_error is None
    assert sorted(code for _, code, _ in app.errors) == [2104, 2106, 2158]
    assert all(req == -1 for req, _, _ in app.errors)
    ibapi_problems: list[Any] = [r for r in caplog.records if r.name.startswith("ibapi")]
    assert ibapi_problems == []
