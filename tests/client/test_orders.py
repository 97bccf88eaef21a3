"""Orders against the simulated broker: place, modify, cancel, fill, rejections, whatIf."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from twsbridge.client import (
    Contract,
    Order,
    Trade,
    TWSClient,
    TWSError,
)
from twsbridge.protocol import UNSET_DOUBLE, Message, Unknown, incoming, outgoing
from twsbridge.sim import SimServer

pytestmark = pytest.mark.timeout(10)

AMD = Contract(symbol="AMD", secType="STK", exchange="SMART", currency="USD")


async def reach(trade: Trade, *statuses: str, timeout: float = 5.0) -> Trade:
    """Wait until the trade's status is one of ``statuses``."""
    async with asyncio.timeout(timeout):
        updates = trade.updates()
        while trade.status not in statuses:
            await anext(updates)
    return trade


async def far_limit(ib: TWSClient, qty: int = 1) -> Order:
    """A BUY limit order far below the market (it rests)."""
    ticker = await ib.reqMktDataSnapshot(AMD)
    return Order(action="BUY", orderType="LMT", totalQuantity=Decimal(qty),
                 lmtPrice=round(ticker.bid * 0.5, 2))


def market(action: str = "BUY", qty: int = 10) -> Order:
    return Order(action=action, orderType="MKT", totalQuantity=Decimal(qty))


async def test_far_limit_rests_submitted(ib: TWSClient) -> None:
    order = await far_limit(ib)
    first = ib.next_order_id
    trade = ib.placeOrder(AMD, order)
    assert trade.order is order and order.orderId >= first
    assert trade.status == "PendingSubmit" and trade.orderId == order.orderId
    await reach(trade, "Submitted")
    assert trade.order.permId > 0 and trade.order.clientId == 1
    assert trade.orderStatus is not None and trade.remaining == 1 and trade.filled == 0
    assert ib.openTrades() == [trade] and ib.trades() == [trade]
    with pytest.raises(TimeoutError):
        await trade.done(timeout=0.3)
    [listed] = await ib.reqOpenOrders()
    assert listed is trade


async def test_modify_keeps_the_trade(ib: TWSClient) -> None:
    orders: list[incoming.OpenOrder] = []

    def seen(msg: Message | Unknown) -> None:
        if isinstance(msg, incoming.OpenOrder):
            orders.append(msg)

    ib.register(seen, "openOrder")
    order = await far_limit(ib)
    trade = ib.placeOrder(AMD, order)
    await reach(trade, "Submitted")
    new_price = round(order.lmtPrice + 0.05, 2)
    order.lmtPrice = new_price
    assert ib.placeOrder(AMD, order) is trade
    async with asyncio.timeout(5):
        async for _ in trade.updates():
            if orders and orders[-1].order.lmtPrice == new_price:
                break
    assert orders[-1].orderId == trade.orderId and trade.order.lmtPrice == new_price
    assert "Modify" in [e.message for e in trade.log]
    assert ib.trades() == [trade] and trade.status == "Submitted"


async def test_cancel(ib: TWSClient) -> None:
    trade = ib.placeOrder(AMD, await far_limit(ib))
    await reach(trade, "Submitted")
    assert ib.cancelOrder(trade.order) is trade
    assert await trade.done(timeout=5) is trade
    assert trade.status == "Cancelled" and not trade.rejected and trade.is_done()
    assert ib.openTrades() == []
    assert ib.cancelOrder(123456789) is None  # unknown: TWS answers an error, no trade


async def test_market_order_fills_with_commission(ib: TWSClient) -> None:
    trade = ib.placeOrder(AMD, market(qty=10))
    assert await trade.done(timeout=5) is trade
    assert trade.status == "Filled" and trade.filled == 10 and trade.remaining == 0
    assert trade.avgFillPrice > 0
    assert sum(f.execution.shares for f in trade.fills) == 10
    for fill in trade.fills:
        assert fill.execution.orderId == trade.orderId and fill.execution.side == "BOT"
        assert fill.commissionReport is not None and fill.commissionReport.commission > 0
        assert fill.commissionReport.execId == fill.execution.execId
        assert fill.time.utcoffset() is not None
    assert any(e.message.startswith("Fill 10@") or e.message.startswith("Fill ")
               for e in trade.log)
    completed = await ib.reqCompletedOrders()
    assert trade in completed


async def test_updates_follow_a_fill(ib: TWSClient) -> None:
    trade = ib.placeOrder(AMD, market(qty=3))
    statuses = [t.status async for t in trade.updates()]
    assert statuses and statuses[-1] == "Filled"
    assert trade.complete()


@pytest.mark.parametrize(("contract", "price", "tif", "code", "status"), [
    (AMD, 1.005, "DAY", 110, "Cancelled"),  # off the tick grid: an error, no status
    (Contract(symbol="XXXX", secType="STK", exchange="SMART", currency="USD"), 1.0, "DAY",
     200, "Cancelled"),  # no such contract
    (AMD, 1.0, "FOK", 201, "Inactive"),  # TWS answers Inactive, then 201
])
async def test_rejections_raise_from_done(ib: TWSClient, contract: Contract, price: float,
                                          tif: str, code: int, status: str) -> None:
    trade = ib.placeOrder(contract, Order(action="BUY", orderType="LMT", tif=tif,
                                          totalQuantity=Decimal(1), lmtPrice=price))
    with pytest.raises(TWSError) as info:
        await trade.done(timeout=5)
    assert info.value.code == code and info.value.reqId == trade.orderId
    assert trade.rejected and trade.status == status and trade.error is info.value
    assert code in [e.errorCode for e in trade.log]
    assert list(ib.errors.recent) == []  # an order's error belongs to its trade
    assert await ib.reqCurrentTime() > 0  # the connection goes on


async def test_duplicate_order_id_is_rejected(ib: TWSClient) -> None:
    order = market(qty=1)
    filled = ib.placeOrder(AMD, order)
    await filled.done(timeout=5)
    # a raw re-send of the filled order: TWS refuses its id; the filled trade only logs it
    ib.send(outgoing.PlaceOrder(orderId=order.orderId, contract=AMD, order=order))
    async with asyncio.timeout(5):
        while not any(e.errorCode for e in filled.log):
            await asyncio.sleep(0.02)
    [code] = [e.errorCode for e in filled.log if e.errorCode]
    assert code in (103, 104) and filled.status == "Filled"
    assert await filled.done() is filled
    # placing it again is a new trade (the old one is done), which TWS rejects
    again = ib.placeOrder(AMD, order)
    assert again is not filled and again.orderId == filled.orderId
    with pytest.raises(TWSError) as info:
        await again.done(timeout=5)
    assert info.value.code in (103, 104)


async def test_what_if_previews_without_placing(ib: TWSClient) -> None:
    order = market(qty=100)
    state = await ib.whatIfOrder(AMD, order)
    assert state.commission != UNSET_DOUBLE and state.commission > 0
    assert state.commissionCurrency == "USD"
    assert order.orderId == 0 and not order.whatIf  # the caller's order is untouched
    assert ib.trades() == []
    with pytest.raises(TWSError) as info:
        await ib.whatIfOrder(Contract(symbol="XXXX", secType="STK", exchange="SMART",
                                      currency="USD"), order)
    assert info.value.code == 200


async def test_other_clients_orders_are_trades(sim: SimServer, ib: TWSClient) -> None:
    trade = ib.placeOrder(AMD, await far_limit(ib))
    await reach(trade, "Submitted")
    async with TWSClient("127.0.0.1", sim.port, client_id=0, timeout=5) as other:
        [theirs] = [t for t in await other.reqAllOpenOrders()
                    if t.order.permId == trade.order.permId]
        assert not theirs.placed and theirs.order.clientId == 1
        assert theirs.status == "Submitted" and theirs.orderId == trade.orderId
        other.reqGlobalCancel()  # client 0 gets no live news of client 1's orders
        assert await trade.done(timeout=5) is trade  # cancelled by another: no rejection
        assert trade.status == "Cancelled" and not trade.rejected
        assert not trade.cancel_requested and theirs.cancel_requested
        assert 202 in [e.errorCode for e in trade.log]
        assert [t for t in await other.reqAllOpenOrders()
                if t.order.permId == trade.order.permId] == []


async def test_concurrent_orders_each_complete(ib: TWSClient) -> None:
    trades = [ib.placeOrder(AMD, market(qty=i + 1)) for i in range(5)]
    ids = [t.orderId for t in trades]
    assert ids == sorted(set(ids))
    done = await asyncio.gather(*(t.done(timeout=5) for t in trades))
    assert done == trades
    assert [t.filled for t in trades] == [1, 2, 3, 4, 5]


async def test_trades_survive_a_reconnect(ib: TWSClient) -> None:
    filled = ib.placeOrder(AMD, market(qty=1))
    await filled.done(timeout=5)
    resting = ib.placeOrder(AMD, await far_limit(ib))
    await reach(resting, "Submitted")
    await ib.disconnect()
    with pytest.raises(ConnectionError):  # NotConnected: nothing can change it now
        await resting.done(timeout=1)
    await ib.connect()
    assert ib.trades() == [filled, resting]
    assert await ib.reqOpenOrders() == [resting]  # found again by permId
    assert filled in await ib.reqCompletedOrders()
    ib.cancelOrder(resting.orderId)
    assert (await resting.done(timeout=5)).status == "Cancelled"
