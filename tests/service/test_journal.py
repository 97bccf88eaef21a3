"""The journal on real databases (SQLite file, PostgreSQL) with real TWS messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text

from twsbridge.protocol import Contract, incoming
from twsbridge.protocol.order_models import CommissionReport, Execution, Order, OrderState
from twsbridge.service.journal import (
    Base,
    CommissionRecord,
    ExecutionRecord,
    Journal,
    JournalWriteError,
    OrderEvent,
    async_url,
    head_revision,
    queries,
)
from twsbridge.service.journal.database import current_revision
from twsbridge.service.journal.values import parse_tws_time

AAPL = Contract(conId=265598, symbol="AAPL", secType="STK", exchange="SMART", currency="USD")
CLIENT = 17


@pytest_asyncio.fixture
async def journal(journal_url: str) -> AsyncIterator[Journal]:
    j = Journal(journal_url)
    await j.open()
    try:
        yield j
    finally:
        await j.close()


def _order(order_id: int, perm_id: int = 0, qty: int = 300) -> Order:
    return Order(orderId=order_id, clientId=CLIENT, permId=perm_id, action="BUY",
                 totalQuantity=Decimal(qty), orderType="LMT", lmtPrice=430.5, tif="DAY",
                 account="DU1234567")


def _status(order_id: int, perm_id: int, status: str, filled: int, remaining: int,
            avg: float = 0.0) -> incoming.OrderStatus:
    return incoming.OrderStatus(orderId=order_id, status=status, filled=Decimal(filled),
                                remaining=Decimal(remaining), avgFillPrice=avg, permId=perm_id,
                                lastFillPrice=avg, clientId=CLIENT)


def _fill(exec_id: str, order_id: int, perm_id: int, shares: int, price: float,
          req_id: int = -1) -> incoming.ExecDetails:
    execution = Execution(
        execId=exec_id, time="20130301 10:05:03 US/Eastern", acctNumber="DU1234567",
        exchange="NASDAQ", side="BOT", shares=Decimal(shares), price=price, permId=perm_id,
        clientId=CLIENT, orderId=order_id, cumQty=Decimal(shares), avgPrice=price)
    return incoming.ExecDetails(reqId=req_id, contract=AAPL, execution=execution)


def _commission(exec_id: str, amount: float = 1.0) -> incoming.CommissionReportMessage:
    return incoming.CommissionReportMessage(
        commissionReport=CommissionReport(execId=exec_id, commission=amount, currency="USD"))


async def _count(j: Journal, model: Any) -> int:
    async with j.session() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_migrations_create_exactly_the_models(journal: Journal) -> None:
    assert await current_revision(journal.engine) == head_revision() == "0003"

    def diff(connection: Any) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))

    async with journal.engine.connect() as conn:
        assert await conn.run_sync(diff) == []
    # opening again (the service restarting) migrates nothing and keeps the data
    await journal.record(_fill("e.1", 1, 0, 100, 430.5))
    again = Journal(journal.url)
    await again.open()
    try:
        assert await _count(again, ExecutionRecord) == 1
    finally:
        await again.close()


async def test_order_lifecycle_fills_stored_once(journal: Journal) -> None:
    await journal.record_submission(CLIENT, AAPL, _order(7))
    await journal.record(incoming.OpenOrder(orderId=7, contract=AAPL, order=_order(7, 9001),
                                            orderState=OrderState(status="Submitted")))
    await journal.record(_status(7, 9001, "Submitted", 100, 200, 430.5))
    for _ in range(2):  # TWS may repeat; reconciliation repeats for sure
        await journal.record(_fill("e.1", 7, 9001, 100, 430.5))
        await journal.record(_commission("e.1"))
    await journal.record(_fill("e.2", 7, 9001, 200, 430.25))
    await journal.record(_status(7, 9001, "Filled", 300, 0, 430.333))
    await journal.record(_status(7, 9001, "Submitted", 300, 0, 430.333))  # late, ignored
    await journal.record(_commission("e.2", 1.5))

    async with journal.session() as s:
        row = await queries.find_order(s, CLIENT, 7)
        events = (await s.scalars(select(OrderEvent.kind).order_by(OrderEvent.id))).all()
    assert row is not None
    assert (row.perm_id, row.status, row.filled, row.remaining) == (9001, "Filled", 300, 0)
    assert (row.symbol, row.con_id, row.order_type, row.lmt_price) == ("AAPL", 265598, "LMT",
                                                                      430.5)
    assert [(e.exec_id, e.shares, e.source) for e in row.executions] == [
        ("e.1", 100, "live"), ("e.2", 200, "live")]
    assert [e.commission.commission for e in row.executions if e.commission] == [1.0, 1.5]
    assert events == ["placeOrder", "openOrder", "orderStatus", "orderStatus", "orderStatus"]
    assert await _count(journal, ExecutionRecord) == 2
    assert await _count(journal, CommissionRecord) == 2
    execution = row.executions[0]
    assert execution.time == dt.datetime(2013, 3, 1, 15, 5, 3, tzinfo=dt.UTC)
    assert execution.time_text == "20130301 10:05:03 US/Eastern"
    assert journal.stats.messages == 10 and journal.stats.failures == 0
    assert journal.stats.max_lag > 0 and journal.stats.percentile(0.99) is not None


async def test_reconciliation_marks_and_counts_what_was_missing(journal: Journal) -> None:
    await journal.record(_fill("e.1", 7, 9001, 100, 430.5))
    await journal.record(_commission("e.1"))
    window = journal.begin_reconcile()
    assert journal.reconciling
    for exec_id in ("e.1", "e.2", "e.3"):
        await journal.record(_fill(exec_id, 7, 9001, 100, 430.5, req_id=42))
        await journal.record(_commission(exec_id))
    await journal.record(incoming.CompletedOrder(
        contract=AAPL, order=Order(permId=9001, action="BUY", totalQuantity=Decimal(300),
                                   orderType="MKT", filledQuantity=Decimal(300)),
        orderState=OrderState(status="Filled", completedTime="20130301 10:06:00 US/Eastern")))
    summary = journal.end_reconcile()
    assert summary is window and journal.last_reconcile is summary
    assert summary.executions_missing == 2
    assert summary.commissions_missing == 2
    assert summary.orders_new == 1
    assert summary.executions_reported == 3
    assert "reconciled: 2 executions, 2 commissions were missing" in summary.text()
    async with journal.session() as s:
        fills = await queries.list_executions(s)
        [order] = await queries.order_by_perm_ids(s, {9001})
    assert [(f.exec_id, f.source) for f in fills] == [
        ("e.1", "live"), ("e.2", "reconcile"), ("e.3", "reconcile")]
    assert [f.commission.source for f in fills if f.commission] == ["live", "reconcile",
                                                                   "reconcile"]
    assert order.status == "Filled" and order.filled == 300 and order.avg_fill_price == 430.5
    assert {f.order_pk for f in fills} == {order.id}  # linked once the order appeared


async def test_rejection_leaves_the_order_rejected(journal: Journal) -> None:
    hook = journal.error_hook(CLIENT)
    await journal.record_submission(CLIENT, AAPL, _order(8))
    assert hook(incoming.ErrorMessage(reqId=-1, errorCode=2104, errorString="farm OK")) is None
    assert hook(incoming.ErrorMessage(reqId=8, errorCode=2109, errorString="warning")) is None
    pending = hook(incoming.ErrorMessage(reqId=8, errorCode=110, errorString="The price does "
                                         "not conform to the minimum price variation"))
    assert pending is not None
    await pending
    await journal.record(_status(8, 0, "Cancelled", 0, 300))
    unknown = hook(incoming.ErrorMessage(reqId=999, errorCode=200, errorString="no contract"))
    assert unknown is not None
    await unknown  # an error of no journaled order writes nothing
    async with journal.session() as s:
        row = await queries.find_order(s, CLIENT, 8)
        assert row is not None
        assert (row.status, row.error_code) == ("Rejected", 110)
        assert [o.status for o in await queries.list_orders(s, "open")] == []
        assert [o.order_id for o in await queries.list_orders(s, "completed")] == [8]
    assert await _count(journal, OrderEvent) == 3  # placeOrder, error, orderStatus


async def test_cancel_we_asked_for_is_not_a_rejection(journal: Journal) -> None:
    hook = journal.error_hook(CLIENT)
    await journal.record_submission(CLIENT, AAPL, _order(9))
    await journal.record(_status(9, 9009, "Submitted", 0, 300))
    await journal.record_request(CLIENT, 9, "cancelOrder")
    pending = hook(incoming.ErrorMessage(reqId=9, errorCode=202, errorString="Order Canceled"))
    assert pending is not None
    await pending
    await journal.record(_status(9, 9009, "Cancelled", 0, 300))
    async with journal.session() as s:
        row = await queries.find_order(s, CLIENT, 9)
    assert row is not None and row.status == "Cancelled" and row.error_code is None


async def test_orders_tws_never_received_are_settled_lost(journal: Journal) -> None:
    await journal.record_submission(CLIENT, AAPL, _order(20))  # lost with the connection
    await journal.record_submission(CLIENT, AAPL, _order(21))  # acknowledged
    await journal.record(_status(21, 9021, "Submitted", 0, 300))
    await journal.record_submission(CLIENT, AAPL, _order(22))  # filled, its status unseen
    await journal.record_submission(17 + 1, AAPL, _order(23))  # another client's
    window = journal.begin_reconcile()
    await journal.record(_fill("e.22", 22, 0, 300, 430.5, req_id=5))
    await journal.record(_status(21, 9021, "Submitted", 0, 300))  # reqOpenOrders's answer
    await journal.record_submission(CLIENT, AAPL, _order(24))  # sent after it began
    window.orders_lost = await journal.settle_lost(CLIENT, window.started_at)
    summary = journal.end_reconcile()
    assert summary.orders_lost == 1
    assert "1 sent but never received by TWS" in summary.text()
    async with journal.session() as s:
        status = {o.order_id: o.status for o in await queries.list_orders(s)}
        lost = await queries.find_order(s, CLIENT, 20)
        kinds = (await s.scalars(select(OrderEvent.kind).where(
            OrderEvent.order_id == 20).order_by(OrderEvent.id))).all()
    # 22: an order with executions is acknowledged, and filled by them
    assert status == {20: "Lost", 21: "Submitted", 22: "Filled", 23: "PendingSubmit",
                      24: "PendingSubmit"}
    assert lost is not None and "never received" in (lost.error_message or "")
    assert kinds == ["placeOrder", "lost"]
    async with journal.session() as s:  # Lost is final: not among the open orders
        assert 20 not in [o.order_id for o in await queries.list_orders(s, "open")]
        assert 20 in [o.order_id for o in await queries.list_orders(s, "completed")]
    assert await journal.settle_lost(CLIENT, window.started_at) == 0  # once


@pytest.mark.parametrize(("text", "expected"), [
    ("20130301 10:05:03 US/Eastern", dt.datetime(2013, 3, 1, 15, 5, 3, tzinfo=dt.UTC)),
    ("20130301-15:05:03", dt.datetime(2013, 3, 1, 15, 5, 3, tzinfo=dt.UTC)),
    ("20130701 10:05:03 EDT", dt.datetime(2013, 7, 1, 14, 5, 3, tzinfo=dt.UTC)),
    ("1362150303", dt.datetime(2013, 3, 1, 15, 5, 3, tzinfo=dt.UTC)),
    ("garbage", None),
])
def test_tws_times(text: str, expected: dt.datetime | None) -> None:
    assert parse_tws_time(text) == expected


def test_journal_urls(tmp_path: Path) -> None:
    assert async_url("postgresql://u:p@h:5432/db") == "postgresql+asyncpg://u:p@h:5432/db"
    assert async_url("postgres://h/db") == "postgresql+asyncpg://h/db"
    assert async_url("sqlite:///j.db") == "sqlite+aiosqlite:///j.db"
    assert async_url(str(tmp_path / "j.db")) == f"sqlite+aiosqlite:///{tmp_path / 'j.db'}"
    assert async_url(None).endswith("/twsbridge/journal.sqlite3")
    with pytest.raises(ValueError, match="unsupported journal URL"):
        async_url("mysql://h/db")


async def test_rejected_after_inactive_is_one_rejected_order(journal: Journal) -> None:
    # TWS's answer to a refused order: openOrder and orderStatus Inactive, then error 201
    hook = journal.error_hook(CLIENT)
    await journal.record_submission(CLIENT, AAPL, _order(11))
    await journal.record(incoming.OpenOrder(orderId=11, contract=AAPL, order=_order(11, 9011),
                                            orderState=OrderState(status="Inactive")))
    await journal.record(_status(11, 9011, "Inactive", 0, 300))
    pending = hook(incoming.ErrorMessage(reqId=11, errorCode=201,
                                         errorString="Order rejected - reason: margin"))
    assert pending is not None
    await pending
    await journal.record_rejection(CLIENT, 11, 201, "Order rejected - reason: margin")
    await journal.record(incoming.CompletedOrder(
        contract=AAPL, order=Order(permId=9011, action="BUY", totalQuantity=Decimal(300),
                                   orderType="LMT", lmtPrice=430.5),
        orderState=OrderState(status="Inactive", completedStatus="Rejected")))
    async with journal.session() as s:
        rows = await queries.list_orders(s, "all")
    assert [(r.order_id, r.perm_id, r.status, r.error_code) for r in rows] == [
        (11, 9011, "Rejected", 201)]


async def test_a_failed_write_raises_and_is_counted(journal: Journal) -> None:
    async with journal.engine.begin() as conn:
        await conn.execute(text("DROP TABLE commissions"))
    with pytest.raises(JournalWriteError, match="commissionReport"):
        await journal.record(_commission("e.1"))
    assert journal.stats.failures == 1 and journal.needs_reconcile
    await journal.record(_fill("e.1", 7, 9001, 100, 430.5))  # the rest still works
    assert journal.stats.messages == 1
