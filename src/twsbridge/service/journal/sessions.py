"""Gateway sessions and epochs: which ids still mean what they meant.

What TWS guarantees: a permId is unique; an execId is unique (per account); an
orderId only per clientId, and TWS's order id counter (nextValidId) only grows.
A gateway that forgot its account (a fresh simulator, a reset paper account)
hands all of them out again. So the journal keys everything it finds again by
ids within an *epoch*: a run of gateway sessions in which the ids go on.

A new epoch begins when a session's nextValidId (message 9) is not above the
highest orderId TWS acknowledged (a permId, an execution) to one of the
service's own clients in the current epoch: the counter went backwards.
Orders sent but never acknowledged do not count (TWS never saw their ids, so
its counter may be below them after a reconnect). The check runs in the
journal's intercept of nextValidId, before any later message of the session
is journaled, and again when the reconciliation records the session's facts
(:func:`record_session`): TWS's connection time, server version, accounts.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import ExecutionRecord, GatewaySession, OrderRecord
from .writes import Context, Outcome

__all__ = ["SessionFacts", "current_epoch", "highest_acknowledged", "next_valid_id",
           "record_session"]

log = logging.getLogger("twsbridge.service.journal")


class SessionFacts:
    """What TWS reported about one connection (the client's handshake)."""

    __slots__ = ("accounts", "client_id", "connection_time", "next_valid_id", "server_version")

    def __init__(self, client_id: int, connection_time: str, server_version: int,
                 accounts: list[str], next_valid_id: int) -> None:
        self.client_id = client_id
        self.connection_time = connection_time
        self.server_version = server_version
        self.accounts = accounts
        self.next_valid_id = next_valid_id


async def current_epoch(s: AsyncSession) -> tuple[int, int | None]:
    """The newest epoch and its latest session's id (epoch 1 for a new journal)."""
    latest = await s.scalar(select(GatewaySession).order_by(GatewaySession.id.desc()).limit(1))
    top = max(
        int(await s.scalar(select(func.max(OrderRecord.epoch))) or 1),
        int(await s.scalar(select(func.max(ExecutionRecord.epoch))) or 1),
        latest.epoch if latest is not None else 1,
    )
    return top, latest.id if latest is not None and latest.epoch == top else None


async def highest_acknowledged(s: AsyncSession, epoch: int, clients: frozenset[int]) -> int:
    """The highest orderId of ``clients`` that TWS acknowledged in ``epoch`` (0: none)."""
    if not clients:
        return 0
    top = await s.scalar(select(func.max(OrderRecord.order_id)).where(
        OrderRecord.epoch == epoch, OrderRecord.client_id.in_(sorted(clients)),
        OrderRecord.perm_id.is_not(None), OrderRecord.what_if.is_(False)))
    return int(top or 0)


async def _check(s: AsyncSession, ctx: Context, next_id: int, at: dt.datetime,
                 facts: SessionFacts | None) -> bool:
    """Begin a new epoch (a session row saying why) if ``next_id`` went backwards."""
    highest = await highest_acknowledged(s, ctx.epoch, ctx.clients)
    if not highest or next_id > highest:
        return False
    reason = (f"the gateway's nextValidId {next_id} is not above order {highest} it "
              f"acknowledged in epoch {ctx.epoch}: its ids restarted (a new or reset "
              "account); from now on they name new orders and executions")
    session = _session(ctx.epoch + 1, at, facts, next_id, reason)
    s.add(session)
    await s.flush()
    ctx.epoch, ctx.session_id = session.epoch, session.id
    log.warning("journal epoch %d begins: %s", session.epoch, reason)
    return True


def _session(epoch: int, at: dt.datetime, facts: SessionFacts | None, next_id: int,
             reason: str | None) -> GatewaySession:
    return GatewaySession(
        epoch=epoch, connected_at=at, next_valid_id=next_id, reason=reason,
        client_id=None if facts is None else facts.client_id,
        connection_time=None if facts is None else facts.connection_time or None,
        server_version=None if facts is None else facts.server_version or None,
        accounts=None if facts is None else ",".join(facts.accounts)[:256] or None,
    )


async def next_valid_id(s: AsyncSession, msg: object, at: dt.datetime, ctx: Context) -> Outcome:
    """The intercept of nextValidId (9): a new epoch when the counter went backwards."""
    next_id = int(getattr(msg, "orderId", 0) or 0)
    if next_id <= 0:
        return ""
    return "epoch" if await _check(s, ctx, next_id, at, None) else ""


async def record_session(s: AsyncSession, ctx: Context, at: dt.datetime, facts: SessionFacts,
                         fresh: int | None, *, check: bool) -> GatewaySession:
    """Record the facts of the session now connected.

    ``check``: run the reset check on the session's nextValidId here (when the
    nextValidId intercept has not: once orders were acknowledged since, the
    check would see the counter behind them). ``fresh``: the session row that
    intercept created for this connection (a new epoch), which gets the facts
    instead of a second row.
    """
    if check and await _check(s, ctx, facts.next_valid_id, at, facts):
        row = await s.get(GatewaySession, ctx.session_id)
        assert row is not None
        return row
    if fresh is not None and ctx.session_id == fresh:
        row = await s.get(GatewaySession, fresh)
        if row is not None and row.client_id is None:
            row.client_id = facts.client_id
            row.connection_time = facts.connection_time or None
            row.server_version = facts.server_version or None
            row.accounts = ",".join(facts.accounts)[:256] or None
            return row
    row = _session(ctx.epoch, at, facts, facts.next_valid_id, None)
    s.add(row)
    await s.flush()
    ctx.session_id = row.id
    return row
