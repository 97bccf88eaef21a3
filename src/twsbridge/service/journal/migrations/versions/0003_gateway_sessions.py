"""Gateway sessions and epochs: a gateway that hands out the same ids again is not merged.

``gateway_sessions`` records each connection to TWS and its epoch; ``orders``,
``executions`` and ``commissions`` get the ``epoch`` they belong to (1 for
every row journaled before this revision). ``orders.perm_id`` is no longer
unique (a reset gateway reuses permIds: the journal keeps both orders, one per
epoch); ``exec_id`` is unique per epoch.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from twsbridge.service.journal.types import UTCDateTime

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``gateway_sessions``; add the epochs; re-key permIds and execIds."""
    op.create_table(
        "gateway_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("connected_at", UTCDateTime(), nullable=False),
        sa.Column("connection_time", sa.String(length=64), nullable=True),
        sa.Column("server_version", sa.Integer(), nullable=True),
        sa.Column("accounts", sa.String(length=256), nullable=True),
        sa.Column("next_valid_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_sessions")),
    )
    op.create_index(op.f("ix_gateway_sessions_epoch"), "gateway_sessions", ["epoch"])
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("epoch", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("session_id", sa.Integer(), nullable=True))
        batch.drop_constraint("uq_orders_perm_id", type_="unique")
        batch.create_index(batch.f("ix_orders_perm_id"), ["perm_id"])
        batch.create_foreign_key(
            batch.f("fk_orders_session_id_gateway_sessions"), "gateway_sessions",
            ["session_id"], ["id"])
    for table in ("executions", "commissions"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("epoch", sa.Integer(), server_default="1",
                                       nullable=False))
            batch.drop_constraint(f"uq_{table}_exec_id", type_="unique")
            batch.create_unique_constraint(f"uq_{table}_epoch_exec_id", ["epoch", "exec_id"])


def downgrade() -> None:
    """Back to 0002 (fails if an epoch reused a permId or an execId: they cannot be unique)."""
    for table in ("commissions", "executions"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"uq_{table}_epoch_exec_id", type_="unique")
            batch.create_unique_constraint(f"uq_{table}_exec_id", ["exec_id"])
            batch.drop_column("epoch")
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint("fk_orders_session_id_gateway_sessions", type_="foreignkey")
        batch.drop_index("ix_orders_perm_id")
        batch.create_unique_constraint("uq_orders_perm_id", ["perm_id"])
        batch.drop_column("session_id")
        batch.drop_column("epoch")
    op.drop_index(op.f("ix_gateway_sessions_epoch"), table_name="gateway_sessions")
    op.drop_table("gateway_sessions")
