"""Waiting for TWS's answer to an order (``operations.orders._await_answer``) when the
trade's update stream ends before an answer: the wait must keep yielding to the
event loop (the service answers everything else meanwhile) and end by its deadline.

Found by the adversity run: after the service's client was closed on purpose
(``disconnect()`` ends every ``Trade.updates()`` reader without an error) a
request placing an order retried the ended reader at once, forever: the service's
event loop never ran again and its memory grew by gigabytes a minute.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from twsbridge.client import Contract
from twsbridge.client.trade import Trade
from twsbridge.protocol.order_models import Order
from twsbridge.service.operations.orders import _await_answer

pytestmark = pytest.mark.timeout(20)


def _trade() -> Trade:
    order = Order(orderId=7, action="BUY", totalQuantity=Decimal(100), orderType="LMT",
                  lmtPrice=1.0)
    return Trade(Contract(conId=265598), order, "PendingSubmit", lambda: None, placed=True)


async def _ticks_until(task: asyncio.Task[None]) -> int:
    """How often this coroutine got the loop while ``task`` ran (0 when it never did)."""
    ticks = 0
    while not task.done():
        await asyncio.sleep(0.01)
        ticks += 1
    return ticks


async def test_updates_ended_by_disconnect_wait_until_the_deadline_without_spinning() -> None:
    trade = _trade()
    loop = asyncio.get_running_loop()
    start = loop.time()
    task = asyncio.create_task(_await_answer(trade, 1.0))
    await asyncio.sleep(0.05)
    trade.connection_ended(None)  # disconnect(): the reader ends, the trade is not done
    ticks = await _ticks_until(task)
    assert 0.9 <= loop.time() - start < 2.0
    assert ticks > 30  # the loop kept running other work throughout
    assert not trade.acknowledged


async def test_an_answer_after_the_updates_ended_is_seen_at_once() -> None:
    trade = _trade()
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(_await_answer(trade, 10.0))
    await asyncio.sleep(0.05)
    trade.connection_ended(None)
    await asyncio.sleep(0.1)
    assert not task.done()
    start = loop.time()
    trade.acknowledged = True  # e.g. the recovery after a reconnect brought the trade up to date
    trade.set_status("Submitted")
    trade.changed()
    await _ticks_until(task)
    assert loop.time() - start < 1.0
