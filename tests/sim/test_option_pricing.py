"""The simulator's option model against QuantLib, and the smile's no-arbitrage properties.

Tolerances: European values (BSM and Black-76: price and every greek) agree with
QuantLib to ``|ours - ql| <= REL * |ql| + ABS * scale``, ``REL = 1e-9``, ``ABS = 1e-12``,
``scale`` the underlying price for price, vega, theta and rho, 1 for delta and
``1/S`` for gamma: both sides evaluate the same closed forms. Implied vols come back
to ``1e-9 + 1e-13 * price / vega`` (what a price known to 1e-13 pins the vol to).
American (Barone-Adesi-Whaley) prices agree with QuantLib's BAW engine to
``2e-6 * strike`` (QuantLib's critical-price tolerance is ``1e-6 * strike``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import QuantLib as ql
from hypothesis import given, settings
from hypothesis import strategies as st

from twsbridge.sim.market.american import (
    american_greeks,
    american_greeks_vec,
    american_price_vec,
)
from twsbridge.sim.market.option_pricing import (
    VOL_MAX,
    VOL_MIN,
    FuturesOptionInputs,
    GreeksArrays,
    OptionGreeks,
    OptionInputs,
    Right,
    black76_greeks,
    black76_greeks_vec,
    black76_implied_vol,
    black76_implied_vol_vec,
    bsm_forward,
    bsm_greeks,
    bsm_greeks_vec,
    bsm_implied_vol,
    bsm_implied_vol_vec,
    expiry_datetime,
    norm_cdf,
    option_computation,
    pv_dividends,
    year_fraction,
)
from twsbridge.sim.market.vol_surface import (
    ATM_REFERENCE_YEARS,
    SMILE_PRESETS,
    SmileParams,
    VolSurface,
    moneyness,
    preset_for_sec_type,
)

Grid = dict[str, np.ndarray]
REL = 1e-9
ABS = 1e-12

TODAY = ql.Date(15, 1, 2025)
DC = ql.Actual365Fixed()

SPOTS = (80.0, 100.0, 125.0)
STRIKES = (60.0, 95.0, 100.0, 110.0, 150.0)
VOLS = (0.05, 0.2, 0.6, 1.5)
RATES = (-0.01, 0.0, 0.05)
YIELDS = (0.0, 0.03)
DAYS = (1, 30, 182, 730)


def _close(ours: np.ndarray, ref: np.ndarray, scale: np.ndarray | float) -> None:
    bound = REL * np.abs(ref) + ABS * np.asarray(scale)
    err = np.abs(ours - ref)
    worst = int(np.argmax(err - bound))
    assert np.all(err <= bound), (worst, ours.flat[worst], ref.flat[worst])


class _QlBsm:
    """One QuantLib European option per (right, strike, days) on shared quotes."""

    def __init__(self) -> None:
        ql.Settings.instance().evaluationDate = TODAY
        self.spot, self.rate = ql.SimpleQuote(100.0), ql.SimpleQuote(0.0)
        self.div, self.vol = ql.SimpleQuote(0.0), ql.SimpleQuote(0.2)
        self.process = process = ql.BlackScholesMertonProcess(
            ql.QuoteHandle(self.spot),
            ql.YieldTermStructureHandle(ql.FlatForward(TODAY, ql.QuoteHandle(self.div), DC)),
            ql.YieldTermStructureHandle(ql.FlatForward(TODAY, ql.QuoteHandle(self.rate), DC)),
            ql.BlackVolTermStructureHandle(
                ql.BlackConstantVol(TODAY, ql.NullCalendar(), ql.QuoteHandle(self.vol), DC)),
        )
        engine = ql.AnalyticEuropeanEngine(process)
        self.options: dict[tuple[bool, float, int], ql.VanillaOption] = {}
        for call, k, days in itertools.product((True, False), STRIKES, DAYS):
            opt = ql.VanillaOption(
                ql.PlainVanillaPayoff(ql.Option.Call if call else ql.Option.Put, k),
                ql.EuropeanExercise(TODAY + days))
            opt.setPricingEngine(engine)
            self.options[call, k, days] = opt


@pytest.fixture(scope="module")
def bsm_grid() -> Grid:
    """The full grid priced by QuantLib: inputs and reference outputs, flat arrays."""
    q = _QlBsm()
    cols: dict[str, list[float]] = {n: [] for n in (
        "call", "s", "k", "t", "v", "r", "y", "price", "delta", "gamma", "vega", "theta", "rho")}
    for s, v, r, y in itertools.product(SPOTS, VOLS, RATES, YIELDS):
        q.spot.setValue(s)
        q.vol.setValue(v)
        q.rate.setValue(r)
        q.div.setValue(y)
        for (call, k, days), opt in q.options.items():
            for name, val in (("call", call), ("s", s), ("k", k), ("t", days / 365.0),
                              ("v", v), ("r", r), ("y", y)):
                cols[name].append(float(val))
            cols["price"].append(opt.NPV())
            cols["delta"].append(opt.delta())
            cols["gamma"].append(opt.gamma())
            cols["vega"].append(opt.vega() / 100.0)
            cols["theta"].append(opt.thetaPerDay())
            cols["rho"].append(opt.rho() / 100.0)
    grid = {n: np.array(c) for n, c in cols.items()}
    grid["call"] = grid["call"].astype(bool)
    return grid


def _ours(grid: Grid) -> GreeksArrays:
    return bsm_greeks_vec(grid["call"], grid["s"], grid["k"], grid["t"], grid["v"],
                          grid["r"], grid["y"])


# ----------------------------------------------------------------------------- BSM


def test_bsm_price_and_every_greek_match_quantlib_over_the_grid(bsm_grid: Grid) -> None:
    g = _ours(bsm_grid)
    s = bsm_grid["s"]
    assert len(s) == 2 * len(SPOTS) * len(STRIKES) * len(VOLS) * len(RATES) * len(YIELDS) * len(
        DAYS)  # calls and puts, the whole grid
    _close(g.price, bsm_grid["price"], s)
    _close(g.delta, bsm_grid["delta"], 1.0)
    _close(g.gamma, bsm_grid["gamma"], 1.0 / s)
    _close(g.vega, bsm_grid["vega"], s)
    _close(g.theta, bsm_grid["theta"], s)
    _close(g.rho, bsm_grid["rho"], s)


def test_scalar_api_equals_the_vector_api_and_quantlib(bsm_grid: Grid) -> None:
    for i in range(0, len(bsm_grid["s"]), 97):
        inputs = OptionInputs(
            "C" if bsm_grid["call"][i] else "P", bsm_grid["s"][i], bsm_grid["k"][i],
            bsm_grid["t"][i], bsm_grid["v"][i], bsm_grid["r"][i], bsm_grid["y"][i])
        g = bsm_greeks(inputs)
        assert isinstance(g, OptionGreeks)
        assert g.price == pytest.approx(bsm_grid["price"][i], rel=REL, abs=ABS * inputs.spot)
        assert g.vega == pytest.approx(bsm_grid["vega"][i], rel=REL, abs=ABS * inputs.spot)
        assert g.theta == pytest.approx(bsm_grid["theta"][i], rel=REL, abs=ABS * inputs.spot)


def test_units_are_vega_per_vol_point_and_theta_per_calendar_day() -> None:
    base = OptionInputs("C", 100.0, 105.0, 0.25, 0.3, 0.04, 0.01)
    g = bsm_greeks(base)
    bumped_vol = bsm_greeks(OptionInputs("C", 100.0, 105.0, 0.25, 0.31, 0.04, 0.01)).price
    a_day_later = bsm_greeks(OptionInputs("C", 100.0, 105.0, 0.25 - 1 / 365, 0.3, 0.04, 0.01))
    bumped_rate = bsm_greeks(OptionInputs("C", 100.0, 105.0, 0.25, 0.3, 0.05, 0.01)).price
    assert bumped_vol - g.price == pytest.approx(g.vega, rel=2e-2)
    assert a_day_later.price - g.price == pytest.approx(g.theta, rel=2e-2)
    assert bumped_rate - g.price == pytest.approx(g.rho, rel=2e-2)


def test_recorded_tws_model_greeks_have_these_units_and_the_theta_floor() -> None:
    """A real TWS ``modelGreeks`` tick of an INTC put (printed by ib_insync from a live
    TWS, published as test data on GitHub): 2020-09-10 08:31:25 UTC, expiry 2020-09-11,
    strike 48, underlying 49.42, impliedVol 0.35880 -> optPrice 0.053340, delta
    -0.098650, gamma 0.15421, vega 0.0053115, theta -0.053340 (= -optPrice)."""
    t = year_fraction(dt.datetime(2020, 9, 10, 8, 31, 25, tzinfo=dt.UTC),
                      expiry_datetime(dt.date(2020, 9, 11)))
    g = bsm_greeks(OptionInputs("P", 49.42, 48.0, t, 0.35879614859202597, 0.001))
    tick = option_computation(g, 0.35879614859202597, 49.42)
    assert tick.optPrice == pytest.approx(0.05333963493983114, rel=0.01)
    assert tick.delta == pytest.approx(-0.09864962435456381, rel=0.01)
    assert tick.gamma == pytest.approx(0.15421188676731404, rel=0.01)
    assert tick.vega == pytest.approx(0.005311501648670655, rel=0.05)  # not x100
    assert g.theta < -g.price  # the one-day decay exceeds the whole value ...
    assert tick.theta == -tick.optPrice  # ... so TWS reports -optPrice


def test_option_computation_passes_theta_through_when_the_floor_does_not_bind() -> None:
    g = bsm_greeks(OptionInputs("C", 100.0, 100.0, 0.5, 0.2, 0.03))
    tick = option_computation(g, 0.2, 100.0, pv_dividend=1.25)
    assert tick.theta == g.theta < 0
    assert (tick.optPrice, tick.vega, tick.pvDividend, tick.undPrice) == (
        g.price, g.vega, 1.25, 100.0)


def test_pv_dividend_is_subtracted_from_spot_as_quantlibs_dividend_engine_does() -> None:
    ql.Settings.instance().evaluationDate = TODAY
    spot, r, q, v, k = 100.0, 0.04, 0.0, 0.25, 100.0  # QuantLib escrows at r - q: q = 0
    dividends = [(ql.Date(14, 2, 2025), 0.8), (ql.Date(15, 5, 2025), 0.8),
                 (ql.Date(15, 8, 2025), 0.9)]  # the last one after expiry
    expiry = ql.Date(15, 7, 2025)
    t = DC.yearFraction(TODAY, expiry)
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        ql.YieldTermStructureHandle(ql.FlatForward(TODAY, q, DC)),
        ql.YieldTermStructureHandle(ql.FlatForward(TODAY, r, DC)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(TODAY, ql.NullCalendar(), v, DC)))
    schedule = ql.DividendVector([d for d, _ in dividends], [a for _, a in dividends])
    pv = pv_dividends([(DC.yearFraction(TODAY, d), a) for d, a in dividends], r, t)
    assert pv == pytest.approx(0.8 * math.exp(-r * 30 / 365) + 0.8 * math.exp(-r * 120 / 365))
    rights: tuple[tuple[Right, Any], ...] = (("C", ql.Option.Call), ("P", ql.Option.Put))
    for right, ql_type in rights:
        opt = ql.VanillaOption(ql.PlainVanillaPayoff(ql_type, k), ql.EuropeanExercise(expiry))
        opt.setPricingEngine(ql.AnalyticDividendEuropeanEngine(process, schedule))
        g = bsm_greeks(OptionInputs(right, spot, k, t, v, r, q, pv_dividend=pv))
        assert g.price == pytest.approx(opt.NPV(), rel=REL)
        assert g.delta == pytest.approx(opt.delta(), rel=REL)
        assert g.gamma == pytest.approx(opt.gamma(), rel=REL)
        assert g.vega == pytest.approx(opt.vega() / 100.0, rel=REL)


def test_put_call_parity_holds_over_the_grid(bsm_grid: Grid) -> None:
    calls = bsm_greeks_vec(True, bsm_grid["s"], bsm_grid["k"], bsm_grid["t"], bsm_grid["v"],
                           bsm_grid["r"], bsm_grid["y"], 2.0)
    puts = bsm_greeks_vec(False, bsm_grid["s"], bsm_grid["k"], bsm_grid["t"], bsm_grid["v"],
                          bsm_grid["r"], bsm_grid["y"], 2.0)
    t, r, y = bsm_grid["t"], bsm_grid["r"], bsm_grid["y"]
    parity = (bsm_grid["s"] - 2.0) * np.exp(-y * t) - bsm_grid["k"] * np.exp(-r * t)
    _close(calls.price - puts.price, parity, bsm_grid["s"])
    _close(calls.delta - puts.delta, np.exp(-y * t), 1.0)
    _close(calls.gamma, puts.gamma, 1.0 / bsm_grid["s"])
    _close(calls.vega, puts.vega, bsm_grid["s"])


def test_expired_options_are_worth_their_intrinsic_value() -> None:
    g = bsm_greeks_vec(np.array([True, True, False, False]), 100.0,
                       np.array([90.0, 110.0, 90.0, 110.0]), 0.0, 0.3, 0.05)
    assert g.price.tolist() == [10.0, 0.0, 0.0, 10.0]
    assert g.delta.tolist() == [1.0, 0.0, 0.0, -1.0]
    assert g.gamma.tolist() == g.vega.tolist() == g.theta.tolist() == [0.0] * 4


@pytest.mark.parametrize("bad", [
    {"spot": 0.0}, {"strike": -1.0}, {"time_years": -0.1}, {"vol": -0.2},
    {"pv_dividend": 100.0}, {"right": "X"}])
def test_invalid_inputs_raise(bad: dict[str, Any]) -> None:
    args: dict[str, Any] = {"right": "C", "spot": 100.0, "strike": 100.0, "time_years": 0.5,
                            "vol": 0.2}
    args.update(bad)
    with pytest.raises(ValueError):
        bsm_greeks(OptionInputs(**args))
    with pytest.raises(ValueError):
        american_greeks(OptionInputs(**args))


def test_norm_cdf_is_accurate_in_the_tails() -> None:
    for x in (-38.0, -10.0, -1.0, 0.0, 2.5, 8.0):
        assert float(norm_cdf(x)) == pytest.approx(ql.CumulativeNormalDistribution()(x),
                                                   rel=1e-13, abs=1e-300)


# ----------------------------------------------------------------------------- Black-76


def test_black76_matches_quantlibs_black_formula_and_calculator() -> None:
    ql.Settings.instance().evaluationDate = TODAY
    forwards = (2623.5, 100.0, 4.2)
    for f, k_rel, v, r, days, call in itertools.product(
            forwards, (0.7, 0.97, 1.0, 1.05, 1.4), (0.08, 0.3, 0.9), (0.0, 0.045),
            (1, 45, 400), (True, False)):
        k, t = f * k_rel, days / 365.0
        ql_type = ql.Option.Call if call else ql.Option.Put
        sd, disc = v * math.sqrt(t), math.exp(-r * t)
        calc = ql.BlackCalculator(ql.PlainVanillaPayoff(ql_type, k), f, sd, disc)
        g = black76_greeks(FuturesOptionInputs("C" if call else "P", f, k, t, v, r))
        tol: dict[str, Any] = {"rel": REL, "abs": ABS * f}
        assert g.price == pytest.approx(ql.blackFormula(ql_type, k, f, sd, disc), **tol)
        assert g.price == pytest.approx(calc.value(), **tol)
        assert g.delta == pytest.approx(calc.deltaForward(), rel=REL, abs=ABS)
        assert g.gamma == pytest.approx(calc.gammaForward(), rel=REL, abs=ABS / f)
        assert g.vega == pytest.approx(calc.vega(t) / 100.0, **tol)


def test_black76_theta_and_rho_match_quantlib_on_a_black_process() -> None:
    """QuantLib's Black process carries the future at the risk-free rate (dividend
    curve = risk-free curve); its theta holds the future, and rho + dividendRho is the
    rate sensitivity with the future held, Black-76's ``-T * price``."""
    ql.Settings.instance().evaluationDate = TODAY
    fwd, rate, vol = ql.SimpleQuote(0.0), ql.SimpleQuote(0.0), ql.SimpleQuote(0.0)
    process = ql.BlackProcess(
        ql.QuoteHandle(fwd),
        ql.YieldTermStructureHandle(ql.FlatForward(TODAY, ql.QuoteHandle(rate), DC)),
        ql.BlackVolTermStructureHandle(
            ql.BlackConstantVol(TODAY, ql.NullCalendar(), ql.QuoteHandle(vol), DC)))
    engine = ql.AnalyticEuropeanEngine(process)
    for f, k, v, r, days, call in itertools.product(
            (80.0, 2623.5), (75.0, 100.0, 2500.0), (0.15, 0.6), (0.0, 0.05), (3, 90, 700),
            (True, False)):
        fwd.setValue(f)
        rate.setValue(r)
        vol.setValue(v)
        opt = ql.VanillaOption(
            ql.PlainVanillaPayoff(ql.Option.Call if call else ql.Option.Put, k),
            ql.EuropeanExercise(TODAY + days))
        opt.setPricingEngine(engine)
        g = black76_greeks(FuturesOptionInputs("C" if call else "P", f, k, days / 365, v, r))
        tol: dict[str, Any] = {"rel": REL, "abs": ABS * f}
        assert g.price == pytest.approx(opt.NPV(), **tol)
        assert g.delta == pytest.approx(opt.delta(), rel=REL, abs=ABS)
        assert g.theta == pytest.approx(opt.thetaPerDay(), **tol)
        assert g.rho == pytest.approx((opt.rho() + opt.dividendRho()) / 100.0, **tol)


def test_black76_put_call_parity_and_the_recorded_gold_option_floor() -> None:
    f, t, r = 2623.5, 1.54 / 365, 0.045
    ks = np.linspace(2000.0, 3200.0, 61)
    calls = black76_greeks_vec(True, f, ks, t, 0.222, r)
    puts = black76_greeks_vec(False, f, ks, t, 0.222, r)
    _close(calls.price - puts.price, math.exp(-r * t) * (f - ks), f)
    # A real TWS tick of the COMEX gold 2475 put (2024-09-22, expiry 2024-09-23, future
    # 2623.5, impliedVol 0.222): optPrice 1.67e-4 and theta == -optPrice.
    g = black76_greeks(FuturesOptionInputs("P", f, 2475.0, t, 0.22200803203321115, r))
    tick = option_computation(g, 0.222, f)
    assert g.theta < -g.price and tick.theta == -tick.optPrice
    assert 0 < tick.optPrice < 1e-3


# ----------------------------------------------------------------------------- implied vol


def test_implied_vol_round_trip_over_the_grid(bsm_grid: Grid) -> None:
    g = _ours(bsm_grid)
    iv = bsm_implied_vol_vec(g.price, bsm_grid["call"], bsm_grid["s"], bsm_grid["k"],
                             bsm_grid["t"], bsm_grid["r"], bsm_grid["y"])
    # the vol is recovered to what the price pins it down to: a price known to 1e-13
    # relative (a few hundred ulps) fixes the vol to 1e-13 * price / vega (per 1.00)
    t, r, y = bsm_grid["t"], bsm_grid["r"], bsm_grid["y"]
    informative = (g.price > 1e-250) & (g.vega * 100.0 > 1e-6 * g.price)
    assert informative.sum() > 0.75 * len(iv)
    assert not np.isnan(iv[informative]).any()
    vol_err = np.abs(iv - bsm_grid["v"])[informative]
    pinned = g.price[informative] / (g.vega[informative] * 100.0)
    assert np.all(vol_err <= 1e-9 + 1e-13 * pinned)
    back = bsm_greeks_vec(bsm_grid["call"], bsm_grid["s"], bsm_grid["k"], t,
                          np.where(np.isnan(iv), 0.2, iv), r, y).price
    solved = ~np.isnan(iv)
    _close(back[solved], g.price[solved], bsm_grid["s"][solved] * 1e3)


def test_implied_vol_is_none_outside_the_no_arbitrage_bounds() -> None:
    base = OptionInputs("C", 100.0, 90.0, 0.5, 0.0, 0.05, 0.02)
    fwd_intrinsic = 100.0 * math.exp(-0.02 * 0.5) - 90.0 * math.exp(-0.05 * 0.5)
    for price in (-1.0, 0.0, fwd_intrinsic, fwd_intrinsic - 0.01, 100.0 * math.exp(-0.01),
                  150.0, math.nan, math.inf):
        assert bsm_implied_vol(price, base) is None, price
    put = OptionInputs("P", 100.0, 90.0, 0.5, 0.0, 0.05, 0.02)
    assert bsm_implied_vol(90.0 * math.exp(-0.025), put) is None  # the discounted strike
    tiny = bsm_implied_vol(1e-300, put)  # far out of the money: a price, not None
    assert tiny is not None and VOL_MIN < tiny < 0.01
    tiny_price = bsm_greeks(OptionInputs("P", 100.0, 90.0, 0.5, tiny, 0.05, 0.02)).price
    assert tiny_price == pytest.approx(1e-300, rel=1e-9)
    atm = OptionInputs("P", 100.0, 100.0, 0.5, 0.0, 0.02, 0.02)
    at_vol_min = bsm_greeks(OptionInputs("P", 100.0, 100.0, 0.5, VOL_MIN, 0.02, 0.02)).price
    assert bsm_implied_vol(0.5 * at_vol_min, atm) is None  # below what VOL_MIN gives
    assert bsm_implied_vol(at_vol_min, atm) == pytest.approx(VOL_MIN, rel=1e-6)
    expired = OptionInputs("C", 100.0, 90.0, 0.0, 0.0)
    assert bsm_implied_vol(10.5, expired) is None
    fop = FuturesOptionInputs("P", 50.0, 55.0, 0.25, 0.0, 0.03)
    assert black76_implied_vol(4.0, fop) is None  # below e^{-rT}(K - F)
    assert black76_implied_vol(5.5, fop) is not None


def test_implied_vol_agrees_with_quantlibs_solver() -> None:
    ql.Settings.instance().evaluationDate = TODAY
    q = _QlBsm()
    q.spot.setValue(100.0)
    q.rate.setValue(0.03)
    q.div.setValue(0.01)
    for (call, k, days), opt in q.options.items():
        q.vol.setValue(0.35)
        price = opt.NPV()
        if days == 1 and k in (60.0, 150.0):
            continue  # no time value left for either solver
        ql_iv = opt.impliedVolatility(price, q.process, 1e-12, 500, VOL_MIN, VOL_MAX)
        ours = bsm_implied_vol(price, OptionInputs(
            "C" if call else "P", 100.0, k, days / 365, 0.0, 0.03, 0.01))
        assert ours == pytest.approx(ql_iv, abs=1e-8)
        assert ours == pytest.approx(0.35, rel=1e-7)


@settings(max_examples=150, deadline=None)
@given(
    f=st.floats(1.0, 5000.0),
    k_rel=st.floats(0.5, 2.0),
    v=st.floats(0.02, 3.0),
    r=st.floats(-0.02, 0.1),
    days=st.integers(1, 1500),
    call=st.booleans(),
)
def test_black76_implied_vol_round_trip(
    f: float, k_rel: float, v: float, r: float, days: int, call: bool
) -> None:
    t, k = days / 365.0, f * k_rel
    price = float(black76_greeks_vec(call, f, k, t, v, r).price)
    iv = float(black76_implied_vol_vec(price, call, f, k, t, r))
    vega = float(black76_greeks_vec(call, f, k, t, v, r).vega)
    if price > 1e-250 and vega * 100.0 > 1e-6 * price:  # as in the grid test
        assert abs(iv - v) <= 1e-9 + 1e-13 * price / (vega * 100.0)
    if not math.isnan(iv):
        back = float(black76_greeks_vec(call, f, k, t, iv, r).price)
        assert back == pytest.approx(price, rel=1e-9, abs=1e-12 * f)


# ----------------------------------------------------------------------------- American


def _ql_american(engine_of: Any, cases: list[tuple[bool, float, float, int, float, float, float]],
                 greeks: tuple[str, ...] = ()) -> list[dict[str, float]]:
    """QuantLib American options priced by ``engine_of(process)``: NPV and ``greeks``
    per case, read before the next case moves the shared quotes."""
    ql.Settings.instance().evaluationDate = TODAY
    q = _QlBsm()
    engine = engine_of(q.process)
    out = []
    for call, s, k, days, v, r, y in cases:
        q.spot.setValue(s)
        q.vol.setValue(v)
        q.rate.setValue(r)
        q.div.setValue(y)
        opt = ql.VanillaOption(
            ql.PlainVanillaPayoff(ql.Option.Call if call else ql.Option.Put, k),
            ql.AmericanExercise(TODAY, TODAY + days))
        opt.setPricingEngine(engine)
        out.append({"price": opt.NPV()} | {n: getattr(opt, n)() for n in greeks})
    return out


def test_american_matches_quantlibs_barone_adesi_whaley() -> None:
    cases = list(itertools.product((True, False), (90.0, 110.0), (70.0, 100.0, 140.0),
                                   (7, 182, 1000), (0.15, 0.5), (0.0, 0.03, 0.08), (0.0, 0.04)))
    ref = np.array([o["price"] for o in _ql_american(
        ql.BaroneAdesiWhaleyApproximationEngine, cases)])
    call, s, k, days, v, r, y = (np.array(c) for c in zip(*cases, strict=True))
    ours = american_price_vec(call.astype(bool), s, k, days / 365.0, v, r, y)
    # QuantLib stops its search for the critical price at a residual of 1e-6 * strike
    assert np.all(np.abs(ours - ref) <= 2e-6 * k)


def test_american_is_european_plus_a_premium_only_where_exercise_can_pay() -> None:
    k = np.array([70.0, 100.0, 140.0])
    for call, r, y in itertools.product((True, False), (-0.01, 0.0, 0.05), (0.0, 0.03)):
        amer = american_price_vec(call, 100.0, k, 0.75, 0.3, r, y)
        euro = bsm_greeks_vec(call, 100.0, k, 0.75, 0.3, r, y).price
        assert np.all(amer >= euro) and np.all(amer >= np.maximum((1 if call else -1) *
                                                                  (100.0 - k), 0.0))
        if (call and y <= 0) or (not call and r <= 0):
            assert amer.tolist() == euro.tolist()
        else:
            assert np.all(amer > euro)


def test_american_against_quantlibs_finite_differences_at_the_money() -> None:
    """The approximation's own error: BAW against a 400x400 finite-difference grid."""
    cases = list(itertools.product((True, False), (100.0,), (100.0,), (30, 365), (0.2, 0.5),
                                   (0.08,), (0.04,)))
    ref = _ql_american(lambda p: ql.FdBlackScholesVanillaEngine(p, 400, 400), cases,
                       ("delta", "gamma", "theta"))
    for (call, s, k, days, v, r, y), fd in zip(cases, ref, strict=True):
        g = american_greeks(OptionInputs("C" if call else "P", s, k, days / 365, v, r, y))
        assert g.price == pytest.approx(fd["price"], rel=0.01)
        assert g.delta == pytest.approx(fd["delta"], abs=0.015)
        assert g.gamma == pytest.approx(fd["gamma"], rel=0.05)
        assert g.theta == pytest.approx(fd["theta"] / 365.0, rel=0.05)


def test_american_greeks_without_early_exercise_are_the_closed_forms() -> None:
    k = np.array([80.0, 100.0, 120.0])
    fd = american_greeks_vec(True, 100.0, k, 0.5, 0.25, 0.04, 0.0)
    exact = bsm_greeks_vec(True, 100.0, k, 0.5, 0.25, 0.04, 0.0)
    np.testing.assert_allclose(fd.price, exact.price, rtol=1e-14)
    np.testing.assert_allclose(fd.delta, exact.delta, atol=1e-7)
    np.testing.assert_allclose(fd.gamma, exact.gamma, rtol=1e-4)
    for name in ("vega", "theta", "rho"):
        np.testing.assert_allclose(getattr(fd, name), getattr(exact, name), rtol=1e-6)


# ----------------------------------------------------------------------------- time


def test_year_fraction_counts_exact_seconds_across_a_dst_change() -> None:
    friday = expiry_datetime(dt.date(2024, 3, 8))
    monday = expiry_datetime(dt.date(2024, 3, 11))
    assert friday.utcoffset() == dt.timedelta(hours=-5)
    assert monday.utcoffset() == dt.timedelta(hours=-4)
    assert (monday.hour, monday.tzinfo) == (16, ZoneInfo("America/New_York"))
    assert year_fraction(friday, monday) == 71 * 3600 / (365 * 86400)
    assert year_fraction(monday, friday) == 0.0
    london = expiry_datetime(dt.date(2024, 3, 8), dt.time(16, 30), "Europe/London")
    assert london.astimezone(dt.UTC).hour == 16
    with pytest.raises(ValueError):  # naive datetimes are refused
        year_fraction(dt.datetime(2024, 1, 1), expiry_datetime(dt.date(2024, 1, 19)))


def test_pv_dividends_counts_only_those_before_expiry() -> None:
    assert pv_dividends([(-0.01, 1.0), (0.1, 1.0), (0.6, 1.0)], 0.05, 0.5) == pytest.approx(
        math.exp(-0.005))
    assert bsm_forward(100.0, 0.5, 0.05, 0.01, 1.0) == pytest.approx(99.0 * math.exp(0.02))


# ----------------------------------------------------------------------------- smile

EXPIRIES = np.array([1 / 365, 7 / 365, 30 / 365, 91 / 365, 0.5, 1.0, 2.0, 3.0])


@pytest.mark.parametrize("name", sorted(SMILE_PRESETS))
def test_smile_is_positive_smooth_and_anchored(name: str) -> None:
    surface = VolSurface(SMILE_PRESETS[name])
    atm = SMILE_PRESETS[name].atm_vol
    assert float(surface.implied_vol(100.0, 100.0, ATM_REFERENCE_YEARS)) == pytest.approx(atm)
    assert float(surface.atm_vol(ATM_REFERENCE_YEARS)) == pytest.approx(atm, rel=1e-14)
    x = np.linspace(-4.0, 4.0, 801) * atm
    for t in EXPIRIES:
        vols = surface.implied_vol_at_moneyness(x, t)
        assert np.all(np.isfinite(vols)) and np.all(vols > 0)
        assert vols.max() < 4 * atm
        # smooth: second differences are small and bounded, no kinks
        d2 = np.diff(vols, 2)
        assert np.max(np.abs(d2)) < 1e-3 * atm
    # anchoring scales the whole surface's ATM level
    doubled = VolSurface(SMILE_PRESETS[name].with_atm_vol(2 * atm))
    assert float(doubled.atm_vol(ATM_REFERENCE_YEARS)) == pytest.approx(2 * atm)


@pytest.mark.parametrize("name", sorted(SMILE_PRESETS))
def test_smile_has_no_butterfly_arbitrage(name: str) -> None:
    """Undiscounted call prices fall with strike and are convex in strike."""
    surface = VolSurface(SMILE_PRESETS[name])
    f = 100.0
    for t in EXPIRIES:
        sd = float(surface.atm_vol(t)) * math.sqrt(t)
        ks = f * np.exp(np.linspace(-6 * sd, 6 * sd, 1201))
        vols = surface.implied_vol(ks, f, t)
        calls = black76_greeks_vec(True, f, ks, t, vols, 0.0).price
        slope = np.diff(calls) / np.diff(ks)
        assert np.all(slope <= 1e-12) and np.all(slope >= -1 - 1e-12)
        assert np.all(np.diff(slope) >= -1e-10), (name, t)


@pytest.mark.parametrize("name", sorted(SMILE_PRESETS))
def test_smile_has_no_calendar_arbitrage(name: str) -> None:
    """Total implied variance at fixed log(K/F) increases with expiry."""
    surface = VolSurface(SMILE_PRESETS[name])
    ts = np.linspace(1 / 365, 3.0, 400)
    for k in np.linspace(-1.0, 1.0, 41):
        w = surface.total_variance(k, ts)
        assert np.all(np.diff(w) > 0), (name, k)


def test_smile_shapes_per_underlying_class() -> None:
    skews = {n: VolSurface(p).atm_skew(ATM_REFERENCE_YEARS) for n, p in SMILE_PRESETS.items()}
    assert skews["index"] < skews["stock"] < skews["fx"] < 0 < skews["commodity"]
    index, fx = VolSurface(SMILE_PRESETS["index"]), VolSurface(SMILE_PRESETS["fx"])
    x, t = np.array([-2.0, -1.0, 1.0, 2.0]), ATM_REFERENCE_YEARS
    # index: OTM puts (x < 0) far above OTM calls; fx: nearly symmetric
    index_vols = index.implied_vol_at_moneyness(x * 0.18, t)
    assert np.all(index_vols[:2] - index_vols[:1:-1] > 0.05)
    fx_vols = fx.implied_vol_at_moneyness(x * 0.08, t)
    fx_put, fx_call = fx_vols[:2], fx_vols[:1:-1]
    assert np.all(np.abs(fx_put - fx_call) < 0.05 * 0.08)
    assert np.all(fx_put > 0.08) and np.all(fx_call > 0.08)  # a smile, not a skew
    np.testing.assert_allclose(moneyness(110.0, 100.0, 0.25), math.log(1.1) / 0.5)
    assert preset_for_sec_type("ind") is SMILE_PRESETS["index"]
    assert preset_for_sec_type("STK") is SMILE_PRESETS["stock"]


@pytest.mark.parametrize("bad", [
    {"atm_vol": 0.0}, {"rho": -1.0}, {"gamma": 0.7}, {"eta": 1.5, "rho": -0.5},
    {"term_ratio": 0.0}, {"term_tau": -1.0}])
def test_smile_params_outside_the_arbitrage_free_ranges_raise(bad: dict[str, float]) -> None:
    args = {"atm_vol": 0.2, "rho": -0.5, "eta": 1.0}
    args.update(bad)
    with pytest.raises(ValueError):
        SmileParams(**args)


def test_a_chain_priced_off_the_smile_round_trips_through_implied_vol() -> None:
    surface = VolSurface(SMILE_PRESETS["index"].with_atm_vol(0.16))
    s, r, q, t = 5000.0, 0.045, 0.013, 45 / 365
    f = bsm_forward(s, t, r, q)
    ks = np.arange(3500.0, 6005.0, 5.0)
    vols = surface.implied_vol(ks, f, t)
    is_call = ks >= f
    g = bsm_greeks_vec(is_call, s, ks, t, vols, r, q)
    iv = bsm_implied_vol_vec(g.price, is_call, s, ks, t, r, q)
    np.testing.assert_allclose(iv, vols, rtol=1e-8)
    assert np.all(np.diff(g.price[is_call]) < 0) and np.all(np.diff(g.price[~is_call]) > 0)
