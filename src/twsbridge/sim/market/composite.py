"""Series and paths the wide universe adds to the PriceModel: a session path
on any venue, and instruments composed of others (forex crosses, CFDs).

:func:`venue_path` is the 1-second path of a trading day on a venue with
its own sessions (Xetra, LSE, SEHK, TSEJ, TSE; indices on their cash
market's regular hours): a core bridge through open/high/low/close over the
liquid seconds only, the price held and no volume during a lunch break
(SEHK 12:00-13:00, TSEJ 11:30-12:30), quiet bridges in extended hours.

:func:`cross_series` / :func:`cross_path` build ``B.Q`` from the USD pairs
of B and Q: at every second ``usd(B) / usd(Q)`` rounded to the cross's tick,
so a cross agrees with its legs at every instant; its daily open and close
are the legs' ratio, its high and low a combination of the legs' ranges
(the daily bar is a model; the intraday path is exact).
:func:`cfd_series` / :func:`cfd_path` give a CFD its underlying's prices on
its own tick.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from twsbridge.sim.market.day_path import DayPath, FloatArray
from twsbridge.sim.market.synth import alloc, core_path, quiet_path, round_tick
from twsbridge.sim.reference.calendar import sessions
from twsbridge.sim.reference.venues import Venue

__all__ = ["Legs", "cfd_path", "cfd_series_arrays", "cross_path", "cross_series_arrays",
           "venue_bounds", "venue_path"]

OHLC = tuple[FloatArray, FloatArray, FloatArray, FloatArray]
Legs = tuple[tuple[OHLC, bool], tuple[OHLC, bool]]


def _spans(v: Venue, day: dt.date, liquid_only: bool) -> tuple[list[tuple[int, int]],
                                                             list[tuple[int, int]]]:
    liquid = [(int(a.timestamp()), int(b.timestamp())) for a, b in sessions(v, day, True)]
    trading = liquid if liquid_only else [
        (int(a.timestamp()), int(b.timestamp())) for a, b in sessions(v, day, False)]
    return liquid, trading


def venue_bounds(v: Venue, day: dt.date, liquid_only: bool) -> tuple[int, int] | None:
    """(first second, second after the last) of the path of ``day`` on ``v``,
    or None if ``v`` has no session that day."""
    _, trading = _spans(v, day, liquid_only)
    return (trading[0][0], trading[-1][1]) if trading else None


def venue_path(rng: np.random.Generator, v: Venue, day: dt.date,
               ohlc: tuple[float, float, float, float], volume: int, prev_close: float,
               tick: float, liquid_only: bool) -> DayPath:
    """The path of trading day ``day`` on ``v`` (see the module docstring);
    ``liquid_only``: no extended hours (indices)."""
    o, h, lo, c = ohlc
    liquid, trading = _spans(v, day, liquid_only)
    start, end = trading[0][0], trading[-1][1]
    rth_s, rth_e = liquid[0][0], liquid[-1][1]
    n_core = sum(b - a for a, b in liquid)
    core = core_path(rng, o, h, lo, c, n_core, tick)
    x = np.linspace(-1.0, 1.0, n_core)
    v_core = alloc(volume, (0.35 + x * x) * rng.gamma(2.0, 0.5, n_core))
    prices = np.empty(end - start)
    volumes = np.zeros(end - start, dtype=np.int64)
    scale = 0.08 * (h - lo) + tick
    if rth_s > start:
        prices[: rth_s - start] = quiet_path(rng, prev_close, o, rth_s - start, scale, tick)
    k = 0
    last = o
    for idx, (a, b) in enumerate(liquid):
        if idx:  # the break since the previous session: no trading, the price held
            prices[liquid[idx - 1][1] - start: a - start] = last
        n = b - a
        prices[a - start: b - start] = core[k: k + n]
        volumes[a - start: b - start] = v_core[k: k + n]
        k += n
        last = float(core[k - 1])
    if end > rth_e:
        prices[rth_e - start:] = quiet_path(rng, c, c, end - rth_e, scale, tick)
    return DayPath(day, start, prices, volumes, rth_s - start, rth_e - start)


def _usd(ohlc: OHLC, direct: bool) -> OHLC:
    """A leg in USD per unit of its currency (inverted for ``USD.X``)."""
    o, h, lo, c = ohlc
    return (o, h, lo, c) if direct else (1.0 / o, 1.0 / lo, 1.0 / h, 1.0 / c)


def cross_series_arrays(legs: Legs, tick: float) -> OHLC:
    """Daily (open, high, low, close) of the cross of two aligned leg series."""
    (bo, bh, bl, bc), (qo, qh, ql, qc) = (_usd(*legs[0]), _usd(*legs[1]))
    o, c = bo / qo, bc / qc
    up = np.hypot(np.log(bh / np.maximum(bo, bc)), np.log(np.minimum(qo, qc) / ql))
    dn = np.hypot(np.log(np.minimum(bo, bc) / bl), np.log(qh / np.maximum(qo, qc)))
    ro, rc = (np.maximum(round_tick(a, tick), tick) for a in (o, c))
    rh = np.maximum(np.maximum(round_tick(np.maximum(o, c) * np.exp(up), tick), ro), rc)
    rl = np.maximum(np.minimum(np.minimum(round_tick(np.minimum(o, c) * np.exp(-dn), tick),
                                          ro), rc), tick)
    return ro, rh, rl, rc


def cross_path(base: DayPath, base_direct: bool, quote: DayPath, quote_direct: bool,
               tick: float) -> DayPath:
    """The cross's path from its legs' paths of the same IDEALPRO session."""
    b = base.prices if base_direct else 1.0 / base.prices
    q = quote.prices if quote_direct else 1.0 / quote.prices
    n = min(len(b), len(q))
    prices = np.maximum(round_tick(b[:n] / q[:n], tick), tick)
    return DayPath(base.day, base.start, prices, np.zeros(n, dtype=np.int64), 0, n)


def cfd_series_arrays(ohlc: OHLC, tick: float) -> OHLC:
    """A CFD's daily (open, high, low, close): its underlying's on its own tick."""
    o, h, lo, c = (np.maximum(round_tick(a, tick), tick) for a in ohlc)
    return o, np.maximum(np.maximum(h, o), c), np.minimum(np.minimum(lo, o), c), c


def cfd_path(under: DayPath, tick: float, with_volume: bool) -> DayPath:
    """A CFD's path: its underlying's, prices on the CFD's tick."""
    prices = np.maximum(round_tick(under.prices, tick), tick)
    volumes = under.volumes if with_volume else np.zeros(len(prices), dtype=np.int64)
    return DayPath(under.day, under.start, prices, volumes, under.rth_start, under.rth_end)
