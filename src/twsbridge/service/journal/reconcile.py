"""Reconciliation: after every (re)connect, ask TWS what the journal may have missed.

The answers of reqExecutions (every execution of the day), reqCompletedOrders
and reqOpenOrders pass through the same intercept as live messages
(:meth:`Journal.record`); what the journal did not hold yet is inserted with
``source='reconcile'`` and counted. An order the service sent before the
reconnect that TWS reports neither open nor completed (nor filled) never
reached TWS: it is marked ``Lost``; every other journaled open order that
none of the answers mentioned is settled from what the journal knows
(:meth:`Journal.settle`, :mod:`.settle`). Before asking, the session's facts
are recorded (TWS's connection time, server version, accounts, nextValidId),
which begins a new epoch if the gateway's ids restarted (:mod:`.sessions`),
and the gateway's clock is read (reqCurrentTime) for the completion times the
journal writes itself. One INFO line sums it up::

    reconciled: 3 executions, 3 commissions were missing (12 executions, ...)
"""

from __future__ import annotations

import logging
import time
from typing import Any

from .recorder import Journal
from .sessions import SessionFacts
from .stats import ReconcileSummary

__all__ = ["reconcile"]

log = logging.getLogger("twsbridge.service.journal")


async def reconcile(ib: Any, journal: Journal) -> ReconcileSummary:
    """Reconcile ``journal`` with the TWS behind the connected client ``ib``.

    Never raises for a TWS or connection failure: the summary's ``error`` says
    what went wrong (the next connect reconciles again).
    """
    window = journal.begin_reconcile()
    error: str | None = None
    try:
        window.epoch = await journal.record_session(SessionFacts(
            ib.client_id, ib.connection_time, ib.server_version, list(ib.accounts),
            ib.next_order_id))
        journal.clock_offset = await ib.reqCurrentTime() - time.time()
        fills = await ib.reqExecutions(None)
        window.executions_reported = len(fills)
        completed = await ib.reqCompletedOrders(apiOnly=False)
        window.completed_orders_reported = len(completed)
        trades = await ib.reqOpenOrders()
        window.open_orders_reported = len(trades)
        await journal.settle(ib.client_id, window)
    except Exception as exc:  # the connection dropped, TWS refused ...
        error = f"{type(exc).__name__}: {exc}"
    summary = journal.end_reconcile(error)
    log.log(logging.WARNING if error else logging.INFO, "%s", summary.text())
    return summary
