"""How each journaled message changes the tables (one session, one transaction each).

The writers take the open session, the message, its receipt time and the
:class:`Context` of the write: its ``source`` ("live", or "reconcile" inside a
reconciliation window), the open :class:`ReconcileSummary` (``None`` outside
one), and the journal's current epoch and gateway session. Each returns what
it added that a reconciliation counts: ``"execution"``, ``"commission"``,
``"order"`` or ``""``.

Finding an order again (:func:`find_order`): within the current epoch only
(an earlier epoch's ids mean nothing to the gateway any more), by ``permId``
first, else by ``(clientId, orderId)``; a row found by its ids is a different
order (a reused orderId: a new row) when its permId, conId or action differ
from the message's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
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
    "Context",
    "Outcome",
    "acknowledge_by_fills",
    "add_event",
    "apply_terms",
    "commission",
    "complete",
    "exec_details",
    "fills_of",
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
_EARLIEST = dt.datetime.min.replace(tzinfo=dt.UTC)


def same_time(at: dt.datetime) -> dt.datetime:
    """The clock of a gateway that has not been read yet: the service's own."""
    return at


@dataclass(slots=True)
class Context:
    """What a write needs besides its message: where it comes from and the epoch.

    ``epoch`` and ``session_id`` may be changed by the write (a new epoch
    begins); the journal takes them over once the transaction committed.
    ``clients``: the client ids the service connects as (its own orders);
    ``clock``: the service's time (aware) on the gateway's clock
    (:meth:`twsbridge.service.gateway_clock.GatewayClock.at`; the identity until the
    first reconciliation sets it).
    """

    source: str
    window: ReconcileSummary | None
    epoch: int
    session_id: int | None
    clients: frozenset[int] = field(default_factory=frozenset)
    clock: Callable[[dt.datetime], dt.datetime] = same_time

    def gateway_time(self, at: dt.datetime) -> str:
        """``at`` in the gateway's clock, as TWS writes times (``20261207 22:50:01 UTC``)."""
        t = self.clock(at).astimezone(dt.UTC)
        return f"{t:%Y%m%d %H:%M:%S} UTC"


async def complete(s: AsyncSession, row: OrderRecord, ctx: Context, at: dt.datetime) -> None:
    """Give a finished order its completion time when TWS gave none (completedOrder's):
    a filled order's last execution's time (TWS's text), else the time of its final
    status in the gateway's clock."""
    if row.status not in TERMINAL or (row.completed_time and row.completed_status):
        return
    if row.status == "Filled":
        last = (await fills_of(s, row))[1]
        if last:
            row.completed_time = last
            return
    if row.completed_time is None:
        row.completed_time = ctx.gateway_time(at)


def _reported(ctx: Context, row: OrderRecord) -> None:
    """TWS reported ``row`` during the open reconciliation window."""
    if ctx.window is not None:
        ctx.window.reported.add(row.id)


async def order_message(s: AsyncSession, msg: Any, at: dt.datetime, ctx: Context) -> Outcome:
    order, contract, state = msg.order, msg.contract, msg.orderState
    completed = msg.NAME == "completedOrder"
    order_id = order.orderId if completed else msg.orderId
    terms = order_terms(contract, order)
    row, new = await order_row(s, ctx, order.clientId, order_id, order.permId or None, at,
                               terms=terms)
    if completed:  # keep what openOrder said where completedOrder is silent
        terms = {k: v for k, v in terms.items() if v is not None and v != ""}
    apply_terms(row, terms)
    set_status(row, state.status)
    if order.whatIf:
        row.warning_text = opt_str(state.warningText)
    if state.completedTime:  # completedOrder's, or openOrder's of a done order
        row.completed_time = state.completedTime
    if completed:
        row.completed_status = opt_str(state.completedStatus)
        filled = opt_decimal(order.filledQuantity)
        if filled is not None and (row.filled is None or filled >= row.filled):
            row.filled = filled
            if row.total_quantity is not None:
                row.remaining = row.total_quantity - filled
            if filled:
                row.avg_fill_price = await average_price(s, row)
    if not order.whatIf:
        await complete(s, row, ctx, at)
    row.updated_at = at
    _reported(ctx, row)
    add_event(s, row, msg.NAME, state.status or None, ctx.source, at, raw(msg))
    return "order" if new else ""


async def order_status(s: AsyncSession, msg: Any, at: dt.datetime, ctx: Context) -> Outcome:
    row, new = await order_row(s, ctx, msg.clientId, msg.orderId, msg.permId or None, at)
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
    if not row.what_if:
        await complete(s, row, ctx, at)
    row.updated_at = at
    _reported(ctx, row)
    add_event(s, row, msg.NAME, msg.status or None, ctx.source, at, raw(msg))
    return "order" if new else ""


async def exec_details(s: AsyncSession, msg: Any, at: dt.datetime, ctx: Context) -> Outcome:
    """An execution: stored once per epoch; it acknowledges its order (which takes
    the execution's permId, and its fills: ``Filled`` once they make its quantity)."""
    values = execution_values(msg.contract, msg.execution)
    answered = getattr(msg, "reqId", -1) >= 0  # an answer to reqExecutions
    window = ctx.window
    if answered and window is not None:
        window.executions_reported += 1
        window.exec_ids.add(values["exec_id"])
    terms = {"con_id": values["con_id"] or None, "action": _action(values["side"])}
    order = await find_order(s, ctx.epoch, values["client_id"], values["order_id"],
                             values["perm_id"], terms=terms, perm_terms=False)
    values.update(
        epoch=ctx.epoch,
        order_pk=None if order is None else order.id,
        source="reconcile" if answered else "live",
        received_at=at,
        raw=raw(msg),
    )
    inserted = await insert_new(s, ExecutionRecord, values)
    if order is not None:
        await acknowledge_by_fills(s, order, values["perm_id"], at)
        await complete(s, order, ctx, at)
        if answered:
            _reported(ctx, order)
    return "execution" if inserted and answered else ""


def _action(side: str) -> str | None:
    """execDetails' side (BOT / SLD) as the order's action."""
    return {"BOT": "BUY", "SLD": "SELL"}.get(side)


async def acknowledge_by_fills(
    s: AsyncSession, row: OrderRecord, perm_id: int | None, at: dt.datetime
) -> None:
    """An order with executions is acknowledged: take their permId and their sum;
    ``Filled`` once they make the order's quantity."""
    if perm_id is not None and row.perm_id is None:
        row.perm_id = perm_id
    shares, _, avg = await fills_of(s, row)
    if row.status in UNACKNOWLEDGED:
        row.status = "Submitted"
    if row.filled is None or shares > row.filled:
        row.filled = shares
        row.avg_fill_price = avg
        if row.total_quantity is not None:
            row.remaining = max(Decimal(0), row.total_quantity - shares)
    if (row.total_quantity is not None and shares >= row.total_quantity
            and row.status not in TERMINAL):
        row.status = "Filled"
    row.updated_at = at


async def fills_of(s: AsyncSession, row: OrderRecord) -> tuple[Decimal, str | None, float | None]:
    """The order's executions: total shares, the last one's TWS time text, average price."""
    execs = (await s.scalars(select(ExecutionRecord).where(
        ExecutionRecord.order_pk == row.id).order_by(ExecutionRecord.id))).all()
    shares = sum((e.shares for e in execs), Decimal(0))
    value = sum(float(e.shares) * e.price for e in execs)
    last = max(execs, key=lambda e: (e.time or _EARLIEST, e.id), default=None)
    average = value / float(shares) if shares else None
    return shares, None if last is None else last.time_text, average


async def commission(s: AsyncSession, msg: Any, at: dt.datetime, ctx: Context) -> Outcome:
    report = msg.commissionReport
    window = ctx.window
    reconciled = window is not None and report.execId in window.exec_ids
    values = {
        "epoch": ctx.epoch,
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
    """INSERT … ON CONFLICT (epoch, exec_id) DO NOTHING; True when a row was added."""
    dialect = s.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["epoch", "exec_id"])
        .returning(model.id)
    )
    return (await s.execute(stmt)).scalar_one_or_none() is not None


def _by_ids(epoch: int, client_id: int, order_id: int) -> Select[Any]:
    """The newest order ``(client_id, order_id)`` of ``epoch``."""
    return (
        select(OrderRecord)
        .where(OrderRecord.epoch == epoch, OrderRecord.client_id == client_id,
               OrderRecord.order_id == order_id)
        .order_by(OrderRecord.id.desc())
        .limit(1)
    )


def _differs(row: OrderRecord, client_id: int, perm_id: int | None,
             terms: dict[str, Any] | None) -> bool:
    """True when ``row`` is another order than the one a message with these ids and
    terms is about: another permId, clientId, conId or action (both sides known; a combo's
    executions are its legs', so a BAG is compared by its ids only)."""
    if perm_id is not None and row.perm_id is not None and row.perm_id != perm_id:
        return True
    if client_id and row.client_id and client_id != row.client_id:
        return True  # another client's (a manual order, client 0, may be bound to any)
    if row.sec_type == "BAG":
        return False
    for name in ("con_id", "action"):
        mine, theirs = getattr(row, name), (terms or {}).get(name)
        if mine is not None and theirs is not None and mine != theirs:
            return True
    return False


async def find_order(
    s: AsyncSession, epoch: int, client_id: int, order_id: int, perm_id: int | None,
    *, terms: dict[str, Any] | None = None, perm_terms: bool = True,
) -> OrderRecord | None:
    """The journaled order a message of ``epoch`` is about (see the module doc);
    ``terms`` (conId, action) are compared for a match by ids, and with
    ``perm_terms`` for a match by permId too."""
    if perm_id is not None:
        stmt = select(OrderRecord).where(OrderRecord.epoch == epoch,
                                         OrderRecord.perm_id == perm_id)
        for row in (await s.scalars(stmt.order_by(OrderRecord.id.desc()))).all():
            if not _differs(row, client_id, perm_id, terms if perm_terms else None):
                return row
    if order_id:
        found: OrderRecord | None = await s.scalar(_by_ids(epoch, client_id, order_id))
        if found is not None and not _differs(found, client_id, perm_id, terms):
            return found
    return None


async def order_row(
    s: AsyncSession, ctx: Context, client_id: int, order_id: int, perm_id: int | None,
    at: dt.datetime, *, terms: dict[str, Any] | None = None, submission: bool = False,
) -> tuple[OrderRecord, bool]:
    """The order's row, created (and orphan executions linked) when new.

    ``submission``: the service's own placeOrder, which is a new order unless TWS's
    answer to it was journaled first (a row of these ids without a placeOrder).
    """
    row = await find_order(s, ctx.epoch, client_id, order_id, perm_id, terms=terms)
    if row is not None and submission and await _submitted(s, row):
        row = None  # that orderId was placed before: this is another order
    new = row is None
    if row is None:
        row = OrderRecord(epoch=ctx.epoch, session_id=ctx.session_id, client_id=client_id,
                          order_id=order_id, perm_id=perm_id, status="", outside_rth=False,
                          transmit=True, what_if=False, cancel_requested=False,
                          created_at=at, updated_at=at)
        s.add(row)
        await s.flush()
    elif perm_id is not None and row.perm_id is None:
        row.perm_id = perm_id
    else:
        return row, False
    if perm_id is not None:
        await s.execute(
            update(ExecutionRecord)
            .where(ExecutionRecord.order_pk.is_(None), ExecutionRecord.epoch == ctx.epoch,
                   ExecutionRecord.perm_id == perm_id)
            .values(order_pk=row.id)
        )
    return row, new


async def _submitted(s: AsyncSession, row: OrderRecord) -> bool:
    """True when the service's placeOrder of ``row`` is journaled already."""
    found = await s.scalar(select(OrderEvent.id).where(
        OrderEvent.order_pk == row.id, OrderEvent.kind == "placeOrder").limit(1))
    return found is not None


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


async def average_price(s: AsyncSession, row: OrderRecord) -> float | None:
    total = func.sum(ExecutionRecord.price * ExecutionRecord.shares)
    shares = func.sum(ExecutionRecord.shares)
    result = (await s.execute(
        select(total, shares).where(ExecutionRecord.order_pk == row.id)
    )).one()
    return float(result[0]) / float(result[1]) if result[1] else None


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
