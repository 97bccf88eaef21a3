"""What identifies an order to the journal (SQLite file and PostgreSQL, real TWS messages).

permIds are unique and orderIds only per client and gateway epoch: a nextValidId
(9) behind an orderId TWS acknowledged begins a new epoch, after which the same
orderId, permId and execId name new orders and executions; within an epoch a
different permId, contract or action for the same (clientId, orderId) is a new
order too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest_asyncio
from sqlalchemy import select

from twsbridge.protocol import Contract, incoming
from twsbridge.protocol.order_models import CommissionReport, Execution, Order, OrderState
from twsbridge.service.journal import Journal, queries
from twsbridge.service.journal.models import ExecutionRecord, GatewaySession, OrderRecord

AAPL = Contract(conId=265598, symbol="AAPL", secType="STK", exchange="SMART", currency="USD")
IBM = Contract(conId=8314, symbol="IBM", secType="STK", exchange="SMART", currency="USD")
CLIENT = 17


@pytest_asyncio.fixture
async def journal(journal_url: str) -> AsyncIterator[Journal]:
    j = Journal(journal_url)
    await j.open()
    j.error_hook(CLIENT)  # as the gateway registers it: the service's client id
    try:
        yield j
    finally:
        await j.close()


def _order(order_id: int, perm_id: int = 0, qty: int = 100, action: str = "BUY") -> Order:
    return Order(orderId=order_id, clientId=CLIENT, permId=perm_id, action=action,
                 totalQuantity=Decimal(qty), orderType="MKT", account="DU1")


async def _place_and_fill(j: Journal, contract: Contract, order_id: int, perm_id: int,
                          qty: int, exec_id: str) -> None:
    await j.record_submission(CLIENT, contract, _order(order_id, qty=qty))
    await j.record(incoming.OpenOrder(orderId=order_id, contract=contract,
                                      order=_order(order_id, perm_id, qty),
                                      orderState=OrderState(status="Submitted")))
    execution = Execution(execId=exec_id, time="20130301 10:05:03 US/Eastern", acctNumber="DU1",
                          exchange="NYSE", side="BOT", shares=Decimal(qty), price=100.0,
                          permId=perm_id, clientId=CLIENT, orderId=order_id,
                          cumQty=Decimal(qty), avgPrice=100.0)
    await j.record(incoming.ExecDetails(reqId=-1, contract=contract, execution=execution))
    await j.record(incoming.CommissionReportMessage(
        commissionReport=CommissionReport(execId=exec_id, commission=1.0, currency="USD")))
    await j.record(incoming.OrderStatus(orderId=order_id, status="Filled", filled=Decimal(qty),
                                        remaining=Decimal(0), avgFillPrice=100.0,
                                        permId=perm_id, clientId=CLIENT))


async def test_a_gateway_that_restarted_its_ids_gets_new_rows(journal: Journal) -> None:
    await journal.record(incoming.NextValidId(orderId=1))
    await _place_and_fill(journal, AAPL, 4, 9001, 100, "e.1")
    await journal.record(incoming.NextValidId(orderId=5))  # reqIds: the counter goes on
    assert journal.epoch == 1
    await journal.record(incoming.NextValidId(orderId=1))  # a fresh gateway
    assert journal.epoch == 2
    await _place_and_fill(journal, IBM, 4, 9001, 5, "e.1")  # the same ids again
    async with journal.session() as s:
        orders = (await s.scalars(select(OrderRecord).order_by(OrderRecord.id))).all()
        fills = await queries.list_executions(s)
        reasons = (await s.scalars(select(GatewaySession.reason))).all()
        newest = await queries.find_order(s, CLIENT, 4)
        by_perm = await queries.order_by_perm_ids(s, {9001}, epoch=journal.epoch)
    assert [(o.epoch, o.order_id, o.perm_id, o.symbol, o.total_quantity, o.status)
            for o in orders] == [(1, 4, 9001, "AAPL", 100, "Filled"),
                                 (2, 4, 9001, "IBM", 5, "Filled")]
    assert sorted((f.epoch, f.exec_id, f.symbol, f.shares, f.order_pk) for f in fills) == [
        (1, "e.1", "AAPL", 100, orders[0].id), (2, "e.1", "IBM", 5, orders[1].id)]
    assert all(f.commission is not None and f.commission.epoch == f.epoch for f in fills)
    assert any(r and "ids restarted" in r for r in reasons)
    assert newest is not None and newest.symbol == "IBM"
    assert [o.symbol for o in by_perm] == ["IBM"]  # GET /orders?status=open's look-up
    again = Journal(journal.url)  # a restarted service goes on in the newest epoch
    await again.open()
    try:
        assert again.epoch == 2
    finally:
        await again.close()


async def test_a_reused_order_id_within_an_epoch_is_another_order(journal: Journal) -> None:
    await journal.record(incoming.NextValidId(orderId=1))
    await _place_and_fill(journal, AAPL, 7, 9007, 100, "e.7")
    # TWS's order id sequence reset by hand: the same orderId, another permId and contract
    await journal.record(incoming.OpenOrder(orderId=7, contract=IBM,
                                            order=_order(7, 9107, 5, "SELL"),
                                            orderState=OrderState(status="Submitted")))
    await journal.record(incoming.OrderStatus(orderId=7, status="Submitted",
                                              filled=Decimal(0), remaining=Decimal(5),
                                              permId=9107, clientId=CLIENT))
    # a placeOrder of an orderId placed before is a new order too
    await journal.record_submission(CLIENT, AAPL, _order(7, qty=1))
    async with journal.session() as s:
        orders = (await s.scalars(select(OrderRecord).order_by(OrderRecord.id))).all()
        linked = (await s.scalars(select(ExecutionRecord.order_pk))).all()
    assert [(o.order_id, o.perm_id, o.symbol, o.action, o.status) for o in orders] == [
        (7, 9007, "AAPL", "BUY", "Filled"), (7, 9107, "IBM", "SELL", "Submitted"),
        (7, None, "AAPL", "BUY", "PendingSubmit")]
    assert linked == [orders[0].id]
    assert journal.epoch == 1


async def test_orders_tws_never_saw_do_not_make_a_new_epoch(journal: Journal) -> None:
    await journal.record(incoming.NextValidId(orderId=10))
    await _place_and_fill(journal, AAPL, 10, 9010, 100, "e.10")
    await journal.record_submission(CLIENT, AAPL, _order(11))  # lost with the connection
    await journal.record_submission(CLIENT, AAPL, _order(12))
    # TWS never received 11 and 12: after the reconnect its counter is at 11
    await journal.record(incoming.NextValidId(orderId=11))
    assert journal.epoch == 1
