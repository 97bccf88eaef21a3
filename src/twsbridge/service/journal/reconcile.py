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

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

from ..gateway_clock import gateway_clock
from .recorder import Journal
from .sessions import SessionFacts
from .stats import ReconcileSummary

__all__ = ["REQUEST_TIMEOUT", "reconcile"]

T = TypeVar("T")

log = logging.getLogger("twsbridge.service.journal")


#: Seconds each of the reconciliation's requests may take: a request TWS dropped
#: (error 100 carries no request id for reqCompletedOrders) must not hold the
#: reconciliation, and with it its retry, for ever.
REQUEST_TIMEOUT = 30.0


async def reconcile(ib: Any, journal: Journal, *,
                    timeout: float | None = None) -> ReconcileSummary:
    """Reconcile ``journal`` with the TWS behind the connected client ``ib``.

    Never raises for a TWS or connection failure, or a request unanswered
    within ``timeout`` seconds (default :data:`REQUEST_TIMEOUT`): the summary's
    ``error`` says what went wrong, and
    the journal's ``needs_reconcile`` asks for another try (the gateway retries
    while connected; the next connect reconciles anyway).
    """
    window = journal.begin_reconcile()
    error: str | None = None
    timeout = REQUEST_TIMEOUT if timeout is None else timeout

    async def ask(what: Awaitable[T]) -> T:
        async with asyncio.timeout(timeout):
            return await what

    try:
        window.epoch = await journal.record_session(SessionFacts(
            ib.client_id, ib.connection_time, ib.server_version, list(ib.accounts),
            ib.next_order_id))
        fills = await ask(ib.reqExecutions(None))
        window.executions_reported = len(fills)
        completed = await ask(ib.reqCompletedOrders(apiOnly=False))
        window.completed_orders_reported = len(completed)
        trades = await ask(ib.reqOpenOrders())
        window.open_orders_reported = len(trades)
        clock = gateway_clock(ib)  # the one the service's other times use
        await ask(clock.measure())
        journal.clock = clock.at
        await journal.settle(ib.client_id, window)
    except TimeoutError:
        error = f"TimeoutError: TWS did not answer within {timeout:g} s"
    except Exception as exc:  # the connection dropped, TWS refused ...
        error = f"{type(exc).__name__}: {exc}"
    summary = journal.end_reconcile(error)
    log.log(logging.WARNING if error else logging.INFO, "%s", summary.text())
    return summary
