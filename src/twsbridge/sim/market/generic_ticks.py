"""The generic ticks of reqMktData's ``genericTickList`` (TWS API, "Generic Tick Types").

:func:`parse_generic_tick_list` reads the comma-separated ids the way TWS
validates them; :class:`GenericTickModel` computes their values from the
price model; :class:`GenericTicks` is what one subscription sends. No I/O.

Served (stocks; every value a pure function of the seed and the time):

===== ============================= ===============================================
 id    ticks (type: message)         value
===== ============================= ===============================================
 165   15-20 tickPrice, 21 tickSize  13/26/52-week low/high: the daily bars dated in
                                     the N weeks before today and the session's high
                                     and low so far (the Quote's); 21 avgVolume: the
                                     mean volume of the last 90 daily bars (shares)
 233   48 tickString (RTVolume)      ``price;size;ms;totalVolume;VWAP;true``, one per
                                     AllLast print of TickModel; totalVolume is the
                                     day's cumulative volume (tick 8's) with the
                                     print; VWAP the day path's (earlier seconds at
                                     their path price, the second's prints exactly)
 375   77 tickString (RTTrdVolume)   as 233 for the Last prints only (no odd lots,
                                     no off-exchange prints), with their own total
                                     volume and VWAP
 236   46 tickGeneric, 89 tickSize   shortable shares, seeded per 15 minutes; 46 is
                                     3.0 for >= 1000 shares, 2.0 for fewer, 1.0 for 0
 293   54 tickGeneric                the day's AllLast print count so far
 294   55 tickGeneric                prints in the last 60 s (per minute)
 295   56 tickGeneric                shares in the last 60 s (per minute)
 318   57 tickPrice                  last price of the regular session (09:30-16:00)
 411   58 tickGeneric                30-day historical volatility: sample standard
                                     deviation of the last 30 daily log returns (the
                                     30th from the last close to the current price),
                                     times sqrt(252), decimal (0.25 = 25 %)
 456   59 tickString (IB Dividends)  :mod:`twsbridge.sim.market.dividends`
 595   63, 64, 65 tickSize           shares traded in the last 3, 5, 10 minutes
===== ============================= ===============================================

``mdoff`` in the list turns the top-of-book ticks off: only the generic ones
come. The other ids TWS accepts for stocks (100, 101, 105, 106 options
statistics, left to the options family; 221, 225, 232, 258, 460, 576-578,
586-588, 614, 619, 623) are accepted and send nothing. An id TWS does
not accept for a stock (104 among them) is error 321 with TWS's text and the
request is refused; so is a snapshot with a generic tick list. Instruments
other than stocks are validated against the same list; without trades
(forex) they get no trade-based ticks, and only stocks get 236 and 456.

Cadence: the first set at once; RTVolume and RTTrdVolume at every update
(the prints of the seconds since the last one, at most the last
``RT_VOLUME_MAX_SECONDS``); the other values re-read every
``GENERIC_INTERVAL`` and sent when changed.
"""

from __future__ import annotations

import datetime as dt
import math
import weakref
from dataclasses import dataclass, field
from decimal import Decimal
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from twsbridge.protocol.catalogue import incoming
from twsbridge.protocol.spec import Message
from twsbridge.sim.market.day_path import DayPath
from twsbridge.sim.market.dividends import DividendSchedule
from twsbridge.sim.market.prices import PriceModel, mix64
from twsbridge.sim.market.quoting import mix64_one
from twsbridge.sim.market.ticks import _TRADE_SALT, TickModel
from twsbridge.sim.reference.calendar import SIM_TZ
from twsbridge.sim.reference.instruments import Instrument

__all__ = [
    "GENERIC_INTERVAL",
    "LEGAL_STK",
    "MDOFF",
    "RT_VOLUME_MAX_SECONDS",
    "SERVED",
    "SNAPSHOT_GENERIC",
    "GenericRequest",
    "GenericTickError",
    "GenericTickModel",
    "GenericTicks",
    "MiscStats",
    "parse_generic_tick_list",
]

GENERIC_INTERVAL = dt.timedelta(seconds=5)
"""Simulated time between two reads of the generic values (sent when changed)."""
RT_VOLUME_MAX_SECONDS = 10
"""After a stall, RTVolume sends the prints of at most this many last seconds."""
MDOFF = "mdoff"
"""The genericTickList token that turns the top-of-book ticks off."""

#: The generic tick ids TWS accepts for STK, with its labels (its error 321 text).
LEGAL_STK: dict[int, str] = {
    100: "100(Option Volume)", 101: "101(Option Open Interest)",
    105: "105(Average Opt Volume)", 106: "106(impvolat)", 165: "165(Misc. Stats)",
    221: "221/220(Creditman Mark Price)", 225: "225(Auction)", 232: "232/221(Pl Price)",
    233: "233(RTVolume)", 236: "236(inventory)", 258: "258/47(Fundamentals)",
    293: "293(TradeCount)", 294: "294(TradeRate)", 295: "295(VolumeRate)",
    318: "318(LastRTHTrade)", 375: "375(RTTrdVolume)", 411: "411(rthistvol)",
    456: "456/59(IBDividends)", 460: "460(Bond Factor Multiplier)",
    576: "576(EtfNavBidAsk(navbidask))", 577: "577(EtfNavLast(navlast))",
    578: "578(EtfNavClose(navclose))", 586: "586(IPOHLMPRC)", 587: "587(Pl Price Delayed)",
    588: "588(Futures Open Interest)", 595: "595(Short-Term Volume X Mins)",
    614: "614(EtfNavMisc(high/low))", 619: "619(Creditman Slow Mark Price)",
    623: "623(EtfFrozenNavLast(fznavlast))",
}
SERVED = frozenset({165, 233, 236, 293, 294, 295, 318, 375, 411, 456, 595})
"""The generic tick ids the simulator sends values for."""
SNAPSHOT_GENERIC = ("Error validating request.-'bO' : cause - Snapshot market data "
                    "subscription is not applicable to generic ticks")
"""TWS's error 321 text for a snapshot with a generic tick list."""

_SHORT_SALT = 0x2545F4914F6CDD1D
_SHORT_SLOT = 900  # seconds: shortable shares change every 15 minutes
_WEEKS = (13, 26, 52)
_AVG_BARS = 90
_VOL_RETURNS = 30
_CACHE = 64
_RT_TICKS = ((233, 48), (375, 77))  # RTVolume, RTTrdVolume


class GenericTickError(ValueError):
    """A genericTickList TWS refuses; ``text`` is its error 321 text."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


@dataclass(frozen=True, slots=True)
class GenericRequest:
    """A parsed genericTickList: the ids asked for, and whether ``mdoff`` was."""

    ids: frozenset[int] = frozenset()
    mdoff: bool = False

    def __bool__(self) -> bool:
        return bool(self.ids) or self.mdoff


def parse_generic_tick_list(genericTickList: str, secType: str = "STK") -> GenericRequest:
    """The ids of a reqMktData genericTickList (``'165,233,mdoff'``; blanks
    around ids and empty items are ignored, ``mdoff`` in any case).

    Raises GenericTickError (TWS's error 321 text, with the list as sent)
    if an item is not an id TWS accepts for the secType (:data:`LEGAL_STK`)."""
    ids: set[int] = set()
    mdoff = False
    for item in genericTickList.split(","):
        item = item.strip()
        if not item:
            continue
        if item.lower() == MDOFF:
            mdoff = True
        elif item.isdigit() and int(item) in LEGAL_STK:
            ids.add(int(item))
        else:
            legal = ",".join(LEGAL_STK.values())
            raise GenericTickError(
                f"Error validating request.-'bW' : cause - Incorrect generic tick list of "
                f"{genericTickList}.  Legal ones for ({secType or 'STK'}) are: {legal}")
    return GenericRequest(frozenset(ids), mdoff)


@dataclass(frozen=True, slots=True)
class MiscStats:
    """Generic tick 165: ``lows``/``highs`` over 13, 26, 52 weeks (currency),
    ``avgVolume`` in shares (None without volume: forex)."""

    lows: tuple[float, float, float]
    highs: tuple[float, float, float]
    avgVolume: int | None


def _splitmix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


@dataclass(frozen=True, slots=True)
class _DayFigures:
    """Per second of a path, cumulative: volume, price x volume, print count,
    and the volume and price x volume of the ``Last`` prints (round lots on
    the exchanges)."""

    volume: npt.NDArray[np.int64]
    pv: npt.NDArray[np.float64]
    prints: npt.NDArray[np.int64]
    last_volume: npt.NDArray[np.int64]
    last_pv: npt.NDArray[np.float64]


class GenericTickModel:
    """The values of the generic ticks (module docstring) of a PriceModel's
    instruments at a time; :meth:`of` shares one per PriceModel."""

    _shared: ClassVar[weakref.WeakKeyDictionary[PriceModel, GenericTickModel]] = (
        weakref.WeakKeyDictionary())

    def __init__(self, prices: PriceModel) -> None:
        self.prices = prices
        self.ticks = TickModel(prices)
        self.dividends = DividendSchedule(prices)
        self._days: dict[tuple[int, int], _DayFigures] = {}

    @classmethod
    def of(cls, prices: PriceModel) -> GenericTickModel:
        """The model of ``prices`` (made once)."""
        got = cls._shared.get(prices)
        if got is None:
            got = cls._shared[prices] = cls(prices)
        return got

    # ------------------------------------------------------------ helpers
    def _figures(self, conId: int, path: DayPath) -> _DayFigures:
        key = (conId, path.day.toordinal())
        got = self._days.get(key)
        if got is None:
            v = path.volumes
            epochs = np.arange(path.start, path.end, dtype=np.int64)
            h = _splitmix(mix64(self.prices.seed, conId, epochs) ^ np.uint64(_TRADE_SALT))
            lots, odd = v // 100, v % 100
            finra = np.where((lots >= 4) & ((h >> np.uint64(5)) % np.uint64(3) == 0),
                             lots // (3 + (h >> np.uint64(8)) % np.uint64(4)).astype(np.int64),
                             0)
            lit = lots - finra
            per = (1 + (h >> np.uint64(12)) % np.uint64(4)).astype(np.int64)
            count = (finra > 0).astype(np.int64) + (odd > 0) + np.where(lit > 0, -(-lit // per), 0)
            if self.prices.instrument(conId).is_forex:
                count = np.zeros(len(v), dtype=np.int64)
                lit = count
            got = _DayFigures(np.cumsum(v), np.cumsum(path.prices * v), np.cumsum(count),
                              np.cumsum(lit * 100), np.cumsum(path.prices * (lit * 100)))
            if len(self._days) >= _CACHE:
                self._days.clear()
            self._days[key] = got
        return got

    def _bars_before(self, inst: Instrument, t: dt.datetime) -> tuple[int, dt.date]:
        """(count of daily bars dated before the session day of ``t``, that day)."""
        local = t.astimezone(SIM_TZ)
        day = local.date()
        if inst.is_forex and local.hour >= 17:
            day += dt.timedelta(days=1)
        ser = self.prices.series(inst.conId, day)
        return ser.index_le(day - dt.timedelta(days=1)) + 1, day

    def _session(self, conId: int, epoch: int) -> DayPath | None:
        return self.ticks.session_before(conId, epoch + 1)

    # ------------------------------------------------------------- values
    def misc_stats(self, conId: int, t: dt.datetime) -> MiscStats:
        """Generic tick 165 at ``t``."""
        inst = self.prices.instrument(conId)
        n, day = self._bars_before(inst, t)
        ser = self.prices.series(conId, day)
        q = self.prices.quote(conId, t)
        lows: list[float] = []
        highs: list[float] = []
        for weeks in _WEEKS:
            a = int(np.searchsorted(ser.ords[:n], (day - dt.timedelta(weeks=weeks)).toordinal()))
            lows.append(min([q.low, *ser.low[a:n].tolist()]))
            highs.append(max([q.high, *ser.high[a:n].tolist()]))
        vols = ser.volume[max(0, n - _AVG_BARS):n]
        avg = round(float(vols.mean())) if len(vols) and not inst.is_forex else None
        return MiscStats((lows[0], lows[1], lows[2]), (highs[0], highs[1], highs[2]), avg)

    def rt_hist_vol(self, conId: int, t: dt.datetime) -> float | None:
        """Generic tick 411 (tick 58) at ``t``: annualised decimal, None if too few bars."""
        inst = self.prices.instrument(conId)
        n, day = self._bars_before(inst, t)
        closes = self.prices.series(conId, day).close[max(0, n - _VOL_RETURNS):n]
        prices = np.append(closes, self.prices.quote(conId, t).last)
        if len(prices) < 3:
            return None
        return round(float(np.std(np.diff(np.log(prices)), ddof=1) * math.sqrt(252)), 6)

    def last_rth_trade(self, conId: int, t: dt.datetime) -> float | None:
        """Generic tick 318 (tick 57): the last regular-session price at ``t``."""
        epoch = math.floor(t.timestamp())
        path = self._session(conId, epoch)
        if path is None:
            return None
        pos = epoch - path.start
        if pos >= path.rth_start:
            return float(path.prices[min(pos, path.rth_end - 1)])
        return self.prices.quote(conId, t).close  # pre-market: the previous close

    def trade_stats(self, conId: int, t: dt.datetime) -> tuple[int, int, int]:
        """Generic ticks 293, 294, 295 at ``t``: (the day's prints so far, prints
        and shares in the last 60 s); zeros before the first session."""
        epoch = math.floor(t.timestamp())
        path = self._session(conId, epoch)
        if path is None:
            return 0, 0, 0
        f = self._figures(conId, path)
        pos, last = epoch - path.start, len(f.prints) - 1
        k, j = min(pos, last), min(pos - 60, last)
        before_p = int(f.prints[j]) if j >= 0 else 0
        before_v = int(f.volume[j]) if j >= 0 else 0
        return int(f.prints[k]), int(f.prints[k]) - before_p, int(f.volume[k]) - before_v

    def shortable(self, conId: int, t: dt.datetime) -> tuple[float, int]:
        """Generic tick 236: (tick 46 value, tick 89 shares) at ``t``. Mostly
        easy to borrow (2 %..29 % of the average daily volume, at least 1000);
        some weeks (seeded) hard to borrow (100-900 shares) or not at all (0)."""
        epoch = math.floor(t.timestamp())
        week = dt.datetime.fromtimestamp(epoch, SIM_TZ).date().isocalendar()
        regime = mix64_one(self.prices.seed ^ _SHORT_SALT, conId,
                           week.year * 100 + week.week) % 100
        h = mix64_one(self.prices.seed ^ _SHORT_SALT, conId, epoch // _SHORT_SLOT)
        avg = self.misc_stats(conId, t).avgVolume or 0
        easy = 98 if avg >= 1_000_000 else 85
        if regime < easy:
            shares = max(1000, int(avg * (2 + h % 28) / 100) // 100 * 100)
        elif regime < easy + (2 if easy == 98 else 10):
            shares = 100 * (1 + h % 9)
        else:
            shares = 0
        return (3.0 if shares >= 1000 else 2.0 if shares > 0 else 1.0), shares

    def short_term_volumes(self, conId: int, t: dt.datetime) -> tuple[int, int, int]:
        """Generic tick 595 (ticks 63, 64, 65): shares traded in the last 3, 5
        and 10 minutes of the session at ``t``."""
        epoch = math.floor(t.timestamp())
        path = self._session(conId, epoch)
        if path is None:
            return 0, 0, 0
        f = self._figures(conId, path)
        pos, last = epoch - path.start, len(f.volume) - 1
        now = int(f.volume[min(pos, last)])
        out = []
        for minutes in (3, 5, 10):
            j = min(pos - 60 * minutes, last)
            out.append(now - (int(f.volume[j]) if j >= 0 else 0))
        return out[0], out[1], out[2]

    def rt_volumes(self, conId: int, a: int, b: int, all_last: bool = True) -> list[str]:
        """RTVolume texts (tick 48) of the AllLast prints of seconds [a, b);
        with ``all_last=False`` RTTrdVolume (tick 77) of the Last prints (their
        own cumulative volume and VWAP)."""
        out: list[str] = []
        by_second: dict[int, list[tuple[float, Decimal]]] = {}
        for tr in self.ticks.trades(conId, a, b, all_last):
            by_second.setdefault(tr.time, []).append((tr.price, tr.size))
        for k, prints in by_second.items():
            path = self._session(conId, k)
            assert path is not None
            f = self._figures(conId, path)
            pos = k - path.start
            cum_v, cum_pv = (f.volume, f.pv) if all_last else (f.last_volume, f.last_pv)
            vol = int(cum_v[pos - 1]) if pos > 0 else 0
            pv = float(cum_pv[pos - 1]) if pos > 0 else 0.0
            n = len(prints)
            for j, (price, size) in enumerate(prints):
                vol += int(size)
                pv += price * int(size)
                ms = k * 1000 + j * 1000 // n
                out.append(f"{price!r};{int(size)};{ms};{vol};{pv / vol:.8f};true")
        return out

    def last_rt_volume(self, conId: int, epoch: int, all_last: bool = True) -> list[str]:
        """The RTVolume (RTTrdVolume with ``all_last=False``) of the last print at
        or before second ``epoch`` of its session (none before its first print)."""
        path = self._session(conId, epoch)
        if path is None:
            return []
        f = self._figures(conId, path)
        k = min(epoch - path.start, len(f.volume) - 1)
        cum = f.volume if all_last else f.last_volume
        moved = np.flatnonzero(np.diff(cum[:k + 1], prepend=0))
        if not len(moved):
            return []
        s = path.start + int(moved[-1])
        return self.rt_volumes(conId, s, s + 1, all_last)[-1:]


@dataclass(slots=True)
class GenericTicks:
    """What one reqMktData line sends for its generic ticks (module docstring)."""

    reqId: int
    inst: Instrument
    model: GenericTickModel
    ids: frozenset[int]
    next_read: dt.datetime | None = None
    next_second: int | None = None
    _sent: dict[tuple[int, int], object] = field(default_factory=dict)

    def first(self, t: dt.datetime) -> list[Message]:
        """Every value asked for at ``t`` (the data's time: delayed already applied)."""
        self._sent = {}
        out = self._changed(t)
        epoch = math.floor(t.timestamp())
        for gid, tick in _RT_TICKS:
            if gid in self.ids:
                out += self._strings(tick, self.model.last_rt_volume(
                    self.inst.conId, epoch, gid == 233))
        self.next_second = epoch + 1
        self.next_read = t + GENERIC_INTERVAL
        return out

    def update(self, t: dt.datetime) -> list[Message]:
        """RTVolume of the seconds since the last call; the changed values when
        ``GENERIC_INTERVAL`` has passed."""
        out: list[Message] = []
        epoch = math.floor(t.timestamp())
        if self.next_second is not None and epoch >= self.next_second:
            a = max(self.next_second, epoch + 1 - RT_VOLUME_MAX_SECONDS)
            for gid, tick in _RT_TICKS:
                if gid in self.ids:
                    out += self._strings(tick, self.model.rt_volumes(
                        self.inst.conId, a, epoch + 1, gid == 233))
            self.next_second = epoch + 1
        if self.next_read is not None and t >= self.next_read:
            self.next_read = max(self.next_read + GENERIC_INTERVAL, t)
            out += self._changed(t)
        return out

    def _strings(self, tickType: int, texts: list[str]) -> list[Message]:
        return [incoming.TickString(reqId=self.reqId, tickType=tickType, value=x)
                for x in texts]

    def _values(self, t: dt.datetime) -> dict[tuple[int, int], object]:
        """(message kind, tickType) → value; kinds 1 price, 2 size, 45 generic, 46 string."""
        m, c, ids = self.model, self.inst.conId, self.ids
        vals: dict[tuple[int, int], object] = {}
        stock = self.inst.secType == "STK"
        if 165 in ids:
            st = m.misc_stats(c, t)
            for k, tick in enumerate((15, 17, 19)):
                vals[1, tick] = st.lows[k]
                vals[1, tick + 1] = st.highs[k]
            if st.avgVolume is not None:
                vals[2, 21] = Decimal(st.avgVolume)
        if 236 in ids and stock:
            value, shares = m.shortable(c, t)
            vals[45, 46] = value
            vals[2, 89] = Decimal(shares)
        if ids & {293, 294, 295} and not self.inst.is_forex:
            count, rate, volume = m.trade_stats(c, t)
            for gid, tick, x in ((293, 54, count), (294, 55, rate), (295, 56, volume)):
                if gid in ids:
                    vals[45, tick] = float(x)
        if 595 in ids and not self.inst.is_forex:
            for tick, x in zip((63, 64, 65), m.short_term_volumes(c, t), strict=True):
                vals[2, tick] = Decimal(x)
        if 318 in ids and (last := m.last_rth_trade(c, t)) is not None:
            vals[1, 57] = last
        if 411 in ids and (hv := m.rt_hist_vol(c, t)) is not None:
            vals[45, 58] = hv
        if 456 in ids and stock:
            vals[46, 59] = m.dividends.ib_dividends(c, t.astimezone(SIM_TZ).date()).text()
        return vals

    def _changed(self, t: dt.datetime) -> list[Message]:
        vals = self._values(t)
        out: list[Message] = []
        req = self.reqId
        for (kind, tick), v in vals.items():
            if self._sent.get((kind, tick)) == v:
                continue
            if kind == 1:
                assert isinstance(v, float)
                out.append(incoming.TickPrice(reqId=req, tickType=tick, price=v,
                                              size=Decimal(0)))
            elif kind == 2:
                assert isinstance(v, Decimal)
                out.append(incoming.TickSize(reqId=req, tickType=tick, size=v))
            elif kind == 45:
                assert isinstance(v, float)
                out.append(incoming.TickGeneric(reqId=req, tickType=tick, value=v))
            else:
                out.append(incoming.TickString(reqId=req, tickType=tick, value=str(v)))
        self._sent.update(vals)
        return out
