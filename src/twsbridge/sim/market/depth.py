"""The simulated order book (market depth) of an instrument at an instant.

What reqMktDepth (message 10) is answered from: :class:`DepthModel` builds a
:class:`DepthBook` of up to ``numRows`` price levels a side for a (conId,
epoch second), and :func:`depth_updates` turns two books' rows into the
updateMktDepth (12) / updateMktDepthL2 (13) operations that change one into
the other. No protocol message and no I/O here.

The book
    The best level of each side is the quote: its price and size are
    :meth:`PriceModel.quote`'s ``bid``/``bidSize`` and ``ask``/``askSize`` of
    the same second, exactly. Deeper levels sit on the instrument's tick grid
    (``minTick``) below the bid and above the ask, strictly monotone, with a
    seeded gap pattern; each level's size is a whole number of round lots (100
    shares; forex 100,000 units) split over the venues quoting it. A level at
    a given price keeps its size for ``LEVEL_PERIOD`` seconds (each price on
    its own phase), so the book of the next second differs by a few rows,
    not all of them. Everything is a pure function of ``(seed, conId, epoch
    second, side, price)``: the first ``n`` levels of a deeper book are the
    book of ``n`` levels.

Venues
    US stocks are quoted on the SMART depth venues (``STOCK_VENUES``: the
    listing exchange first); forex on ``IDEALPRO``. SMART depth
    (``isSmartDepth``) rows aggregate a price over venues and name the venue
    holding most of it (:meth:`DepthBook.rows`), or give one row per venue
    and price (``by_venue=True``). One exchange's own book is
    :meth:`DepthBook.venue_rows` (its top may be behind the quote); NASDAQ's
    carries market-maker ids (``MARKET_MAKERS``), as TotalView rows do.

Updates
    TWS: ``operation`` 0 insert, 1 update, 2 delete at ``position``; ``side``
    0 ask, 1 bid (TWS API, "Market Depth (Level II)"). :func:`depth_updates`
    only updates rows both books have, inserts at the end and deletes from
    the end, so the result is the same whether a client shifts rows on
    insert/delete (IB's samples) or keys them by position (ib_async).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, MutableSequence, Sequence
from dataclasses import dataclass
from decimal import Decimal

from twsbridge.sim.market.prices import PriceModel
from twsbridge.sim.reference.instruments import Instrument

__all__ = [
    "ASK",
    "BID",
    "DELETE",
    "DEPTH_CACHE_SIZE",
    "FOREX_VENUES",
    "INSERT",
    "LEVEL_PERIOD",
    "MARKET_MAKERS",
    "MAX_DEPTH_ROWS",
    "STOCK_VENUES",
    "UPDATE",
    "DepthBook",
    "DepthLevel",
    "DepthModel",
    "DepthRow",
    "DepthUpdate",
    "apply_depth_updates",
    "book_updates",
    "depth_updates",
]

ASK = 0
"""``side`` of an ask row (updateMktDepth)."""
BID = 1
"""``side`` of a bid row."""
INSERT, UPDATE, DELETE = 0, 1, 2
"""``operation`` values of updateMktDepth / updateMktDepthL2."""

MAX_DEPTH_ROWS = 50
"""Most rows a side the model builds (a larger numRows is served this many)."""
LEVEL_PERIOD = 8
"""Seconds a price level below the top keeps its size and venues."""
DEPTH_CACHE_SIZE = 4096
"""Books memoised per DepthModel ((conId, second) entries; cleared when full)."""

STOCK_VENUES = ("NASDAQ", "ARCA", "BATS", "IEX", "EDGX", "NYSE", "DRCTEDGE", "BYX")
"""Venues quoting US stocks in SMART depth (the listing exchange is put first)."""
FOREX_VENUES = ("IDEALPRO",)
"""The venue of IDEALPRO currency pairs."""
MARKET_MAKERS = ("NSDQ", "GSCO", "MSCO", "UBSS", "CDRG", "JPMS", "SBSH", "VIRT", "ETMM", "NITE")
"""Market-maker ids of NASDAQ's own (TotalView-like) depth rows."""

_LEVEL_CACHE_SIZE = 1 << 16
_EXCHANGE_ALIASES = {"ISLAND": "NASDAQ", "NSDQ": "NASDAQ"}
_M64 = (1 << 64) - 1
_GOLD = 0x9E3779B97F4A7C15


def _mix(x: int) -> int:
    """splitmix64 finaliser of a 64-bit int."""
    x &= _M64
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _M64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


@dataclass(frozen=True, slots=True)
class DepthRow:
    """One row of a depth answer: ``price`` in the contract's currency, ``size``
    in shares (forex: base-currency units), ``marketMaker`` the venue or
    market-maker id ('' when a request shows none)."""

    price: float
    size: Decimal
    marketMaker: str


@dataclass(frozen=True, slots=True)
class DepthLevel:
    """One price level of a side: ``tick`` = price / minTick (an int),
    ``lots`` the total in round lots, ``parts`` (venue, lots) largest first,
    summing to ``lots``."""

    price: float
    tick: int
    lots: int
    parts: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class DepthUpdate:
    """One updateMktDepth / updateMktDepthL2 row operation: ``operation`` 0
    insert, 1 update, 2 delete (a delete carries the deleted row's values)
    at ``position`` (0 = best) of ``side`` (0 ask, 1 bid)."""

    position: int
    operation: int
    side: int
    price: float
    size: Decimal
    marketMaker: str


@dataclass(frozen=True, slots=True)
class DepthBook:
    """The book of ``conId`` at epoch second ``time``: ``bids`` descending and
    ``asks`` ascending in price, best first; ``lot`` the round lot (shares or
    units). ``bids[0]``/``asks[0]`` are the quote's bid/ask and sizes."""

    conId: int
    time: int
    lot: int
    bids: tuple[DepthLevel, ...]
    asks: tuple[DepthLevel, ...]
    seed: int = 0

    def side(self, side: int) -> tuple[DepthLevel, ...]:
        """The levels of ``side`` (0 ask, 1 bid); ValueError for another side."""
        if side == ASK:
            return self.asks
        if side == BID:
            return self.bids
        raise ValueError(f"side must be 0 (ask) or 1 (bid), not {side}")

    def rows(self, side: int, numRows: int | None = None, *, by_venue: bool = False,
             ) -> list[DepthRow]:
        """SMART depth rows of a side, best first, at most ``numRows``.

        Aggregated (default): one row a price, its total size, named after the
        venue holding most of it; row 0 is the quote. ``by_venue``: one row
        per (price, venue), larger parts first within a price.
        """
        levels = self.side(side)
        n = sum(len(lv.parts) for lv in levels) if numRows is None else max(0, numRows)
        lot = self.lot
        out: list[DepthRow] = []
        for lv in levels:
            if len(out) >= n:
                break
            if by_venue:
                out.extend(DepthRow(lv.price, Decimal(k * lot), v) for v, k in lv.parts)
            else:
                out.append(DepthRow(lv.price, Decimal(lv.lots * lot), lv.parts[0][0]))
        return out[:n]

    def venue_rows(self, exchange: str, side: int, numRows: int | None = None,
                   ) -> list[DepthRow]:
        """One exchange's own book (a non-SMART reqMktDepth): the levels it
        quotes, with its part only; for NASDAQ (alias ISLAND) each row names
        a market maker of ``MARKET_MAKERS``, else the exchange. Its best row
        is at or behind the quote. Unknown exchanges have no rows."""
        venue = _EXCHANGE_ALIASES.get(exchange.upper(), exchange.upper())
        levels = self.side(side)
        n = len(levels) if numRows is None else max(0, numRows)
        out: list[DepthRow] = []
        for lv in levels:
            if len(out) >= n:
                break
            for v, k in lv.parts:
                if v == venue:
                    mm = v
                    if v == "NASDAQ":
                        h = _mix(self.seed * _GOLD + self.conId * 31 + lv.tick * 7 + side)
                        mm = MARKET_MAKERS[h % len(MARKET_MAKERS)]
                    out.append(DepthRow(lv.price, Decimal(k * self.lot), mm))
        return out


def _venues(inst: Instrument) -> tuple[str, ...]:
    if inst.is_forex:
        return FOREX_VENUES
    primary = _EXCHANGE_ALIASES.get(inst.primaryExchange, inst.primaryExchange)
    if primary in STOCK_VENUES:
        return (primary, *(v for v in STOCK_VENUES if v != primary))
    return STOCK_VENUES


def _split(h: int, lots: int, venues: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """``lots`` over 1..4 venues (the listing one favoured), each >= 1 lot,
    largest first (ties by venue order)."""
    nv = len(venues)
    m = min(lots, nv, 1 + h % 4)
    first = 0 if (h >> 2) % 3 == 0 else (h >> 4) % nv  # the listing venue a third of the time
    r = (h >> 8) % nv
    chosen = [first]
    j = 0
    while len(chosen) < m:
        idx = (r + j) % nv
        j += 1
        if idx != first:
            chosen.append(idx)
    weights = [1 + (h >> (16 + 4 * j)) % 15 for j in range(m)]
    rest, total_w = lots - m, sum(weights)
    sizes = [1 + rest * w // total_w for w in weights]
    sizes[0] += lots - sum(sizes)
    parts = sorted(zip(chosen, sizes, strict=True), key=lambda p: (-p[1], p[0]))
    return tuple((venues[i], k) for i, k in parts)


class DepthModel:
    """Depth books of a :class:`PriceModel`'s instruments (deterministic per
    the model's seed; thread-safe). Books are memoised per (conId, second),
    so many subscribers of one instrument polling the same second share
    one build (``DEPTH_CACHE_SIZE`` entries, cleared when full)."""

    def __init__(self, prices: PriceModel) -> None:
        self.prices = prices
        self._venues: dict[int, tuple[str, ...]] = {}
        self._books: dict[tuple[int, int], tuple[int, DepthBook]] = {}
        # (conId, side, tick, slot, presence) -> the level below the top there (None: none)
        self._levels: dict[tuple[int, int, int, int, int], DepthLevel | None] = {}

    def venues(self, conId: int) -> tuple[str, ...]:
        """The venues quoting ``conId`` (KeyError if unknown)."""
        v = self._venues.get(conId)
        if v is None:
            v = self._venues[conId] = _venues(self.prices.instrument(conId))
        return v

    def book(self, conId: int, t: dt.datetime | int, numRows: int = 10) -> DepthBook:
        """The book at ``t`` (aware datetime or epoch seconds; its whole second
        counts) with ``min(numRows, MAX_DEPTH_ROWS)`` levels a side (fewer on
        the bid side near a price of one tick). KeyError for an unknown conId,
        ValueError for numRows < 1."""
        if numRows < 1:
            raise ValueError("numRows must be >= 1")
        epoch = t if isinstance(t, int) else int(t.timestamp() // 1)
        n = min(numRows, MAX_DEPTH_ROWS)
        key = (conId, epoch)
        hit = self._books.get(key)
        if hit is not None and hit[0] >= n:
            built = hit[1]
            if hit[0] == n:
                return built
            return DepthBook(conId, epoch, built.lot, built.bids[:n], built.asks[:n], built.seed)
        book = self._build(conId, epoch, n)
        if len(self._books) >= DEPTH_CACHE_SIZE:
            self._books.clear()
        self._books[key] = (n, book)
        return book

    def _build(self, conId: int, epoch: int, n: int) -> DepthBook:
        """The book of ``n`` levels a side at ``epoch``."""
        inst = self.prices.instrument(conId)
        venues = self.venues(conId)
        when = dt.datetime.fromtimestamp(epoch, dt.UTC)
        q = self.prices.quote(conId, when)
        tick = inst.minTick
        lot = 100_000 if inst.is_forex else 100
        base = _mix(self.prices.seed * 0xD1B54A32D192ED03 + conId * _GOLD + 0x5EED)
        # deeper levels thin out as the spread (in ticks) widens with the price
        spread_ticks = max(1, round(q.last * 4e-5 / tick))
        present = max(350, 900 - 150 * (spread_ticks - 1))
        sides: list[tuple[DepthLevel, ...]] = []
        memo = self._levels
        for side, top, top_size, step in ((ASK, q.ask, q.askSize, 1),
                                          (BID, q.bid, q.bidSize, -1)):
            top_tick = round(top / tick)
            sbase = _mix(base + side * 0x632BE59BD9B4E019)
            h0 = _mix(sbase ^ (epoch * _GOLD))
            levels = [DepthLevel(top, top_tick, int(top_size) // lot,
                                 _split(h0, max(1, int(top_size) // lot), venues))]
            i = top_tick
            limit = top_tick + step * n * 40
            while len(levels) < n:
                i += step
                if i < 1 or i == limit:
                    break
                hp = _mix(sbase + i * 0x9FB21C651E98DF25)
                slot = (epoch + hp % LEVEL_PERIOD) // LEVEL_PERIOD
                key = (conId, side, i, slot, present)
                if key in memo:
                    lv = memo[key]
                else:
                    lv = None
                    h = _mix(hp ^ (slot * _GOLD))
                    if h % 1000 < present:
                        lots = 1 + (h >> 10) % 30
                        if (h >> 15) % 16 == 0:
                            lots *= 5
                        price = round(i * tick * 1e10) / 1e10
                        lv = DepthLevel(price, i, lots, _split(h >> 20, lots, venues))
                    if len(memo) >= _LEVEL_CACHE_SIZE:
                        memo.clear()
                    memo[key] = lv
                if lv is not None:
                    levels.append(lv)
            sides.append(tuple(levels))
        return DepthBook(conId, epoch, lot, bids=sides[1], asks=sides[0],
                         seed=self.prices.seed)


def depth_updates(old: Sequence[DepthRow], new: Sequence[DepthRow], side: int,
                  ) -> list[DepthUpdate]:
    """The operations turning rows ``old`` of ``side`` into ``new``: an update
    for each common position whose row changed, then inserts at the end (new
    longer) or deletes from the last row backwards (new shorter)."""
    out = [DepthUpdate(p, UPDATE, side, r.price, r.size, r.marketMaker)
           for p, (o, r) in enumerate(zip(old, new, strict=False)) if o != r]
    common = min(len(old), len(new))
    out.extend(DepthUpdate(p, INSERT, side, new[p].price, new[p].size, new[p].marketMaker)
               for p in range(common, len(new)))
    out.extend(DepthUpdate(p, DELETE, side, old[p].price, old[p].size, old[p].marketMaker)
               for p in range(len(old) - 1, common - 1, -1))
    return out


def book_updates(old: tuple[Sequence[DepthRow], Sequence[DepthRow]],
                 new: tuple[Sequence[DepthRow], Sequence[DepthRow]]) -> list[DepthUpdate]:
    """:func:`depth_updates` of both sides; ``old``/``new`` are (asks, bids) rows."""
    return depth_updates(old[0], new[0], ASK) + depth_updates(old[1], new[1], BID)


def apply_depth_updates(asks: MutableSequence[DepthRow], bids: MutableSequence[DepthRow],
                        updates: Iterable[DepthUpdate]) -> None:
    """Apply updates in place the way IB's sample clients do: insert shifts the
    rows at and below ``position`` down, delete shifts them up. IndexError for
    a position the rows do not have; ValueError for an unknown operation."""
    for u in updates:
        rows = asks if u.side == ASK else bids
        row = DepthRow(u.price, u.size, u.marketMaker)
        if u.operation == INSERT:
            if not 0 <= u.position <= len(rows):
                raise IndexError(u.position)
            rows.insert(u.position, row)
        elif u.operation == UPDATE:
            if not 0 <= u.position < len(rows):
                raise IndexError(u.position)
            rows[u.position] = row
        elif u.operation == DELETE:
            if not 0 <= u.position < len(rows):
                raise IndexError(u.position)
            del rows[u.position]
        else:
            raise ValueError(f"unknown depth operation {u.operation}")
