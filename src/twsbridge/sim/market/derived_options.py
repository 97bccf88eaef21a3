"""The option model of :mod:`twsbridge.sim.market.derived` at one instant:
:class:`OptionModel` (price, greeks, vol, bounds) and batched American greeks and
implied vols (one vectorised Barone-Adesi-Whaley evaluation per call)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twsbridge.sim.market.american import american_price_vec
from twsbridge.sim.market.option_pricing import (
    DAYS_PER_YEAR,
    OptionGreeks,
    black76_greeks_vec,
    black76_implied_vol_vec,
    bsm_greeks_vec,
    bsm_implied_vol_vec,
)
from twsbridge.sim.reference.instruments import Instrument

__all__ = ["FloatList", "OptionModel", "model_greeks"]

FloatList = list[float] | np.ndarray
"""Floats, as a list or a numpy array."""


@dataclass(frozen=True, slots=True)
class OptionModel:
    """The model of one option at one instant.

    ``price`` per underlying unit; ``greeks`` in TWS units (vega per vol point, theta
    per calendar day); ``vol`` the surface vol used; ``und`` the underlying's price;
    ``forward`` its forward to the expiry; ``tau`` years; ``rate``/``div_yield``
    decimals; ``pv_dividend`` currency units; ``lower`` the no-arbitrage lower bound
    (immediate exercise or discounted forward intrinsic value); ``style`` ``"american"``,
    ``"european"`` (BSM) or ``"black76"``; ``premium`` the early-exercise premium
    (American price less the European one at ``vol``; 0 for European styles).
    """

    inst: Instrument
    price: float
    greeks: OptionGreeks
    vol: float
    und: float
    forward: float
    tau: float
    rate: float
    div_yield: float
    pv_dividend: float
    lower: float
    style: str
    premium: float = 0.0

    def _european(self, spots: FloatList, taus: FloatList, vols: FloatList) -> np.ndarray:
        c = self.inst.right == "C"
        s, t, v = (np.asarray(a, dtype=np.float64) for a in (spots, taus, vols))
        if self.style == "black76":
            return black76_greeks_vec(c, s, self.inst.strike, t, v, self.rate).price
        return bsm_greeks_vec(c, s, self.inst.strike, t, v, self.rate, self.div_yield).price

    def price_at(self, spots: FloatList, taus: FloatList, vols: FloatList) -> list[float]:
        """Model prices at other underlying prices, times and vols (same strike and
        right). American: the European price plus this instant's early-exercise
        premium, floored at the exercise value (an approximation for display figures
        such as a session's high and low)."""
        out = self._european(spots, taus, vols)
        if self.style == "american":
            w = 1.0 if self.inst.right == "C" else -1.0
            exercise = np.maximum(w * (np.asarray(spots) - self.inst.strike), 0.0)
            out = np.maximum(out + self.premium, exercise)
        return [float(x) for x in out]

    def greeks_at(self, vols: FloatList) -> list[OptionGreeks]:
        """Price and greeks at other vols (same instant and underlying price)."""
        return model_greeks(self.style, self.inst, self.und, self.tau, vols, self.rate,
                       self.div_yield)

    def implied_vols(self, prices: FloatList) -> list[float | None]:
        """The vols at which the model gives ``prices``; None for a price outside the
        bounds (at or below ``lower``, or beyond what vols in [VOL_MIN, VOL_MAX] give).

        American: European implied vol of the price less the early-exercise premium,
        the premium re-evaluated at that vol and the solve repeated (two rounds; the
        premium's vol sensitivity is small against vega)."""
        c = self.inst.right == "C"
        p = np.asarray(prices, dtype=np.float64)
        ok = (p > self.lower) & (self.tau > 0)
        adjusted = p - self.premium
        iv = np.full(len(p), np.nan)
        for round_ in range(2 if self.style == "american" else 1):
            if self.style == "black76":
                iv = black76_implied_vol_vec(adjusted, c, self.und, self.inst.strike,
                                             self.tau, self.rate)
            else:
                iv = bsm_implied_vol_vec(adjusted, c, self.und, self.inst.strike, self.tau,
                                         self.rate, self.div_yield)
            if self.style != "american" or round_ == 1:
                break
            live = np.isfinite(iv)
            if not live.any():
                break
            v = np.where(live, iv, self.vol)
            amer = american_price_vec(c, self.und, self.inst.strike, self.tau, v, self.rate,
                                      self.div_yield)
            adjusted = p - (amer - self._european([self.und], [self.tau], v.tolist()))
        return [float(x) if okay and math.isfinite(x) else None
                for x, okay in zip(iv.tolist(), ok.tolist(), strict=True)]



def model_greeks(style: str, inst: Instrument, s: float, tau: float, vols: FloatList, r: float,
            q: float) -> list[OptionGreeks]:
    """Price and greeks at each of ``vols``. American: central finite differences of
    Barone-Adesi-Whaley prices with american_greeks_vec's bumps, every bump of every
    vol in one vectorised evaluation."""
    c = inst.right == "C"
    k = inst.strike
    v = np.asarray(vols, dtype=np.float64)
    n = len(v)
    if style == "black76":
        g = black76_greeks_vec(c, s, k, tau, v, r)
        return [g.at(i) for i in range(n)]
    if style == "european":
        g = bsm_greeks_vec(c, s, k, tau, v, r, q)
        return [g.at(i) for i in range(n)]
    ds, dv, dr = 1e-4 * s, 1e-4, 1e-4
    dt_ = min(1e-4, tau / 2.0)
    vd = np.maximum(v - dv, 0.0)
    one = np.ones(n)
    spots = np.concatenate([one * s, one * (s + ds), one * (s - ds), one * s, one * s,
                            one * s, one * s, one * s, one * s])
    taus = np.concatenate([one * tau] * 5 + [one * (tau - dt_), one * (tau + dt_)]
                          + [one * tau] * 2)
    vs = np.concatenate([v, v, v, v + dv, vd, v, v, v, v])
    rs = np.concatenate([one * r] * 7 + [one * (r + dr), one * (r - dr)])
    p0, up, down, vu, vdn, later, earlier, ru, rd = american_price_vec(
        c, spots, k, taus, vs, rs, q).reshape(9, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = np.where(dt_ > 0, (later - earlier) / (2.0 * dt_), 0.0)
    return [OptionGreeks(price=float(p0[i]), delta=float((up[i] - down[i]) / (2 * ds)),
                         gamma=float((up[i] - 2 * p0[i] + down[i]) / (ds * ds)),
                         vega=float((vu[i] - vdn[i]) / (v[i] + dv - vd[i]) / 100.0),
                         theta=float(theta[i] / DAYS_PER_YEAR),
                         rho=float((ru[i] - rd[i]) / (2 * dr) / 100.0)) for i in range(n)]
