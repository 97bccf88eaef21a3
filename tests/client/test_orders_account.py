"""Executions, positions, account values and P&L against the simulated broker."""

from __future__ import annotations

import asyncio
import math
from decimal import Decimal

import pytest

from twsbridge.client import (
    AccountValue,
    Contract,
    ExecutionFilter,
    Order,
    TWSClient,
)
from twsbridge.protocol import incoming

pytestmark = pytest.mark.timeout(10)

AMD = Contract(symbol="AMD", secType="STK", exchange="SMART", currency="USD")
AMD_ID = 4391


def market(action: str = "BUY", qty: int = 10) -> Order:
    return Order(action=action, orderType="MKT", totalQuantity=Decimal(qty))


def held(positions: list[incoming.Position], conId: int = AMD_ID) -> Decimal:
    return sum((p.position for p in positions if p.contract.conId == conId), Decimal(0))


async def test_executions_come_with_their_commissions(ib: TWSClient) -> None:
    trade = ib.placeOrder(AMD, market(qty=7))
    await trade.done(timeout=5)
    fills = await ib.reqExecutions()
    by_id = {f.execution.execId: f for f in fills}
    for fill in trade.fills:
        assert fill.execution.execId in by_id
        assert by_id[fill.execution.execId] is fill  # the same Fill object as the trade's
        assert fill.commissionReport is not None and fill.commissionReport.commission > 0
    assert await ib.reqExecutions(ExecutionFilter(symbol="MSFT")) == []


async def test_executions_of_an_earlier_session(ib: TWSClient) -> None:
    trade = ib.placeOrder(AMD, market(qty=2))
    await trade.done(timeout=5)
    await ib.disconnect()
    await ib.connect()
    fills = await ib.reqExecutions(ExecutionFilter(clientId=1))
    assert {f.execution.execId for f in trade.fills} <= {f.execution.execId for f in fills}
    assert all(f.commissionReport is not None for f in fills)


async def test_positions_follow_fills(ib: TWSClient) -> None:
    before = held(await ib.reqPositions())
    bought = ib.placeOrder(AMD, market(qty=5))
    await bought.done(timeout=5)
    assert held(await ib.reqPositions()) == before + 5
    sold = ib.placeOrder(AMD, market("SELL", qty=2))
    await sold.done(timeout=5)
    positions = await ib.reqPositions()
    assert held(positions) == before + 3
    assert all(p.account == ib.accounts[0] for p in positions)


async def test_account_summary_has_net_liquidation(ib: TWSClient) -> None:
    values = await ib.reqAccountSummary()
    [nlv] = [v for v in values if v.tag == "NetLiquidation"]
    assert isinstance(nlv, AccountValue)
    assert nlv.account == ib.accounts[0] and nlv.currency == "USD" and float(nlv.value) > 0
    only = await ib.reqAccountSummary(tags="NetLiquidation,TotalCashValue")
    assert {v.tag for v in only} == {"NetLiquidation", "TotalCashValue"}


async def test_account_updates_keep_the_portfolio(ib: TWSClient) -> None:
    snapshot = await ib.reqAccountUpdates()
    assert any(v.tag == "NetLiquidation" and v.currency == "USD" for v in snapshot.values)
    assert snapshot.time
    assert ib.accountValues() and {v.account for v in ib.accountValues()} == {ib.accounts[0]}
    trade = ib.placeOrder(AMD, market(qty=4))
    await trade.done(timeout=5)
    async with asyncio.timeout(8):  # TWS sends portfolio updates a few seconds apart
        while not [p for p in ib.portfolio() if p.contract.conId == AMD_ID]:
            await asyncio.sleep(0.05)
    [item] = [p for p in ib.portfolio() if p.contract.conId == AMD_ID]
    assert item.position >= 4 and item.account == ib.accounts[0] and item.marketPrice > 0


async def test_pnl_streams(ib: TWSClient) -> None:
    trade = ib.placeOrder(AMD, market(qty=3))
    await trade.done(timeout=5)
    account = ib.accounts[0]
    async with ib.reqPnL(account) as sub:
        async with asyncio.timeout(5):
            pnl = await anext(aiter(sub))
    assert isinstance(pnl, incoming.PnL) and pnl.reqId == sub.reqId
    assert not math.isnan(pnl.dailyPnL)
    async with ib.reqPnLSingle(account, "", AMD_ID) as single:
        async with asyncio.timeout(5):
            one = await anext(aiter(single))
    assert isinstance(one, incoming.PnLSingle) and one.pos >= 3 and one.value != 0
