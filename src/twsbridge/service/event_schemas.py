"""Models of streamed events: market data ticks and order events.

The streaming hub carries JSON-ready items (see :mod:`.streaming`); these
models describe them, build the order events of the ``orders`` topic and read
the items back for the GraphQL subscriptions (whose types derive from them).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from .schemas import Money, MoneyRounding, Size, TwsPrice, integer, price, size

__all__ = ["OrderEventPublic", "TickPublic", "TicksPublic"]


class TickPublic(BaseModel):
    """One market data tick: TWS's tick ``name`` and its value."""

    name: str = Field(description="TWS's tick name: bid, ask, last, bidSize, volume ...")
    value: TwsPrice = Field(default=None, description="The price or size (null when unknown; "
                            "8 decimals at most).")
    text: str | None = Field(default=None, description="The value of a text tick (tickString).")
    time: dt.datetime = Field(description="When the service received the tick (UTC).")

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> TickPublic:
        """Read a tick item of the hub (``{"name", "value", "time"}``)."""
        value = item.get("value")
        if isinstance(value, str):
            return cls(name=item["name"], text=value, time=item["time"])
        return cls(name=item["name"], value=value, time=item["time"])


class TicksPublic(BaseModel):
    """Ticks of one instrument: first a ``snapshot`` (the latest value of every tick),
    then ``ticks`` messages as TWS sends them."""

    type: Literal["snapshot", "ticks"]
    conId: int
    symbol: str
    tHub: dt.datetime = Field(
        description="When the service received the (oldest) tick of the message (UTC).")
    conflated: int = Field(default=0,
                           description="Updates skipped because the subscriber was slow.")
    ticks: list[TickPublic]


OrderEventKind = Literal["status", "execution", "commission", "error"]


class OrderEventPublic(MoneyRounding):
    """A change of one of the service's orders, as TWS reported it.

    ``event`` says which fields are set: ``status`` (orderStatus: status,
    filled, remaining, prices), ``execution`` (execDetails: execId, side,
    shares, price ...), ``commission`` (commissionReport of ``execId``) or
    ``error`` (TWS refused something about the order: errorCode, errorMessage).
    Prices and ``commission`` have 8 decimals at most, ``realizedPNL`` is rounded to
    the minor unit of ``currency``.
    """

    event: OrderEventKind
    orderId: int | None = None
    permId: int | None = None
    clientId: int | None = None
    status: str | None = None
    filled: Size = None
    remaining: Size = None
    avgFillPrice: TwsPrice = None
    lastFillPrice: TwsPrice = None
    whyHeld: str | None = None
    execId: str | None = None
    account: str | None = None
    conId: int | None = None
    symbol: str | None = None
    side: str | None = Field(default=None, description="BOT or SLD.")
    shares: Size = None
    price: TwsPrice = None
    cumQty: Size = None
    avgPrice: TwsPrice = None
    exchange: str | None = None
    executionTime: str | None = Field(default=None, description="TWS's text of the execution time.")
    commission: TwsPrice = None
    currency: str | None = None
    realizedPNL: Money = None
    errorCode: int | None = None
    errorMessage: str | None = None
    time: dt.datetime = Field(description="When the service received the event (UTC).")

    @classmethod
    def from_status(cls, msg: Any, at: dt.datetime) -> OrderEventPublic:
        """Convert an ``orderStatus`` message."""
        return cls(event="status", orderId=msg.orderId, permId=integer(msg.permId) or None,
                   clientId=msg.clientId, status=msg.status, filled=size(msg.filled),
                   remaining=size(msg.remaining), avgFillPrice=price(msg.avgFillPrice),
                   lastFillPrice=price(msg.lastFillPrice), whyHeld=msg.whyHeld or None, time=at)

    @classmethod
    def from_execution(cls, msg: Any, at: dt.datetime) -> OrderEventPublic:
        """Convert an ``execDetails`` message."""
        e, c = msg.execution, msg.contract
        return cls(event="execution", orderId=e.orderId, permId=integer(e.permId) or None,
                   clientId=e.clientId, execId=e.execId, account=e.acctNumber, conId=c.conId,
                   symbol=c.symbol, side=e.side, shares=size(e.shares), price=price(e.price),
                   cumQty=size(e.cumQty), avgPrice=price(e.avgPrice), exchange=e.exchange,
                   executionTime=e.time, time=at)

    @classmethod
    def from_commission(cls, msg: Any, order_id: int | None,
                        at: dt.datetime) -> OrderEventPublic:
        """Convert a ``commissionReport`` message (of an execution of ``order_id``)."""
        r = msg.commissionReport
        return cls(event="commission", orderId=order_id, execId=r.execId,
                   commission=price(r.commission), currency=r.currency,
                   realizedPNL=price(r.realizedPNL), time=at)

    @classmethod
    def from_error(cls, msg: Any, client_id: int, at: dt.datetime) -> OrderEventPublic:
        """Convert an ``error`` message about order ``msg.reqId``."""
        return cls(event="error", orderId=msg.reqId, clientId=client_id,
                   errorCode=msg.errorCode, errorMessage=msg.errorString, time=at)

