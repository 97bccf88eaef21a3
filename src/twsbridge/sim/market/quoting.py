"""The fast path of :meth:`twsbridge.sim.market.prices.PriceModel.quote`.

A quote needs, at one second of a day's path, the session's running high, low
and volume and the bid/ask around the last price. :class:`DayStats` holds,
once per (instrument, day), what answers the running figures in O(log n)
instead of reducing the path up to that second; :func:`bid_ask_one` and
:func:`mix64_one` are ``PriceModel.bid_ask`` and ``mix64`` of one second in
Python scalars. Both give bit for bit the figures of the numpy code.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np

from twsbridge.sim.reference.calendar import session_bounds
from twsbridge.sim.reference.instruments import Instrument

if TYPE_CHECKING:
    import numpy.typing as npt

    from twsbridge.sim.market.day_path import DayPath

__all__ = ["QUOTE_CACHE_SIZE", "DayStats", "QuoteFields", "bid_ask_one", "mix64_one"]

QUOTE_CACHE_SIZE = 4096
"""Quotes memoised per PriceModel ((conId, second) entries; cleared when full)."""

QuoteFields = tuple[float, float, float, Decimal, Decimal, Decimal, Decimal,
                    float, float, float, float]
"""The fields of a Quote but time, in order."""

_M64 = (1 << 64) - 1
_VOLUME_BLOCK = 32  # seconds of volume summed together in DayStats


def mix64_one(seed: int, conId: int, epoch: int) -> int:
    """``prices.mix64`` of one epoch second, in Python ints (the same bits)."""
    x = (epoch & _M64) * 0x9E3779B97F4A7C15 + ((seed * 1_000_003 + conId * 7919 + 1) & _M64)
    x &= _M64
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _M64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def _round10(x: float) -> float:
    """``np.round(x, 10)`` of one float: numpy computes rint(x * 1e10) / 1e10
    (round() of a float rounds half to even, as rint)."""
    return round(x * 1e10) / 1e10


def bid_ask_one(h: int, price: float, tick: float, lots: int) -> tuple[float, float, int, int]:
    """``PriceModel.bid_ask`` of one second (``h``: its mix64_one), in Python
    scalars: (bid, ask, bidSize, askSize), the same floats and sizes."""
    k = max(1, round(price * 4e-5 / tick))
    n = 1 + h % k
    j = (h >> 20) % n
    bid = _round10(max(math.floor((price - j * tick) / tick + 1e-7) * tick, tick))
    return (bid, _round10(bid + n * tick), ((h >> 33) % 25 + 1) * lots,
            ((h >> 45) % 25 + 1) * lots)


_Records = tuple[list[int], list[float]]


def _records(seg: npt.NDArray[np.float64], acc: np.ufunc) -> _Records:
    """Where ``acc.accumulate(seg)`` (a running max or min) changes, and 0:
    (positions, the running values there)."""
    run = acc.accumulate(seg)
    pos = np.flatnonzero(run[1:] != run[:-1]) + 1
    if len(seg):
        pos = np.concatenate(([0], pos))
    return pos.tolist(), run[pos].tolist()


@dataclass(frozen=True, slots=True)
class DayStats:
    """A DayPath's running session figures: the records of the running high
    and low of the pre-market and of the regular session, and the path's
    cumulative volume at every block of _VOLUME_BLOCK seconds. A quote of the
    instrument at ``start <= epoch < end`` is on this path; ``prev_close`` is
    the previous day's close."""

    path: DayPath
    start: int
    end: int
    prev_close: float
    highs: tuple[_Records, _Records]  # pre-market, regular session
    lows: tuple[_Records, _Records]
    opens: tuple[float, float]
    volume_blocks: list[int]

    @classmethod
    def build(cls, inst: Instrument, path: DayPath, prev_close: float) -> DayStats:
        """The stats of ``path``, a day of ``inst``."""
        s, e = session_bounds(inst, path.day, inst.is_forex)
        pre, rth = path.prices[: path.rth_start], path.prices[path.rth_start: path.rth_end]
        cum = np.cumsum(path.volumes)[_VOLUME_BLOCK - 1:: _VOLUME_BLOCK]
        return cls(path, int(s.timestamp()), int(e.timestamp()), prev_close,
                   (_records(pre, np.maximum), _records(rth, np.maximum)),
                   (_records(pre, np.minimum), _records(rth, np.minimum)),
                   (float(path.prices[0]), float(path.prices[path.rth_start])),
                   [0, *cum.tolist()])

    def at(self, epoch: int) -> tuple[float, float, float, float, int, int]:
        """(last, open, high, low, volume, last trade size) at ``epoch``: the
        pre-market's so far before the open, else the regular session's so far."""
        path = self.path
        pos = epoch - path.start
        seg = 0 if pos < path.rth_start else 1
        rel = pos if seg == 0 else min(pos, path.rth_end - 1) - path.rth_start
        hpos, hval = self.highs[seg]
        lpos, lval = self.lows[seg]
        b = (pos + 1) // _VOLUME_BLOCK
        volume = self.volume_blocks[b] + sum(path.volumes[b * _VOLUME_BLOCK: pos + 1].tolist())
        return (float(path.prices[pos]), self.opens[seg], hval[bisect_right(hpos, rel) - 1],
                lval[bisect_right(lpos, rel) - 1], volume, int(path.volumes[pos]))
