"""The journal's tables (SQLAlchemy 2 typed ORM).

``gateway_sessions``
    One row per connection to TWS: when, TWS's connection time, server
    version, accounts and nextValidId, and the ``epoch`` it belongs to. An
    epoch is a run of sessions in which TWS's ids go on: a new one begins when
    the gateway's order id counter went backwards (a fresh simulator, a reset
    paper account), after which none of its orderIds, permIds or execIds
    identifies anything journaled before (:mod:`.sessions`).
``orders``
    One row per order TWS told us about, found again within the current epoch
    by ``perm_id`` (TWS's permanent id) or, before TWS assigned one, by
    ``(client_id, order_id)`` (unique per client only); a reused id (another
    permId, contract or action for the same ``(client_id, order_id)``) is a new
    order. The order's terms as last reported (openOrder / completedOrder /
    what we sent) and its latest status (orderStatus).
``order_events``
    Append-only: every openOrder, orderStatus and completedOrder as received
    (the raw message as JSON), plus what the service sent (``placeOrder``)
    and TWS's rejections (``error``).
``executions``
    One row per TWS execution, ``(epoch, exec_id)`` unique (TWS's execIds are
    unique per account, and IB's across accounts; a gateway that was reset
    hands them out again, in a new epoch); ``source`` says whether it arrived
    live or was found missing by reconciliation.
``api_keys``
    The service's API keys (:mod:`twsbridge.service.security`): the SHA-256 of
    each key, never the key; revoked keys keep their row (``revoked_at``).
``commissions``
    One commission report per execution, ``(epoch, exec_id)`` unique (not a database
    foreign key: a report is kept even if its execution never arrived).

Times are aware UTC datetimes; quantities Decimals; TWS's "unset" values NULL.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    BigInteger,
    Double,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, foreign, mapped_column, relationship

from .types import Quantity, UTCDateTime

__all__ = [
    "ApiKeyRecord",
    "Base",
    "CommissionRecord",
    "ExecutionRecord",
    "GatewaySession",
    "OrderEvent",
    "OrderRecord",
    "Source",
]

Source = Literal["live", "reconcile"]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

RawJSON = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (stable migrations)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        dt.datetime: UTCDateTime(),
        Decimal: Quantity(),
        float: Double(),
        dict[str, Any]: RawJSON,
    }


class GatewaySession(Base):
    """One connection to TWS (its facts as TWS reported them) and its epoch."""

    __tablename__ = "gateway_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    epoch: Mapped[int] = mapped_column(index=True)
    client_id: Mapped[int | None]
    connected_at: Mapped[dt.datetime]
    connection_time: Mapped[str | None] = mapped_column(String(64))
    server_version: Mapped[int | None]
    accounts: Mapped[str | None] = mapped_column(String(256))
    next_valid_id: Mapped[int | None]
    reason: Mapped[str | None] = mapped_column(Text)


class OrderRecord(Base):
    """An order: its contract, terms and latest status."""

    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_client_order", "client_id", "order_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    epoch: Mapped[int] = mapped_column(default=1, server_default="1")
    session_id: Mapped[int | None] = mapped_column(ForeignKey("gateway_sessions.id"))
    perm_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    client_id: Mapped[int]
    order_id: Mapped[int]
    parent_id: Mapped[int | None]
    # contract
    con_id: Mapped[int | None] = mapped_column(index=True)
    symbol: Mapped[str | None] = mapped_column(String(32), index=True)
    sec_type: Mapped[str | None] = mapped_column(String(16))
    exchange: Mapped[str | None] = mapped_column(String(32))
    currency: Mapped[str | None] = mapped_column(String(8))
    # terms
    action: Mapped[str | None] = mapped_column(String(8))
    total_quantity: Mapped[Decimal | None]
    order_type: Mapped[str | None] = mapped_column(String(32))
    lmt_price: Mapped[float | None]
    aux_price: Mapped[float | None]
    tif: Mapped[str | None] = mapped_column(String(8))
    outside_rth: Mapped[bool] = mapped_column(default=False)
    account: Mapped[str | None] = mapped_column(String(32), index=True)
    oca_group: Mapped[str | None] = mapped_column(String(64))
    order_ref: Mapped[str | None] = mapped_column(String(128))
    transmit: Mapped[bool] = mapped_column(default=True)
    what_if: Mapped[bool] = mapped_column(default=False)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    # latest state
    status: Mapped[str] = mapped_column(String(32), index=True)
    filled: Mapped[Decimal | None]
    remaining: Mapped[Decimal | None]
    avg_fill_price: Mapped[float | None]
    last_fill_price: Mapped[float | None]
    why_held: Mapped[str | None] = mapped_column(String(128))
    warning_text: Mapped[str | None] = mapped_column(Text)
    completed_time: Mapped[str | None] = mapped_column(String(64))
    completed_status: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[int | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    events: Mapped[list[OrderEvent]] = relationship(
        back_populates="order", order_by="OrderEvent.id", lazy="raise"
    )
    executions: Mapped[list[ExecutionRecord]] = relationship(
        back_populates="order", order_by="ExecutionRecord.id", lazy="raise"
    )


class OrderEvent(Base):
    """One message about an order, as received (append-only)."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_pk: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    client_id: Mapped[int | None]
    order_id: Mapped[int | None]
    perm_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[dt.datetime]
    raw: Mapped[dict[str, Any]]

    order: Mapped[OrderRecord | None] = relationship(back_populates="events", lazy="raise")


class ExecutionRecord(Base):
    """One execution (fill); ``(epoch, exec_id)`` is unique."""

    __tablename__ = "executions"
    __table_args__ = (UniqueConstraint("epoch", "exec_id", name="uq_executions_epoch_exec_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    epoch: Mapped[int] = mapped_column(default=1, server_default="1")
    exec_id: Mapped[str] = mapped_column(String(64))
    order_pk: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    order_id: Mapped[int]
    perm_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    client_id: Mapped[int]
    account: Mapped[str] = mapped_column(String(32), index=True)
    con_id: Mapped[int] = mapped_column(index=True)
    symbol: Mapped[str] = mapped_column(String(32), index=True)
    sec_type: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(8))
    side: Mapped[str] = mapped_column(String(8))
    shares: Mapped[Decimal]
    price: Mapped[float]
    cum_qty: Mapped[Decimal | None]
    avg_price: Mapped[float | None]
    exchange: Mapped[str] = mapped_column(String(32))
    order_ref: Mapped[str | None] = mapped_column(String(128))
    time_text: Mapped[str] = mapped_column(String(64))
    time: Mapped[dt.datetime | None] = mapped_column(index=True)
    source: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[dt.datetime]
    raw: Mapped[dict[str, Any]]

    order: Mapped[OrderRecord | None] = relationship(back_populates="executions", lazy="raise")
    commission: Mapped[CommissionRecord | None] = relationship(
        primaryjoin=lambda: (ExecutionRecord.exec_id == foreign(CommissionRecord.exec_id))
        & (ExecutionRecord.epoch == foreign(CommissionRecord.epoch)),
        uselist=False,
        viewonly=True,
        lazy="raise",
    )


class CommissionRecord(Base):
    """The commission report of one execution; ``(epoch, exec_id)`` is unique."""

    __tablename__ = "commissions"
    __table_args__ = (UniqueConstraint("epoch", "exec_id", name="uq_commissions_epoch_exec_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    epoch: Mapped[int] = mapped_column(default=1, server_default="1")
    exec_id: Mapped[str] = mapped_column(String(64))
    commission: Mapped[float | None]
    currency: Mapped[str] = mapped_column(String(8))
    realized_pnl: Mapped[float | None]
    source: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[dt.datetime]


class ApiKeyRecord(Base):
    """An API key: its public id, name, scope and SHA-256; never the key itself."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
