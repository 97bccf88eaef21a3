"""Order and request ids from one sequence; intercept hooks run first."""

from __future__ import annotations

import asyncio
import itertools
from decimal import Decimal

import pytest

from twsbridge.client import (
    Contract,
    InterceptError,
    Order,
    Trade,
    TWSClient,
)
from twsbridge.protocol import Message, Unknown, incoming
from twsbridge.sim import SimServer

pytestmark = pytest.mark.timeout(10)

AMD = Contract(symbol="AMD", secType="STK", exchange="SMART", currency="USD")


def market(qty: int = 1) -> Order:
    return Order(action="BUY", orderType="MKT", totalQuantity=Decimal(qty))


async def test_ids_increase_and_survive_a_reconnect(sim: SimServer) -> None:
    ib = TWSClient("127.0.0.1", sim.port, client_id=1, timeout=5)
    used: list[int] = []  # request ids and order ids, in the order they were taken

    async def stream() -> None:
        sub = ib.reqMktData(AMD)
        assert sub.reqId is not None
        used.append(sub.reqId)
        await sub.cancel()

    async def order(o: Order | None = None) -> None:
        trade = ib.placeOrder(AMD, o or market())
        used.append(trade.orderId)
        await trade.done(timeout=5)

    async with ib:
        assert ib._core.ids.peek >= ib.next_order_id
        await stream()
        await order()
        told = await ib.reqIds()
        assert told > used[-1]
        await order()
        assert used[-1] == told  # reqIds said which id comes next
        await stream()
        await order(Order(orderId=used[-1] + 50, action="BUY", orderType="MKT",
                          totalQuantity=Decimal(1)))  # an explicit id raises the sequence
        assert await ib.reqIds() > used[-1]
        await stream()
        last = used[-1]
    async with ib:  # the same object again: no id comes back
        await order()
        await stream()
    assert used[-2] > last
    assert all(a < b for a, b in itertools.pairwise(used)), used


async def test_hooks_see_messages_before_the_trade(ib: TWSClient) -> None:
    journal: list[str] = []
    trade: Trade | None = None

    def hook(msg: Message | Unknown) -> None:
        journal.append(f"hook {msg.NAME}")
        if trade is not None and isinstance(msg, incoming.OrderStatus):
            assert trade.orderStatus is not msg  # the trade has not taken it yet
        if trade is not None and isinstance(msg, incoming.ExecDetails):
            assert all(f.execution is not msg.execution for f in trade.fills)

    def handler(msg: Message | Unknown) -> None:
        journal.append(f"handler {msg.NAME}")

    ib.intercept(hook)
    ib.register(handler, "orderStatus", "execDetails", "commissionReport", "openOrder")
    trade = ib.placeOrder(AMD, market(2))

    async def follow() -> None:
        async for t in trade.updates():
            journal.append(f"trade {t.status} fills={len(t.fills)}")

    follower = asyncio.create_task(follow())
    await trade.done(timeout=5)
    await asyncio.wait_for(follower, 5)
    hooks = [e for e in journal if e.startswith("hook")]
    assert {"hook openOrder", "hook orderStatus", "hook execDetails",
            "hook commissionReport"} <= set(hooks)
    # every message: its hook, then its handler, before the next message
    calls = [e.split() for e in journal if not e.startswith("trade")]
    assert [who for who, _ in calls] == ["hook", "handler"] * (len(calls) // 2)
    assert all(a[1] == b[1] for a, b in zip(calls[0::2], calls[1::2], strict=True))
    assert journal.index("hook openOrder") < journal.index(
        next(e for e in journal if e.startswith("trade")))


async def test_async_hook_is_awaited_before_anything_else(ib: TWSClient) -> None:
    journal: list[str] = []
    trade: Trade | None = None

    async def hook(msg: Message | Unknown) -> None:
        journal.append(f"start {msg.NAME}")
        await asyncio.sleep(0.01)  # a slow journal write
        if trade is not None and isinstance(msg, incoming.OrderStatus):
            assert trade.orderStatus is not msg
        journal.append(f"end {msg.NAME}")

    ib.intercept(hook, "orderStatus", "execDetails", incoming.CommissionReportMessage)
    ib.register(lambda m: journal.append(f"handler {m.NAME}"), "orderStatus", "execDetails",
                "commissionReport")
    trade = ib.placeOrder(AMD, market(2))
    await trade.done(timeout=5)
    assert journal and journal[0].startswith("start")
    for i in range(0, len(journal), 3):  # start, end, handler of one message at a time
        name = journal[i].split()[1]
        assert journal[i:i + 3] == [f"start {name}", f"end {name}", f"handler {name}"]


async def test_a_failing_hook_closes_the_connection(ib: TWSClient) -> None:
    def hook(msg: Message | Unknown) -> None:
        raise OSError("journal disk full")

    ib.intercept(hook, "orderStatus")
    trade = ib.placeOrder(AMD, market())
    with pytest.raises(InterceptError) as info:
        await trade.done(timeout=5)
    assert isinstance(info.value.__cause__, OSError)
    assert not ib.is_connected and isinstance(ib.close_reason, InterceptError)
    assert trade.orderStatus is None  # never acted on
