"""Prices of the simulated market: real daily data plus deterministic synthesis.

Daily series
    AAPL, GOOG, IBM and MSFT (and META, from the data set's FB series) use the
    real, unadjusted daily OHLCV of the public-domain Quandl WIKI prices
    shipped in ``bokeh_sampledata`` (2000-03-01 .. 2013-03-01), bar for bar.
    Every other instrument gets a seeded geometric random walk over its
    trading days from ``firstDate`` to 2013-03-01, anchored to end near its
    real 2013-03-01 close. Days after 2013-03-01 continue synthetically from
    the last close, one seeded chunk per calendar year, for every instrument,
    reverting to a level that moves from the 2013-03-01 close to the
    instrument's real close at the end of 2024 and stays there
    (:mod:`twsbridge.sim.market.anchors`): at the present, prices are near real
    levels; between the two dates they are a model, not history.

Intraday path
    For a (instrument, trading day) a 1-second price path: a folded Brownian
    bridge through open, high, low and close over the regular session
    (09:30-16:00 US/Eastern for stocks; the whole 17:15-17:00 session for
    forex) and a quiet bridge in the pre-market (04:00-09:30, from the
    previous close to the open) and post-market (16:00-20:00, around the
    close). Per-second volume is U-shaped and sums to the daily volume over
    the regular session (extended hours add 4 %).

Everything is a pure function of ``(seed, conId, day)``: numpy
``default_rng`` seeded with integer sequences, never ``hash()``. A quote
depends only on the whole second: it is computed once per (conId, second),
from per-day running figures (:mod:`twsbridge.sim.market.quoting`).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import gzip
import io
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources

import numpy as np
import numpy.typing as npt

from twsbridge.sim.market import composite
from twsbridge.sim.market.anchors import ANCHOR_DATE, anchor_level, anchor_of
from twsbridge.sim.market.day_path import DayPath, FloatArray, IntArray
from twsbridge.sim.market.profiles import (
    cfd_underlying,
    cross_legs,
    kind_of,
    pricing_venue,
    profile_of,
)
from twsbridge.sim.market.quoting import (
    QUOTE_CACHE_SIZE,
    DayStats,
    QuoteFields,
    bid_ask_one,
    mix64_one,
)
from twsbridge.sim.market.synth import (
    ANCHORED_REVERSION,
    REVERSION,
    Profile,
    alloc,
    core_path,
    quiet_path,
    round_tick,
    synth_bars,
)
from twsbridge.sim.reference.calendar import SIM_TZ, is_session_day, session_bounds, trading_days
from twsbridge.sim.reference.instruments import INSTRUMENTS, Instrument, InstrumentBook
from twsbridge.sim.reference.universe import listed_instruments

__all__ = ["DATA_END", "REAL_DATA_TICKERS", "DailyBar", "DailySeries", "DayPath", "PriceModel",
           "Quote", "load_real_daily", "mix64", "round_tick"]


DATA_END = dt.date(2013, 3, 1)
"""Last day of the real data set; synthetic continuation after it."""

REAL_DATA_TICKERS: dict[int, str] = {265598: "AAPL", 208813720: "GOOG", 8314: "IBM",
                                     272093: "MSFT", 107113386: "FB"}  # FB: META's 2013 ticker
"""conId -> ticker in ``bokeh_sampledata/_data/stocks.csv.gz``."""

EXTENDED_VOLUME_PCT = 4
"""Extended-hours volume, in percent of the regular-session volume."""

_LAST_YEAR = 2200
_LEGACY = frozenset(i.conId for i in INSTRUMENTS)  # priced exactly as before the universe
DERIVED_DISPATCH = "priced by sim.market.derived"
"""The KeyError text of a FUT, CONTFUT, OPT, FOP or BAG asked of the PriceModel."""


def _own_venue_path(inst: Instrument) -> bool:
    """Whether ``inst``'s path follows its venue's sessions (not the US-stock
    04:00-20:00 or forex layout of the original instruments)."""
    return inst.conId not in _LEGACY and not inst.is_forex and (
        inst.secType == "IND" or pricing_venue(inst).code != "NYSE")


def _days(inst: Instrument, start: dt.date, end: dt.date) -> list[dt.date]:
    """Trading days of ``inst``: its pricing venue's (an index: its cash market's)."""
    if inst.secType != "IND":
        return trading_days(inst, start, end)
    v = pricing_venue(inst)
    n = (end - start).days + 1
    return [d for d in (start + dt.timedelta(days=k) for k in range(max(0, n)))
            if d.weekday() < 5 and is_session_day(v, d)]


_PROFILES: dict[int, Profile] = {
    4391: Profile(2.49, 0.030, 20e6),  # AMD
    270639: Profile(21.03, 0.016, 35e6),  # INTC
    76792991: Profile(34.87, 0.032, 1.5e6),  # TSLA (pre-split dollars)
    3691937: Profile(265.74, 0.021, 3.5e6),  # AMZN
    4815747: Profile(12.70, 0.024, 9e6),  # NVDA
    756733: Profile(152.11, 0.012, 140e6),  # SPY
    320227571: Profile(67.75, 0.014, 35e6),  # QQQ
    12087792: Profile(1.3018, 0.006, 0.0),  # EUR.USD
    12087797: Profile(1.5045, 0.006, 0.0),  # GBP.USD
    15016059: Profile(93.58, 0.007, 0.0),  # USD.JPY
    14433401: Profile(1.0195, 0.007, 0.0),  # AUD.USD
    15016062: Profile(1.0300, 0.005, 0.0),  # USD.CAD
    12087820: Profile(0.9380, 0.006, 0.0),  # USD.CHF
}


def _profile(inst: Instrument) -> Profile:
    prof = _PROFILES.get(inst.conId) or profile_of(inst)
    if prof is not None:
        return prof
    return Profile(1.0, 0.006, 0.0) if inst.is_forex else Profile(50.0, 0.02, 1e6)


@dataclass(frozen=True, slots=True)
class DailyBar:
    """One daily bar: prices in currency units, volume in shares (forex: 0);
    ``real`` is True for bars straight from the data set."""

    date: dt.date
    open: float
    high: float
    low: float
    close: float
    volume: int
    real: bool


@dataclass(frozen=True, slots=True)
class DailySeries:
    """Daily bars as parallel numpy arrays (length n, ascending dates).

    ``ords`` are ``date.toordinal()`` values; ``real`` flags data-set bars.
    """

    ords: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: IntArray
    real: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.ords)

    def date(self, i: int) -> dt.date:
        """Date of bar ``i``."""
        return dt.date.fromordinal(int(self.ords[i]))

    def bar(self, i: int) -> DailyBar:
        """Bar ``i`` as a DailyBar."""
        return DailyBar(self.date(i), float(self.open[i]), float(self.high[i]),
                        float(self.low[i]), float(self.close[i]), int(self.volume[i]),
                        bool(self.real[i]))

    def index_le(self, day: dt.date) -> int:
        """Index of the last bar dated on or before ``day`` (-1 if none)."""
        return int(np.searchsorted(self.ords, day.toordinal(), side="right")) - 1

    def index_of(self, day: dt.date) -> int:
        """Index of the bar dated ``day``, or -1."""
        i = self.index_le(day)
        return i if i >= 0 and int(self.ords[i]) == day.toordinal() else -1

    def head(self, n: int) -> DailySeries:
        """The first ``n`` bars."""
        return DailySeries(self.ords[:n], self.open[:n], self.high[:n], self.low[:n],
                           self.close[:n], self.volume[:n], self.real[:n])


@dataclass(frozen=True, slots=True)
class Quote:
    """Top of book at ``time``: prices in currency units, sizes in shares
    (forex: base-currency units). ``open/high/low`` are the session's so
    far, ``close`` the previous day's close (TWS tick 9), ``volume`` the
    day's cumulative volume."""

    bid: float
    ask: float
    last: float
    bidSize: Decimal
    askSize: Decimal
    lastSize: Decimal
    volume: Decimal
    high: float
    low: float
    open: float
    close: float
    time: dt.datetime


@lru_cache(maxsize=1)
def load_real_daily() -> dict[str, tuple[tuple[dt.date, float, float, float, float, int], ...]]:
    """Ticker -> (date, open, high, low, close, volume) rows of the data set."""
    raw = resources.files("bokeh_sampledata").joinpath("_data/stocks.csv.gz").read_bytes()
    out: dict[str, list[tuple[dt.date, float, float, float, float, int]]] = {}
    for row in csv.DictReader(io.StringIO(gzip.decompress(raw).decode("utf-8"))):
        out.setdefault(row["Ticker"], []).append((
            dt.date.fromisoformat(row["Date"]), float(row["Open"]), float(row["High"]),
            float(row["Low"]), float(row["Close"]), int(float(row["Volume"])),
        ))
    return {k: tuple(sorted(v)) for k, v in out.items()}


_M64 = (1 << 64) - 1


def mix64(seed: int, conId: int, epochs: IntArray) -> npt.NDArray[np.uint64]:
    """Deterministic 64-bit hash (splitmix64) of (seed, conId, epoch second)."""
    with np.errstate(over="ignore"):
        x = epochs.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        x = x + np.uint64((seed * 1_000_003 + conId * 7919 + 1) & _M64)
        x ^= x >> np.uint64(30)
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x = x * np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


class PriceModel:
    """Deterministic market: daily series, intraday paths and quotes.

    ``seed`` selects the synthetic world (real data bars are the same for
    every seed). ``book`` defaults to every listed instrument of the
    universe. Unknown conIds raise KeyError. Thread-safe.
    """

    def __init__(self, seed: int = 0, book: InstrumentBook | None = None,
                 path_cache_size: int = 64) -> None:
        if seed < 0:
            raise ValueError("seed must be >= 0")
        self.seed = seed
        self.book = book if book is not None else InstrumentBook(listed_instruments())
        self._lock = threading.RLock()
        self._series: dict[int, DailySeries] = {}
        self._base_len: dict[int, int] = {}
        self._ext_year: dict[int, int] = {}
        self._paths: OrderedDict[tuple[int, int], DayPath] = OrderedDict()
        self._path_cache_size = path_cache_size
        self._quotes: dict[tuple[int, int], QuoteFields] = {}  # (conId, second) -> fields
        self._day_stats: dict[int, DayStats] = {}  # conId -> its last quoted path's stats
        self._composite: dict[tuple[int, int], DailySeries] = {}  # (conId, length) -> series

    # ----------------------------------------------------------- daily
    def instrument(self, conId: int) -> Instrument:
        """The instrument of a conId this model prices: KeyError if unknown, and
        KeyError(:data:`DERIVED_DISPATCH`) for a FUT, CONTFUT, OPT, FOP or BAG
        (priced by ``sim.market.derived``)."""
        inst = self.book.by_conid(conId)
        if inst is None:
            raise KeyError(conId)
        if kind_of(inst) == "derived":
            # Dispatch point: FUT, CONTFUT, OPT, FOP and BAG are priced by
            # sim.market.derived (DerivedPricer.quote(inst, t, underlying_quote)).
            raise KeyError(DERIVED_DISPATCH)
        return inst

    def _base(self, inst: Instrument) -> DailySeries:
        ticker = REAL_DATA_TICKERS.get(inst.conId)
        if ticker is not None:
            rows = [r for r in load_real_daily()[ticker] if r[0] >= inst.firstDate]
            cols = list(zip(*rows, strict=True))
            o, h, lo, c = (np.array(cols[k], dtype=np.float64) for k in range(1, 5))
            return DailySeries(
                np.array([d.toordinal() for d in cols[0]], dtype=np.int64), o, h, lo, c,
                np.array(cols[5], dtype=np.int64), np.ones(len(rows), dtype=np.bool_),
            )
        days = _days(inst, inst.firstDate, DATA_END)
        rng = np.random.default_rng([self.seed, inst.conId, 1])
        prof = _profile(inst)
        o, h, lo, c, v = synth_bars(rng, len(days), prof, inst.minTick, anchor=prof.close)
        ords = np.array([d.toordinal() for d in days], dtype=np.int64)
        return DailySeries(ords, o, h, lo, c, v, np.zeros(len(days), dtype=np.bool_))

    def _extend_year(self, inst: Instrument, ser: DailySeries, year: int) -> DailySeries:
        start = max(dt.date(year, 1, 1), DATA_END + dt.timedelta(days=1))
        days = _days(inst, start, dt.date(year, 12, 31))
        if not days:
            return ser
        base_n = self._base_len[inst.conId]
        tail = slice(max(0, base_n - 60), base_n)
        prof = _profile(inst)
        closes = ser.close[tail]
        if len(closes) > 5:
            vol = float(np.clip(np.std(np.diff(np.log(closes))), 0.003, 0.06))
            volume = float(np.median(ser.volume[tail]))
            prof = Profile(prof.close, vol, volume)
        rng = np.random.default_rng([self.seed, inst.conId, 2, year])
        start_close = float(ser.close[base_n - 1])
        anchor = np.array([anchor_level(inst.conId, start_close, DATA_END, d) for d in days])
        target = anchor_of(inst.conId)
        anchored = target is not None
        # up to the anchor date each year ends on the moving level (the last one on the
        # real anchor close, also on a venue closed on 31 December); after it, a walk
        # reverting around the anchor within ~15 %
        end = (target if year == ANCHOR_DATE.year else float(anchor[-1])) if (
            target is not None and days[-1] <= ANCHOR_DATE) else None
        reversion = ANCHORED_REVERSION if anchored and days[0] > ANCHOR_DATE else REVERSION
        o, h, lo, c, v = synth_bars(rng, len(days), prof, inst.minTick,
                                     anchor=anchor, prev_close=float(ser.close[-1]),
                                     reversion=reversion, end=end)
        ords = np.array([d.toordinal() for d in days], dtype=np.int64)
        return DailySeries(
            np.concatenate((ser.ords, ords)), np.concatenate((ser.open, o)),
            np.concatenate((ser.high, h)), np.concatenate((ser.low, lo)),
            np.concatenate((ser.close, c)), np.concatenate((ser.volume, v)),
            np.concatenate((ser.real, np.zeros(len(days), dtype=np.bool_))),
        )

    def series(self, conId: int, through: dt.date | None = None) -> DailySeries:
        """Daily series from firstDate through ``through`` (default DATA_END;
        later days are synthesised on demand, up to year 2200)."""
        inst = self.instrument(conId)
        through = DATA_END if through is None else through
        kind = kind_of(inst)
        if kind != "own":
            return self._composite_series(inst, kind, through)
        with self._lock:
            ser = self._series.get(conId)
            if ser is None:
                ser = self._base(inst)
                self._base_len[conId] = len(ser)
                self._ext_year[conId] = DATA_END.year - 1
            year = self._ext_year[conId]
            while year < min(through.year, _LAST_YEAR):
                year += 1
                ser = self._extend_year(inst, ser, year)
            self._ext_year[conId] = year
            self._series[conId] = ser
        return ser.head(ser.index_le(through) + 1)

    def _composite_series(self, inst: Instrument, kind: str, through: dt.date) -> DailySeries:
        """The daily series of a cross or CFD, from its legs' or underlying's."""
        if kind == "cross":
            legs = cross_legs(inst)
            assert legs is not None
            (b, b_direct), (q, q_direct) = legs
            self.series(b.conId, through), self.series(q.conId, through)
            with self._lock:
                bs, qs = self._series[b.conId], self._series[q.conId]
            n = min(len(bs), len(qs))
            key = (inst.conId, n)
            ser = self._composite.get(key)
            if ser is None:
                o, h, lo, c = composite.cross_series_arrays(
                    (((bs.open[:n], bs.high[:n], bs.low[:n], bs.close[:n]), b_direct),
                     ((qs.open[:n], qs.high[:n], qs.low[:n], qs.close[:n]), q_direct)),
                    inst.minTick)
                ser = DailySeries(bs.ords[:n], o, h, lo, c, np.zeros(n, dtype=np.int64),
                                  np.zeros(n, dtype=np.bool_))
        else:
            under = cfd_underlying(inst)
            assert under is not None
            self.series(under.conId, through)
            with self._lock:
                us = self._series[under.conId]
            key = (inst.conId, len(us))
            ser = self._composite.get(key)
            if ser is None:
                o, h, lo, c = composite.cfd_series_arrays((us.open, us.high, us.low, us.close),
                                                          inst.minTick)
                ser = DailySeries(us.ords, o, h, lo, c, us.volume, np.zeros(len(us), np.bool_))
        with self._lock:
            self._composite = {k: v for k, v in self._composite.items() if k[0] != inst.conId}
            self._composite[key] = ser
        return ser.head(ser.index_le(through) + 1)

    def daily(self, conId: int, through: dt.date | None = None) -> list[DailyBar]:
        """Daily bars from firstDate through ``through`` (default 2013-03-01)."""
        ser = self.series(conId, through)
        return [ser.bar(i) for i in range(len(ser))]

    def daily_bar(self, conId: int, day: dt.date) -> DailyBar | None:
        """The bar of ``day``, or None if not a trading day / no data."""
        ser = self.series(conId, day)
        i = ser.index_of(day)
        return ser.bar(i) if i >= 0 else None

    # --------------------------------------------------------- intraday
    def path(self, conId: int, day: dt.date) -> DayPath | None:
        """The 1-second path of trading day ``day`` (None if no bar that day)."""
        inst = self.instrument(conId)
        key = (conId, day.toordinal())
        with self._lock:
            cached = self._paths.get(key)
            if cached is not None:
                self._paths.move_to_end(key)
                return cached
        ser = self.series(conId, day)
        i = ser.index_of(day)
        if i < 0:
            return None
        built = self._build_path(inst, ser, i)
        with self._lock:
            self._paths[key] = built
            while len(self._paths) > self._path_cache_size:
                self._paths.popitem(last=False)
        return built

    def _build_path(self, inst: Instrument, ser: DailySeries, i: int) -> DayPath:
        day = ser.date(i)
        o, h, lo, c = (float(a[i]) for a in (ser.open, ser.high, ser.low, ser.close))
        vol = int(ser.volume[i])
        prev_close = float(ser.close[i - 1]) if i > 0 else o
        tick = inst.minTick
        rng = np.random.default_rng([self.seed, inst.conId, 3, day.toordinal()])
        built = self._composite_path(inst, day, rng, (o, h, lo, c), vol, prev_close)
        if built is not None:
            return built
        if inst.is_forex:
            s, e = session_bounds(inst, day, True)
            n = int((e - s).total_seconds())
            prices = core_path(rng, o, h, lo, c, n, tick)
            x = np.linspace(-1.0, 1.0, n)
            volumes = alloc(vol, (1.2 - x * x) * rng.gamma(2.0, 0.5, n))
            return DayPath(day, int(s.timestamp()), prices, volumes, 0, n)
        s, _ = session_bounds(inst, day, False)
        pre_n, rth_n, post_n = 19800, 23400, 14400
        core = core_path(rng, o, h, lo, c, rth_n, tick)
        scale = 0.08 * (h - lo) + tick
        pre = quiet_path(rng, prev_close, o, pre_n, scale, tick)
        post = quiet_path(rng, c, c, post_n, scale, tick)
        x = np.linspace(-1.0, 1.0, rth_n)
        v_core = alloc(vol, (0.35 + x * x) * rng.gamma(2.0, 0.5, rth_n))
        ext = vol * EXTENDED_VOLUME_PCT // 100
        v_pre = alloc(ext * 3 // 5, rng.gamma(1.0, 1.0, pre_n))
        v_post = alloc(ext - ext * 3 // 5, rng.gamma(1.0, 1.0, post_n))
        return DayPath(day, int(s.timestamp()), np.concatenate((pre, core, post)),
                       np.concatenate((v_pre, v_core, v_post)), pre_n, pre_n + rth_n)

    def _composite_path(self, inst: Instrument, day: dt.date, rng: np.random.Generator,
                        ohlc: tuple[float, float, float, float], vol: int, prev_close: float,
                        ) -> DayPath | None:
        """The path of a cross (from its legs'), a CFD (its underlying's) or an
        instrument on its own venue's sessions; None for the original layouts."""
        kind = kind_of(inst)
        if kind == "cross":
            legs = cross_legs(inst)
            assert legs is not None
            (b, b_direct), (q, q_direct) = legs
            bp, qp = self.path(b.conId, day), self.path(q.conId, day)
            if bp is not None and qp is not None:
                return composite.cross_path(bp, b_direct, qp, q_direct, inst.minTick)
            return None
        if kind == "cfd":
            under = cfd_underlying(inst)
            up = self.path(under.conId, day) if under is not None else None
            if under is not None and up is not None:
                return composite.cfd_path(up, inst.minTick, under.secType == "STK")
            return None
        if _own_venue_path(inst) and composite.venue_bounds(
                pricing_venue(inst), day, inst.secType == "IND") is not None:
            return composite.venue_path(rng, pricing_venue(inst), day, ohlc, vol, prev_close,
                                        inst.minTick, inst.secType == "IND")
        return None

    def _bounds(self, inst: Instrument, day: dt.date) -> tuple[int, int]:
        """(first second, second after the last) of the path of ``day``:
        the original instruments' session bounds, a CFD its underlying's, an
        instrument on its own venue that venue's sessions."""
        kind = kind_of(inst)
        if kind == "cfd":
            under = cfd_underlying(inst)
            assert under is not None
            return self._bounds(under, day)
        if kind == "own" and _own_venue_path(inst):
            found = composite.venue_bounds(pricing_venue(inst), day, inst.secType == "IND")
            if found is not None:
                return found
        s, e = session_bounds(inst, day, inst.is_forex)
        return int(s.timestamp()), int(e.timestamp())

    def _zone(self, inst: Instrument) -> dt.tzinfo:
        """The zone whose calendar date names the trading day of an instant."""
        kind = kind_of(inst)
        if kind == "cfd":
            under = cfd_underlying(inst)
            assert under is not None
            return self._zone(under)
        return pricing_venue(inst).tz if kind == "own" and _own_venue_path(inst) else SIM_TZ

    def _locate(self, inst: Instrument, epoch: int) -> tuple[DailySeries, int, DayPath | None]:
        """(series, index of the day shown at ``epoch``, path if in session)."""
        local = dt.datetime.fromtimestamp(epoch, self._zone(inst))
        key = local.date()
        if inst.is_forex and local.hour >= 17:
            key += dt.timedelta(days=1)
        ser = self.series(inst.conId, max(key, DATA_END))
        i = ser.index_le(key)
        if i < 0:
            return ser, -1, None
        day = ser.date(i)
        s, e = self._bounds(inst, day)
        if epoch < s:
            return ser, i - 1, None
        if epoch >= e:
            return ser, i, None
        return ser, i, self.path(inst.conId, day)

    def price_at(self, conId: int, t: dt.datetime) -> float:
        """Last trade price at ``t`` (aware); between sessions the last close,
        before the first bar its open."""
        inst = self.instrument(conId)
        epoch = int(np.floor(t.timestamp()))
        ser, i, path = self._locate(inst, epoch)
        if path is not None:
            return float(path.prices[epoch - path.start])
        return float(ser.close[i]) if i >= 0 else float(ser.open[0])

    def bid_ask(self, conId: int, epochs: IntArray, prices: FloatArray,
                ) -> tuple[FloatArray, FloatArray, IntArray, IntArray]:
        """(bid, ask, bidSize, askSize) around trade ``prices`` at ``epochs``.

        The spread is 1..k ticks (k grows with price), bid <= price < ask.
        """
        inst = self.instrument(conId)
        tick = inst.minTick
        h = mix64(self.seed, conId, epochs)
        k = np.maximum(1, np.rint(prices * 4e-5 / tick)).astype(np.uint64)
        n = (np.uint64(1) + h % k).astype(np.int64)
        j = ((h >> np.uint64(20)) % n.astype(np.uint64)).astype(np.int64)
        raw = np.floor((prices - j * tick) / tick + 1e-7) * tick
        bid: FloatArray = np.round(np.maximum(raw, tick), 10).astype(np.float64)
        ask: FloatArray = np.round(bid + n * tick, 10).astype(np.float64)
        lots = 100 if not inst.is_forex else 100_000
        bsize = ((h >> np.uint64(33)) % np.uint64(25) + np.uint64(1)).astype(np.int64) * lots
        asize = ((h >> np.uint64(45)) % np.uint64(25) + np.uint64(1)).astype(np.int64) * lots
        return bid, ask, bsize, asize

    def quote(self, conId: int, t: dt.datetime) -> Quote:
        """Top of book at ``t`` (deterministic for the same second: computed once
        per (conId, second), ``time`` is ``t``)."""
        key = (conId, math.floor(t.timestamp()))
        f = self._quotes.get(key)
        if f is None:
            f = self._quote_fields(conId, key[1])
            if len(self._quotes) >= QUOTE_CACHE_SIZE:
                self._quotes.clear()
            self._quotes[key] = f
        return Quote(*f, time=t)

    def _quote_fields(self, conId: int, epoch: int) -> QuoteFields:
        """The fields of the quote at ``epoch``, but time."""
        inst = self.instrument(conId)
        st = self._day_stats.get(conId)
        if st is None or not st.start <= epoch < st.end:
            ser, i, path = self._locate(inst, epoch)
            prev = float(ser.close[i - 1]) if i >= 1 else float(ser.open[max(i, 0)])
            if path is not None:
                st = DayStats.build(inst, path, prev)
                if conId not in _LEGACY:  # the path's own bounds (venue sessions, a CFD's)
                    st = dataclasses.replace(st, start=path.start, end=path.end)
                self._day_stats[conId] = st
            elif i >= 0:  # between sessions: the day's bar
                st = None
                last = float(ser.close[i])
                open_, high, low = float(ser.open[i]), float(ser.high[i]), float(ser.low[i])
                v = int(ser.volume[i])
                volume = v if inst.is_forex else v + v * EXTENDED_VOLUME_PCT // 100
                last_size = 0
            else:  # before the first bar
                st = None
                last = open_ = high = low = prev = float(ser.open[0])
                volume = last_size = 0
        if st is not None:
            prev = st.prev_close
            last, open_, high, low, volume, last_size = st.at(epoch)
        lots = 100 if not inst.is_forex else 100_000
        if inst.secType == "IND":  # TWS: an index has last, high, low, close; no book, no size
            return (-1.0, -1.0, last, Decimal(0), Decimal(0), Decimal(0), Decimal(0),
                    high, low, open_, prev)
        bid, ask, bs, asz = bid_ask_one(mix64_one(self.seed, conId, epoch), last, inst.minTick,
                                        lots)
        if not inst.is_forex:
            last_size = max(100, min(last_size, 10_000) // 100 * 100)
        return (bid, ask, last, Decimal(bs), Decimal(asz), Decimal(last_size), Decimal(volume),
                high, low, open_, prev)
