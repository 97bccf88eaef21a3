"""The market depth family: reqMktDepth (10), cancelMktDepth (11) and
reqMktDepthExchanges (82).

A depth subscription is answered from the simulator's
:class:`~twsbridge.sim.market.depth.DepthModel`: the book of the request's
second as inserts at positions 0..n-1 of each side, then, as the book changes
(each simulated second, at :meth:`Depth.poll`), the row operations of
:func:`~twsbridge.sim.market.depth.book_updates` (updates of common rows,
inserts at the end, deletes from the end: the same book whether a client keys
rows by position, as ib_async does, or shifts them, as IB's samples do).

Which book and which message (TWS API, "Market Depth (Level II)"):

* ``isSmartDepth``: the SMART book aggregated over the venues quoting the
  contract, as updateMktDepthL2 (13) rows naming the venue holding most of
  each price, ``isSmartDepth`` True. Its top rows are the quote of the same
  second (reqMktData's bid/ask and sizes).
* exchange ISLAND (or NASDAQ): NASDAQ's own book as updateMktDepthL2 rows with
  market-maker ids (``isSmartDepth`` False).
* another exchange of :data:`DEPTH_EXCHANGES` (ARCA, BATS, NYSE, ...;
  IDEALPRO for forex): that exchange's own book as updateMktDepth (12). A
  venue's top may be behind the quote; IDEALPRO's is the quote.

``numRows`` rows a side at most (clamped to 1..:data:`MAX_DEPTH_ROWS`).

TWS's refusals: 200 unknown contract; 322 a ticker id already in use for
depth; 309 a fourth distinct security while :data:`MAX_DEPTH_BOOKS` have
depth (TWS limits a client to 3 distinct securities; more requests for one
security are allowed); 10092 an exchange without depth (SMART without
``isSmartDepth``, an exchange not listed, a secType other than STK/CASH);
310 cancelMktDepth of a ticker id with no depth. Depth stops while TWS has
lost its connection to IB or a competing session runs (10197 on a new
request then); when connectivity returns with the data lost (1101) the
subscriptions are dropped, as TWS drops market data.
"""

from __future__ import annotations

import datetime as dt
import weakref
from dataclasses import dataclass, field

from twsbridge.protocol.catalogue import depth as wire
from twsbridge.protocol.depth_models import DepthMktDataDescription
from twsbridge.protocol.spec import Message
from twsbridge.sim.gateway.families.base import Family, SessionContext, handles
from twsbridge.sim.gateway.families.market_data import DUPLICATE_TICKER
from twsbridge.sim.gateway.guard import COMPETING_SESSION
from twsbridge.sim.market.depth import (
    ASK,
    BID,
    FOREX_VENUES,
    MAX_DEPTH_ROWS,
    STOCK_VENUES,
    DepthModel,
    DepthRow,
    DepthUpdate,
    book_updates,
)
from twsbridge.sim.market.prices import PriceModel
from twsbridge.sim.reference.instruments import Instrument

__all__ = [
    "DEPTH_EXCHANGES",
    "DEPTH_NOT_SUPPORTED",
    "MAX_DEPTH_BOOKS",
    "BookKind",
    "Depth",
    "DepthLine",
    "book_kind",
    "depth_model",
    "max_depth_text",
    "no_depth_text",
]

MAX_DEPTH_BOOKS = 3
"""Distinct securities one client may have depth for at a time (TWS's default)."""
DEPTH_NOT_SUPPORTED = (10092, "Deep market data is not supported for this combination "
                              "of security type/exchange")
"""TWS's refusal of depth on an exchange (or secType) that offers none."""
NO_DEPTH_ID = 310
MAX_DEPTH = 309

_NASDAQ_NAMES = ("ISLAND", "NASDAQ")
_API_NAMES = {"NASDAQ": "ISLAND"}  # the model's venue -> the exchange name of contracts


def _descriptions() -> tuple[DepthMktDataDescription, ...]:
    stocks = tuple(DepthMktDataDescription(
        exchange=_API_NAMES.get(v, v), secType="STK", listingExch="",
        serviceDataType="Deep2" if v == "NASDAQ" else "Deep", aggGroup=1)
        for v in STOCK_VENUES)
    forex = tuple(DepthMktDataDescription(
        exchange=v, secType="CASH", listingExch="", serviceDataType="Deep", aggGroup=4)
        for v in FOREX_VENUES)
    return stocks + forex


DEPTH_EXCHANGES: tuple[DepthMktDataDescription, ...] = _descriptions()
"""What mktDepthExchanges (80) lists: every venue of the depth model, by the
exchange name a Contract uses (NASDAQ as ISLAND); ``serviceDataType`` "Deep2"
for a book with market makers (updateMktDepthL2), "Deep" for one without
(updateMktDepth); ``aggGroup`` the instruments' (1 stocks, 4 IDEALPRO)."""


def max_depth_text(limit: int = MAX_DEPTH_BOOKS) -> str:
    """Error 309's text."""
    return f"Max number ({limit}) of market depth requests has been reached"


def no_depth_text(req_id: int) -> str:
    """Error 310's text (cancelMktDepth of a ticker id without depth)."""
    return f"Can't find the subscribed market depth with tickerId:{req_id}"


_MODELS: weakref.WeakKeyDictionary[PriceModel, DepthModel] = weakref.WeakKeyDictionary()


def depth_model(prices: PriceModel) -> DepthModel:
    """The one :class:`DepthModel` of a price model (shared by every session of
    a simulator, so their books are built once per second)."""
    model = _MODELS.get(prices)
    if model is None:
        model = _MODELS[prices] = DepthModel(prices)
    return model


@dataclass(frozen=True, slots=True)
class BookKind:
    """Which book a request gets: ``venue`` the model's venue (None: SMART
    depth), ``l2`` True for updateMktDepthL2 rows, ``smart`` the rows'
    isSmartDepth."""

    venue: str | None
    l2: bool
    smart: bool


def book_kind(inst: Instrument, exchange: str, isSmartDepth: bool) -> BookKind | None:
    """The book of a reqMktDepth for ``inst`` on ``exchange``; None when that
    combination has no depth (error 10092)."""
    if inst.secType not in ("STK", "CASH"):
        return None
    if isSmartDepth:
        return BookKind(None, True, True)
    ex = exchange.strip().upper() or inst.exchange
    if ex == "IDEAL":
        ex = "IDEALPRO"
    if inst.is_forex:
        return BookKind(ex, False, False) if ex in FOREX_VENUES else None
    if ex in _NASDAQ_NAMES:
        return BookKind("NASDAQ", True, False)
    if ex in STOCK_VENUES:
        return BookKind(ex, False, False)
    return None


@dataclass(slots=True)
class DepthLine:
    """One depth subscription: the rows last sent (asks, bids) and their second."""

    reqId: int
    conId: int
    kind: BookKind
    numRows: int
    asks: list[DepthRow] = field(default_factory=list)
    bids: list[DepthRow] = field(default_factory=list)
    second: int | None = None

    def rows(self, model: DepthModel, t: dt.datetime) -> tuple[list[DepthRow], list[DepthRow]]:
        """(asks, bids) of this line's book at ``t``."""
        kind, n = self.kind, self.numRows
        if kind.venue is None:
            book = model.book(self.conId, t, n)
            return book.rows(ASK, n), book.rows(BID, n)
        book = model.book(self.conId, t, MAX_DEPTH_ROWS)
        asks, bids = book.venue_rows(kind.venue, ASK, n), book.venue_rows(kind.venue, BID, n)
        if not kind.l2:  # updateMktDepth has no market maker
            asks = [DepthRow(r.price, r.size, "") for r in asks]
            bids = [DepthRow(r.price, r.size, "") for r in bids]
        return asks, bids

    def step(self, model: DepthModel, t: dt.datetime) -> list[Message]:
        """The messages turning the rows sent into the book at ``t`` (none
        within the second already sent)."""
        second = int(t.timestamp() // 1)
        if second == self.second:
            return []
        asks, bids = self.rows(model, t)
        updates = book_updates((self.asks, self.bids), (asks, bids))
        self.asks, self.bids, self.second = asks, bids, second
        return [self._message(u) for u in updates]

    def _message(self, u: DepthUpdate) -> Message:
        if self.kind.l2:
            return wire.UpdateMktDepthL2(
                reqId=self.reqId, position=u.position, marketMaker=u.marketMaker,
                operation=u.operation, side=u.side, price=u.price, size=u.size,
                isSmartDepth=self.kind.smart)
        return wire.UpdateMktDepth(reqId=self.reqId, position=u.position,
                                   operation=u.operation, side=u.side, price=u.price,
                                   size=u.size)


class Depth(Family):
    """reqMktDepth, cancelMktDepth and reqMktDepthExchanges (see the module doc).

    ``max_books`` is the distinct-security limit (error 309); a subclass may
    change it (TWS raises it with market data subscriptions)."""

    max_books = MAX_DEPTH_BOOKS

    def __init__(self, ctx: SessionContext) -> None:
        super().__init__(ctx)
        self.model = depth_model(ctx.sim.prices)
        #: the live subscriptions by ticker id
        self.lines: dict[int, DepthLine] = {}
        ctx.guard.data_lost_hooks.append(self.lines.clear)

    def _flowing(self) -> bool:
        faults = self.ctx.guard.faults
        return not faults.connectivity_lost and not faults.competing

    @handles(wire.ReqMktDepth)
    def req_mkt_depth(self, msg: wire.ReqMktDepth) -> None:
        ctx = self.ctx
        if msg.reqId in self.lines:
            ctx.error(msg.reqId, 322, DUPLICATE_TICKER)
            return
        inst = ctx.single(msg.reqId, msg.contract)
        if inst is None:
            return
        kind = book_kind(inst, msg.contract.exchange, msg.isSmartDepth)
        if kind is None:
            ctx.error(msg.reqId, *DEPTH_NOT_SUPPORTED)
            return
        books = {line.conId for line in self.lines.values()}
        if inst.conId not in books and len(books) >= self.max_books:
            ctx.error(msg.reqId, MAX_DEPTH, max_depth_text(self.max_books))
            return
        rows = min(max(msg.numRows, 1), MAX_DEPTH_ROWS)
        line = self.lines[msg.reqId] = DepthLine(msg.reqId, inst.conId, kind, rows)
        if self.ctx.guard.faults.competing:
            ctx.error(msg.reqId, *COMPETING_SESSION)
        if self._flowing():
            ctx.emit(line.step(self.model, ctx.now()))

    @handles(wire.CancelMktDepth)
    def cancel_mkt_depth(self, msg: wire.CancelMktDepth) -> None:
        if self.lines.pop(msg.reqId, None) is None:
            self.ctx.error(msg.reqId, NO_DEPTH_ID, no_depth_text(msg.reqId))

    @handles(wire.ReqMktDepthExchanges)
    def req_mkt_depth_exchanges(self, msg: wire.ReqMktDepthExchanges) -> None:
        self.ctx.emit([wire.MktDepthExchanges(depthMktDataDescriptions=[
            DepthMktDataDescription(d.exchange, d.secType, d.listingExch, d.serviceDataType,
                                    d.aggGroup) for d in DEPTH_EXCHANGES])])

    def poll(self, now: dt.datetime) -> list[Message]:
        """The row operations of every line whose book changed since it was sent."""
        if not self.lines or not self._flowing():
            return []
        out: list[Message] = []
        for line in list(self.lines.values()):
            out += line.step(self.model, now)
        return out

    def close(self) -> None:
        self.lines.clear()
