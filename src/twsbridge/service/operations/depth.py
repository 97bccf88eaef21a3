"""Market depth: a snapshot of a contract's order book, and the exchanges offering depth.

A book the streaming hub already streams (``/ws/depth``, ``/sse/depth``, GraphQL
``marketDepth``) with as many rows or more is answered from that live book without a
TWS message (TWS allows only 3 distinct securities with depth per connection, error
309, so sharing matters). Otherwise a reqMktDepth (message 10) is sent, the initial
book awaited and cancelMktDepth (11) sent; identical concurrent requests share one.

Errors (see :mod:`twsbridge.service.problems`): 200 unknown contract → 404; 309 the
3-books limit → 409 ``depth-limit`` (the limit is the connection's state: retrying
helps only once a book is released, so not 429); 10092 no depth for that
exchange/secType (SMART without ``smart``) → 400. A book TWS sends no row of within
:data:`FIRST_ROW_TIMEOUT` is answered empty (``time`` null).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, Any

from twsbridge.client import Contract, Gap, OrderBook, TWSClient
from twsbridge.client.depth import DepthRow

from ..depth_schemas import DepthBookPublic, DepthExchangePublic, DepthRowPublic, depth_kind
from ..gateway_clock import gateway_clock
from ..market_cache import contract_key, market_cache
from ..problems import ProblemError
from ..routes.common import market_contract, resolve_contract
from ..schemas import ContractPublic

if TYPE_CHECKING:
    from ..streaming.hub import Item, StreamHub

__all__ = ["FIRST_ROW_TIMEOUT", "MAX_ROWS", "book_from_items", "depth_exchanges",
           "market_depth"]

MAX_ROWS = 50
"""Most rows a side the service asks for."""
FIRST_ROW_TIMEOUT = 5.0
"""Seconds to wait for the first row of a book; none by then: the book is empty."""
_SETTLE = 0.05  # seconds without a row after which an incomplete initial book is taken


def _row(item: Item) -> DepthRowPublic:
    return DepthRowPublic(price=item.get("price"), size=item.get("size"),
                          marketMaker=item.get("marketMaker") or "")


def book_from_items(items: list[Item], contract: Contract, numRows: int,
                    isSmartDepth: bool, exchange: str) -> DepthBookPublic:
    """A book from the level items of a live depth topic
    (:mod:`twsbridge.service.streaming.depth`): non-empty levels by position, the first
    ``numRows`` a side; ``time`` the latest level's."""
    sides: dict[str, list[tuple[int, Item]]] = {"bid": [], "ask": []}
    latest: dt.datetime | None = None
    for item in items:
        stamp = item.get("time")
        if isinstance(stamp, str):
            when = dt.datetime.fromisoformat(stamp)
            latest = when if latest is None or when > latest else latest
        side = item.get("side")
        if side in sides and item.get("price") is not None:
            sides[str(side)].append((int(str(item["position"])), item))
    bids = [_row(i) for _, i in sorted(sides["bid"], key=lambda p: p[0])][:numRows]
    asks = [_row(i) for _, i in sorted(sides["ask"], key=lambda p: p[0])][:numRows]
    mm = any(r.marketMaker for r in bids + asks)
    return DepthBookPublic(contract=ContractPublic.from_tws(contract), exchange=exchange,
                           isSmartDepth=isSmartDepth, kind=depth_kind(isSmartDepth, mm),
                           numRows=numRows, bids=bids, asks=asks, time=latest)


def _live_book(hub: StreamHub | None, target: Contract, numRows: int, smart: bool,
               exchange: str) -> DepthBookPublic | None:
    if hub is None:
        return None
    from ..streaming.depth import DEPTH  # the hub's topics of this book

    for key in list(hub.topics):
        if (len(key) == 5 and key[0] == DEPTH and key[1] == target.conId
                and key[2] == exchange and key[4] == smart and isinstance(key[3], int)
                and key[3] >= numRows):
            items = hub.latest(key)
            if items is not None:
                return book_from_items(items, target, numRows, smart, exchange)
    return None


def _public_rows(rows: list[DepthRow]) -> list[DepthRowPublic]:
    return [DepthRowPublic(price=r.price, size=r.size, marketMaker=r.marketMaker)
            for r in rows]


async def market_depth(ib: TWSClient, contract: Contract, numRows: int = 5,
                       isSmartDepth: bool | None = None,
                       hub: StreamHub | None = None) -> DepthBookPublic:
    """The order book of the one contract matching ``contract`` (404 when none, 409
    listing the candidates when several), ``numRows`` (1-50) a side; ``isSmartDepth``
    None: True exactly when the exchange is SMART. From a live book of ``hub`` when it
    streams one, else reqMktDepth (10) → updateMktDepth (12) / updateMktDepthL2 (13) →
    cancelMktDepth (11). ``time`` is when the last row arrived, on the gateway's clock.

    Raises:
        ProblemError: validation-error (422) for ``numRows``; TWS's refusals as
            problems with TWS's code (309 → 409, 10092 → 400, 200 → 404).
    """
    if not 1 <= numRows <= MAX_ROWS:
        raise ProblemError("validation-error", f"rows: between 1 and {MAX_ROWS}")
    details = await resolve_contract(ib, contract)
    target = market_contract(details)
    from ..streaming.depth import smart_default

    smart = smart_default(target, isSmartDepth)
    exchange = "SMART" if smart else target.exchange
    live = _live_book(hub, target, numRows, smart, exchange)
    if live is not None:
        return live
    clock = gateway_clock(ib)
    await clock.ensure()

    async def snapshot() -> DepthBookPublic:
        return await _snapshot(ib, target, numRows, smart, exchange)

    book = await market_cache(ib).coalesced(
        ("reqMktDepth", contract_key(target), exchange, numRows, smart), snapshot)
    if book.time is not None:
        book = book.model_copy(update={"time": clock.at(book.time)})
    return book


async def _snapshot(ib: TWSClient, target: Contract, numRows: int, smart: bool,
                    exchange: str) -> DepthBookPublic:
    book = ib.reqMktDepth(target, numRows, smart)
    try:
        updates = aiter(book)
        try:
            async with asyncio.timeout(FIRST_ROW_TIMEOUT):
                first: Any = await anext(updates)
                while isinstance(first, Gap):
                    first = await anext(updates)
        except TimeoutError:  # no row at all (an empty book): answered as such
            return _answer(book, target, numRows, smart, exchange)
        # TWS sends the initial book as a burst of inserts: take it once both sides are
        # full, or when the burst has paused
        while not (len(book.bids) >= numRows and len(book.asks) >= numRows):
            try:
                async with asyncio.timeout(_SETTLE):
                    await anext(updates)
            except TimeoutError:
                break
        return _answer(book, target, numRows, smart, exchange)
    finally:
        await book.cancel()


def _answer(book: OrderBook, target: Contract, numRows: int, smart: bool,
            exchange: str) -> DepthBookPublic:
    mm = any(r.marketMaker for r in book.bids + book.asks)
    return DepthBookPublic(
        contract=ContractPublic.from_tws(target), exchange=exchange, isSmartDepth=smart,
        kind=depth_kind(smart, mm), numRows=numRows, bids=_public_rows(book.bids),
        asks=_public_rows(book.asks), time=book.updated)


async def depth_exchanges(ib: TWSClient) -> list[DepthExchangePublic]:
    """The exchanges offering market depth (reqMktDepthExchanges, message 82 →
    mktDepthExchanges, 80); identical concurrent requests share one."""
    async def ask() -> Any:
        return await ib.reqMktDepthExchanges()

    found = await market_cache(ib).coalesced(("reqMktDepthExchanges",), ask)
    return [DepthExchangePublic.from_tws(d) for d in found]
