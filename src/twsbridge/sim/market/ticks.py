"""Tick-by-tick events, historical ticks and histograms of the simulated market.

What reqTickByTickData (97), reqHistoricalTicks (96) and reqHistogramData
(88) are answered from; no protocol message and no I/O here. Everything is
read from a :class:`PriceModel`'s 1-second paths (:class:`DayPath`) and its
quotes, and is a pure function of ``(seed, conId, epoch second)``. Event
times are whole epoch seconds, as TWS sends them; several events can share a
second. There are events only within a session path (04:00-20:00
US/Eastern for stocks, 17:15-17:00 for forex): none between sessions.

Trades (``Last`` / ``AllLast``)
    Second ``k`` of a path with volume ``v`` has trades whose sizes sum to
    ``v`` exactly (``AllLast``): round-lot prints on the exchanges
    (``STOCK_VENUES``), sometimes an off-exchange ``FINRA`` print first
    (``unreported``, priced at the previous second's price: ``pastLimit``
    when that is outside the second's bid/ask), and an odd lot (``size <
    100``, condition ``I``) for the shares beyond whole lots. The last trade
    of the second is at the path's price, which is the Quote's ``last``.
    ``Last`` omits odd lots and off-exchange prints, so its sizes sum to the
    second's round-lot exchange volume; when ``v >= 100`` its last trade of
    the second is at the path's price too. Extended-hours prints carry
    condition ``T``. A second without volume has no trade (the quiet
    pre/post-market path may move then: the Quote's ``last`` is the path's
    price all the same). ``Quote.lastSize`` is the second's volume in round
    lots (capped), not the last print's size. Forex (IDEALPRO) has no trades.

Bid/ask and midpoint (``BidAsk`` / ``MidPoint``)
    One event at each second whose bid, ask or sizes (midpoint: the
    midpoint) differ from the second before, and at a session's first
    second; each equals ``PriceModel.quote`` at its second. ``bidPastLow``:
    the bid is below the session's low so far; ``askPastHigh``: the ask is
    above its high (the Quote's ``low``/``high``).

Historical ticks
    At most ``HISTORICAL_TICKS_MAX`` (1000) ticks a request, of one session
    only, in whole seconds: the last second is completed, so a few more than
    asked may come (TWS API, "Historical Time and Sales Data"). TRADES are
    the ``AllLast`` prints; useRth keeps 09:30-16:00 for stocks.

Histogram
    Volume by price (on the tick grid) of the paths over a TWS
    ``timePeriod`` ("3 days", "1 week", "2 months", "1 year"): totals equal
    the paths' volumes over the period.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from twsbridge.sim.market.day_path import DayPath, IntArray
from twsbridge.sim.market.depth import STOCK_VENUES
from twsbridge.sim.market.prices import PriceModel
from twsbridge.sim.market.quoting import bid_ask_one, mix64_one
from twsbridge.sim.reference.calendar import SIM_TZ
from twsbridge.sim.reference.instruments import Instrument

__all__ = [
    "HISTORICAL_TICKS_MAX",
    "OFF_EXCHANGE",
    "TRADES_CACHE_SIZE",
    "BidAskTick",
    "MidPointTick",
    "TickModel",
    "TradeTick",
    "parse_time_period",
]

HISTORICAL_TICKS_MAX = 1000
"""Most ticks reqHistoricalTicks serves (before completing the last second)."""
OFF_EXCHANGE = "FINRA"
"""Exchange of off-exchange (trade reporting facility) prints; AllLast only."""
TRADES_CACHE_SIZE = 8192
"""Seconds of trades memoised per TickModel ((conId, second); cleared when full)."""

_M64 = (1 << 64) - 1
_GOLD = 0x9E3779B97F4A7C15
_TRADE_SALT = 0x7F4A7C159E3779B9
_SEARCH_DAYS = 14  # calendar days searched for a session (holidays, weekends)
_WHAT = ("TRADES", "BID_ASK", "MIDPOINT")


def _mix(x: int) -> int:
    """splitmix64 finaliser of a 64-bit int."""
    x &= _M64
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _M64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def _round10(x: float) -> float:
    return round(x * 1e10) / 1e10


def _mid(bid: float, ask: float) -> float:
    """The midpoint of a bid and ask, rounded to 1e-10 (half ticks are exact)."""
    return _round10((bid + ask) / 2)


@dataclass(frozen=True, slots=True)
class TradeTick:
    """One trade (tickByTickAllLast, historicalTicksLast): ``time`` epoch
    seconds, ``price`` in the contract's currency, ``size`` in shares;
    ``pastLimit``: printed outside the second's bid/ask; ``unreported``: an
    off-exchange print (``exchange`` FINRA). ``specialConditions``: sale
    condition codes separated by spaces ('' regular, 'I' odd lot, 'T'
    extended hours)."""

    time: int
    price: float
    size: Decimal
    exchange: str
    specialConditions: str
    pastLimit: bool
    unreported: bool


@dataclass(frozen=True, slots=True)
class BidAskTick:
    """One bid/ask change (tickByTickBidAsk, historicalTicksBidAsk): prices
    in the contract's currency, sizes in shares (forex: units)."""

    time: int
    bidPrice: float
    askPrice: float
    bidSize: Decimal
    askSize: Decimal
    bidPastLow: bool
    askPastHigh: bool


@dataclass(frozen=True, slots=True)
class MidPointTick:
    """One midpoint change (tickByTickMidPoint, historicalTicks MIDPOINT)."""

    time: int
    midPoint: float


_PERIOD = re.compile(r"(\d{1,4})\s*(d|days?|w|weeks?|m|months?|y|years?)", re.IGNORECASE)


def parse_time_period(timePeriod: str) -> tuple[int, str]:
    """A reqHistogramData ``timePeriod`` ('3 days', '1 week', '1 weeks',
    '2 months', '1 year'; case-insensitive) as (n, 'D'|'W'|'M'|'Y').
    ValueError if unreadable or n < 1."""
    m = _PERIOD.fullmatch(timePeriod.strip())
    if m is None or int(m.group(1)) < 1:
        raise ValueError(f"invalid histogram time period {timePeriod!r}")
    return int(m.group(1)), m.group(2)[0].upper()


class TickModel:
    """Tick-by-tick events of a :class:`PriceModel`'s instruments.

    Times are aware datetimes or epoch seconds; a range [start, end) holds
    the events of the whole seconds ``start <= k < end`` (an end of 10:00:00.2
    takes in 10:00:00, whose quote is out by then), so consecutive
    ranges add up to the range they split. Unknown conIds raise KeyError.
    A second's trades are memoised (many subscribers poll the same second).
    Thread-safe.
    """

    def __init__(self, prices: PriceModel) -> None:
        self.prices = prices
        self._trades: dict[tuple[int, int], tuple[TradeTick, ...]] = {}

    # ------------------------------------------------------------ sessions
    def _day_of(self, inst: Instrument, epoch: int) -> dt.date:
        local = dt.datetime.fromtimestamp(epoch, SIM_TZ)
        day = local.date()
        if inst.is_forex and local.hour >= 17:
            day += dt.timedelta(days=1)
        return day

    def session_after(self, conId: int, epoch: int) -> DayPath | None:
        """The path of the first session ending after ``epoch`` (None if none
        within two weeks)."""
        inst = self.prices.instrument(conId)
        day = self._day_of(inst, epoch)
        for d in range(_SEARCH_DAYS):
            path = self.prices.path(conId, day + dt.timedelta(days=d))
            if path is not None and path.end > epoch:
                return path
        return None

    def session_before(self, conId: int, epoch: int) -> DayPath | None:
        """The path of the last session starting before ``epoch`` (None if
        none within two weeks)."""
        inst = self.prices.instrument(conId)
        day = self._day_of(inst, epoch)
        for d in range(0, -_SEARCH_DAYS, -1):
            path = self.prices.path(conId, day + dt.timedelta(days=d))
            if path is not None and path.start < epoch:
                return path
        return None

    def _spans(self, conId: int, a: int, b: int) -> list[tuple[DayPath, int, int]]:
        """(path, first, end) epoch spans of sessions within [a, b)."""
        out: list[tuple[DayPath, int, int]] = []
        e = a
        while e < b:
            path = self.session_after(conId, e)
            if path is None or path.start >= b:
                break
            out.append((path, max(e, path.start), min(b, path.end)))
            e = path.end
        return out

    # -------------------------------------------------------------- quotes
    def _bid_ask(self, inst: Instrument, path: DayPath, k: int,
                 ) -> tuple[float, float, int, int]:
        lots = 100_000 if inst.is_forex else 100
        return bid_ask_one(mix64_one(self.prices.seed, inst.conId, k),
                           float(path.prices[k - path.start]), inst.minTick, lots)

    def _changed(self, inst: Instrument, path: DayPath, k: int, what: str,
                 ignoreSize: bool) -> bool:
        """Whether second ``k`` has a BID_ASK / MIDPOINT event."""
        if k == path.start:
            return True
        cur, prev = self._bid_ask(inst, path, k), self._bid_ask(inst, path, k - 1)
        if what == "MIDPOINT":
            return _mid(cur[0], cur[1]) != _mid(prev[0], prev[1])
        return cur[:2] != prev[:2] if ignoreSize else cur != prev

    def bid_asks(self, conId: int, start: dt.datetime | int, end: dt.datetime | int,
                 ignoreSize: bool = False) -> list[BidAskTick]:
        """BidAsk events of the seconds in [start, end); ``ignoreSize``: only
        where a price changes (TWS's ignoreSize)."""
        inst = self.prices.instrument(conId)
        out: list[BidAskTick] = []
        for path, a, b in self._spans(conId, _epoch_ceil(start), _epoch_ceil(end)):
            q = self.prices.quote(conId, dt.datetime.fromtimestamp(a, dt.UTC))
            high, low = q.high, q.low
            prev = self._bid_ask(inst, path, a - 1) if a > path.start else None
            for k in range(a, b):
                pos = k - path.start
                p = float(path.prices[pos])
                if k > a:
                    if pos == path.rth_start:
                        high = low = p
                    elif pos < path.rth_end:
                        high, low = max(high, p), min(low, p)
                cur = self._bid_ask(inst, path, k)
                if prev is None or (cur[:2] != prev[:2] if ignoreSize else cur != prev):
                    out.append(BidAskTick(k, cur[0], cur[1], Decimal(cur[2]), Decimal(cur[3]),
                                          cur[0] < low, cur[1] > high))
                prev = cur
        return out

    def midpoints(self, conId: int, start: dt.datetime | int, end: dt.datetime | int,
                  ) -> list[MidPointTick]:
        """MidPoint events of the seconds in [start, end)."""
        inst = self.prices.instrument(conId)
        out: list[MidPointTick] = []
        for path, a, b in self._spans(conId, _epoch_ceil(start), _epoch_ceil(end)):
            prev = None
            if a > path.start:
                pb, pa, _, _ = self._bid_ask(inst, path, a - 1)
                prev = _mid(pb, pa)
            for k in range(a, b):
                bid, ask, _, _ = self._bid_ask(inst, path, k)
                mid = _mid(bid, ask)
                if mid != prev:
                    out.append(MidPointTick(k, mid))
                prev = mid
        return out

    # -------------------------------------------------------------- trades
    def _second_trades(self, inst: Instrument, path: DayPath, k: int) -> list[TradeTick]:
        """The AllLast trades of second ``k`` of ``path`` (stocks)."""
        pos = k - path.start
        v = int(path.volumes[pos])
        if v <= 0 or inst.is_forex:
            return []
        p = float(path.prices[pos])
        p_prev = float(path.prices[pos - 1]) if pos > 0 else p
        bid, ask, _, _ = self._bid_ask(inst, path, k)
        ext = "T" if not path.rth_start <= pos < path.rth_end else ""
        h = _mix(mix64_one(self.prices.seed, inst.conId, k) ^ _TRADE_SALT)
        lots, odd = divmod(v, 100)
        finra = lots // (3 + (h >> 8) % 4) if lots >= 4 and (h >> 5) % 3 == 0 else 0
        lit = lots - finra
        out: list[TradeTick] = []
        if finra:
            out.append(TradeTick(k, p_prev, Decimal(finra * 100), OFF_EXCHANGE, ext,
                                 not bid <= p_prev <= ask, True))
        if odd:
            cond = f"{ext} I".strip()
            out.append(TradeTick(k, p, Decimal(odd), STOCK_VENUES[(h >> 14) % 4], cond,
                                 False, False))
        if lit:
            n = -(-lit // (1 + (h >> 12) % 4))  # 1..lit trades, 1..4 lots on average
            hs = [_mix(h + (j + 1) * _GOLD) for j in range(n)]
            weights = [1 + x % 15 for x in hs]
            total_w = sum(weights)
            sizes = [1 + (lit - n) * w // total_w for w in weights]
            sizes[-1] += lit - sum(sizes)
            choices = (bid, p, ask)
            for j, (x, s) in enumerate(zip(hs, sizes, strict=True)):
                price = p if j == n - 1 else choices[(x >> 8) % 3]
                venue = STOCK_VENUES[0 if (x >> 12) % 3 == 0 else (x >> 16) % len(STOCK_VENUES)]
                out.append(TradeTick(k, price, Decimal(s * 100), venue, ext, False, False))
        return out

    def trades(self, conId: int, start: dt.datetime | int, end: dt.datetime | int,
               all_last: bool = True) -> list[TradeTick]:
        """Trades of the seconds in [start, end): ``AllLast`` (default) or
        ``Last`` (``all_last=False``: no odd lots, no off-exchange prints)."""
        inst = self.prices.instrument(conId)
        if inst.is_forex:
            return []
        out: list[TradeTick] = []
        cache = self._trades
        for path, a, b in self._spans(conId, _epoch_ceil(start), _epoch_ceil(end)):
            for k in range(a, b):
                got = cache.get((conId, k))
                if got is None:
                    got = tuple(self._second_trades(inst, path, k))
                    if len(cache) >= TRADES_CACHE_SIZE:
                        cache.clear()
                    cache[conId, k] = got
                if all_last:
                    out.extend(got)
                else:
                    out.extend(x for x in got if x.size >= 100 and not x.unreported)
        return out

    def _trade_count(self, path: DayPath, conId: int, k: int) -> int:
        """len(AllLast trades of second k), without building them."""
        v = int(path.volumes[k - path.start])
        if v <= 0:
            return 0
        h = _mix(mix64_one(self.prices.seed, conId, k) ^ _TRADE_SALT)
        lots, odd = divmod(v, 100)
        finra = lots // (3 + (h >> 8) % 4) if lots >= 4 and (h >> 5) % 3 == 0 else 0
        lit = lots - finra
        return (finra > 0) + (odd > 0) + (-(-lit // (1 + (h >> 12) % 4)) if lit else 0)

    # ---------------------------------------------------------- historical
    def historical_ticks(self, conId: int, whatToShow: str, numberOfTicks: int, *,
                         start: dt.datetime | int | None = None,
                         end: dt.datetime | int | None = None, useRth: bool = False,
                         ignoreSize: bool = False,
                         ) -> list[TradeTick] | list[BidAskTick] | list[MidPointTick]:
        """reqHistoricalTicks: ``whatToShow`` TRADES (AllLast prints), BID_ASK
        or MIDPOINT, ascending in time, of one session.

        With ``start``: the first ``numberOfTicks`` from ``start`` on (before
        ``end`` if given too); with ``end`` only: the last ``numberOfTicks``
        before ``end``. ``numberOfTicks`` is capped at 1000; whole seconds
        are served, so up to a second's worth more may come. ``useRth``:
        09:30-16:00 only (stocks). ValueError for another whatToShow,
        numberOfTicks < 1 or neither start nor end; KeyError for an unknown
        conId. Empty when no session is within two weeks.
        """
        what = whatToShow.strip().upper()
        if what not in _WHAT:
            raise ValueError(f"whatToShow must be one of {_WHAT}, not {whatToShow!r}")
        if numberOfTicks < 1:
            raise ValueError("numberOfTicks must be >= 1")
        if start is None and end is None:
            raise ValueError("start or end must be given")
        inst = self.prices.instrument(conId)
        if what == "TRADES" and inst.is_forex:
            return []
        want = min(numberOfTicks, HISTORICAL_TICKS_MAX)
        rth = useRth and not inst.is_forex
        if start is not None:
            s = _epoch_ceil(start)
            path = self._session_rth(conId, s, rth, forward=True)
            if path is None:
                return []
            lo, hi = self._bounds(path, rth)
            a = max(s, lo)
            b = hi if end is None else min(hi, _epoch_ceil(end))
            k, n = a, 0
            while k < b and n < want:
                n += self._count(inst, path, k, what, ignoreSize)
                k += 1
            return self._events(conId, what, a, k, ignoreSize)
        assert end is not None
        e = _epoch_ceil(end)
        path = self._session_rth(conId, e, rth, forward=False)
        if path is None:
            return []
        lo, hi = self._bounds(path, rth)
        b = min(e, hi)
        k, n = b, 0
        while k > lo and n < want:
            k -= 1
            n += self._count(inst, path, k, what, ignoreSize)
        return self._events(conId, what, k, b, ignoreSize)

    def _session_rth(self, conId: int, epoch: int, rth: bool, forward: bool,
                     ) -> DayPath | None:
        """The session a historical request reads: forward, the first whose
        (regular) hours end after ``epoch``; backward, the last whose (regular)
        hours start before it."""
        probe = epoch
        for _ in range(_SEARCH_DAYS):
            path = (self.session_after(conId, probe) if forward
                    else self.session_before(conId, probe))
            if path is None:
                return None
            lo, hi = self._bounds(path, rth)
            if (forward and hi > epoch) or (not forward and lo < epoch):
                return path
            probe = path.end if forward else path.start
        return None

    @staticmethod
    def _bounds(path: DayPath, rth: bool) -> tuple[int, int]:
        if rth:
            return path.start + path.rth_start, path.start + path.rth_end
        return path.start, path.end

    def _count(self, inst: Instrument, path: DayPath, k: int, what: str,
               ignoreSize: bool) -> int:
        if what == "TRADES":
            return self._trade_count(path, inst.conId, k)
        return int(self._changed(inst, path, k, what, ignoreSize))

    def _events(self, conId: int, what: str, a: int, b: int, ignoreSize: bool,
                ) -> list[TradeTick] | list[BidAskTick] | list[MidPointTick]:
        if what == "TRADES":
            return self.trades(conId, a, b)
        if what == "BID_ASK":
            return self.bid_asks(conId, a, b, ignoreSize)
        return self.midpoints(conId, a, b)

    # ----------------------------------------------------------- histogram
    def histogram(self, conId: int, timePeriod: str, end: dt.datetime | int,
                  useRth: bool = False) -> list[tuple[float, Decimal]]:
        """reqHistogramData: (price, volume in shares) ascending in price, of
        the seconds before ``end`` of the last ``n`` sessions ('N days') or
        of the sessions starting within the calendar weeks / months / years
        back from ``end``. Prices on the tick grid; prices without volume
        are left out (forex: none). ValueError for an unreadable timePeriod."""
        n, unit = parse_time_period(timePeriod)
        inst = self.prices.instrument(conId)
        e = _epoch_ceil(end)
        if unit == "D":
            cutoff = None
        else:
            local = dt.datetime.fromtimestamp(e, SIM_TZ).replace(tzinfo=None)
            if unit == "W":
                local -= dt.timedelta(days=7 * n)
            else:
                months = n * (12 if unit == "Y" else 1)
                y, mo = divmod(local.year * 12 + local.month - 1 - months, 12)
                mo += 1
                last = (dt.date(y + mo // 12, mo % 12 + 1, 1) - dt.timedelta(days=1)).day
                local = local.replace(year=y, month=mo, day=min(local.day, last))
            cutoff = int(local.replace(tzinfo=SIM_TZ).timestamp())
        rth = useRth and not inst.is_forex
        ticks: list[IntArray] = []
        vols: list[IntArray] = []
        probe, sessions = e, 0
        while True:
            path = self._session_rth(conId, probe, rth, forward=False)
            if path is None:
                break
            lo, hi = self._bounds(path, rth)
            if (cutoff is None and sessions >= n) or (cutoff is not None and lo < cutoff):
                break
            a, b = lo - path.start, min(hi, e) - path.start
            ticks.append(np.rint(path.prices[a:b] / inst.minTick).astype(np.int64))
            vols.append(path.volumes[a:b])
            sessions += 1
            probe = path.start
        if not ticks:
            return []
        idx, inverse = np.unique(np.concatenate(ticks), return_inverse=True)
        sums = np.zeros(len(idx), dtype=np.int64)
        np.add.at(sums, inverse, np.concatenate(vols))
        return [(_round10(i * inst.minTick), Decimal(int(s)))
                for i, s in zip(idx.tolist(), sums.tolist(), strict=True) if s > 0]


def _epoch_ceil(t: dt.datetime | int) -> int:
    """The first whole epoch second at or after ``t``: the seconds k of a
    range [start, end) are those with start <= k < end."""
    return t if isinstance(t, int) else -int(-t.timestamp() // 1)
