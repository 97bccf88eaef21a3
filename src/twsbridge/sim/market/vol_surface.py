"""Implied-volatility surfaces of the simulated market: smile, skew and term structure.

A pure, deterministic function of a few parameters per underlying class; the option
model (:mod:`twsbridge.sim.market.option_pricing`) prices with the vol it gives.

Smile
    SSVI (Gatheral and Jacquier, "Arbitrage-free SVI volatility surfaces",
    Quantitative Finance 14(1), 2014, section 4) with the power-law ``phi``::

        w(k, T)   = theta/2 * (1 + rho*phi*k + sqrt((phi*k + rho)**2 + 1 - rho**2))
        phi(theta) = eta / (theta**gamma * (1 + theta)**(1 - gamma))

    ``k = log(K/F)`` is log-moneyness against the forward, ``w = sigma**2 * T`` total
    implied variance, ``theta(T) = w(0, T)`` the at-the-money total variance. With
    ``gamma = 1/2`` and small ``theta``, ``phi*k ~ eta * k / (sigma_atm * sqrt(T))``:
    the smile is a function of the moneyness ``log(K/F)/sqrt(T)`` (:func:`moneyness`)
    in units of ATM vol, as traders quote it. ``rho < 0`` tilts it into a put skew,
    ``eta`` sets its curvature and slope (ATM skew ``d sigma/dk = rho*phi*sigma/2``).

No arbitrage
    * Butterfly (call prices convex in strike): guaranteed when
      ``0 < gamma <= 1/2`` and ``eta * (1 + |rho|) <= 2`` (Gatheral-Jacquier,
      corollary 4.1 and the power-law remark); :class:`SmileParams` enforces it.
    * Calendar (total variance non-decreasing in ``T`` at every ``k``): guaranteed
      by an increasing ``theta(T)`` and ``theta*phi(theta)`` increasing with
      ``d(theta*phi)/d theta <= phi`` (their theorem 4.1), both true for this
      ``phi`` and the term structure below.

ATM term structure
    ``theta(T) = a**2 * (T + (m**2 - 1) * tau * (1 - exp(-T/tau)))``: instantaneous
    forward variance relaxes from ``(m*a)**2`` at ``T = 0`` to ``a**2`` with time
    constant ``tau`` (years), so ``d theta/dT > 0`` for every ``m > 0``. ``m`` is
    ``term_ratio`` (short-dated over long-dated ATM vol: < 1 upward sloping, > 1
    inverted). ``a`` is solved so the ATM vol at 30 calendar days equals
    ``atm_vol``, the level IB quotes as its 30-day implied volatility (tick 24).

Vols for ``T`` under one hour use ``T = 1 hour`` (the SSVI wings steepen without
bound as ``T -> 0``; an option that close to expiry is priced by its intrinsic value
anyway).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

__all__ = [
    "ATM_REFERENCE_YEARS",
    "MIN_SMILE_YEARS",
    "SMILE_PRESETS",
    "SmileParams",
    "VolSurface",
    "moneyness",
    "preset_for_sec_type",
]

FloatArray = npt.NDArray[np.float64]

ATM_REFERENCE_YEARS = 30.0 / 365.0
"""Expiry at which :attr:`SmileParams.atm_vol` is the ATM implied vol (30 calendar days)."""
MIN_SMILE_YEARS = 1.0 / (365.0 * 24.0)
"""Shortest expiry the smile is evaluated at (one hour); shorter ones use it."""


@dataclass(frozen=True, slots=True)
class SmileParams:
    """Parameters of one underlying's implied-volatility surface.

    ``atm_vol``: ATM (``K = F``) implied vol at 30 calendar days, annualised decimal.
    ``rho``: skew, in (-1, 1); negative for a put skew. ``eta``: smile amplitude, > 0.
    ``gamma``: decay of the smile with ATM total variance, in (0, 0.5].
    ``term_ratio``: ATM vol at ``T -> 0`` over ATM vol at ``T -> inf`` (> 0).
    ``term_tau``: years over which the term structure moves between the two (> 0).
    Raises ValueError outside these ranges or when ``eta * (1 + |rho|) > 2``
    (the no-butterfly-arbitrage condition).
    """

    atm_vol: float
    rho: float
    eta: float
    gamma: float = 0.5
    term_ratio: float = 1.0
    term_tau: float = 0.5

    def __post_init__(self) -> None:
        if not self.atm_vol > 0:
            raise ValueError("atm_vol must be positive")
        if not -1.0 < self.rho < 1.0:
            raise ValueError("rho must be in (-1, 1)")
        if not 0.0 < self.gamma <= 0.5:
            raise ValueError("gamma must be in (0, 0.5]")
        if not self.eta > 0 or self.eta * (1.0 + abs(self.rho)) > 2.0:
            raise ValueError("eta must be positive with eta * (1 + |rho|) <= 2")
        if not self.term_ratio > 0 or not self.term_tau > 0:
            raise ValueError("term_ratio and term_tau must be positive")

    def with_atm_vol(self, atm_vol: float) -> SmileParams:
        """The same smile anchored to another 30-day ATM level."""
        return replace(self, atm_vol=atm_vol)


SMILE_PRESETS: dict[str, SmileParams] = {
    # equity index (SPX, NDX, RUT): steep put skew, ATM vol rising with expiry
    "index": SmileParams(atm_vol=0.18, rho=-0.7, eta=1.1, term_ratio=0.8, term_tau=0.5),
    # single stock: higher level, milder put skew, flatter term structure
    "stock": SmileParams(atm_vol=0.30, rho=-0.35, eta=0.9, term_ratio=1.0, term_tau=0.5),
    # FX pair: low level, near-symmetric smile
    "fx": SmileParams(atm_vol=0.08, rho=-0.05, eta=0.7, term_ratio=0.9, term_tau=1.0),
    # commodity (energy, metals, grains): mild call skew, inverted term structure
    "commodity": SmileParams(atm_vol=0.30, rho=0.15, eta=0.9, term_ratio=1.15, term_tau=0.3),
}
"""Default smile per underlying class: ``index``, ``stock``, ``fx``, ``commodity``."""

_SEC_TYPE_CLASS = {"IND": "index", "STK": "stock", "CASH": "fx", "CMDTY": "commodity",
                   "FUT": "commodity"}


def preset_for_sec_type(sec_type: str) -> SmileParams:
    """The default smile for an underlying of TWS ``secType`` (IND, STK, CASH, CMDTY, FUT).

    ``FUT`` maps to ``commodity``; pass ``SMILE_PRESETS["index"]`` for index futures.
    Raises KeyError for other types.
    """
    return SMILE_PRESETS[_SEC_TYPE_CLASS[sec_type.upper()]]


def moneyness(strike: npt.ArrayLike, forward: npt.ArrayLike, time_years: npt.ArrayLike
              ) -> FloatArray:
    """``log(K/F) / sqrt(T)`` elementwise (``T`` floored at :data:`MIN_SMILE_YEARS`)."""
    t = np.maximum(np.asarray(time_years, dtype=np.float64), MIN_SMILE_YEARS)
    k = np.log(np.asarray(strike, dtype=np.float64) / np.asarray(forward, dtype=np.float64))
    return np.asarray(k / np.sqrt(t), dtype=np.float64)


class VolSurface:
    """The SSVI surface of one underlying (module docstring); vectorised over arrays."""

    __slots__ = ("_a2", "params")

    def __init__(self, params: SmileParams) -> None:
        self.params = params
        t_ref = ATM_REFERENCE_YEARS
        self._a2 = params.atm_vol**2 * t_ref / self._shape(t_ref)

    def _shape(self, t: FloatArray | float) -> FloatArray:
        p = self.params
        t_arr = np.asarray(t, dtype=np.float64)
        return np.asarray(
            t_arr + (p.term_ratio**2 - 1.0) * p.term_tau * -np.expm1(-t_arr / p.term_tau),
            dtype=np.float64,
        )

    def atm_total_variance(self, time_years: npt.ArrayLike) -> FloatArray:
        """ATM total implied variance ``theta(T) = sigma_atm(T)**2 * T`` (years)."""
        t = np.maximum(np.asarray(time_years, dtype=np.float64), MIN_SMILE_YEARS)
        return np.asarray(self._a2 * self._shape(t), dtype=np.float64)

    def atm_vol(self, time_years: npt.ArrayLike) -> FloatArray:
        """ATM (``K = F``) implied vol at expiry ``T`` years, annualised decimal."""
        t = np.maximum(np.asarray(time_years, dtype=np.float64), MIN_SMILE_YEARS)
        return np.asarray(np.sqrt(self.atm_total_variance(t) / t), dtype=np.float64)

    def total_variance(self, log_moneyness: npt.ArrayLike, time_years: npt.ArrayLike
                       ) -> FloatArray:
        """SSVI total implied variance ``w(k, T)`` at ``k = log(K/F)``, arrays broadcast."""
        p = self.params
        k = np.asarray(log_moneyness, dtype=np.float64)
        theta = self.atm_total_variance(time_years)
        phi = p.eta / (theta**p.gamma * (1.0 + theta) ** (1.0 - p.gamma))
        pk = phi * k
        root = np.sqrt((pk + p.rho) ** 2 + 1.0 - p.rho**2)
        return np.asarray(0.5 * theta * (1.0 + p.rho * pk + root), dtype=np.float64)

    def implied_vol(self, strike: npt.ArrayLike, forward: npt.ArrayLike,
                    time_years: npt.ArrayLike) -> FloatArray:
        """Implied vol (annualised decimal) for ``strike`` against ``forward`` at ``T``.

        ``forward`` is the underlying's forward to the expiry: the future's price for
        futures options, ``(spot - pvDividend) * exp((r - q) * T)`` for equity options.
        """
        t = np.maximum(np.asarray(time_years, dtype=np.float64), MIN_SMILE_YEARS)
        k = np.log(np.asarray(strike, dtype=np.float64) / np.asarray(forward, dtype=np.float64))
        return np.asarray(np.sqrt(self.total_variance(k, t) / t), dtype=np.float64)

    def implied_vol_at_moneyness(self, x: npt.ArrayLike, time_years: npt.ArrayLike
                                 ) -> FloatArray:
        """Implied vol at moneyness ``x = log(K/F)/sqrt(T)`` (:func:`moneyness`) and ``T``."""
        t = np.maximum(np.asarray(time_years, dtype=np.float64), MIN_SMILE_YEARS)
        k = np.asarray(x, dtype=np.float64) * np.sqrt(t)
        return np.asarray(np.sqrt(self.total_variance(k, t) / t), dtype=np.float64)

    def atm_skew(self, time_years: float) -> float:
        """``d sigma / d log(K/F)`` at the money, at ``T`` years (negative: put skew)."""
        p = self.params
        theta = float(self.atm_total_variance(time_years))
        phi = p.eta / (theta**p.gamma * (1.0 + theta) ** (1.0 - p.gamma))
        sigma = math.sqrt(theta / max(time_years, MIN_SMILE_YEARS))
        return float(p.rho * phi * sigma / 2.0)
