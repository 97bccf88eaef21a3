"""How each journaled message changes the tables (one session, one transaction each).

The writers take the open session, the message, its receipt time, its
``source`` ("live", or "reconcile" inside a reconciliation window) and the
open :class:`ReconcileSummary` (``None`` outside one); each returns what it
added that a reconciliation counts: ``"execution"``, ``"commission"``,
``"order"`` or ``""``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from .models import CommissionRecord, ExecutionRecord, OrderEvent, OrderRecord
from .stats import ReconcileSummary
from .values import (
    TERMINAL,
    execution_values,
    opt_decimal,
    opt_float,
    opt_str,
    order_terms,
    raw,
)

__all__ = [
    "ENDED",
    "UNACKNOWLEDGED",
    "Outcome",
    "add_event",
    "apply_terms",
    "commission",
    "exec_details",
    "find_order",
    "insert_new",
    "order_message",
    "order_row",
    "order_status",
    "set_status",
]

#: Statuses TWS ends an order with; after an error of ours, that is a rejection.
ENDED = frozenset({"Cancelled", "ApiCancelled", "Inactive"})
#: Statuses of an order TWS has not acknowledged.
UNACKNOWLEDGED = frozenset({"", "PendingSubmit", "ApiPending"})

Outcome = str


async def order_message(
    s: AsyncSession, msg: Any, at: dt.datetime, source: str,
    window: ReconcileSummary | None,
) -> Outcome:
    order, contract, state = msg.order, msg.contract, msg.orderState
    completed = msg.NAME == "completedOrder"
    order_id = order.orderId if completed else msg.orderId
    row, new = await order_row(s, order.clientId, order_id, order.permId or None, at)
    terms = order_terms(contract, order)
    if completed:  # keep what openOrder said where completedOrder is silent
        terms = {k: v for k, v in terms.items() if v is not None and v != ""}
    apply_terms(row, terms)
    set_status(row, state.status)
    if order.whatIf:
        row.warning_text = opt_str(state.warningText)
    if completed:
        row.completed_time = opt_str(state.completedTime)
        row.completed_status = opt_str(state.completedStatus)
        filled = opt_decimal(order.filledQuantity)
        if filled is not None and (row.filled is None or filled >= row.filled):
            row.filled = filled
            if row.total_quantity is not None:
                row.remaining = row.total_quantity - filled
            if filled and row.perm_id is not None:
                row.avg_fill_price = await average_price(s, row.perm_id)
    row.updated_at = at
    add_event(s, row, msg.NAME, state.status or None, source, at, raw(msg))
    return "order" if new else ""

async def order_status(
    s: AsyncSession, msg: Any, at: dt.datetime, source: str,
    window: ReconcileSummary | None,
) -> Outcome:
    row, new = await order_row(s, msg.clientId, msg.orderId, msg.permId or None, at)
    set_status(row, msg.status)
    filled = opt_decimal(msg.filled)
    if filled is not None and (row.filled is None or filled >= row.filled):
        row.filled = filled
        row.remaining = opt_decimal(msg.remaining)
        row.avg_fill_price = opt_float(msg.avgFillPrice) if filled else None
        row.last_fill_price = opt_float(msg.lastFillPrice) if filled else None
    row.why_held = opt_str(msg.whyHeld)
    if msg.parentId:
        row.parent_id = msg.parentId
    row.updated_at = at
    add_event(s, row, msg.NAME, msg.status or None, source, at, raw(msg))
    return "order" if new else ""

async def exec_details(
    s: AsyncSession, msg: Any, at: dt.datetime, source: str,
    window: ReconcileSummary | None,
) -> Outcome:
    values = execution_values(msg.contract, msg.execution)
    answered = getattr(msg, "reqId", -1) >= 0  # an answer to reqExecutions
    if answered and window is not None:
        window.executions_reported += 1
        window.exec_ids.add(values["exec_id"])
    order = await find_order(s, values["client_id"], values["order_id"], values["perm_id"])
    values.update(
        order_pk=None if order is None else order.id,
        source="reconcile" if answered else "live",
        received_at=at,
        raw=raw(msg),
    )
    inserted = await insert_new(s, ExecutionRecord, values)
    return "execution" if inserted and answered else ""

async def commission(
    s: AsyncSession, msg: Any, at: dt.datetime, source: str,
    window: ReconcileSummary | None,
) -> Outcome:
    report = msg.commissionReport
    reconciled = window is not None and report.execId in window.exec_ids
    values = {
        "exec_id": report.execId,
        "commission": opt_float(report.commission),
        "currency": report.currency,
        "realized_pnl": opt_float(report.realizedPNL),
        "source": "reconcile" if reconciled else "live",
        "received_at": at,
    }
    inserted = await insert_new(s, CommissionRecord, values)
    return "commission" if inserted and reconciled else ""

async def insert_new(s: AsyncSession, model: type[Any], values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT (exec_id) DO NOTHING; True when a row was added."""
    dialect = s.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["exec_id"])
        .returning(model.id)
    )
    return (await s.execute(stmt)).scalar_one_or_none() is not None

def _by_ids(client_id: int, order_id: int, perm_id: int | None) -> Select[Any]:
    """The newest order ``(client_id, order_id)``; with a ``perm_id``, only one that has
    no permId yet or that one (an order id reused after a TWS reset is a new order)."""
    stmt = select(OrderRecord).where(
        OrderRecord.client_id == client_id, OrderRecord.order_id == order_id
    )
    if perm_id is not None:
        stmt = stmt.where(OrderRecord.perm_id.is_(None) | (OrderRecord.perm_id == perm_id))
    return stmt.order_by(OrderRecord.id.desc()).limit(1)


async def find_order(
    s: AsyncSession, client_id: int, order_id: int, perm_id: int | None
) -> OrderRecord | None:
    row: OrderRecord | None = None
    if perm_id is not None:
        row = await s.scalar(select(OrderRecord).where(OrderRecord.perm_id == perm_id))
    if row is None and order_id:
        row = await s.scalar(_by_ids(client_id, order_id, perm_id))
    return row

async def order_row(
    s: AsyncSession, client_id: int, order_id: int, perm_id: int | None,
    at: dt.datetime,
) -> tuple[OrderRecord, bool]:
    """The order's row, created (and orphan executions linked) when new."""
    row = await find_order(s, client_id, order_id, perm_id)
    new = row is None
    if row is None:
        row = OrderRecord(client_id=client_id, order_id=order_id, perm_id=perm_id, status="",
                          outside_rth=False, transmit=True, what_if=False,
                          cancel_requested=False, created_at=at, updated_at=at)
        s.add(row)
        await s.flush()
    elif perm_id is not None and row.perm_id is None:
        row.perm_id = perm_id
    else:
        return row, False
    if perm_id is not None:
        await s.execute(
            update(ExecutionRecord)
            .where(ExecutionRecord.order_pk.is_(None), ExecutionRecord.perm_id == perm_id)
            .values(order_pk=row.id)
        )
    return row, new

def apply_terms(row: OrderRecord, terms: dict[str, Any]) -> None:
    for name, value in terms.items():
        setattr(row, name, value)

def set_status(row: OrderRecord, status: str) -> None:
    """Take ``status`` unless it would revive a finished (or rejected) order;
    an order TWS ends after an error, without a cancel from us, is ``Rejected``."""
    if not status or row.status == "Rejected":
        return
    if row.status in TERMINAL and status not in TERMINAL:
        return
    if status in ENDED and row.error_code is not None and not row.cancel_requested:
        status = "Rejected"
    row.status = status

async def average_price(s: AsyncSession, perm_id: int) -> float | None:
    total = func.sum(ExecutionRecord.price * ExecutionRecord.shares)
    shares = func.sum(ExecutionRecord.shares)
    row = (await s.execute(
        select(total, shares).where(ExecutionRecord.perm_id == perm_id)
    )).one()
    return float(row[0]) / float(row[1]) if row[1] else None

def add_event(
    s: AsyncSession, row: OrderRecord | None, kind: str, status: str | None, source: str,
    at: dt.datetime, body: dict[str, Any],
) -> None:
    s.add(OrderEvent(
        order_pk=None if row is None else row.id,
        kind=kind,
        client_id=None if row is None else row.client_id,
        order_id=None if row is None else row.order_id,
        perm_id=None if row is None else row.perm_id,
        status=status,
        source=source,
        received_at=at,
        raw=body,
    ))
