"""The journal: every order message TWS sends, committed before the client sees it.

:meth:`Journal.record` is registered with ``ib.intercept`` for openOrder,
orderStatus, execDetails, commissionReport and completedOrder; the client
awaits it before anything else sees the message, so by the time a route, a
Trade or a handler learns of a fill, the fill is committed.

Each message is one transaction. Executions and commissions are inserted with
``ON CONFLICT (exec_id) DO NOTHING`` (SQLite and PostgreSQL alike), so a
message recorded twice (live, then again by reconciliation) is stored once.
Writes are serialized by one lock: the service is the journal's only writer.

Ids are looked up within the current epoch (:mod:`.sessions`): the intercept of
nextValidId begins a new one when the gateway's id counter went backwards, so
a gateway that hands out the same orderIds, permIds and execIds again gets new
rows, never the old orders' ones.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from twsbridge.client.errors import is_notice
from twsbridge.client.orders import CANCEL_ERROR_CODES, ORDER_WARNING_CODES

from . import sessions, writes
from .database import async_url, create_engine, redact, upgrade
from .settle import settle_unreported
from .stats import JournalStats, ReconcileSummary
from .values import jsonable, order_terms, raw
from .writes import (
    ENDED,
    UNACKNOWLEDGED,
    Context,
    Outcome,
    add_event,
    apply_terms,
    complete,
    find_order,
    order_row,
)

__all__ = ["JOURNALED", "Journal", "JournalWriteError"]

log = logging.getLogger("twsbridge.service.journal")

#: The messages the journal records (``ib.intercept(journal.record, *JOURNALED)``).
JOURNALED = ("openOrder", "orderStatus", "execDetails", "commissionReport", "completedOrder",
             "nextValidId")

_RETRIES = (0.05, 0.2, 1.0)
Handler = Callable[[AsyncSession, Any, dt.datetime, Context], Awaitable[Outcome]]


class JournalWriteError(RuntimeError):
    """A message could not be committed to the journal (after retries).

    Raised from the intercept hook, it closes the TWS connection: nothing in
    the service sees a message the journal does not hold. The reconnection
    then reconciles, which records the message once the database is back.
    """


def _rejects(code: int) -> bool:
    """True for an error that refuses an order or its modification (as the client
    judges it): not a notice, not a warning, not about a cancel."""
    return not (is_notice(code) or code in ORDER_WARNING_CODES or code in CANCEL_ERROR_CODES)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Journal:
    """The durable record of orders, executions and commissions.

    Args:
        url: the journal URL (see :mod:`.database`); ``None`` for the default
            SQLite file in the user's data directory.
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = async_url(url)
        self.stats = JournalStats()
        self.last_reconcile: ReconcileSummary | None = None
        self._needs_reconcile = False
        self._failed_reconciles = 0
        self._retry_at = 0.0  # monotonic: no retry of a failed reconciliation before
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._lock = asyncio.Lock()
        self._window: ReconcileSummary | None = None
        #: the epoch ids are looked up in, and the latest gateway session (:mod:`.sessions`)
        self.epoch = 1
        self.session_id: int | None = None
        self._clients: set[int] = set()
        self._fresh_session: int | None = None
        self._next_id_checked: int | None = None  # the last nextValidId the intercept checked
        #: the service's time on the gateway's clock (set by each reconciliation)
        self.clock: Callable[[dt.datetime], dt.datetime] = writes.same_time
        self._handlers: dict[str, Handler] = {
            "nextValidId": sessions.next_valid_id,
            "openOrder": writes.order_message,
            "completedOrder": writes.order_message,
            "orderStatus": writes.order_status,
            "execDetails": writes.exec_details,
            "commissionReport": writes.commission,
        }

    @property
    def display_url(self) -> str:
        """The URL without its password."""
        return redact(self.url)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @property
    def engine(self) -> AsyncEngine:
        """The async engine (after :meth:`open`)."""
        if self._engine is None:
            raise RuntimeError("the journal is not open")
        return self._engine

    async def open(self) -> None:
        """Create the engine and migrate the database to the newest schema."""
        engine = create_engine(self.url)
        try:
            await upgrade(engine)
        except BaseException:
            await engine.dispose()
            raise
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        async with self.session() as s:
            self.epoch, self.session_id = await sessions.current_epoch(s)
        log.info("journal at %s (epoch %d)", self.display_url, self.epoch)

    async def close(self) -> None:
        """Dispose of the engine."""
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = self._sessions = None

    def session(self) -> AsyncSession:
        """A new session for reading (``async with journal.session() as s``)."""
        if self._sessions is None:
            raise RuntimeError("the journal is not open")
        return self._sessions()

    # ------------------------------------------------------------- recording
    async def record(self, msg: Any) -> None:
        """The intercept: commit ``msg``, retried for about a second.

        Raises:
            JournalWriteError: the database refused it every time (which closes
                the client's connection; see :class:`JournalWriteError`).
        """
        received = time.monotonic()
        handler = self._handlers.get(getattr(msg, "NAME", ""))
        if handler is None:
            return
        received_at = _now()
        outcome = await self._write(handler, msg, received_at, repr(msg))
        if outcome is None:
            raise JournalWriteError(f"could not journal {msg.NAME}; see the log")
        if msg.NAME == "nextValidId":
            self._next_id_checked = msg.orderId
        self.stats.observe(time.monotonic() - received)
        window = self._window
        if window is not None:
            if outcome == "execution":
                window.executions_missing += 1
            elif outcome == "commission":
                window.commissions_missing += 1
            elif outcome == "order":
                window.orders_new += 1

    async def _write(
        self, handler: Handler, msg: Any, received_at: dt.datetime, what: str
    ) -> Outcome | None:
        """Run ``handler`` in one transaction under the writer lock; None if it failed."""
        for attempt, pause in enumerate((*_RETRIES, None)):
            try:
                async with self._lock:
                    window = self._window
                    ctx = Context("live" if window is None else "reconcile", window,
                                  self.epoch, self.session_id, frozenset(self._clients),
                                  self.clock)
                    async with self.session() as session, session.begin():
                        outcome = await handler(session, msg, received_at, ctx)
                    if ctx.epoch != self.epoch:
                        self._fresh_session = ctx.session_id
                    self.epoch, self.session_id = ctx.epoch, ctx.session_id
                    return outcome
            except (SQLAlchemyError, OSError) as exc:
                if pause is None:
                    self.stats.failures += 1
                    self.needs_reconcile = True
                    log.error("journal write failed %d times, NOT journaled (the next "
                              "reconciliation recovers it): %s (%s)", attempt + 1, what, exc)
                    return None
                log.warning("journal write failed, retrying in %g s: %s", pause, exc)
                await asyncio.sleep(pause)
        return None  # pragma: no cover - the loop returns

    def error_hook(self, client_id: int) -> Callable[[Any], Awaitable[None] | None]:
        """An intercept hook for ``'error'`` frames of the client ``client_id``.

        An error whose id is an order of that client in the journal is recorded
        as an ``error`` event; a rejection (not a warning, not about a cancel)
        keeps its code and, for an order TWS never acknowledged,
        marks it ``Rejected`` (TWS sends no status for those).
        """

        self._clients.add(client_id)

        def hook(msg: Any) -> Awaitable[None] | None:
            order_id = getattr(msg, "reqId", -1)
            if order_id <= 0 or is_notice(msg.errorCode):
                return None
            return self._order_error(client_id, msg)

        return hook

    async def _order_error(self, client_id: int, msg: Any) -> None:
        received = time.monotonic()

        async def write(s: AsyncSession, _msg: Any, at: dt.datetime, ctx: Context) -> Outcome:
            row = await find_order(s, ctx.epoch, client_id, msg.reqId, None)
            if row is None:
                return "-"
            if _rejects(msg.errorCode):
                row.error_code, row.error_message = msg.errorCode, msg.errorString
                ended = row.status in ENDED and not row.cancel_requested
                if row.status in UNACKNOWLEDGED or ended:
                    row.status = "Rejected"
                    await complete(s, row, ctx, at)
                row.updated_at = at
            add_event(s, row, "error", row.status, ctx.source, at, raw(msg))
            return ""

        outcome = await self._write(write, msg, _now(), repr(msg))
        if outcome is None:
            raise JournalWriteError("could not journal an order error; see the log")
        if outcome != "-":
            self.stats.observe(time.monotonic() - received)

    async def record_submission(
        self, client_id: int, contract: Any, order: Any, *, kind: str = "placeOrder"
    ) -> None:
        """Record what the service (client ``client_id``) sends: ``placeOrder`` (the
        order's row, status ``PendingSubmit`` until TWS answers) or ``modifyOrder``
        (an event; the terms change when TWS's openOrder confirms them)."""

        self._clients.add(client_id)
        terms = order_terms(contract, order)

        async def write(s: AsyncSession, _msg: Any, at: dt.datetime, ctx: Context) -> Outcome:
            row, new = await order_row(s, ctx, client_id, order.orderId, order.permId or None,
                                       at, terms=terms, submission=kind == "placeOrder")
            if new or kind == "placeOrder":
                apply_terms(row, order_terms(contract, order))
            if not row.status:
                row.status = "PendingSubmit"
            row.updated_at = at
            body = {"NAME": kind, "contract": jsonable(contract), "order": jsonable(order)}
            add_event(s, row, kind, row.status, ctx.source, at, body)
            return "order" if new else ""

        await self._write(write, None, _now(), f"{kind} {order.orderId}")

    async def record_rejection(
        self, client_id: int, order_id: int, code: int | None, message: str
    ) -> None:
        """Mark an order ``Rejected`` with TWS's error code and message."""

        async def write(s: AsyncSession, _msg: Any, at: dt.datetime, ctx: Context) -> Outcome:
            row, new = await order_row(s, ctx, client_id, order_id, None, at)
            if row.status == "Rejected" and row.error_code == code:
                return ""  # the error hook recorded it already
            row.status = "Rejected"
            row.error_code, row.error_message = code, message
            await complete(s, row, ctx, at)
            row.updated_at = at
            body = {"NAME": "error", "id": order_id, "errorCode": code, "errorString": message}
            add_event(s, row, "error", "Rejected", ctx.source, at, body)
            return "order" if new else ""

        await self._write(write, None, _now(), f"rejection of order {order_id}")

    async def record_request(self, client_id: int, order_id: int, kind: str) -> None:
        """Record a request about an order the service sent (``cancelOrder``)."""

        async def write(s: AsyncSession, _msg: Any, at: dt.datetime, ctx: Context) -> Outcome:
            row = await find_order(s, ctx.epoch, client_id, order_id, None)
            if row is not None and kind == "cancelOrder":
                row.cancel_requested = True
            body = {"NAME": kind, "orderId": order_id}
            add_event(s, row, kind, None if row is None else row.status, ctx.source, at, body)
            return ""

        await self._write(write, None, _now(), f"{kind} {order_id}")

    async def settle_lost(self, client_id: int, before: dt.datetime) -> int:
        """Settle the orders of ``client_id`` sent before ``before`` that TWS did not
        report in the open reconciliation window (see :meth:`settle`); how many
        were ``Lost`` (sent, never received by TWS)."""
        window = self._window or ReconcileSummary(started_at=before)
        return (await self.settle(client_id, window, before=before)).get("Lost", 0)

    async def settle(self, client_id: int, window: ReconcileSummary, *,
                     before: dt.datetime | None = None) -> dict[str, int]:
        """Settle the journaled open orders of ``client_id`` that TWS did not report.

        Called at the end of a reconciliation begun at ``window.started_at`` (or
        ``before``), once TWS's executions, completed and open orders went
        through :meth:`record`: an order journaled as working that none of them
        reported is not working at TWS; it is settled from what is known
        (:func:`~.settle.settle_unreported`: ``Filled`` by its executions,
        ``Cancelled`` when TWS had acknowledged it, ``Lost`` when TWS never
        received it or the gateway's ids restarted since), the reason in
        ``error_message`` and an event. Returns the count by new status.
        """
        cutoff = before or window.started_at

        async def write(s: AsyncSession, _msg: Any, at: dt.datetime, ctx: Context) -> Outcome:
            counts = await settle_unreported(s, ctx, client_id, cutoff, window.reported, at)
            return ",".join(f"{k}={v}" for k, v in sorted(counts.items()))

        outcome = await self._write(write, None, _now(), f"settling orders of client {client_id}")
        counts = {k: int(v) for k, v in (p.split("=") for p in (outcome or "").split(",") if p)}
        window.orders_lost += counts.get("Lost", 0)
        window.orders_settled += sum(counts.values())
        return counts

    async def record_session(self, facts: sessions.SessionFacts) -> int:
        """Record the connection now open (:func:`.sessions.record_session`); the epoch."""
        self._clients.add(facts.client_id)

        check = self._next_id_checked != facts.next_valid_id

        async def write(s: AsyncSession, _msg: Any, at: dt.datetime, ctx: Context) -> Outcome:
            await sessions.record_session(s, ctx, at, facts, self._fresh_session, check=check)
            return ""

        await self._write(write, None, _now(), f"session of client {facts.client_id}")
        self._fresh_session = None
        return self.epoch

    # ---------------------------------------------------------- reconciling
    def begin_reconcile(self) -> ReconcileSummary:
        """Open a reconciliation window: what arrives now counts as reconciled."""
        self._window = ReconcileSummary(started_at=_now())
        return self._window

    def end_reconcile(self, error: str | None = None) -> ReconcileSummary:
        """Close the window; the summary becomes :attr:`last_reconcile`."""
        window = self._window or ReconcileSummary(started_at=_now())
        window.error = error
        window.finished_at = _now()
        self._window = None
        self.last_reconcile = window
        # a failed reconciliation is tried again (the gateway reconciles while
        # needs_reconcile), after 1, 2, 4 ... 60 s: what it did not settle would
        # otherwise wait for a reconnect
        if error is None:
            self._failed_reconciles = 0
            self._needs_reconcile = False
        else:
            self._retry_at = time.monotonic() + min(60.0, 2.0 ** self._failed_reconciles)
            self._failed_reconciles += 1
            self._needs_reconcile = True
        return window

    @property
    def needs_reconcile(self) -> bool:
        """True when a reconciliation is due: a journal write failed since the last
        one, or the last one failed (and its back-off has passed)."""
        return self._needs_reconcile and time.monotonic() >= self._retry_at

    @needs_reconcile.setter
    def needs_reconcile(self, value: bool) -> None:
        self._needs_reconcile = value
        if value:
            self._retry_at = 0.0

    @property
    def reconciling(self) -> bool:
        """True while a reconciliation window is open."""
        return self._window is not None
