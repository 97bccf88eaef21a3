"""The order book without a socket: TWS's order messages in, Trades out.

Real catalogue messages are fed to a real :class:`OrderBook`; the sequences
are those TWS sends (acknowledged orders, refusals at validation, cancels,
late messages, commission reports that overtake their execution).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from twsbridge.client import (
    CommissionReport,
    Contract,
    Execution,
    IdAllocator,
    NotConnected,
    Order,
    OrderState,
    TWSError,
)
from twsbridge.client.orders import OrderBook, is_rejection
from twsbridge.protocol import incoming

pytestmark = pytest.mark.timeout(10)

AMD = Contract(conId=4391, symbol="AMD", secType="STK", exchange="SMART", currency="USD")


class Link:
    """The book's view of the connection: up or down."""

    def __init__(self) -> None:
        self.up = True

    def check(self) -> None:
        if not self.up:
            raise NotConnected("down")


def make_book() -> tuple[OrderBook, Link]:
    link = Link()
    return OrderBook(lambda: 1, link.check), link


def buy(orderId: int, qty: int = 100, lmt: float = 10.0) -> Order:
    return Order(orderId=orderId, action="BUY", orderType="LMT", totalQuantity=Decimal(qty),
                 lmtPrice=lmt)


def open_order(orderId: int, status: str, permId: int = 900, lmt: float = 10.0,
               clientId: int = 1) -> incoming.OpenOrder:
    order = buy(orderId, lmt=lmt)
    order.permId, order.clientId = permId, clientId
    return incoming.OpenOrder(orderId=orderId, contract=AMD, order=order,
                              orderState=OrderState(status=status))


def status(orderId: int, text: str, filled: int = 0, remaining: int = 100,
           permId: int = 900, avg: float = 0.0) -> incoming.OrderStatus:
    return incoming.OrderStatus(orderId=orderId, status=text, filled=Decimal(filled),
                                remaining=Decimal(remaining), avgFillPrice=avg,
                                permId=permId, clientId=1)


def execution(orderId: int, execId: str, shares: int, price: float,
              permId: int = 900) -> incoming.ExecDetails:
    return incoming.ExecDetails(reqId=-1, contract=AMD, execution=Execution(
        execId=execId, time="20130301 10:00:05 US/Eastern", side="BOT", shares=Decimal(shares),
        price=price, permId=permId, clientId=1, orderId=orderId))


def commission(execId: str, amount: float = 1.0) -> incoming.CommissionReportMessage:
    return incoming.CommissionReportMessage(commissionReport=CommissionReport(
        execId=execId, commission=amount, currency="USD"))


def test_id_allocator_only_grows() -> None:
    ids = IdAllocator()
    assert [ids.next(), ids.next()] == [1, 2]
    ids.raise_to(10)
    ids.raise_to(5)  # lower: ignored
    assert [ids.next(), ids.next()] == [10, 11]
    assert ids.peek == 12


def test_rejection_codes() -> None:
    for code in (103, 104, 110, 200, 201, 321, 10311):
        assert is_rejection(code), code
    for code in (399, 404, 2109, 10349, 161, 202, 10147, 10148):
        assert not is_rejection(code), code


async def test_fill_and_commission_complete_the_trade() -> None:
    book, _ = make_book()
    trade = book.place(AMD, buy(5))
    assert trade.status == "PendingSubmit" and not trade.acknowledged
    book.on_open_order(open_order(5, "PreSubmitted"))
    book.on_order_status(status(5, "Submitted"))
    assert trade.order.permId == 900 and trade.status == "Submitted"
    book.on_exec_details(execution(5, "e1", 40, 10.0))
    book.on_exec_details(execution(5, "e2", 60, 10.5))
    book.on_order_status(status(5, "Filled", 100, 0, avg=10.3))
    assert trade.is_done() and not trade.complete()  # commissions missing
    book.on_commission_report(commission("e1"))
    assert not trade.complete()
    book.on_commission_report(commission("e2"))
    assert trade.complete()
    assert await trade.done() is trade
    assert trade.filled == 100 and trade.remaining == 0 and trade.avgFillPrice == 10.3
    assert [e.status for e in trade.log if not e.message] == [
        "PendingSubmit", "PreSubmitted", "Submitted", "Filled"]
    assert [e.message for e in trade.log if e.message.startswith("Fill")] == [
        "Fill 40@10.0", "Fill 60@10.5"]
    assert trade.fills[0].time.utcoffset() is not None


async def test_filled_status_before_its_executions_waits_for_them() -> None:
    book, _ = make_book()
    trade = book.place(AMD, buy(5))
    book.on_open_order(open_order(5, "Submitted"))
    book.on_order_status(status(5, "Filled", 100, 0, avg=10.0))
    assert trade.is_done() and not trade.complete()  # no fill yet
    waiter = asyncio.ensure_future(trade.done())
    await asyncio.sleep(0)
    book.on_commission_report(commission("e1"))  # the report overtakes its execution
    book.on_exec_details(execution(5, "e1", 100, 10.0))
    assert trade.fills[0].commissionReport is not None
    assert await asyncio.wait_for(waiter, 1) is trade


async def test_refused_at_validation_ends_the_trade_and_done_raises() -> None:
    book, _ = make_book()
    trade = book.place(AMD, buy(7, lmt=10.005))
    assert book.on_error(TWSError(110, "The price does not conform to the minimum price "
                                       "variation for this contract.", 7))
    assert trade.status == "Cancelled" and trade.rejected and trade.complete()
    with pytest.raises(TWSError) as info:
        await trade.done()
    assert info.value.code == 110
    assert trade.log[-1].errorCode == 110
    assert not book.on_error(TWSError(200, "no such order", 8))  # not an order of ours


async def test_warning_only_logs() -> None:
    book, _ = make_book()
    trade = book.place(AMD, buy(9))
    book.on_error(TWSError(399, "Order message: Warning: your order will not be placed at "
                                "the exchange until 2013-03-01 09:30:00 US/Eastern", 9))
    assert trade.status == "PendingSubmit" and trade.error is None
    assert trade.log[-1].errorCode == 399


async def test_refused_modification_keeps_the_order_live() -> None:
    book, _ = make_book()
    trade = book.place(AMD, buy(11))
    book.on_open_order(open_order(11, "Submitted"))
    book.on_error(TWSError(110, "The price does not conform", 11))
    assert trade.status == "Submitted" and not trade.rejected
    # later TWS cancels it, not us: that is the rejection done() reports
    book.on_order_status(status(11, "Cancelled"))
    with pytest.raises(TWSError):
        await trade.done()


async def test_a_cancel_is_no_rejection() -> None:
    book, _ = make_book()
    trade = book.place(AMD, buy(12))
    book.on_open_order(open_order(12, "Submitted"))
    book.cancel_requested([trade], "Cancel requested")
    book.on_error(TWSError(202, "Order Canceled - reason:", 12))
    book.on_order_status(status(12, "Cancelled"))
    assert await trade.done() is trade
    assert trade.status == "Cancelled" and not trade.rejected


async def test_late_messages_do_not_revive_a_done_trade() -> None:
    book, _ = make_book()
    trade = book.place(AMD, buy(13))
    book.on_open_order(open_order(13, "Submitted"))
    book.on_order_status(status(13, "Cancelled"))
    book.on_order_status(status(13, "Submitted"))
    book.on_open_order(open_order(13, "Submitted"))
    assert trade.status == "Cancelled"
    assert trade.orderStatus is not None and trade.orderStatus.status == "Cancelled"


async def test_other_clients_orders_become_trades() -> None:
    book, _ = make_book()
    mine = book.place(AMD, buy(3))
    theirs = book.on_open_order(open_order(3, "Submitted", permId=777, clientId=2))
    assert theirs is not mine and not theirs.placed and theirs.order.clientId == 2
    assert book.find(2, 3, 0) is theirs and book.own(3) is mine
    completed = incoming.CompletedOrder(contract=AMD, order=Order(permId=777, action="BUY"),
                                        orderState=OrderState(status="Filled"))
    assert book.on_completed_order(completed) is theirs
    assert theirs.status == "Filled"
    assert book.trades() == [mine, theirs] and book.open_trades() == [mine]


async def test_modify_returns_the_same_trade_and_mirrors_tws() -> None:
    book, _ = make_book()
    order = buy(20)
    trade = book.place(AMD, order)
    book.on_open_order(open_order(20, "Submitted", lmt=10.0))
    order.lmtPrice = 11.0
    book.modify(trade, AMD, order)
    book.on_open_order(open_order(20, "Submitted", lmt=11.0))
    assert trade.order is order and order.lmtPrice == 11.0 and order.permId == 900
    assert any(e.message == "Modify" for e in trade.log)
    assert trade.contract is AMD  # it had a conId: the caller's stays


async def test_a_contract_without_conid_is_replaced_by_tws_s() -> None:
    book, _ = make_book()
    mine = Contract(symbol="AMD", secType="STK", exchange="SMART", currency="USD")
    trade = book.place(mine, buy(21))
    book.on_open_order(open_order(21, "Submitted"))
    assert trade.contract.conId == 4391 and mine.conId == 0


async def test_updates_yield_each_change_and_end_when_complete() -> None:
    book, _ = make_book()
    trade = book.place(AMD, buy(30))
    seen: list[str] = []

    async def follow() -> None:
        async for t in trade.updates():
            seen.append(t.status)

    task = asyncio.ensure_future(follow())
    for feed in (lambda: book.on_open_order(open_order(30, "Submitted")),
                 lambda: book.on_order_status(status(30, "Submitted")),
                 lambda: book.on_order_status(status(30, "Submitted")),  # no news
                 lambda: book.on_exec_details(execution(30, "x", 100, 10.0)),
                 lambda: book.on_order_status(status(30, "Filled", 100, 0)),
                 lambda: book.on_commission_report(commission("x")),
                 lambda: book.on_commission_report(commission("x"))):  # no news
        await asyncio.sleep(0)
        feed()
    await asyncio.wait_for(task, 1)
    assert seen == ["Submitted", "Submitted", "Submitted", "Filled", "Filled"]
    assert [t async for t in trade.updates()] == []  # complete: nothing more to come


async def test_done_raises_when_the_connection_ends() -> None:
    book, link = make_book()
    trade = book.place(AMD, buy(40))
    waiter = asyncio.ensure_future(trade.done())
    updates = trade.updates()
    await asyncio.sleep(0)
    link.up = False
    book.on_close(ConnectionResetError("gone"))
    with pytest.raises(NotConnected):
        await waiter
    with pytest.raises(ConnectionResetError):
        await anext(updates)
    with pytest.raises(TimeoutError):
        link.up = True
        await trade.done(timeout=0.05)


async def test_inactive_then_its_201_error_raises() -> None:
    book, _ = make_book()
    trade = book.place(AMD, buy(50))
    waiter = asyncio.ensure_future(trade.done(timeout=2))
    await asyncio.sleep(0)
    book.on_open_order(open_order(50, "Inactive"))
    book.on_order_status(status(50, "Inactive"))
    await asyncio.sleep(0.05)  # done() has seen Inactive, the error is still to come
    assert not waiter.done()
    book.on_error(TWSError(201, "Order rejected - reason:Insufficient margin", 50))
    with pytest.raises(TWSError) as info:
        await waiter
    assert info.value.code == 201 and trade.status == "Inactive"


async def test_cancelled_by_someone_else_is_no_rejection() -> None:
    book, _ = make_book()
    trade = book.place(AMD, buy(60))
    book.on_open_order(open_order(60, "Submitted"))
    book.on_error(TWSError(202, "Order Canceled - reason:", 60))  # e.g. a global cancel
    book.on_order_status(status(60, "Cancelled"))
    assert await trade.done() is trade and not trade.rejected
