"""The two books the adversity suite compares: the simulator's ledger and the journal.

Both are reduced to the same plain shapes, so a difference prints as a diff:

* executions: ``execId -> (orderId, clientId, side, shares, price, commission)``
* orders: ``(clientId, orderId) -> (status, filled)`` (what-if previews left out)
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import selectinload

from twsbridge.service.journal import CommissionRecord, ExecutionRecord, Journal
from twsbridge.service.journal.models import OrderRecord
from twsbridge.sim import Simulator

Fill = tuple[int, int, str, Decimal, float, float | None]
OrderKey = tuple[int, int]
OrderState = tuple[str, Decimal]


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def ledger_executions(sim: Simulator) -> dict[str, Fill]:
    """The simulator's executions with their commissions."""
    return {
        e.execId: (e.orderId, e.clientId, e.side, Decimal(e.shares), _round(e.price) or 0.0,
                   _round(c.commission))
        for e, c, _ in sim.broker.executions()
    }


def ledger_orders(sim: Simulator, client_id: int) -> dict[OrderKey, OrderState]:
    """The simulator's orders of ``client_id``: status and filled quantity. An order
    TWS refused after accepting it (``Inactive``, completed status ``Rejected``: error
    201) is what the journal calls ``Rejected``."""
    def status(o: Any) -> str:
        return "Rejected" if o.status == "Inactive" and o.completed_status == "Rejected" \
            else str(o.status)

    return {(o.client_id, o.order_id): (status(o), Decimal(o.filled))
            for o in sim.broker.orders() if o.client_id == client_id}


def working(sim: Simulator) -> int:
    """Orders the simulator still works."""
    return len(sim.broker.open_orders())


class JournalBook:
    """What the journal holds (read with its own engine, as another process would)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.rows = 0
        self.distinct = 0
        self.commission_rows = 0
        self.executions: dict[str, Fill] = {}
        self.orders: dict[OrderKey, OrderState] = {}
        self.never_accepted: dict[OrderKey, Any] = {}
        self.sources: dict[str, int] = {}

    async def read(self, client_id: int) -> JournalBook:
        journal = Journal(self.url)
        await journal.open()
        try:
            async with journal.session() as s:
                self.rows, self.distinct = (await s.execute(
                    text("SELECT count(*), count(DISTINCT exec_id) FROM executions"))).one()
                self.commission_rows = int(await s.scalar(
                    select(func.count()).select_from(CommissionRecord)) or 0)
                execs = (await s.scalars(select(ExecutionRecord).options(
                    selectinload(ExecutionRecord.commission)))).all()
                self.executions = {
                    x.exec_id: (x.order_id, x.client_id, x.side, Decimal(x.shares),
                                _round(x.price) or 0.0,
                                _round(x.commission.commission) if x.commission else None)
                    for x in execs}
                self.sources = {}
                for x in execs:
                    self.sources[x.source] = self.sources.get(x.source, 0) + 1
                orders = (await s.scalars(select(OrderRecord).where(
                    OrderRecord.what_if.is_(False), OrderRecord.client_id == client_id))).all()
                self.orders = {}
                self.never_accepted = {}
                for o in orders:
                    key = (o.client_id, o.order_id)
                    if o.perm_id is None:  # TWS never acknowledged it
                        self.never_accepted[key] = (o.status, o.error_code, o.error_message)
                    else:
                        self.orders[key] = (o.status, Decimal(o.filled or 0))
        finally:
            await journal.close()
        return self


def diff(a: dict[Any, Any], b: dict[Any, Any], limit: int = 8) -> str:
    """The first differences of two dicts (``ledger`` vs ``journal``)."""
    lines = []
    for k in sorted(set(a) | set(b), key=str):
        if a.get(k) != b.get(k):
            lines.append(f"  {k}: ledger={a.get(k)!r} journal={b.get(k)!r}")
    more = f"\n  ... {len(lines) - limit} more" if len(lines) > limit else ""
    return "\n".join(lines[:limit]) + more
