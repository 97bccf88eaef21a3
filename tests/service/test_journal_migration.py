"""The journal's schema upgrade from the previous head (0002) on databases holding rows.

A real SQLite file and (when reachable) a throw-away PostgreSQL database are
migrated to 0002, filled the way 0002's journal filled them (orders referenced
by events and executions, commissions, an API key), then upgraded to head by
:meth:`Journal.open` as a restarted service does: every row is kept, in epoch
1, and the new keys hold (a permId and an execId reused in a new epoch).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text

from twsbridge.service.journal import Journal, head_revision
from twsbridge.service.journal.database import create_engine, current_revision, upgrade
from twsbridge.service.journal.models import CommissionRecord, ExecutionRecord, OrderRecord

AT = "2026-12-01 15:00:00.000000"
FIRST = "(SELECT id FROM orders WHERE perm_id = 9001)"
ROWS_0002 = [
    "INSERT INTO orders (perm_id, client_id, order_id, symbol, action, total_quantity, "
    "status, filled, outside_rth, transmit, what_if, cancel_requested, created_at, updated_at) "
    f"VALUES (9001, 17, 4, 'AAPL', 'BUY', '100', 'Filled', '100', false, true, false, false, "
    f"'{AT}', '{AT}')",
    "INSERT INTO orders (perm_id, client_id, order_id, symbol, action, total_quantity, "
    "status, outside_rth, transmit, what_if, cancel_requested, created_at, updated_at) "
    f"VALUES (9002, 17, 5, 'MSFT', 'SELL', '10', 'Submitted', false, true, false, false, "
    f"'{AT}', '{AT}')",
    "INSERT INTO order_events (order_pk, kind, client_id, order_id, perm_id, status, "
    f"source, received_at, raw) VALUES ({FIRST}, 'placeOrder', 17, 4, NULL, 'PendingSubmit', "
    f"'live', '{AT}', '{{}}')",
    "INSERT INTO executions (exec_id, order_pk, order_id, perm_id, client_id, account, "
    "con_id, symbol, sec_type, currency, side, shares, price, exchange, time_text, source, "
    f"received_at, raw) VALUES ('e.1', {FIRST}, 4, 9001, 17, 'DU1', 265598, 'AAPL', 'STK', "
    f"'USD', 'BOT', '100', 430.5, 'NASDAQ', '20261201 10:00:00 US/Eastern', 'live', '{AT}', "
    "'{}')",
    "INSERT INTO commissions (exec_id, commission, currency, source, received_at) "
    f"VALUES ('e.1', 1.0, 'USD', 'live', '{AT}')",
    "INSERT INTO api_keys (id, name, hash, scopes, created_at) "
    f"VALUES ('k1', 'old', '{'0' * 64}', 'read', '{AT}')",
]


async def _count(j: Journal, model: Any) -> int:
    async with j.session() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_upgrade_from_0002_keeps_every_row(journal_url: str) -> None:
    journal = Journal(journal_url)
    engine = create_engine(journal.url)
    try:
        await upgrade(engine, "0002")
        async with engine.begin() as conn:
            for statement in ROWS_0002:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()
    await journal.open()  # what a restarted service does: migrate to head
    try:
        assert await current_revision(journal.engine) == head_revision() == "0003"
        async with journal.session() as s:
            orders = (await s.scalars(select(OrderRecord).order_by(OrderRecord.id))).all()
            fills = (await s.scalars(select(ExecutionRecord))).all()
            events = int(await s.scalar(text("SELECT count(*) FROM order_events")) or 0)
            keys = int(await s.scalar(text("SELECT count(*) FROM api_keys")) or 0)
        assert [(o.perm_id, o.order_id, o.status, o.epoch) for o in orders] == [
            (9001, 4, "Filled", 1), (9002, 5, "Submitted", 1)]
        assert [(f.exec_id, f.order_pk, f.epoch) for f in fills] == [("e.1", orders[0].id, 1)]
        assert (events, keys, await _count(journal, CommissionRecord)) == (1, 1, 1)
        assert journal.epoch == 1
        # the new keys: the same permId and execId in epoch 2 are new rows
        async with journal.session() as s, s.begin():
            s.add(OrderRecord(epoch=2, perm_id=9001, client_id=17, order_id=4, status="",
                              created_at=orders[0].created_at, updated_at=orders[0].created_at))
            await s.execute(text(
                "INSERT INTO commissions (epoch, exec_id, currency, source, received_at) "
                f"VALUES (2, 'e.1', 'USD', 'live', '{AT}')"))
        assert await _count(journal, OrderRecord) == 3
        assert await _count(journal, CommissionRecord) == 2
    finally:
        await journal.close()
