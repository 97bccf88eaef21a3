"""Synthetic daily bars and intraday paths: the seeded building blocks of
:class:`~twsbridge.sim.market.prices.PriceModel` (moved out of prices.py
unchanged, bit for bit).

Daily bars: a mean-reverting geometric walk in log space (:func:`synth_bars`).
Intraday: a folded Brownian bridge through open, high, low and close
(:func:`core_path`) and quiet bridges outside the regular session
(:func:`quiet_path`); :func:`alloc` splits a day's volume over seconds.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from twsbridge.sim.market.day_path import FloatArray, IntArray

__all__ = ["ANCHORED_REVERSION", "REVERSION", "Profile", "alloc", "core_path", "quiet_path",
           "round_tick", "synth_bars"]


@dataclass(frozen=True, slots=True)
class Profile:
    """Level (close on 2013-03-01, currency units), daily log-return standard
    deviation and typical daily volume (shares; 0 for forex and indices)."""

    close: float  # close on DATA_END, currency units
    vol: float  # daily log-return standard deviation
    volume: float  # typical daily volume (shares; 0 for forex)



def round_tick(x: FloatArray, tick: float) -> FloatArray:
    """Round prices to the nearest multiple of ``tick``."""
    return np.round(np.round(x / tick) * tick, 10)


REVERSION = 0.998
ANCHORED_REVERSION = 0.98  # after the anchor date: stationary sd ~5x the daily vol
"""Daily AR(1) coefficient of log price around its anchor (keeps 13-year
synthetic histories within a plausible band of the anchor)."""


def _ar1(r: FloatArray, x0: float, reversion: float = REVERSION) -> FloatArray:
    """x[t] = reversion * x[t-1] + r[t], x[-1] = x0."""
    out = np.empty(len(r))
    x = x0
    for k, step in enumerate(r.tolist()):
        x = reversion * x + step
        out[k] = x
    return out


def synth_bars(rng: np.random.Generator, n: int, prof: Profile, tick: float, *,
                anchor: float | FloatArray, prev_close: float | None = None,
                reversion: float = REVERSION, end: float | None = None,
                ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, IntArray]:
    """n synthetic OHLCV bars, mean-reverting in log space around ``anchor``
    (one level, or one per bar): ending exactly at ``anchor`` (prev_close None)
    or chained from ``prev_close``; with ``end``, bent (a log-space bridge)
    so that the last close is ``end``."""
    r = rng.normal(0.0, prof.vol, n)
    gap = rng.normal(0.0, prof.vol * 0.35, n)
    wick_hi = np.abs(rng.normal(0.0, prof.vol * 0.6, n))
    wick_lo = np.abs(rng.normal(0.0, prof.vol * 0.6, n))
    vnoise = rng.normal(0.0, 0.35, n)
    if prev_close is None:
        x = _ar1(r, 0.0)
        close = anchor * np.exp(x - x[-1])
        prev = np.concatenate(([close[0] * np.exp(-r[0])], close[:-1]))
    else:
        first = float(np.atleast_1d(anchor)[0])
        close = anchor * np.exp(_ar1(r, float(np.log(prev_close / first)), reversion))
        if end is not None:
            close = close * np.exp(np.arange(1, n + 1) / n * np.log(end / close[-1]))
        prev = np.concatenate(([prev_close], close[:-1]))
    open_ = prev * np.exp(gap)
    high = np.maximum(open_, close) * np.exp(wick_hi)
    low = np.minimum(open_, close) * np.exp(-wick_lo)
    o, c = (np.maximum(round_tick(a, tick), tick) for a in (open_, close))
    h = np.maximum(np.maximum(round_tick(high, tick), o), c)
    lo = np.maximum(np.minimum(np.minimum(round_tick(low, tick), o), c), tick)
    vol = (prof.volume * np.exp(vnoise - 0.06)) // 100 * 100
    v = np.where(prof.volume > 0, np.maximum(vol, 100), 0).astype(np.int64)
    return o, h, lo, c, v


def alloc(total: int, weights: FloatArray) -> IntArray:
    """Split an integer total over weights; the parts sum exactly to total."""
    if total <= 0 or len(weights) == 0:
        return np.zeros(len(weights), dtype=np.int64)
    cw = np.cumsum(weights)
    cum = np.floor(total * (cw / cw[-1]) + 1e-9).astype(np.int64)
    cum[-1] = total
    out: IntArray = np.diff(cum, prepend=np.int64(0))
    return out


def _fold(u: FloatArray) -> FloatArray:
    """Reflect values into [0, 1] (triangle wave); identity on [0, 1]."""
    return 1.0 - np.abs(np.mod(u, 2.0) - 1.0)


def core_path(rng: np.random.Generator, o: float, h: float, lo: float, c: float, n: int,
               tick: float) -> FloatArray:
    """Regular-session path: starts at o, ends at c, touches h and lo."""
    if h <= lo or n < 4:
        out = np.full(n, o)
        out[-1] = c
        return out
    t = 1 + np.floor(rng.beta(0.6, 0.6, 2) * (n - 2)).astype(np.int64)
    t_hi, t_lo = (int(min(max(x, 1), n - 2)) for x in t)
    if t_hi == t_lo:
        t_lo = t_hi + 1 if t_hi < n - 2 else t_hi - 1
    rng_w = h - lo
    anchors = sorted([(0, (o - lo) / rng_w), (t_hi, 1.0), (t_lo, 0.0), (n - 1, (c - lo) / rng_w)])
    w = np.cumsum(rng.normal(0.0, 0.8 / np.sqrt(n), n))
    u = np.empty(n)
    for (ta, ua), (tb, ub) in itertools.pairwise(anchors):
        frac = np.arange(tb - ta + 1) / (tb - ta)
        seg = w[ta:tb + 1]
        u[ta:tb + 1] = ua + frac * (ub - ua) + (seg - seg[0]) - frac * (seg[-1] - seg[0])
    p = np.clip(round_tick(lo + _fold(u) * rng_w, tick), lo, h)
    p[0], p[t_hi], p[t_lo], p[-1] = o, h, lo, c
    return p


def quiet_path(rng: np.random.Generator, a: float, b: float, n: int, scale: float,
                tick: float) -> FloatArray:
    """Quiet bridge of n seconds from a (at 0) towards b (at n)."""
    w = np.concatenate(([0.0], np.cumsum(rng.normal(0.0, 1.0, n))))
    frac = np.arange(n + 1) / n
    p = a + frac * (b - a) + (w - frac * w[-1]) * (2.0 * scale / np.sqrt(n))
    p = np.clip(p[:n], min(a, b) - 2 * scale, max(a, b) + 2 * scale)
    p = np.maximum(round_tick(p, tick), tick)
    p[0] = a
    return p


