"""Option pricing model of the simulated TWS: prices, greeks and implied volatility.

Pure functions, no I/O. The simulator answers ``tickOptionComputation`` (message 21,
tick types 10-13 and 80-83), ``calculateImpliedVolatility`` (outgoing 54) and
``calculateOptionPrice`` (outgoing 55) from it.

Models
    * Equity and index options (secType ``OPT``): European Black-Scholes-Merton with a
      continuous dividend yield ``q`` *and* discrete dividends given as one present
      value ``pvDividend`` subtracted from spot (the escrowed-dividend model): the
      model runs on ``S* = spot - pvDividend`` with cost of carry ``b = r - q``.
      TWS reports that present value in the ``pvDividend`` field.
    * Futures options (secType ``FOP``): Black-76 on the future price ``F``
      (cost of carry ``b = 0``), discounted at ``r``.
    * American exercise: the functions here are European. For calls without
      dividends that is exact; American puts and dividend-paying calls are worth an
      early-exercise premium more, which :mod:`twsbridge.sim.market.american`
      approximates (Barone-Adesi-Whaley). TWS's own model for American options is not
      published; the simulator chooses which to quote.

Units (the TWS conventions of ``tickOptionComputation``)
    * ``impliedVol`` and ``vol``: annualised, as a decimal (0.25 is 25 %).
    * ``delta``: d price / d underlying (per 1 currency unit), not multiplied by the
      contract multiplier; ``gamma``: d delta / d underlying.
    * ``vega``: price change per 1 volatility *point* (0.01 of ``vol``), i.e.
      ``dV/dsigma / 100``.
    * ``theta``: price change per *calendar day* of time passing, i.e.
      ``dV/dt / 365`` (negative for a long option that decays).
    * ``rho``: price change per 1 rate point (0.01 of ``rate``); TWS does not report it.
    Evidence: IB's API docs ("Option Greeks") and TWS user guide, as found, do not
    state the units. Real TWS ``modelGreeks`` ticks published as test data on GitHub
    (an INTC put of 2020-09-11, COMEX gold futures options of 2024-09-23) fit these
    units: the INTC put's price, delta and gamma within 1 % and vega within 3 % of
    this model's, where a vega per 1.00 would be 100 times off and a theta per year
    365 times. Both puts show ``theta == -optPrice`` exactly where the one-day decay
    would exceed the option's whole value, so TWS appears to floor theta at
    ``-optPrice``: :func:`option_computation` applies that floor, :class:`OptionGreeks`
    does not.

Time
    Year fractions are ACT/365 on exact seconds (:func:`year_fraction`), the expiry
    being the product's expiry time in its own time zone (:func:`expiry_datetime`,
    16:00 America/New_York for US equity options).

Vectorised variants (``*_vec``) take numpy arrays (broadcast together) so a chain of
hundreds of strikes is priced in one call; the scalar functions wrap them.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

__all__ = [
    "DAYS_PER_YEAR",
    "VOL_MAX",
    "VOL_MIN",
    "FuturesOptionInputs",
    "GreeksArrays",
    "OptionComputation",
    "OptionGreeks",
    "OptionInputs",
    "Right",
    "black76_greeks",
    "black76_greeks_vec",
    "black76_implied_vol",
    "black76_implied_vol_vec",
    "bsm_forward",
    "bsm_greeks",
    "bsm_greeks_vec",
    "bsm_implied_vol",
    "bsm_implied_vol_vec",
    "expiry_datetime",
    "norm_cdf",
    "option_computation",
    "pv_dividends",
    "year_fraction",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Right = Literal["C", "P"]
"""TWS's ``right`` of an option contract: ``"C"`` call, ``"P"`` put."""

DAYS_PER_YEAR = 365.0
"""Calendar days per year: theta is per 1/365 of a year, year fractions ACT/365."""
SECONDS_PER_YEAR = DAYS_PER_YEAR * 86400.0
VOL_MIN = 1e-4
"""Lowest volatility the implied-volatility solver returns (0.01 %)."""
VOL_MAX = 5.0
"""Highest volatility the implied-volatility solver returns (500 %)."""

_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_ERFC = np.frompyfunc(math.erfc, 1, 1)
_TINY_SD = 1e-12  # sigma * sqrt(T) below this: expired / zero-vol limit


def norm_cdf(x: npt.ArrayLike) -> FloatArray:
    """Standard normal CDF, elementwise, to libm's ``erfc`` accuracy (also in the tails)."""
    arr = np.asarray(x, dtype=np.float64)
    return np.asarray(0.5 * _ERFC(-arr / _SQRT2), dtype=np.float64)


def _norm_pdf(x: FloatArray) -> FloatArray:
    return np.asarray(_INV_SQRT_2PI * np.exp(-0.5 * x * x), dtype=np.float64)


def _right_is_call(right: str) -> bool:
    if right in ("C", "CALL"):
        return True
    if right in ("P", "PUT"):
        return False
    raise ValueError(f"right must be 'C' or 'P', not {right!r}")


# --------------------------------------------------------------------------- data classes


@dataclass(frozen=True, slots=True)
class OptionInputs:
    """Inputs of a Black-Scholes-Merton option (equity or index, secType ``OPT``).

    ``spot`` and ``strike`` in the option's currency per underlying unit;
    ``time_years`` to expiry (ACT/365, :func:`year_fraction`); ``vol`` annualised
    decimal; ``rate`` the continuously compounded risk-free rate and ``div_yield``
    the continuous dividend yield, both decimal per year; ``pv_dividend`` the present
    value of the discrete dividends paid before expiry (currency units), subtracted
    from spot (:func:`pv_dividends`).
    """

    right: Right
    spot: float
    strike: float
    time_years: float
    vol: float
    rate: float = 0.0
    div_yield: float = 0.0
    pv_dividend: float = 0.0


@dataclass(frozen=True, slots=True)
class FuturesOptionInputs:
    """Inputs of a Black-76 futures option (secType ``FOP``).

    ``forward`` is the future's price, ``strike`` in the same units; ``time_years``
    to the option's expiry (ACT/365); ``vol`` annualised decimal; ``rate`` the
    continuously compounded rate the premium is discounted at (decimal per year).
    """

    right: Right
    forward: float
    strike: float
    time_years: float
    vol: float
    rate: float = 0.0


@dataclass(frozen=True, slots=True)
class OptionGreeks:
    """Price and greeks of one option, per underlying unit (not times the multiplier).

    ``price`` currency units; ``delta`` per 1 unit of the underlying (spot for
    ``OPT``, future for ``FOP``); ``gamma`` per unit squared; ``vega`` per 1 vol point
    (0.01); ``theta`` per calendar day (1/365 year), unfloored; ``rho`` per 1 rate
    point (0.01) with spot (``OPT``, dividend yield held) or future (``FOP``) held.
    """

    price: float
    delta: float
    gamma: float
    vega: float
    theta: float
    rho: float


@dataclass(frozen=True, slots=True)
class GreeksArrays:
    """:class:`OptionGreeks` for arrays of options (same units, elementwise)."""

    price: FloatArray
    delta: FloatArray
    gamma: FloatArray
    vega: FloatArray
    theta: FloatArray
    rho: FloatArray

    def at(self, i: int) -> OptionGreeks:
        """The greeks of the ``i``-th option (flat index)."""
        return OptionGreeks(
            price=float(self.price.flat[i]), delta=float(self.delta.flat[i]),
            gamma=float(self.gamma.flat[i]), vega=float(self.vega.flat[i]),
            theta=float(self.theta.flat[i]), rho=float(self.rho.flat[i]),
        )


@dataclass(frozen=True, slots=True)
class OptionComputation:
    """The fields of a ``tickOptionComputation`` (message 21), TWS's names and units.

    ``impliedVol`` annualised decimal; ``optPrice`` per underlying unit; ``pvDividend``
    currency units; ``delta``/``gamma`` per underlying unit; ``vega`` per vol point;
    ``theta`` per calendar day, floored at ``-optPrice`` as TWS does; ``undPrice``
    the underlying's price the figures were computed from. (``tickAttrib``, from
    server version 156 on, is the caller's: 0 return-based, 1 price-based. Where no
    implied vol exists, e.g. a bid outside the no-arbitrage bounds, TWS sends its
    "not computed" values instead: -1 for impliedVol, optPrice, pvDividend and
    undPrice, -2 for delta, gamma, vega and theta.)
    """

    impliedVol: float
    delta: float
    optPrice: float
    pvDividend: float
    gamma: float
    vega: float
    theta: float
    undPrice: float


# --------------------------------------------------------------------------- core


def _generalized_bs(
    is_call: npt.ArrayLike,
    spot: npt.ArrayLike,
    strike: npt.ArrayLike,
    time_years: npt.ArrayLike,
    vol: npt.ArrayLike,
    rate: npt.ArrayLike,
    carry: npt.ArrayLike,
    carry_follows_rate: bool,
) -> GreeksArrays:
    """Generalised Black-Scholes (Haug): underlying ``spot`` with cost of carry ``carry``.

    ``carry = r - q`` gives BSM on spot, ``carry = 0`` Black-76 on a future. Raw
    greeks are per 1.00 of vol/rate and per year; the result is in TWS units.
    ``carry_follows_rate``: rho moves ``carry`` with ``rate`` (BSM) or holds it (B76).
    """
    c = np.asarray(is_call, dtype=np.bool_)
    s, k, t, v, r, b = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.float64) for a in (spot, strike, time_years, vol, rate, carry))
    )
    c = np.broadcast_to(c, s.shape)
    if np.any(s <= 0) or np.any(k <= 0):
        raise ValueError("spot (after pvDividend) and strike must be positive")
    if np.any(t < 0) or np.any(v < 0):
        raise ValueError("time_years and vol must not be negative")
    w = np.where(c, 1.0, -1.0)
    sqrt_t = np.sqrt(t)
    sd = v * sqrt_t
    live = sd > _TINY_SD
    sd_safe = np.where(live, sd, 1.0)
    carry_df = np.exp((b - r) * t)  # e^{(b-r)T}
    df = np.exp(-r * t)
    fwd = s * np.exp(b * t)
    d1 = np.where(live, (np.log(fwd / k) + 0.5 * sd_safe * sd_safe) / sd_safe, 0.0)
    d2 = d1 - np.where(live, sd_safe, 0.0)
    n_wd1 = norm_cdf(w * d1)
    n_wd2 = norm_cdf(w * d2)
    pdf1 = _norm_pdf(d1)

    price_live = w * (s * carry_df * n_wd1 - k * df * n_wd2)
    delta_live = w * carry_df * n_wd1
    gamma_live = carry_df * pdf1 / (s * sd_safe)
    vega_live = s * carry_df * pdf1 * sqrt_t
    theta_live = (
        -s * carry_df * pdf1 * v / (2.0 * np.where(live, sqrt_t, 1.0))
        - w * (b - r) * s * carry_df * n_wd1
        - w * r * k * df * n_wd2
    )
    if carry_follows_rate:
        rho_live = w * k * t * df * n_wd2
    else:
        rho_live = -t * price_live

    # limit sigma*sqrt(T) -> 0: discounted forward intrinsic value
    intrinsic = np.maximum(w * (s * carry_df - k * df), 0.0)
    itm = w * (fwd - k) > 0
    delta_dead = np.where(itm, w * carry_df, 0.0)
    theta_dead = np.where(itm, -w * (b - r) * s * carry_df - w * r * k * df, 0.0)
    theta_dead = np.where(t > 0, theta_dead, 0.0)
    rho_dead = np.where(itm, (w * k * t * df) if carry_follows_rate else -t * intrinsic, 0.0)

    def pick(a: FloatArray, b_: FloatArray) -> FloatArray:
        return np.asarray(np.where(live, a, b_), dtype=np.float64)

    return GreeksArrays(
        price=pick(price_live, intrinsic),
        delta=pick(delta_live, delta_dead),
        gamma=pick(gamma_live, np.zeros_like(s)),
        vega=pick(vega_live / 100.0, np.zeros_like(s)),
        theta=pick(theta_live / DAYS_PER_YEAR, theta_dead / DAYS_PER_YEAR),
        rho=pick(rho_live / 100.0, rho_dead / 100.0),
    )


def _spot_ex_dividend(spot: npt.ArrayLike, pv_dividend: npt.ArrayLike) -> FloatArray:
    s = np.asarray(spot, dtype=np.float64) - np.asarray(pv_dividend, dtype=np.float64)
    if np.any(s <= 0):
        raise ValueError("pvDividend must be below spot")
    return np.asarray(s, dtype=np.float64)


def bsm_greeks_vec(
    is_call: npt.ArrayLike,
    spot: npt.ArrayLike,
    strike: npt.ArrayLike,
    time_years: npt.ArrayLike,
    vol: npt.ArrayLike,
    rate: npt.ArrayLike = 0.0,
    div_yield: npt.ArrayLike = 0.0,
    pv_dividend: npt.ArrayLike = 0.0,
) -> GreeksArrays:
    """Black-Scholes-Merton price and greeks for arrays of options (broadcast together).

    ``is_call`` bools; other arguments as in :class:`OptionInputs`. Units as in
    :class:`OptionGreeks` (vega per vol point, theta per calendar day, rho per rate
    point with spot and yield held). ``time_years == 0`` (or ``vol == 0``) gives the
    discounted intrinsic value and its delta, zero gamma and vega.
    Raises ValueError for non-positive ``spot - pv_dividend`` or strike, negative
    time or vol.
    """
    s = _spot_ex_dividend(spot, pv_dividend)
    r = np.asarray(rate, dtype=np.float64)
    b = r - np.asarray(div_yield, dtype=np.float64)
    return _generalized_bs(is_call, s, strike, time_years, vol, r, b, carry_follows_rate=True)


def black76_greeks_vec(
    is_call: npt.ArrayLike,
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    time_years: npt.ArrayLike,
    vol: npt.ArrayLike,
    rate: npt.ArrayLike = 0.0,
) -> GreeksArrays:
    """Black-76 price and greeks of futures options for arrays (broadcast together).

    Delta and gamma are with respect to the future's price; theta holds the future's
    price; rho holds it too (``-T * price`` per 1.00). Units as in :class:`OptionGreeks`.
    Raises ValueError for non-positive forward or strike, negative time or vol.
    """
    return _generalized_bs(
        is_call, forward, strike, time_years, vol, rate, 0.0, carry_follows_rate=False
    )


def bsm_greeks(inputs: OptionInputs) -> OptionGreeks:
    """Black-Scholes-Merton price and greeks of one option (units: :class:`OptionGreeks`)."""
    return bsm_greeks_vec(
        _right_is_call(inputs.right), inputs.spot, inputs.strike, inputs.time_years,
        inputs.vol, inputs.rate, inputs.div_yield, inputs.pv_dividend,
    ).at(0)


def black76_greeks(inputs: FuturesOptionInputs) -> OptionGreeks:
    """Black-76 price and greeks of one futures option (units: :class:`OptionGreeks`)."""
    return black76_greeks_vec(
        _right_is_call(inputs.right), inputs.forward, inputs.strike, inputs.time_years,
        inputs.vol, inputs.rate,
    ).at(0)


# --------------------------------------------------------------------------- implied vol


def _implied_vol_core(
    price: npt.ArrayLike,
    is_call: npt.ArrayLike,
    spot: npt.ArrayLike,
    strike: npt.ArrayLike,
    time_years: npt.ArrayLike,
    rate: npt.ArrayLike,
    carry: npt.ArrayLike,
) -> FloatArray:
    """Safeguarded Newton on [VOL_MIN, VOL_MAX] with bisection fallback; NaN if none."""
    p, s, k, t, r, b = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.float64) for a in (price, spot, strike, time_years, rate, carry))
    )
    c = np.broadcast_to(np.asarray(is_call, dtype=np.bool_), p.shape)
    p, s, k, t, r, b = (np.array(a, dtype=np.float64) for a in (p, s, k, t, r, b))

    df = np.exp(-r * t)
    carry_df = np.exp((b - r) * t)
    fwd = s * np.exp(b * t)
    w = np.where(c, 1.0, -1.0)
    lower = np.maximum(w * (s * carry_df - k * df), 0.0)
    upper = np.where(c, s * carry_df, k * df)
    ok = (t > 0) & np.isfinite(p) & (p > lower) & (p < upper)
    # in the money: solve for the out-of-the-money twin (put-call parity, same vol),
    # whose price has no intrinsic part to swamp it
    itm = w * (fwd - k) > 0
    p_otm = np.where(itm & ok, p - lower, np.where(ok, p, 1.0))
    c_otm = np.where(itm, ~c, c)

    def price_vega(vol: FloatArray, i: npt.NDArray[np.intp]) -> tuple[FloatArray, FloatArray]:
        g = _generalized_bs(c_otm.flat[i], s.flat[i], k.flat[i], t.flat[i], vol, r.flat[i],
                            b.flat[i], carry_follows_rate=True)
        return g.price, g.vega * 100.0

    every = np.arange(p.size)
    # reachable with a vol in the bracket
    p_min, _ = price_vega(np.full(p.size, VOL_MIN), every)
    p_max, _ = price_vega(np.full(p.size, VOL_MAX), every)
    ok &= (p_otm >= p_min.reshape(p.shape)) & (p_otm <= p_max.reshape(p.shape))
    # start at the inflection point of price(vol) (Manaster-Koehler), inside the bracket
    start = np.sqrt(2.0 * np.abs(np.log(fwd / k)) / np.where(t > 0, t, 1.0))
    x_all = np.clip(np.where(start > 0.05, start, 0.3), VOL_MIN, VOL_MAX).ravel()
    # iterate on the still unconverged options only
    i = np.flatnonzero(ok)
    x = x_all[i]
    log_target = np.log(p_otm.flat[i])
    lo = np.full(i.size, VOL_MIN)
    hi = np.full(i.size, VOL_MAX)
    for _ in range(100):
        if i.size == 0:
            break
        f_price, f_vega = price_vega(x, i)
        # Newton on log(price): fast for far out-of-the-money options, whose price
        # is exponentially small in 1/vol
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.log(f_price) - log_target
            step = np.where((f_vega > 0) & (f_price > 0), f * f_price / f_vega, np.inf)
        lo = np.where(f < 0, x, lo)
        hi = np.where(f > 0, x, hi)
        at_root = np.abs(f) <= 4e-16  # price within rounding of the target: keep x
        newton = x - step
        inside = np.isfinite(newton) & (newton >= lo) & (newton <= hi)
        x_new = np.where(at_root, x, np.where(inside, newton, 0.5 * (lo + hi)))
        converged = at_root | (np.abs(x_new - x) <= 1e-12 * x) | (hi - lo <= 1e-12 * x)
        x_all[i] = x_new
        keep = ~converged
        i, x, log_target, lo, hi = i[keep], x_new[keep], log_target[keep], lo[keep], hi[keep]
    return np.asarray(np.where(ok, x_all.reshape(p.shape), np.nan), dtype=np.float64)


def bsm_implied_vol_vec(
    price: npt.ArrayLike,
    is_call: npt.ArrayLike,
    spot: npt.ArrayLike,
    strike: npt.ArrayLike,
    time_years: npt.ArrayLike,
    rate: npt.ArrayLike = 0.0,
    div_yield: npt.ArrayLike = 0.0,
    pv_dividend: npt.ArrayLike = 0.0,
) -> FloatArray:
    """Black-Scholes-Merton implied volatility for arrays of option prices.

    Returns annualised decimal vols in [VOL_MIN, VOL_MAX], NaN where the price is
    outside the no-arbitrage bounds (at or below the discounted intrinsic value, at or
    above the discounted spot for calls / discounted strike for puts), outside what
    vols in [VOL_MIN, VOL_MAX] give, or the option has expired. Converges to about
    1e-13 relative in vol (price to 1e-14 relative) in typically 3-8 iterations.
    """
    s = _spot_ex_dividend(spot, pv_dividend)
    r = np.asarray(rate, dtype=np.float64)
    b = r - np.asarray(div_yield, dtype=np.float64)
    return _implied_vol_core(price, is_call, s, strike, time_years, r, b)


def black76_implied_vol_vec(
    price: npt.ArrayLike,
    is_call: npt.ArrayLike,
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    time_years: npt.ArrayLike,
    rate: npt.ArrayLike = 0.0,
) -> FloatArray:
    """Black-76 implied volatility for arrays of futures-option prices (NaN as in BSM)."""
    return _implied_vol_core(price, is_call, forward, strike, time_years, rate, 0.0)


def _scalar_or_none(a: FloatArray) -> float | None:
    v = float(a.flat[0])
    return None if math.isnan(v) else v


def bsm_implied_vol(price: float, inputs: OptionInputs) -> float | None:
    """Implied vol of one BSM option price, ``inputs.vol`` ignored; None outside bounds.

    Used for ``calculateImpliedVolatility`` (outgoing message 54) and the
    ``impliedVol`` of bid/ask/last option computations (tick types 10-12).
    """
    return _scalar_or_none(bsm_implied_vol_vec(
        price, _right_is_call(inputs.right), inputs.spot, inputs.strike, inputs.time_years,
        inputs.rate, inputs.div_yield, inputs.pv_dividend,
    ))


def black76_implied_vol(price: float, inputs: FuturesOptionInputs) -> float | None:
    """Implied vol of one Black-76 futures-option price, ``inputs.vol`` ignored; None if none."""
    return _scalar_or_none(black76_implied_vol_vec(
        price, _right_is_call(inputs.right), inputs.forward, inputs.strike,
        inputs.time_years, inputs.rate,
    ))


# --------------------------------------------------------------------------- TWS fields


def option_computation(
    greeks: OptionGreeks, implied_vol: float, und_price: float, pv_dividend: float = 0.0
) -> OptionComputation:
    """The ``tickOptionComputation`` fields from a model's greeks.

    ``theta`` is floored at ``-price`` (TWS reports ``theta == -optPrice`` when the
    one-day decay would exceed the option's value, e.g. out-of-the-money options in
    their last day or two); every other field is passed through in
    :class:`OptionGreeks` units, which are TWS's.
    """
    return OptionComputation(
        impliedVol=implied_vol,
        delta=greeks.delta,
        optPrice=greeks.price,
        pvDividend=pv_dividend,
        gamma=greeks.gamma,
        vega=greeks.vega,
        theta=max(greeks.theta, -greeks.price),
        undPrice=und_price,
    )


# --------------------------------------------------------------------------- time, dividends


def year_fraction(start: dt.datetime, end: dt.datetime) -> float:
    """ACT/365 years from ``start`` to ``end`` on exact seconds; 0.0 if ``end`` is past.

    Both must be time-zone aware (ValueError otherwise): the expiry is a wall-clock
    time in the product's zone, the simulator's clock is UTC.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("year_fraction needs time-zone aware datetimes")
    # in UTC: Python subtracts two datetimes sharing a tzinfo as wall-clock times,
    # which would count an hour too many (or few) across a daylight-saving change
    seconds = (end.astimezone(dt.UTC) - start.astimezone(dt.UTC)).total_seconds()
    return max(seconds, 0.0) / SECONDS_PER_YEAR


def expiry_datetime(
    last_trade_date: dt.date,
    local_time: dt.time = dt.time(16, 0),
    time_zone: str = "America/New_York",
) -> dt.datetime:
    """The expiry instant of a contract expiring on ``last_trade_date``.

    ``local_time`` in ``time_zone`` (IANA name); the default is US equity and index
    options' 16:00 America/New_York (``lastTradeDateOrContractMonth`` is the date;
    contract details' ``lastTradeTime`` and ``timeZoneId`` give the rest). Aware
    result; daylight-saving transitions follow the zone's rules.
    """
    return dt.datetime.combine(last_trade_date, local_time, tzinfo=ZoneInfo(time_zone))


def bsm_forward(
    spot: float, time_years: float, rate: float = 0.0, div_yield: float = 0.0,
    pv_dividend: float = 0.0,
) -> float:
    """Forward price of an equity to the expiry: ``(spot - pvDividend) * e^((r - q) T)``.

    The forward the smile (:mod:`twsbridge.sim.market.vol_surface`) is read against.
    """
    return (spot - pv_dividend) * math.exp((rate - div_yield) * time_years)


def pv_dividends(
    dividends: list[tuple[float, float]], rate: float, time_years: float
) -> float:
    """Present value of the discrete dividends paid before expiry (``pvDividend``).

    ``dividends`` are ``(years_until_ex_date, amount)`` pairs, amount in currency per
    share; those with ``0 <= years < time_years`` count, each discounted at the
    continuously compounded ``rate`` from its ex-date. (QuantLib's
    ``AnalyticDividendEuropeanEngine`` discounts at ``r - q`` instead; the two agree
    for the usual ``div_yield = 0`` of a stock with discrete dividends.)
    """
    return math.fsum(
        amount * math.exp(-rate * when)
        for when, amount in dividends
        if 0.0 <= when < time_years
    )
