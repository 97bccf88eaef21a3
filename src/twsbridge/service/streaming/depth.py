"""The ``depth`` topic of the hub: one live reqMktDepth :class:`~twsbridge.client.OrderBook`
per (conId, exchange, numRows, isSmartDepth), shared by every subscriber (WebSocket
``/ws/depth``, SSE ``/sse/depth``, GraphQL ``marketDepth``, and ``GET /market/depth``
while it runs).

Items are *levels*: ``{"side": "bid"|"ask", "position": 0.., "price", "size",
"marketMaker", "time"}``, the row now at that place of the book (price and size
null: the level is empty now). A row operation of TWS (insert/update/delete at a
position) changes the level there and every level below it on that side; those are
emitted. The conflation key is (side, position), so the topic's state, the snapshot
a new subscriber gets and what a slow subscriber is sent (conflated) are the full
current book: the hub's rules for quotes apply unchanged (``max_queue`` batches, then
conflated, dropped after ``drop_after`` seconds behind).

When the book is emptied to be rebuilt (a reconnect, TWS's 1101, error 317 reset,
a new subscription after the connection dropped) a gap item ``{"gap": reason,
"time"}`` is emitted with every known level empty; TWS's inserts then refill it.

TWS allows 3 distinct securities with depth per connection (error 309); the
service has one connection, so a fourth distinct security's topic fails: every
subscriber of it gets ``{"type": "error", "conId", "symbol", ..., "code": 309,
"message"}`` (a WebSocket opened for that instrument is then closed with 4309).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Hashable
from decimal import Decimal
from typing import Any

from twsbridge.client import Contract, Gap, OrderBook, TWSClient
from twsbridge.client.depth import BID, DepthRow
from twsbridge.client.events import utcnow

from ..gateway import GatewayManager
from ..gateway_clock import GatewayClock, gateway_clock
from .hub import Emit, Item, StreamHub, TopicKind, TopicSpec, Upstream, UpstreamFactory
from .upstreams import _resilient

__all__ = ["DEPTH", "depth_spec", "level_item", "register_depth_upstream", "smart_default"]

DEPTH = "depth"
_SIDES = {BID: "bid", 0: "ask"}


def smart_default(contract: Contract, smart: bool | None) -> bool:
    """``isSmartDepth`` as asked, or (None) True exactly when the exchange is SMART."""
    return contract.exchange.upper() == "SMART" if smart is None else smart


def depth_spec(contract: Contract, numRows: int = 5, isSmartDepth: bool = False) -> TopicSpec:
    """The depth topic of a resolved ``contract`` (shared per conId, exchange, rows, smart)."""
    exchange = "SMART" if isSmartDepth else contract.exchange
    header = {"conId": contract.conId, "symbol": contract.symbol, "exchange": exchange,
              "isSmartDepth": isSmartDepth, "numRows": numRows}
    return TopicSpec(DEPTH, (contract.conId, exchange, numRows, isSmartDepth), header,
                     (contract, numRows, isSmartDepth))


def _iso(when: Any) -> str:
    text: str = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return text


def _number(value: Decimal) -> int | float | None:
    if not value.is_finite():
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def level_item(side: str, position: int, row: DepthRow | None, time: str) -> Item:
    """A level item (``row`` None: the level is empty)."""
    if row is None:
        return {"side": side, "position": position, "price": None, "size": None,
                "marketMaker": None, "time": time}
    price = row.price if math.isfinite(row.price) else None
    return {"side": side, "position": position, "price": price, "size": _number(row.size),
            "marketMaker": row.marketMaker, "time": time}


def level_key(item: Item) -> Hashable:
    """Conflation key: (side, position); a gap item's is ("gap",)."""
    if "gap" in item:
        return ("gap",)
    return (item["side"], item["position"])


class _Levels:
    """What the subscribers were told: how many levels each side has had."""

    def __init__(self) -> None:
        self.known = {"bid": 0, "ask": 0}

    def changed(self, book: OrderBook, side: str, position: int, time: str) -> list[Item]:
        rows = book.bids if side == "bid" else book.asks
        end = max(len(rows), self.known[side])
        items = [level_item(side, p, rows[p] if p < len(rows) else None, time)
                 for p in range(max(position, 0), end)]
        self.known[side] = len(rows)  # the empty levels past the end are told now
        return items

    def emptied(self, reason: str, time: str) -> list[Item]:
        items: list[Item] = [{"gap": reason, "time": time}]
        for side, count in self.known.items():
            items += [level_item(side, p, None, time) for p in range(count)]
        return items


def _depth_factory(gateway: GatewayManager) -> UpstreamFactory:
    def factory(spec: TopicSpec) -> Upstream:
        contract, rows, smart = spec.context
        clock: GatewayClock | None = None

        def start(ib: TWSClient) -> OrderBook:
            nonlocal clock
            clock = gateway_clock(ib)
            return ib.reqMktDepth(contract, rows, smart)

        def stamp(when: Any) -> str:
            return _iso(when if clock is None else clock.at(when))

        async def run(emit: Emit) -> None:
            levels = _Levels()
            book_of: list[OrderBook] = []

            def begin(ib: TWSClient) -> OrderBook:
                book = start(ib)
                book_of[:] = [book]
                return book

            async def consume(sub: AsyncIterator[Any]) -> None:
                book = book_of[0]
                if any(levels.known.values()):  # a new subscription after a drop
                    emit(levels.emptied("subscribed again after the connection dropped",
                                        stamp(utcnow())))
                    levels.known = {"bid": 0, "ask": 0}
                async for update in sub:
                    if isinstance(update, Gap):
                        emit(levels.emptied(update.reason or "the book was reset",
                                            stamp(update.until)))
                        levels.known = {"bid": 0, "ask": 0}
                        continue
                    side = _SIDES.get(update.side, "ask")
                    emit(levels.changed(book, side, update.position, stamp(update.time)))
            await _resilient(gateway, begin, consume)
        return run
    return factory


def register_depth_upstream(hub: StreamHub, gateway: GatewayManager) -> None:
    """Register the ``depth`` kind on ``hub``, fed by ``gateway``'s client."""
    hub.register(TopicKind(DEPTH, _depth_factory(gateway), message="depth", field="levels",
                           key=level_key, max_state=4 * 50 + 1))
