"""Prices of derived instruments from their underlyings (sim.market.derived, combos)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from decimal import Decimal

import pytest

from twsbridge.protocol.models import ComboLeg
from twsbridge.sim.market import derived_params as params
from twsbridge.sim.market.clock import REPLAY_START
from twsbridge.sim.market.combos import (
    combo_quote,
    historical_volatility,
    open_interest,
    option_volume,
    underlying_implied_vol,
)
from twsbridge.sim.market.derived import (
    DerivedPricer,
    ExpiredContractError,
    expiry_instant,
    last_trade_instant,
    reference_price,
)
from twsbridge.sim.market.option_pricing import year_fraction
from twsbridge.sim.market.prices import PriceModel, Quote
from twsbridge.sim.market.vol_surface import ATM_REFERENCE_YEARS
from twsbridge.sim.reference.derivatives import Derivatives
from twsbridge.sim.reference.futures import FUTURES, continuous_future, listed_futures
from twsbridge.sim.reference.instruments import Instrument, InstrumentBook
from twsbridge.sim.reference.option_chains import expirations
from twsbridge.sim.reference.option_classes import OPTION_CLASSES
from twsbridge.sim.reference.universe import listed_instruments

T0 = REPLAY_START.astimezone(dt.UTC)  # 2013-03-01 15:00 UTC, 10:00 New York
T26 = dt.datetime(2026, 12, 8, 15, 0, tzinfo=dt.UTC)
SPY, AAPL = 756733, 265598


@pytest.fixture(scope="module")
def world() -> tuple[PriceModel, Derivatives, DerivedPricer]:
    return PriceModel(0, InstrumentBook()), Derivatives(listed_instruments()), DerivedPricer(3)


def made(px: float, t: dt.datetime, spread: float = 0.0, close: float | None = None) -> Quote:
    c = px if close is None else close
    return Quote(px - spread / 2, px + spread / 2, px, Decimal(5), Decimal(5), Decimal(1),
                 Decimal(1000), px * 1.01, px * 0.99, c, c, t)


def on_grid(x: float, tick: float) -> bool:
    return abs(x / tick - round(x / tick)) < 1e-6


def bump(q: Quote, h: float) -> Quote:
    return dataclasses.replace(q, bid=q.bid + h, ask=q.ask + h, last=q.last + h)


def opt_tick(inst: Instrument, px: float) -> float:
    return params.option_tick(inst.tradingClass, inst.secType, inst.exchange, inst.minTick, px)


def near_strikes(cls: str, spot: float, n: int = 4) -> list[float]:
    unit = OPTION_CLASSES[cls].strike_unit
    atm = round(spot / unit) * unit
    return [atm + unit * k * 2 for k in range(-n, n + 1)]


# ------------------------------------------------------------------ futures


def test_index_future_is_fair_value_on_its_tick(world):
    _, d, p = world
    spx = made(6800.0, T26, close=6790.0)
    for es in d.futures("ES", T26.date()):
        q = p.quote(es, T26, spx)
        tau = year_fraction(T26, last_trade_instant(es))
        fair = 6800.0 * math.exp((params.rate("USD", 2026) - params.dividend_yield("SPX", "IND"))
                                 * tau)
        assert q.bid <= fair < q.ask and q.ask - q.bid <= 0.25 * 6
        assert on_grid(q.bid, 0.25) and on_grid(q.ask, 0.25) and on_grid(q.last, 0.25)
        assert q.bid <= q.last <= q.ask and q.bidSize >= 1 and q.askSize >= 1
        assert q.close == round(6790.0 * fair / 6800.0 / 0.25) * 0.25
    # 2013: rates under the index's yield, so the future trades below spot
    es13 = listed_futures(FUTURES["ES"], T0.date())[1]
    assert p.future_fair_value(es13, T0, 1500.0) < 1500.0
    assert p.future_fair_value(es13, T0, 1500.0, rate=0.05, dividend_yield=0.0) > 1500.0


def test_contfut_quotes_as_its_front_contract(world):
    _, d, p = world
    for sym, und in (("ES", made(6800.0, T26)), ("CL", made(60.0, T26, 0.01)),
                     ("6E", made(1.16, T26, 0.0001))):
        (cont,) = d.continuous(sym, T26.date())
        fut = next(f for f in d.futures(sym, T26.date()) if f.conId == cont.conId)
        a, b = p.quote(cont, T26, und), p.quote(fut, T26, und)
        assert dataclasses.astuple(a) == dataclasses.astuple(b)


def test_front_month_products_follow_their_term_structure(world):
    _, d, p = world
    for sym, level, sign in (("CL", 60.0, -1), ("GC", 4200.0, 1)):
        product = FUTURES[sym]
        front = continuous_future(product, T26.date())
        und = made(level, T26, product.minTick * 2)
        assert p.future_fair_value(front, T26, level) == pytest.approx(level)
        q = p.quote(front, T26, und)
        assert q.bid <= level < q.ask
        later = [f for f in d.futures(sym, T26.date())
                 if f.lastTradeDateOrContractMonth > front.lastTradeDateOrContractMonth]
        fair = [p.future_fair_value(f, T26, level) for f in later]
        assert len(fair) >= 3
        # CL backwardated (carry r - 6 %), GC in contango (r + 0.2 %): monotone curves
        assert all(sign * (b - a) > 0 for a, b in zip([level, *fair], fair, strict=False))


def test_euro_fx_future_from_spot_with_the_rate_differential(world):
    _, d, p = world
    fut = d.futures("6E", T26.date())[1]
    tau = year_fraction(T26, last_trade_instant(fut))
    diff = params.rate("USD", 2026) - params.rate("EUR", 2026)
    assert p.future_fair_value(fut, T26, 1.16) == pytest.approx(1.16 * math.exp(diff * tau))
    q = p.quote(fut, T26, made(1.16, T26, 0.0001))
    assert on_grid(q.bid, 0.00005) and on_grid(q.ask, 0.00005) and q.bid < q.ask


def test_expired_future_has_no_quote(world):
    _, d, p = world
    es = d.futures("ES", T26.date())[0]
    after = last_trade_instant(es) + dt.timedelta(seconds=1)
    with pytest.raises(ExpiredContractError):
        p.quote(es, after, made(6800.0, after))
    before = last_trade_instant(es) - dt.timedelta(seconds=1)
    assert p.quote(es, before, made(6800.0, before)).bid > 0


# ------------------------------------------------------------------ options


def test_equity_option_quotes_on_their_tick_grid_around_the_model(world):
    pm, d, p = world
    for conid, cls in ((SPY, "SPY"), (AAPL, "AAPL")):
        und = pm.quote(conid, T0)
        s = reference_price(und)
        seen_above_3 = False
        for expiry in expirations(OPTION_CLASSES[cls], T0.date())[1::5]:
            for k in near_strikes(cls, s, 3):
                for right in "CP":
                    o = d.option(cls, expiry, k, right)
                    q = p.quote(o, T0, und)
                    m = p.option_model(o, T0, und)
                    assert q.bid <= m.price <= q.ask and q.bid < q.ask
                    for px in (q.bid, q.ask, q.last, q.close):
                        assert on_grid(px, opt_tick(o, px)), (o.localSymbol, px)
                    lower = max((s - k) if right == "C" else (k - s), 0.0)  # American
                    assert q.bid >= lower - opt_tick(o, lower) + 1e-9
                    assert q.low <= q.last <= q.high
                    seen_above_3 |= q.ask >= 3.0
        assert seen_above_3
    assert opt_tick(d.option("AAPL", dt.date(2013, 3, 15), 450.0, "C"), 3.2) == 0.05
    assert opt_tick(d.option("SPY", dt.date(2013, 3, 15), 150.0, "C"), 3.2) == 0.01


def test_option_quote_is_deterministic_and_seeded(world):
    pm, d, _ = world
    und = pm.quote(SPY, T0)
    o = d.option("SPY", dt.date(2013, 3, 15), 152.0, "C")
    a, b = DerivedPricer(3).quote(o, T0, und), DerivedPricer(3).quote(o, T0, und)
    assert a == b
    others = {DerivedPricer(s).quote(o, T0, und).bidSize for s in range(6)}
    assert len(others) > 1


def test_index_options_tick_and_european_parity(world):
    _, d, p = world
    t = T26
    spx = made(6800.0, t, close=6790.0)
    expiry = expirations(OPTION_CLASSES["SPX"], t.date())[1]
    for k in near_strikes("SPX", 6800.0):
        c, pu = (d.option("SPX", expiry, k, r) for r in "CP")
        qc, qp = p.quote(c, t, spx), p.quote(pu, t, spx)
        for px in (qc.bid, qc.ask, qp.bid, qp.ask):
            assert on_grid(px, 0.05 if px < 3 else 0.10)
        m = p.option_model(c, t, spx)
        parity = 6800.0 * math.exp(-m.div_yield * m.tau) - k * math.exp(-m.rate * m.tau)
        assert qc.bid - qp.ask <= parity <= qc.ask - qp.bid
        assert p.option_model(pu, t, spx).price - m.price == pytest.approx(-parity, abs=1e-6)


def test_american_parity_bounds_within_the_spread(world):
    pm, d, p = world
    und = pm.quote(SPY, T0)
    s = reference_price(und)
    expiry = expirations(OPTION_CLASSES["SPY"], T0.date())[6]
    for k in near_strikes("SPY", s):
        qc, qp = (p.quote(d.option("SPY", expiry, k, r), T0, und) for r in "CP")
        m = p.option_model(d.option("SPY", expiry, k, "C"), T0, und)
        low = s - m.pv_dividend - k
        high = s - k * math.exp(-m.rate * m.tau)
        assert qc.bid - qp.ask <= high and qc.ask - qp.bid >= low


def test_futures_options_black76_parity_and_underlying(world):
    _, d, p = world
    spx = made(6800.0, T26, close=6790.0)
    es = d.futures("ES", T26.date())[0]
    es_q = p.quote(es, T26, spx)
    f = reference_price(es_q)
    expiry = expirations(OPTION_CLASSES["ES"], T26.date())[0]
    for k in near_strikes("ES", f):
        c, pu = (d.option("ES", expiry, k, r) for r in "CP")
        assert c.underConId == es.conId
        qc, qp = p.quote(c, T26, es_q), p.quote(pu, T26, es_q)
        m = p.option_model(c, T26, es_q)
        parity = math.exp(-m.rate * m.tau) * (f - k)
        assert qc.bid - qp.ask <= parity <= qc.ask - qp.bid
        assert on_grid(qc.ask, 0.05 if qc.ask <= 5 else 0.25)
        assert p.computation(c, T26, es_q, 13).undPrice == f


@pytest.mark.parametrize("case", ["SPY", "SPX", "ES"])
def test_model_delta_is_the_derivative_of_the_price(world, case):
    pm, d, p = world
    if case == "SPY":
        t, und = T0, pm.quote(SPY, T0)
        o = d.option("SPY", expirations(OPTION_CLASSES["SPY"], T0.date())[5],
                     round(reference_price(und)) + 1.0, "P")
    elif case == "SPX":
        t, und = T26, made(6800.0, T26, close=6790.0)
        o = d.option("SPX", expirations(OPTION_CLASSES["SPX"], T26.date())[1], 6850.0, "C")
    else:
        t = T26
        und = p.quote(d.futures("ES", T26.date())[0], T26, made(6800.0, T26, close=6790.0))
        o = d.option("ES", expirations(OPTION_CLASSES["ES"], T26.date())[0], 6800.0, "C")
    s = reference_price(und)
    h = s * 1e-4
    c = p.computation(o, t, und, 13)
    up, down = (p.option_model(o, t, bump(und, x), ).price for x in (h, -h))
    assert c.delta == pytest.approx((up - down) / (2 * h), rel=1e-3, abs=1e-5)
    assert 0.05 < abs(c.delta) < 0.95
    # the quote's mid follows over a move of many ticks
    big = s * 0.004
    mids = [(q.bid + q.ask) / 2 for q in (p.quote(o, t, bump(und, x)) for x in (big, -big))]
    spread = max(q.ask - q.bid for q in (p.quote(o, t, bump(und, x)) for x in (big, -big)))
    # central difference: no gamma term; each mid is within half a spread of the model
    assert abs((mids[0] - mids[1]) / (2 * big) - c.delta) <= spread / (2 * big) + 1e-3


def test_computations_are_consistent_with_the_quote(world):
    pm, d, p = world
    und = pm.quote(AAPL, T0)
    s = reference_price(und)
    expiry = expirations(OPTION_CLASSES["AAPL"], T0.date())[3]
    for k in near_strikes("AAPL", s, 2):
        o = d.option("AAPL", expiry, k, "C")
        q = p.quote(o, T0, und)
        bid, ask, last, model = (p.computation(o, T0, und, kind) for kind in (10, 11, 12, 13))
        assert (bid.optPrice, ask.optPrice, last.optPrice) == (q.bid, q.ask, q.last)
        assert q.bid <= model.optPrice <= q.ask
        assert model.undPrice == bid.undPrice == s
        assert bid.impliedVol is not None and ask.impliedVol is not None
        assert bid.impliedVol <= model.impliedVol <= ask.impliedVol
        m = p.option_model(o, T0, und)
        assert model.impliedVol == m.vol and model.pvDividend == pytest.approx(
            s * (1 - math.exp(-m.div_yield * m.tau)))
        # the bid's implied vol reprices the bid
        (g,) = m.greeks_at([bid.impliedVol])
        assert g.price == pytest.approx(q.bid, abs=1e-6)
        assert p.computation(o, T0, und, 80) == dataclasses.replace(bid, tickType=80)
    with pytest.raises(ValueError):
        p.computation(o, T0, und, 14)


def test_no_bid_has_no_implied_vol(world):
    pm, d, p = world
    und = pm.quote(SPY, T0)
    o = d.option("SPY", dt.date(2013, 3, 1), 170.0, "C")  # far out, expiring today
    q = p.quote(o, T0, und)
    assert q.bid == 0.0 and q.bidSize == 0 and q.ask > 0
    c = p.computation(o, T0, und, 10)
    assert c.impliedVol is None and c.delta is None and c.gamma is None and c.optPrice is None
    assert c.undPrice == reference_price(und)


def test_expired_and_am_settled_options(world):
    pm, d, p = world
    und = pm.quote(SPY, T0)
    o = d.option("SPY", dt.date(2013, 3, 1), 150.0, "C")
    end = last_trade_instant(o)
    assert end == dt.datetime(2013, 3, 1, 16, 0, tzinfo=end.tzinfo)
    for fn in (lambda: p.quote(o, end, und), lambda: p.computation(o, end, und, 13)):
        with pytest.raises(ExpiredContractError):
            fn()
    spx = d.option("SPX", dt.date(2013, 3, 16), 1500.0, "C")  # AM-settled monthly
    settle = expiry_instant(spx)
    assert settle.astimezone(dt.UTC) > last_trade_instant(spx).astimezone(dt.UTC)
    assert settle.date() == dt.date(2013, 3, 16)


# ------------------------------------------------------------------ combos


def test_vertical_spread_combo_from_its_legs(world):
    pm, d, p = world
    und = pm.quote(SPY, T0)
    expiry = expirations(OPTION_CLASSES["SPY"], T0.date())[2]
    a, b = d.option("SPY", expiry, 150.0, "C"), d.option("SPY", expiry, 153.0, "C")
    qa, qb = p.quote(a, T0, und), p.quote(b, T0, und)
    legs = [(ComboLeg(a.conId, 1, "BUY", "SMART"), qa), (ComboLeg(b.conId, 2, "SELL", "SMART"),
                                                          qb)]
    c = combo_quote(legs, T0)
    assert c.bid == pytest.approx(qa.bid - 2 * qb.ask)
    assert c.ask == pytest.approx(qa.ask - 2 * qb.bid)
    assert c.last == pytest.approx(qa.last - 2 * qb.last)
    assert c.bid < c.ask
    assert c.bidSize == min(qa.bidSize, qb.askSize // 2)
    assert c.askSize == min(qa.askSize, qb.bidSize // 2)
    flipped = combo_quote([(dataclasses.replace(leg, action="SELL" if leg.action == "BUY"
                                                else "BUY"), q) for leg, q in legs], T0)
    assert flipped.bid == pytest.approx(-c.ask) and flipped.ask == pytest.approx(-c.bid)
    with pytest.raises(ValueError):
        combo_quote([(ComboLeg(a.conId, 0, "BUY"), qa)], T0)
    with pytest.raises(ValueError):
        combo_quote([], T0)


# ------------------------------------------------------------------ generic ticks


def test_underlying_implied_vol_is_the_surface_atm_30_day(world):
    pm, d, p = world
    spy = pm.instrument(SPY)
    iv = underlying_implied_vol(p, spy, T0)
    surface = p.surface("SPY", "STK", SPY, T0)
    assert iv == pytest.approx(float(surface.atm_vol(ATM_REFERENCE_YEARS)))
    assert 0.16 * math.exp(-0.08) <= iv <= 0.16 * math.exp(0.08)
    assert underlying_implied_vol(DerivedPricer(3), spy, T0) == iv
    es = d.futures("ES", T26.date())[0]
    assert underlying_implied_vol(p, es, T26) == p.atm_vol("ES", "FUT", es.conId, T26)


def test_option_volume_grows_and_open_interest_is_daily(world):
    pm, _, p = world
    spy = pm.instrument(SPY)
    early, late = T0 - dt.timedelta(minutes=20), T0 + dt.timedelta(hours=5)
    v0, v1 = option_volume(p, spy, early), option_volume(p, spy, late)
    assert v0[0] < v1[0] and v0[1] < v1[1] and v1[1] > v1[0]  # index ETF: more puts
    assert open_interest(p, spy, early) == open_interest(p, spy, late)
    assert open_interest(p, spy, T0) != open_interest(p, spy, T0 + dt.timedelta(days=1))
    unknown = dataclasses.replace(spy, symbol="ZZZZ")
    assert option_volume(p, unknown, T0) == (0, 0) == open_interest(p, unknown, T0)


def test_historical_volatility_of_closes(world):
    pm, _, _ = world
    closes = [100.0 * math.exp(0.01 * (k % 2)) for k in range(40)]  # returns +-1 %
    hv = historical_volatility(closes)
    r = [0.01 * (-1) ** k for k in range(30)]
    sd = math.sqrt(sum(x * x for x in r) / 29 - (sum(r) / 30) ** 2 * 30 / 29)
    assert hv == pytest.approx(sd * math.sqrt(252))
    assert historical_volatility([100.0, 101.0]) is None
    real = historical_volatility(pm.series(AAPL).close.tolist())
    assert real is not None and 0.05 < real < 1.0


def test_deep_in_the_money_bids_are_not_below_intrinsic(world):
    pm, d, p = world
    for conid, cls in ((SPY, "SPY"), (AAPL, "AAPL")):
        und = pm.quote(conid, T0)
        s = reference_price(und)
        unit = OPTION_CLASSES[cls].strike_unit
        for expiry in expirations(OPTION_CLASSES[cls], T0.date())[:3]:
            for k, right in ((round(s * 0.85 / unit) * unit, "C"),
                             (round(s * 1.15 / unit) * unit, "P")):
                o = d.option(cls, expiry, k, right)
                q = p.quote(o, T0, und)
                intrinsic = (s - k) if right == "C" else (k - s)
                tick = opt_tick(o, intrinsic)
                assert q.bid >= math.floor(intrinsic / tick + 1e-9) * tick - 1e-9
                assert q.bid <= p.option_model(o, T0, und).price <= q.ask


def test_underlying_conid_names_the_quote_to_pass(world):
    pm, d, p = world
    es, cl, eu = (d.futures(s, T26.date())[1] for s in ("ES", "CL", "6E"))
    assert p.underlying_conid(es, T26) == 416904  # SPX
    assert p.underlying_conid(eu, T26) == 12087792 == pm.instrument(12087792).conId
    assert p.underlying_conid(cl, T26) == continuous_future(FUTURES["CL"], T26.date()).conId
    fdax = d.futures("FDAX", T26.date())[0]
    assert p.underlying_conid(fdax, T26) in {i.conId for i in listed_instruments()
                                             if i.symbol == "DAX" and i.secType == "IND"}
    o = d.option("SPY", dt.date(2013, 3, 15), 150.0, "C")
    assert p.underlying_conid(o, T0) == SPY
    with pytest.raises(ValueError):
        p.underlying_conid(pm.instrument(SPY), T0)


def test_quotes_hold_within_a_second(world):
    pm, d, p = world
    und = pm.quote(SPY, T0)
    o = d.option("SPY", dt.date(2013, 3, 15), 152.0, "P")
    later = T0 + dt.timedelta(microseconds=700_000)
    a, b = p.quote(o, T0, und), DerivedPricer(3).quote(o, later, und)
    assert b.time == later and dataclasses.replace(b, time=T0) == a
    assert p.computations(o, later, und) == DerivedPricer(3).computations(o, T0, und)
    es = d.futures("ES", T26.date())[0]
    spx = made(6800.0, T26)
    assert p.quote(es, T26 + dt.timedelta(microseconds=999_999), spx).bid == p.quote(
        es, T26, spx).bid
