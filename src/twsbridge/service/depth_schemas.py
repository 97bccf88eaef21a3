"""Market depth models: the REST/MCP/GraphQL book snapshot, the exchanges offering
depth, and the messages of the depth stream (``/ws/depth``, ``/sse/depth``, the
GraphQL ``marketDepth`` subscription).

Source: reqMktDepth (message 10) → updateMktDepth (12) / updateMktDepthL2 (13);
reqMktDepthExchanges (82) → mktDepthExchanges (80); TWS API, "Market Depth
(Level II)". Prices are in the contract's currency, sizes JSON numbers (shares;
forex: base-currency units).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from twsbridge.protocol.depth_models import DepthMktDataDescription

from .schemas import ContractPublic, Size, TwsPrice

__all__ = [
    "DepthBookPublic",
    "DepthExchangePublic",
    "DepthKind",
    "DepthLevelPublic",
    "DepthMessagePublic",
    "DepthRowPublic",
    "depth_kind",
]

DepthKind = Literal["smart", "marketMakers", "exchange"]
"""``smart``: the SMART book aggregated over exchanges (rows name the exchange);
``marketMakers``: one exchange's book with market-maker ids (updateMktDepthL2);
``exchange``: one exchange's own book (updateMktDepth, no market maker)."""


def depth_kind(isSmartDepth: bool, marketMakers: bool) -> DepthKind:
    """The :data:`DepthKind` of a book."""
    if isSmartDepth:
        return "smart"
    return "marketMakers" if marketMakers else "exchange"


class DepthRowPublic(BaseModel):
    """One row of a book side: price, size and who holds it."""

    price: TwsPrice = Field(description="Price in the contract's currency.")
    size: Size = Field(description="Quantity at that price (shares; forex: base units).")
    marketMaker: str = Field(
        "", description="Market maker (an exchange's book) or, for SMART depth, the "
                        "exchange holding it; '' when TWS names none (updateMktDepth).")


_BOOK_EXAMPLE: dict[str, Any] = {
    "contract": {"conId": 265598, "symbol": "AAPL", "secType": "STK", "exchange": "SMART",
                 "primaryExchange": "NASDAQ", "currency": "USD", "localSymbol": "AAPL"},
    "exchange": "SMART", "isSmartDepth": True, "kind": "smart", "numRows": 2,
    "bids": [{"price": 441.5, "size": 300, "marketMaker": "ISLAND"},
             {"price": 441.49, "size": 800, "marketMaker": "ARCA"}],
    "asks": [{"price": 441.52, "size": 200, "marketMaker": "BATS"},
             {"price": 441.53, "size": 500, "marketMaker": "ISLAND"}],
    "time": "2013-03-01T15:00:00.120000Z",
}


class DepthBookPublic(BaseModel):
    """The order book of one contract at one moment (reqMktDepth): bids best (highest)
    first, asks best (lowest) first, at most ``numRows`` a side."""

    model_config = ConfigDict(json_schema_extra={"examples": [_BOOK_EXAMPLE]})

    contract: ContractPublic
    exchange: str = Field(description="The book's exchange (SMART for SMART depth).")
    isSmartDepth: bool = Field(description="The SMART book aggregated over exchanges.")
    kind: DepthKind = Field(description="smart, marketMakers or exchange (see the docs).")
    numRows: int = Field(description="Rows a side asked for.")
    bids: list[DepthRowPublic]
    asks: list[DepthRowPublic]
    time: dt.datetime | None = Field(
        None, description="When the book's last row operation arrived (UTC, the gateway's "
                          "clock); null when TWS sent no row.")

    @property
    def bid(self) -> DepthRowPublic | None:
        """The best bid row."""
        return self.bids[0] if self.bids else None

    @property
    def ask(self) -> DepthRowPublic | None:
        """The best ask row."""
        return self.asks[0] if self.asks else None


class DepthExchangePublic(BaseModel):
    """One exchange offering market depth (mktDepthExchanges, message 80)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"exchange": "ISLAND", "secType": "STK", "listingExch": "NASDAQ",
         "serviceDataType": "Deep2", "aggGroup": 1}]})

    exchange: str = Field(description="Exchange as in a Contract, e.g. ISLAND.")
    secType: str = Field(description="Security type, e.g. STK.")
    listingExch: str = Field(description="Listing exchange.")
    serviceDataType: str = Field(description="TWS's depth service there: Deep or Deep2.")
    aggGroup: int | None = Field(None, description="Aggregation group (null: none sent).")

    @classmethod
    def from_tws(cls, d: DepthMktDataDescription) -> DepthExchangePublic:
        """Convert a protocol :class:`DepthMktDataDescription`."""
        agg = d.aggGroup if isinstance(d.aggGroup, int) and abs(d.aggGroup) < 2**31 - 1 \
            else None
        return cls(exchange=d.exchange, secType=d.secType, listingExch=d.listingExch,
                   serviceDataType=d.serviceDataType, aggGroup=agg)


class DepthLevelPublic(BaseModel):
    """One level of a depth stream: the row now at ``position`` of ``side``, or (price
    and size null) that level is empty now. A ``gap`` item (``gap`` set, side null)
    says the book was emptied to be rebuilt (reconnect, TWS's 317 reset)."""

    side: Literal["bid", "ask"] | None = Field(None, description="bid or ask; null: a gap.")
    position: int | None = Field(None, description="0 = best.")
    price: TwsPrice = None
    size: Size = None
    marketMaker: str | None = None
    gap: str | None = Field(None, description="Why the book was emptied (gap items only).")
    time: dt.datetime = Field(description="When the change arrived (UTC, gateway's clock).")


class DepthMessagePublic(BaseModel):
    """A depth stream message: first a ``snapshot`` (every level), then ``depth``
    messages with the levels that changed; ``conflated`` levels skipped for a slow
    subscriber (it got the latest levels, i.e. the full current book)."""

    type: Literal["snapshot", "depth"]
    conId: int
    symbol: str
    exchange: str
    isSmartDepth: bool
    numRows: int
    tHub: dt.datetime = Field(
        description="When the service received the (oldest) change of the message (UTC).")
    conflated: int = Field(0, description="Updates skipped because the subscriber was slow.")
    levels: list[DepthLevelPublic]
