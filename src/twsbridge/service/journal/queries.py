"""Reading the journal: orders with their executions, executions with commissions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from .models import ExecutionRecord, OrderRecord
from .values import TERMINAL, WORKING

__all__ = ["StatusFilter", "find_order", "list_executions", "list_orders", "order_by_perm_ids"]

StatusFilter = Literal["open", "completed", "all"]


def _with_fills(stmt: Select[Any]) -> Select[Any]:
    return stmt.options(
        selectinload(OrderRecord.executions).selectinload(ExecutionRecord.commission)
    )


async def list_orders(
    s: AsyncSession, status: StatusFilter = "all", *, client_id: int | None = None,
    limit: int = 500,
) -> Sequence[OrderRecord]:
    """Orders (no what-if previews), newest first, by journal status."""
    stmt = select(OrderRecord).where(OrderRecord.what_if.is_(False))
    if status == "open":
        stmt = stmt.where(OrderRecord.status.in_(sorted(WORKING)))
    elif status == "completed":
        stmt = stmt.where(OrderRecord.status.in_(sorted(TERMINAL)))
    if client_id is not None:
        stmt = stmt.where(OrderRecord.client_id == client_id)
    stmt = stmt.order_by(OrderRecord.id.desc()).limit(limit)
    return (await s.scalars(_with_fills(stmt))).all()


async def order_by_perm_ids(
    s: AsyncSession, perm_ids: set[int], *, epoch: int | None = None
) -> Sequence[OrderRecord]:
    """The orders with these permIds (of gateway ``epoch`` when given: a gateway that
    restarted its ids reuses permIds), newest first."""
    if not perm_ids:
        return []
    stmt = select(OrderRecord).where(OrderRecord.perm_id.in_(sorted(perm_ids)))
    if epoch is not None:
        stmt = stmt.where(OrderRecord.epoch == epoch)
    return (await s.scalars(_with_fills(stmt.order_by(OrderRecord.id.desc())))).all()


async def find_order(s: AsyncSession, client_id: int, order_id: int) -> OrderRecord | None:
    """The newest real (not what-if) order ``order_id`` of ``client_id``."""
    stmt = (
        select(OrderRecord)
        .where(OrderRecord.client_id == client_id, OrderRecord.order_id == order_id,
               OrderRecord.what_if.is_(False))
        .order_by(OrderRecord.id.desc())
        .limit(1)
    )
    return (await s.scalars(_with_fills(stmt))).first()


async def list_executions(
    s: AsyncSession, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
    symbol: str | None = None, account: str | None = None, con_id: int | None = None,
    limit: int = 10_000,
) -> Sequence[ExecutionRecord]:
    """Executions in time order (``since`` inclusive, ``until`` exclusive), with commissions."""
    stmt = select(ExecutionRecord).options(selectinload(ExecutionRecord.commission))
    if since is not None:
        stmt = stmt.where(ExecutionRecord.time >= since)
    if until is not None:
        stmt = stmt.where(ExecutionRecord.time < until)
    if symbol:
        stmt = stmt.where(ExecutionRecord.symbol == symbol.upper())
    if account:
        stmt = stmt.where(ExecutionRecord.account == account)
    if con_id is not None:
        stmt = stmt.where(ExecutionRecord.con_id == con_id)
    stmt = stmt.order_by(ExecutionRecord.time, ExecutionRecord.id).limit(limit)
    return (await s.scalars(stmt)).all()
