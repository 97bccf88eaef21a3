"""Market depth of a TWSClient: reqMktDepth as a live :class:`OrderBook`, and
reqMktDepthExchanges.

TWS sends a book as row operations (TWS API, "Market Depth (Level II)"):
updateMktDepth (message 12) for one exchange's book, updateMktDepthL2 (13)
with a market maker (an exchange's market makers, or for SMART depth the
exchange holding the order). Each names a ``position`` on a ``side`` (0 ask,
1 bid) and an ``operation``: 0 insert a row there (the rows at and below it
move down), 1 update the row there, 2 delete it (the rows below move up).
:class:`OrderBook` applies them as they come; it is the subscription too:
``async for`` yields each applied :class:`DepthUpdate` (and a
:class:`~twsbridge.client.events.Gap` where rows may have been missed).

Resuming: after a reconnect or TWS's 1101 the request is sent again with a
new reqId; the book is emptied then, a Gap is yielded, and TWS's inserts
rebuild it. Error 317 ("Market depth data has been RESET") empties the book
the same way (a Gap, then the rows TWS sends again).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from twsbridge.protocol import Contract, Message, TagValue
from twsbridge.protocol.catalogue import depth as wire
from twsbridge.protocol.depth_models import DepthMktDataDescription

from .core import ClientCore
from .errors import TWSError
from .events import utcnow
from .requests import Renew, Request, Subscription

__all__ = [
    "ASK",
    "BID",
    "DELETE",
    "DEPTH_RESET",
    "INSERT",
    "UPDATE",
    "DepthMethods",
    "DepthRow",
    "DepthUpdate",
    "OrderBook",
]

log = logging.getLogger("twsbridge.client")

ASK, BID = 0, 1
"""``side`` of an ask row and of a bid row."""
INSERT, UPDATE, DELETE = 0, 1, 2
"""``operation`` of a row: insert, update, delete."""
DEPTH_RESET = 317
"""TWS's "Market depth data has been RESET. Please empty deep book contents
before applying any new entries." for a depth request."""

DEPTH_ANSWERS: tuple[type[Message], ...] = (wire.UpdateMktDepth, wire.UpdateMktDepthL2)


@dataclass(frozen=True, slots=True)
class DepthRow:
    """One row of a book: ``price`` in the contract's currency, ``size`` a
    Decimal quantity (shares; forex: base-currency units), ``marketMaker`` the
    market maker or, for SMART depth, the exchange ('' from updateMktDepth)."""

    price: float
    size: Decimal
    marketMaker: str


@dataclass(frozen=True, slots=True)
class DepthUpdate:
    """One row operation as TWS sent it and :class:`OrderBook` applied it:
    ``operation`` 0 insert, 1 update, 2 delete at ``position`` (0 best) of
    ``side`` (0 ask, 1 bid); ``time`` when it arrived (aware, UTC)."""

    position: int
    operation: int
    side: int
    price: float
    size: Decimal
    marketMaker: str
    isSmartDepth: bool
    time: datetime


class OrderBook(Subscription[DepthUpdate]):
    """A live reqMktDepth (message 10): the book and its subscription.

    Attributes:
        contract, numRows, isSmartDepth: as requested.
        bids: the bid rows, best (highest) first, as :class:`DepthRow`.
        asks: the ask rows, best (lowest) first.
        updated: when the last row operation arrived (None before one).

    ``async for update in book`` yields each :class:`DepthUpdate` once
    applied (and a :class:`~twsbridge.client.events.Gap` when the book was
    emptied to be rebuilt); ``await book.cancel()`` or leaving ``async with``
    sends cancelMktDepth (11). The rows are kept as they were at the cancel.
    An operation at a position the book does not have (TWS out of step) is
    applied as near as it can be (an insert or update past the end appends,
    a delete past the end does nothing) and logged.
    """

    def __init__(self, reqId: int, contract: Contract, numRows: int, isSmartDepth: bool,
                 renew: Renew, maxlen: int | None = 100_000) -> None:
        self.contract = contract
        self.numRows = numRows
        self.isSmartDepth = isSmartDepth
        self.bids: list[DepthRow] = []
        self.asks: list[DepthRow] = []
        self.updated: datetime | None = None
        msg, cancel = renew(reqId)
        self.request: Message = msg
        super().__init__("reqMktDepth", reqId, DEPTH_ANSWERS, (), convert=self._apply,
                         cancel=cancel, maxlen=maxlen, renew=renew)

    def __repr__(self) -> str:
        state = "failed" if self.exception else "done" if self.done else "live"
        sym = self.contract.localSymbol or self.contract.symbol or self.contract.conId
        return (f"<OrderBook {sym} reqId={self.reqId} {state} "
                f"bids={len(self.bids)} asks={len(self.asks)}>")

    @property
    def bid(self) -> DepthRow | None:
        """The best bid row (None: no bids)."""
        return self.bids[0] if self.bids else None

    @property
    def ask(self) -> DepthRow | None:
        """The best ask row (None: no asks)."""
        return self.asks[0] if self.asks else None

    @property
    def unread(self) -> int:
        """Changes (and Gaps) applied but not yet read by ``async for``."""
        return len(self._items)

    def renew(self, reqId: int | None) -> Message:
        """As :meth:`Request.renew`, emptying the book: TWS sends it again."""
        msg = super().renew(reqId)
        self.request = msg
        self.clear()
        return msg

    def clear(self) -> None:
        """Empty both sides."""
        self.bids.clear()
        self.asks.clear()

    def reset(self, err: TWSError) -> None:
        """TWS reset the book (error 317): empty it; a Gap comes first."""
        self.clear()
        self.gap(f"TWS error {err.code}: {err.message}")

    def _apply(self, msg: Message) -> list[DepthUpdate]:
        if isinstance(msg, wire.UpdateMktDepthL2):
            mm, smart = msg.marketMaker, msg.isSmartDepth
        elif isinstance(msg, wire.UpdateMktDepth):
            mm, smart = "", False
        else:
            return []
        rows = self.bids if msg.side == BID else self.asks
        row = DepthRow(msg.price, msg.size, mm)
        pos, op = msg.position, msg.operation
        inside = 0 <= pos < len(rows)
        if op == INSERT:
            if pos > len(rows) or pos < 0:
                log.debug("%r: insert at %d of %d rows, appended", self, pos, len(rows))
                rows.append(row)
            else:
                rows.insert(pos, row)
        elif op == UPDATE:
            if inside:
                rows[pos] = row
            else:
                log.debug("%r: update at %d of %d rows, appended", self, pos, len(rows))
                rows.append(row)
        elif op == DELETE:
            if inside:
                del rows[pos]
            else:
                log.debug("%r: delete at %d of %d rows ignored", self, pos, len(rows))
        else:
            log.warning("%r: unknown depth operation %d ignored", self, op)
            return []
        self.updated = now = utcnow()
        return [DepthUpdate(pos, op, msg.side, msg.price, msg.size, mm, smart, now)]

    async def __aenter__(self) -> OrderBook:
        return self



def _descriptions(msg: Message) -> list[DepthMktDataDescription]:
    if isinstance(msg, wire.MktDepthExchanges):
        return list(msg.depthMktDataDescriptions)
    return []


class DepthMethods:
    """The market depth requests of :class:`~twsbridge.client.TWSClient` (a mixin
    over its ``_core``)."""

    _core: ClientCore
    _depth_resets_claimed: bool = False

    def reqMktDepth(self, contract: Contract, numRows: int = 5, isSmartDepth: bool = False,
                    mktDepthOptions: list[TagValue] | None = None) -> OrderBook:
        """Subscribe to a contract's order book (reqMktDepth, message 10; sent at
        once): the returned :class:`OrderBook` keeps ``bids``/``asks`` up to
        date from updateMktDepth (12) / updateMktDepthL2 (13) and yields each
        change; ``await book.cancel()`` sends cancelMktDepth (11). Sent again
        after a reconnect or 1101 (the book rebuilt after a Gap).

        Args:
            contract: the contract; its ``exchange`` picks the book (one
                exchange's, e.g. ``"ISLAND"`` with market makers, ``"ARCA"``,
                ``"IDEALPRO"`` for forex) unless ``isSmartDepth``.
            numRows: the most rows a side.
            isSmartDepth: the SMART book aggregated over exchanges (rows name
                the exchange; server version 146, below every version served).
            mktDepthOptions: reserved by TWS; sent as given.

        Raises (from iterating or awaiting the book): TWSError 309 (TWS's
        limit of 3 securities with depth reached), 322 (ticker id in use), 200
        (unknown contract), 10092 (no depth for that exchange/secType).
        """
        core = self._core
        self._claim_depth_resets()
        options = list(mktDepthOptions or [])

        def renew(rid: int | None) -> tuple[Message, Message]:
            assert rid is not None
            return (wire.ReqMktDepth(reqId=rid, contract=contract, numRows=numRows,
                                     isSmartDepth=isSmartDepth, mktDepthOptions=options),
                    wire.CancelMktDepth(reqId=rid, isSmartDepth=isSmartDepth))

        reqId = core.next_id()
        book = OrderBook(reqId, contract, numRows, isSmartDepth, renew)
        return core.start(book, book.request)

    async def reqMktDepthExchanges(self) -> list[DepthMktDataDescription]:
        """The exchanges that offer market depth (reqMktDepthExchanges, message 82
        → mktDepthExchanges, 80): each a
        :class:`~twsbridge.protocol.depth_models.DepthMktDataDescription`
        (``exchange``, ``secType``, ``listingExch``, ``serviceDataType``
        ``"Deep"``/``"Deep2"``, ``aggGroup``)."""
        req = Request("reqMktDepthExchanges", None, (wire.MktDepthExchanges,),
                      (wire.MktDepthExchanges,), convert=_descriptions)
        return await self._core.call(req, wire.ReqMktDepthExchanges())

    def _claim_depth_resets(self) -> None:
        """Once per client: error 317 for a live book empties it instead of failing it."""
        if self._depth_resets_claimed:
            return
        self._depth_resets_claimed = True
        core = self._core

        def claim(err: TWSError) -> bool:
            if err.code != DEPTH_RESET:
                return False
            book = core.router.get(err.reqId)
            if not isinstance(book, OrderBook) or book.done:
                return False
            book.reset(err)
            return True

        core.claim_errors(claim)
