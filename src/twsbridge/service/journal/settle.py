"""Settling the journaled open orders TWS no longer reports (the end of a reconciliation).

A reconciliation asks TWS for every execution of the day, the completed and
the open orders; whatever TWS says about an order updates its row as it
arrives (:mod:`.writes`). An order of the service's client that the journal
still has working, sent before the reconciliation began, and that none of
those answers mentioned, is not working at TWS any more. Left alone it would
read ``Submitted`` (or ``PendingSubmit``) for good; it is settled instead, from
what the journal knows, with the reason in ``error_message`` and an event
(``lost``, else ``settled``):

* its executions make its quantity: ``Filled`` (TWS's completed orders of an
  earlier day are not reported again);
* the gateway's ids restarted since it was journaled (an earlier epoch): the
  gateway no longer knows it: ``Lost``;
* TWS never acknowledged it (no permId, no execution): the connection
  dropped under it, TWS never received it: ``Lost``;
* TWS acknowledged it (a permId, maybe partial fills): it ended where the
  service could not see it (expired, cancelled at TWS, ...): ``Cancelled``
  (``Rejected`` when TWS had refused it with an error).
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import OrderRecord
from .values import WORKING
from .writes import UNACKNOWLEDGED, Context, add_event, complete, fills_of, set_status

__all__ = ["settle_unreported"]

log = logging.getLogger("twsbridge.service.journal")

NEVER_RECEIVED = ("sent, but TWS never received it: after reconnecting it has the order "
                  "neither open nor completed")
RESET = ("the gateway's ids restarted (journal epoch {epoch}) since this order of epoch "
         "{old}: the gateway no longer knows it")
ENDED_UNSEEN = ("TWS reports it neither open nor completed nor filled (after {filled} of "
                "{total}): it ended where the service could not see it")


async def settle_unreported(
    s: AsyncSession, ctx: Context, client_id: int, before: dt.datetime, reported: set[int],
    at: dt.datetime,
) -> dict[str, int]:
    """Settle the working orders of ``client_id`` journaled before ``before`` whose
    row ids are not in ``reported``; the count by new status."""
    rows = (await s.scalars(select(OrderRecord).where(
        OrderRecord.client_id == client_id, OrderRecord.what_if.is_(False),
        OrderRecord.status.in_(sorted(WORKING | UNACKNOWLEDGED)),
        OrderRecord.created_at < before,
    ).order_by(OrderRecord.id))).all()
    counts: dict[str, int] = {}
    for row in rows:
        if row.id in reported:
            continue
        status, reason = await _verdict(s, ctx, row)
        old = row.status
        if status == "Cancelled":
            set_status(row, status)  # Rejected after an error of TWS's
        else:
            row.status = status
        row.error_message = row.error_message or reason
        if row.status == "Filled":
            row.remaining = Decimal(0) if row.total_quantity is not None else row.remaining
        await complete(s, row, ctx, at)
        row.updated_at = at
        kind = "lost" if row.status == "Lost" else "settled"
        add_event(s, row, kind, row.status, ctx.source, at,
                  {"NAME": kind, "orderId": row.order_id, "was": old,
                   "status": row.status, "reason": reason})
        counts[row.status] = counts.get(row.status, 0) + 1
        log.warning("order %d of client %d (was %s) not reported by TWS: journaled as %s (%s)",
                    row.order_id, client_id, old, row.status, reason)
    return counts


async def _verdict(s: AsyncSession, ctx: Context, row: OrderRecord) -> tuple[str, str]:
    shares, _, average = await fills_of(s, row)
    if shares:
        row.filled = max(row.filled or Decimal(0), shares)
        row.avg_fill_price = average
    if row.total_quantity is not None and shares >= row.total_quantity > 0:
        return "Filled", "filled: its executions make its quantity"
    if row.epoch < ctx.epoch:
        return "Lost", RESET.format(epoch=ctx.epoch, old=row.epoch)
    if row.perm_id is None and not shares and row.status in UNACKNOWLEDGED:
        return "Lost", NEVER_RECEIVED
    total = "?" if row.total_quantity is None else format(row.total_quantity, "f")
    return "Cancelled", ENDED_UNSEEN.format(filled=format(shares, "f"), total=total)
