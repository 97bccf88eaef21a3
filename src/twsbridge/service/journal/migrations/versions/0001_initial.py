"""Initial journal schema: orders, order_events, executions, commissions.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from twsbridge.service.journal.types import Quantity, UTCDateTime

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RAW = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Create the four journal tables."""
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("perm_id", sa.BigInteger(), nullable=True),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("con_id", sa.Integer(), nullable=True),
        sa.Column("symbol", sa.String(length=32), nullable=True),
        sa.Column("sec_type", sa.String(length=16), nullable=True),
        sa.Column("exchange", sa.String(length=32), nullable=True),
        sa.Column("currency", sa.String(length=8), nullable=True),
        sa.Column("action", sa.String(length=8), nullable=True),
        sa.Column("total_quantity", Quantity(), nullable=True),
        sa.Column("order_type", sa.String(length=32), nullable=True),
        sa.Column("lmt_price", sa.Double(), nullable=True),
        sa.Column("aux_price", sa.Double(), nullable=True),
        sa.Column("tif", sa.String(length=8), nullable=True),
        sa.Column("outside_rth", sa.Boolean(), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=True),
        sa.Column("oca_group", sa.String(length=64), nullable=True),
        sa.Column("order_ref", sa.String(length=128), nullable=True),
        sa.Column("transmit", sa.Boolean(), nullable=False),
        sa.Column("what_if", sa.Boolean(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("filled", Quantity(), nullable=True),
        sa.Column("remaining", Quantity(), nullable=True),
        sa.Column("avg_fill_price", sa.Double(), nullable=True),
        sa.Column("last_fill_price", sa.Double(), nullable=True),
        sa.Column("why_held", sa.String(length=128), nullable=True),
        sa.Column("warning_text", sa.Text(), nullable=True),
        sa.Column("completed_time", sa.String(length=64), nullable=True),
        sa.Column("completed_status", sa.Text(), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("perm_id", name=op.f("uq_orders_perm_id")),
    )
    op.create_index("ix_orders_client_order", "orders", ["client_id", "order_id"])
    for column in ("account", "con_id", "status", "symbol"):
        op.create_index(op.f(f"ix_orders_{column}"), "orders", [column])

    op.create_table(
        "order_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_pk", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("perm_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("raw", RAW, nullable=False),
        sa.ForeignKeyConstraint(
            ["order_pk"], ["orders.id"], name=op.f("fk_order_events_order_pk_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
    )
    op.create_index(op.f("ix_order_events_order_pk"), "order_events", ["order_pk"])

    op.create_table(
        "executions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exec_id", sa.String(length=64), nullable=False),
        sa.Column("order_pk", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("perm_id", sa.BigInteger(), nullable=True),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("con_id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("sec_type", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("shares", Quantity(), nullable=False),
        sa.Column("price", sa.Double(), nullable=False),
        sa.Column("cum_qty", Quantity(), nullable=True),
        sa.Column("avg_price", sa.Double(), nullable=True),
        sa.Column("exchange", sa.String(length=32), nullable=False),
        sa.Column("order_ref", sa.String(length=128), nullable=True),
        sa.Column("time_text", sa.String(length=64), nullable=False),
        sa.Column("time", UTCDateTime(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("raw", RAW, nullable=False),
        sa.ForeignKeyConstraint(
            ["order_pk"], ["orders.id"], name=op.f("fk_executions_order_pk_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_executions")),
        sa.UniqueConstraint("exec_id", name=op.f("uq_executions_exec_id")),
    )
    for column in ("account", "con_id", "order_pk", "perm_id", "symbol", "time"):
        op.create_index(op.f(f"ix_executions_{column}"), "executions", [column])

    op.create_table(
        "commissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exec_id", sa.String(length=64), nullable=False),
        sa.Column("commission", sa.Double(), nullable=True),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("realized_pnl", sa.Double(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commissions")),
        sa.UniqueConstraint("exec_id", name=op.f("uq_commissions_exec_id")),
    )


def downgrade() -> None:
    """Drop the journal tables."""
    op.drop_table("commissions")
    op.drop_table("executions")
    op.drop_table("order_events")
    op.drop_table("orders")
