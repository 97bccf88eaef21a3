"""The tick-by-tick items of ``/ws/ticks``, ``/sse/ticks`` and GraphQL ``tickByTick``.

One flat model for the four kinds of item, told apart by ``tickType``: a trade
(``"Last"`` / ``"AllLast"``: price, size, exchange, specialConditions,
pastLimit, unreported), a bid/ask change (``"BidAsk"``: bidPrice, askPrice,
bidSize, askSize, bidPastLow, askPastHigh), a midpoint change (``"MidPoint"``:
midPoint) or a ``"Gap"`` (since, until, reason: ticks in between may be missing).
Source: tickByTick (message 99), TWS API "Tick-By-Tick Data".
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["TickByTickPublic", "TickByTickType"]

TickByTickType = Literal["Last", "AllLast", "BidAsk", "MidPoint", "Gap"]


class TickByTickPublic(BaseModel):
    """One tick-by-tick event of one instrument (fields by ``tickType``; the others null)."""

    conId: int
    symbol: str
    tickType: TickByTickType = Field(
        description="Last / AllLast (a trade), BidAsk, MidPoint, or Gap (ticks may be "
                    "missing between since and until).")
    time: dt.datetime | None = Field(
        default=None, description="TWS's time of the tick (UTC, whole seconds); null for a Gap.")
    price: float | None = Field(default=None, description="Trade price (Last, AllLast).")
    size: Decimal | None = Field(default=None, description="Trade size (Last, AllLast).")
    exchange: str | None = Field(default=None, description="Where the trade printed.")
    specialConditions: str | None = Field(
        default=None, description="TWS's sale condition codes of the trade.")
    pastLimit: bool | None = Field(
        default=None, description="The trade printed outside the bid/ask (attrMask bit 1).")
    unreported: bool | None = Field(
        default=None, description="An off-exchange print (attrMask bit 2, AllLast).")
    bidPrice: float | None = Field(default=None, description="BidAsk: the bid.")
    askPrice: float | None = Field(default=None, description="BidAsk: the ask.")
    bidSize: Decimal | None = Field(default=None, description="BidAsk: the bid size.")
    askSize: Decimal | None = Field(default=None, description="BidAsk: the ask size.")
    bidPastLow: bool | None = Field(
        default=None, description="BidAsk: the bid is below the day's low (attrMask bit 1).")
    askPastHigh: bool | None = Field(
        default=None, description="BidAsk: the ask is above the day's high (attrMask bit 2).")
    midPoint: float | None = Field(default=None, description="MidPoint: the midpoint.")
    since: dt.datetime | None = Field(default=None, description="Gap: from (UTC).")
    until: dt.datetime | None = Field(default=None, description="Gap: to (UTC).")
    reason: str | None = Field(default=None, description="Gap: why ticks may be missing.")

    @classmethod
    def from_item(cls, header: dict[str, Any], item: dict[str, Any]) -> TickByTickPublic:
        """Read an item of the hub's ``tick_by_tick`` topic with its message's header."""
        return cls(conId=header["conId"], symbol=header["symbol"], **item)
