"""Prices of derived instruments from their underlyings: futures, CONTFUT, options
(OPT), futures options (FOP); combos (BAG) are in :mod:`.combos`.

Pure and deterministic: a quote is a function of ``(seed, instrument, whole second,
underlying Quote)``. The caller (``PriceModel``) supplies the underlying's Quote at
the same instant; this module never looks prices up itself.

Underlying of each kind (what ``underlying`` must be)
    * ES NQ RTY FDAX futures: the index (``underConId``) spot quote; fair value
      ``spot * exp((r - q) * tau)``.
    * 6E: the EUR.USD spot quote; ``spot * exp((r_USD - r_EUR) * tau)``.
    * CL GC ZN FGBL: the *front-month level* of the product, i.e. a quote of the
      contract :func:`~twsbridge.sim.reference.futures.continuous_future` designates
      on that day (the caller keeps one series per product for it); other months
      follow the term structure of :mod:`.derived_params`.
    * CONTFUT: priced as the FUT contract it designates (same conId).
    * OPT: the stock, ETF or index quote; FOP: the quote of the future it exercises
      into (``underConId``), itself from :meth:`DerivedPricer.quote`. VIX options are
      priced from the VIX index (real ones price off the VIX future of their expiry,
      which the simulator does not list).
    The underlying's price is its mid when it has a two-sided market, else ``last``.

Options
    Model price at the underlying's price: Barone-Adesi-Whaley American for options
    on stocks and ETFs, Black-Scholes-Merton European for index options (continuous
    dividend yield), Black-76 European for futures options (CME options on futures
    are American, but the early-exercise premium of a futures option is small; the
    simulator prices them European). Vol from the SSVI surface of
    :mod:`.vol_surface` at ``(log(K/F_ref), tau)``, the smile *sticky to strike*
    within a day: ``F_ref`` is the forward of the underlying's previous close
    (``Quote.close``), so the reported delta is exactly d(model price)/d(underlying).
    The surface's 30-day ATM level moves by up to +-8 % from day to day (seeded,
    linear within each UTC day). ``pvDividend`` is the present value of the yield's
    dividends, ``S * (1 - exp(-q * tau))``.
    Bid and ask straddle the model price on the class's tick grid
    (:func:`.derived_params.option_tick`), the bid never below the option's lower
    bound rounded down to the grid (immediate exercise value for American options,
    the discounted forward intrinsic value for European ones); an option worth less
    than its bid tick has no bid (bid 0.0, size 0).

Time
    ``tau`` is ACT/365 from ``t`` to the expiry instant: futures and PM-settled
    options at ``lastTradeDateOrContractMonth`` ``lastTradeTime`` in ``timeZoneId``;
    AM-settled options (SPX, NDX, RUT monthlies, VIX) at 08:30 US/Central of
    ``realExpirationDate`` (the opening settlement). From the last trading instant
    on a contract has no quote: :class:`ExpiredContractError`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from twsbridge.sim.market import derived_params as params
from twsbridge.sim.market.derived_options import OptionModel, model_greeks
from twsbridge.sim.market.option_pricing import (
    OptionComputation,
    OptionGreeks,
    option_computation,
    year_fraction,
)
from twsbridge.sim.market.prices import Quote
from twsbridge.sim.market.quoting import mix64_one
from twsbridge.sim.market.vol_surface import VolSurface
from twsbridge.sim.reference.futures import (
    FUTURES,
    FutureProduct,
    continuous_future,
    contract_months,
)
from twsbridge.sim.reference.instruments import Instrument
from twsbridge.sim.reference.option_classes import OPTION_CLASSES

__all__ = [
    "COMPUTATION_KINDS",
    "EUR_USD_CONID",
    "Computation",
    "DerivedPricer",
    "ExpiredContractError",
    "OptionModel",
    "expiry_instant",
    "last_trade_instant",
    "reference_price",
]

COMPUTATION_KINDS = {10: "bid", 11: "ask", 12: "last", 13: "model",
                     80: "bid", 81: "ask", 82: "last", 83: "model"}
"""tickOptionComputation tick types (80-83: the delayed twins of 10-13)."""

EUR_USD_CONID = 12087792
"""IDEALPRO EUR.USD, the underlying of the 6E future."""
_U64 = float(1 << 64)
_DAY = 1.0 / 365.0
_VOL_SWING = 0.08
_MODEL_CACHE_SIZE = 4096


class ExpiredContractError(LookupError):
    """The contract stopped trading (its last trading instant is at or before ``t``):
    TWS has no market data for it."""


def reference_price(q: Quote) -> float:
    """The underlying's price derivatives are computed from: the mid of a two-sided
    market (``0 < bid <= ask``), else ``last``. Raises ValueError if neither is positive."""
    if q.bid > 0 and q.ask >= q.bid:
        return (q.bid + q.ask) / 2.0
    if q.last > 0:
        return q.last
    raise ValueError("underlying quote has no price")


def _at(date_text: str, time_text: str, tz: str) -> dt.datetime:
    day = dt.datetime.strptime(date_text[:8], "%Y%m%d").date()
    hh, mm, *rest = (int(x) for x in (time_text or "16:00:00").split(":"))
    return dt.datetime.combine(day, dt.time(hh, mm, rest[0] if rest else 0),
                               tzinfo=ZoneInfo(tz))


def last_trade_instant(inst: Instrument) -> dt.datetime:
    """When ``inst`` (FUT/CONTFUT/OPT/FOP) stops trading: its last trading day at
    ``lastTradeTime`` in ``timeZoneId`` (aware)."""
    return _at(inst.lastTradeDateOrContractMonth, inst.lastTradeTime, inst.timeZoneId)


def expiry_instant(inst: Instrument) -> dt.datetime:
    """The instant the model's ``tau`` runs to (module docstring: AM settlement at
    08:30 US/Central of ``realExpirationDate``, else :func:`last_trade_instant`)."""
    cls = OPTION_CLASSES.get(inst.tradingClass)
    if cls is not None and cls.am_settled and inst.realExpirationDate:
        return _at(inst.realExpirationDate, "08:30:00", "US/Central")
    return last_trade_instant(inst)


def _unit(h: int, shift: int = 0) -> float:
    """A uniform in [0, 1) from hash bits."""
    return ((h << shift) & ((1 << 64) - 1)) / _U64


@dataclass(frozen=True, slots=True)
class Computation:
    """One tickOptionComputation (message 21) of a quote: the fields of
    :class:`~twsbridge.protocol.catalogue.options.TickOptionComputation` but reqId
    and tickAttrib. None is TWS's "not computed" (-1 / -2 on the wire): a price with
    no implied vol has impliedVol and the greeks None, its optPrice, pvDividend and
    undPrice set."""

    tickType: int
    impliedVol: float | None
    delta: float | None
    optPrice: float | None
    pvDividend: float | None
    gamma: float | None
    vega: float | None
    theta: float | None
    undPrice: float | None


def _grid_floor(x: float, tick: float) -> float:
    return round(math.floor(x / tick + 1e-9) * tick, 10)


def _grid_ceil(x: float, tick: float) -> float:
    return round(math.ceil(x / tick - 1e-9) * tick, 10)


class DerivedPricer:
    """Quotes and option computations of FUT, CONTFUT, OPT and FOP contracts.

    ``seed`` selects the synthetic details (spread widths, sizes, volume noise, the
    daily ATM-vol move); the same seed gives the same figures. Stateless otherwise
    (thread-safe): option models are memoised per (contract, second, underlying
    prices), the dictionary cleared when it holds _MODEL_CACHE_SIZE of them.
    Everything is computed at ``t``'s whole second; a Quote's ``time`` is ``t``.
    """

    def __init__(self, seed: int = 0) -> None:
        if seed < 0:
            raise ValueError("seed must be >= 0")
        self.seed = seed
        self._models: dict[tuple[object, ...], OptionModel] = {}

    # ------------------------------------------------------------ shared helpers

    def _hash(self, conId: int, t: dt.datetime, salt: int = 0) -> int:
        return mix64_one(self.seed + salt, conId, math.floor(t.timestamp()))

    def day_noise(self, key: int, day: int, salt: int) -> float:
        """A uniform in [-1, 1) of (seed, key, day)."""
        return 2.0 * _unit(mix64_one(self.seed * 7 + salt, key, day)) - 1.0

    def atm_vol(self, surface_key: str, secType: str, under_conId: int,
                t: dt.datetime) -> float:
        """The surface's 30-day ATM vol at ``t`` (annualised decimal): the preset's
        level times ``exp(0.08 * z)``, ``z`` in [-1, 1] seeded per (underlying, UTC
        day) and linear within the day."""
        base = params.smile_params(surface_key, secType).atm_vol
        x = t.timestamp() / 86400.0
        day = math.floor(x)
        z0, z1 = (self.day_noise(under_conId, d, 11) for d in (day, day + 1))
        return base * math.exp(_VOL_SWING * (z0 + (x - day) * (z1 - z0)))

    def surface(self, surface_key: str, secType: str, under_conId: int,
                t: dt.datetime) -> VolSurface:
        """The vol surface of an underlying at ``t`` (``surface_key``: its symbol, or a
        future's trading class)."""
        p = params.smile_params(surface_key, secType)
        return VolSurface(p.with_atm_vol(self.atm_vol(surface_key, secType, under_conId, t)))

    @staticmethod
    def session_fraction(inst: Instrument, t: dt.datetime) -> tuple[float, int]:
        """(fraction of the trading day elapsed at ``t`` in [0, 1], the day's ordinal):
        US stock/index options 09:30-16:00 New York; Eurex 08:00-22:00 Berlin; other
        futures and futures options 18:00 (previous day) - 17:00 New York. Used for
        the running volume."""
        if inst.exchange == "EUREX":
            local = t.astimezone(ZoneInfo("Europe/Berlin"))
            start, hours = 8.0, 14.0
        else:
            local = t.astimezone(ZoneInfo("America/New_York"))
            start, hours = (9.5, 6.5) if inst.secType == "OPT" else (-6.0, 23.0)
        clock = local.hour + local.minute / 60.0 + local.second / 3600.0
        day = local.date()
        if start < 0 and clock >= 18.0:
            clock -= 24.0
            day += dt.timedelta(days=1)
        return min(max((clock - start) / hours, 0.0), 1.0), day.toordinal()

    # ------------------------------------------------------------------ futures

    @staticmethod
    def _product(inst: Instrument) -> FutureProduct:
        try:
            return FUTURES[inst.tradingClass]
        except KeyError:
            raise KeyError(f"no futures product {inst.tradingClass!r}") from None

    def future_fair_value(self, inst: Instrument, t: dt.datetime, underlying: float, *,
                          rate: float | None = None, dividend_yield: float | None = None,
                          ) -> float:
        """Fair value of FUT/CONTFUT ``inst`` at ``t`` from the underlying's price
        (module docstring: index spot, EUR.USD spot, or the front-month level).

        ``rate`` overrides the currency's rate; ``dividend_yield`` the index's yield
        (6E: the EUR rate). Raises ExpiredContractError after the last trading
        instant, KeyError for an unknown product.
        """
        end = last_trade_instant(inst)
        if t >= end:
            raise ExpiredContractError(f"{inst.localSymbol} stopped trading at {end}")
        product = self._product(inst)
        tau = year_fraction(t, end)
        r = params.rate(inst.currency, t.year) if rate is None else rate
        tc = product.tradingClass
        if tc in params.INDEX_FUTURES:
            q = (params.dividend_yield(product.underSymbol, "IND") if dividend_yield is None
                 else dividend_yield)
            return underlying * math.exp((r - q) * tau)
        if tc == "6E":
            r_eur = params.rate("EUR", t.year) if dividend_yield is None else dividend_yield
            return underlying * math.exp((r - r_eur) * tau)
        local_day = t.astimezone(ZoneInfo(inst.timeZoneId)).date()
        front = continuous_future(product, local_day)
        tau_front = year_fraction(t, last_trade_instant(front))
        carry = r + params.FUTURE_CARRY[tc]
        return underlying * math.exp(carry * (tau - tau_front))

    def _future_quote(self, inst: Instrument, t: dt.datetime, underlying: Quote,
                      rate: float | None, dividend_yield: float | None) -> Quote:
        product = self._product(inst)

        def fv(x: float) -> float:
            return self.future_fair_value(inst, t, x, rate=rate, dividend_yield=dividend_yield)

        s = reference_price(underlying)
        fair = fv(s)
        tick = inst.minTick
        liq = params.FUTURE_LIQUIDITY[product.tradingClass]
        local_day = t.astimezone(ZoneInfo(inst.timeZoneId)).date()
        months = [f"{y:04d}{m:02d}" for y, m in contract_months(product, local_day)]
        k = months.index(inst.contractMonth) if inst.contractMonth in months else len(months)
        depth = 0.15 ** k
        h = self._hash(inst.conId, t)
        n = 1 + h % (liq.spread + k)
        j = (h >> 20) % n
        bid = round((math.floor(fair / tick + 1e-9) - j) * tick, 10)
        ask = round(bid + n * tick, 10)
        size = max(1, int(liq.size * depth))
        last = min(max(round(round(fair / tick) * tick, 10), bid), ask)

        def level(x: float) -> float:
            return round(round(fv(x) / tick) * tick, 10) if x > 0 else last

        open_, high, low, close = (level(x) for x in (underlying.open, underlying.high,
                                                      underlying.low, underlying.close))
        frac, day = self.session_fraction(inst, t)
        noise = 1.0 + 0.3 * self.day_noise(inst.conId, day, 21)
        volume = int(liq.daily * depth * noise * frac)
        return Quote(bid=bid, ask=ask, last=last,
                     bidSize=Decimal((h >> 33) % size + 1), askSize=Decimal((h >> 45) % size + 1),
                     lastSize=Decimal((h >> 55) % 5 + 1), volume=Decimal(volume),
                     high=max(high, last, open_), low=min(low, last, open_), open=open_,
                     close=close, time=t)

    # ------------------------------------------------------------------ options

    def option_model(self, inst: Instrument, t: dt.datetime, underlying: Quote, *,
                     rate: float | None = None, dividend_yield: float | None = None,
                     ) -> OptionModel:
        """The model of OPT/FOP ``inst`` at ``t`` (module docstring).

        ``rate`` overrides the currency's rate, ``dividend_yield`` the underlying's
        yield (OPT only). Raises ExpiredContractError from the last trading instant
        on, KeyError for an unknown option class, ValueError for a priceless
        underlying quote.
        """
        t = t.replace(microsecond=0)
        key = (inst.conId, t, underlying.bid, underlying.ask, underlying.last, underlying.close,
               rate, dividend_yield)
        cached = self._models.get(key)
        if cached is not None:
            return cached
        model = self._option_model(inst, t, underlying, rate, dividend_yield)
        if len(self._models) >= _MODEL_CACHE_SIZE:
            self._models.clear()
        self._models[key] = model
        return model

    def _option_model(self, inst: Instrument, t: dt.datetime, underlying: Quote,
                      rate: float | None, dividend_yield: float | None) -> OptionModel:
        end = last_trade_instant(inst)
        if t >= end:
            raise ExpiredContractError(f"{inst.localSymbol} stopped trading at {end}")
        cls = OPTION_CLASSES[inst.tradingClass]
        s = reference_price(underlying)
        ref = underlying.close if underlying.close > 0 else s
        tau = year_fraction(t, expiry_instant(inst))
        r = params.rate(inst.currency, t.year) if rate is None else rate
        k = inst.strike
        w = 1.0 if inst.right == "C" else -1.0
        if inst.secType == "FOP":
            q, style, pv = 0.0, "black76", 0.0
            surface = self.surface(cls.future, "FUT", inst.underConId, t)
            f, f_ref = s, ref
            lower = math.exp(-r * tau) * max(w * (s - k), 0.0)
        else:
            q = (params.dividend_yield(inst.underSymbol, inst.underSecType)
                 if dividend_yield is None else dividend_yield)
            style = "american" if inst.underSecType == "STK" else "european"
            surface = self.surface(inst.underSymbol, inst.underSecType, inst.underConId, t)
            growth = math.exp((r - q) * tau)
            f, f_ref = s * growth, ref * growth
            pv = s * -math.expm1(-q * tau)
            if style == "american":
                lower = max(w * (s - k), 0.0)
            else:
                lower = max(w * (s * math.exp(-q * tau) - k * math.exp(-r * tau)), 0.0)
        vol = float(surface.implied_vol(k, f_ref, tau))
        greeks = model_greeks(style, inst, s, tau, [vol], r, q)[0]
        model = OptionModel(inst, greeks.price, greeks, vol, s, f, tau, r, q, pv,
                            min(lower, greeks.price), style)
        if style == "american":
            european = float(model._european([s], [tau], [vol])[0])
            model = dataclasses.replace(model, premium=max(greeks.price - european, 0.0))
        return model

    def _option_quote(self, inst: Instrument, t: dt.datetime, underlying: Quote,
                      rate: float | None, dividend_yield: float | None,
                      m: OptionModel | None = None) -> Quote:
        if m is None:
            m = self.option_model(inst, t, underlying, rate=rate,
                                  dividend_yield=dividend_yield)
        theo = m.price
        liq = params.option_liquidity(inst.tradingClass)

        def tick(p: float) -> float:
            return params.option_tick(inst.tradingClass, inst.secType, inst.exchange,
                                      inst.minTick, p)

        x = math.log(inst.strike / m.forward) / math.sqrt(max(m.tau, 1e-6))
        h = self._hash(inst.conId, t)
        width = (liq.width + liq.rel * theo) * (1.0 + 0.25 * min(abs(x), 8.0)) * (
            0.8 + 0.4 * _unit(h, 8))
        u = 0.3 + 0.4 * _unit(h, 24)
        lo_px, hi_px = theo - width * u, theo + width * (1.0 - u)
        bid = max(_grid_floor(lo_px, tick(lo_px)), _grid_floor(m.lower, tick(m.lower)), 0.0)
        ask = _grid_ceil(hi_px, tick(hi_px))
        if ask <= bid:
            ask = round(bid + tick(bid), 10)
        ask = max(ask, tick(0.0))
        size = max(1, int(liq.size * math.exp(-0.5 * x * x)))
        bid_size = 0 if bid <= 0 else (h >> 33) % size + 1
        frac, day = self.session_fraction(inst, t)
        noise = 1.0 + 0.5 * self.day_noise(inst.conId, day, 31)
        daily = liq.daily * 0.004 * math.exp(-2.0 * x * x) / (1.0 + 10.0 * m.tau)
        volume = int(daily * noise * frac)

        def ref(v: float) -> float:
            return v if v > 0 else m.und

        hi_u, lo_u = ref(underlying.high), ref(underlying.low)
        p_close, p_open, p_hi, p_lo = m.price_at(
            [ref(underlying.close), ref(underlying.open), hi_u, lo_u],
            [m.tau + _DAY, m.tau, m.tau, m.tau], [m.vol] * 4)

        def near(p: float) -> float:
            p = max(p, 0.0)
            return round(round(p / tick(p)) * tick(p), 10)

        close = near(p_close)
        last = close if volume == 0 else (bid if bid > 0 and (h >> 40) & 1 else ask)
        open_ = near(p_open) if volume else close
        return Quote(bid=bid, ask=ask, last=last, bidSize=Decimal(bid_size),
                     askSize=Decimal((h >> 45) % size + 1),
                     lastSize=Decimal((h >> 56) % 10 + 1 if volume else 0),
                     volume=Decimal(volume), high=max(near(max(p_hi, p_lo)), last, open_),
                     low=min(near(min(p_hi, p_lo)), last, open_), open=open_, close=close,
                     time=t)

    # ------------------------------------------------------------------ public

    @staticmethod
    def underlying_conid(inst: Instrument, t: dt.datetime) -> int:
        """The conId whose Quote at ``t`` :meth:`quote` needs as ``underlying`` for
        ``inst``: index futures their index (``underConId``), 6E EUR.USD (12087792),
        CL/GC/ZN/FGBL the front contract (the CONTFUT's conId on ``t``'s local date; the
        caller quotes the product's front-month level under it: keep one series per
        product so that it does not jump at a roll), OPT its stock/ETF/index and FOP its
        future (``underConId``; itself a FUT priced here). Raises KeyError for an
        unknown product, ValueError for another secType."""
        if inst.secType in ("OPT", "FOP"):
            return inst.underConId
        if inst.secType not in ("FUT", "CONTFUT"):
            raise ValueError(f"no derived price for secType {inst.secType!r}")
        product = DerivedPricer._product(inst)
        if product.tradingClass in params.INDEX_FUTURES:
            return product.underConId
        if product.tradingClass == "6E":
            return EUR_USD_CONID
        local_day = t.astimezone(ZoneInfo(inst.timeZoneId)).date()
        return continuous_future(product, local_day).conId


    def quote(self, inst: Instrument, t: dt.datetime, underlying: Quote, *,
              rate: float | None = None, dividend_yield: float | None = None) -> Quote:
        """Top of book of FUT/CONTFUT/OPT/FOP ``inst`` at ``t`` (aware) from the
        underlying's Quote at the same instant (module docstring says which).

        Prices in ``inst.currency`` per unit (not times the multiplier); sizes and
        volume in contracts; ``close`` the previous session's settlement level, ``open``
        /``high``/``low`` the session's so far. Deterministic per whole second.
        ``rate``/``dividend_yield`` override the tables of :mod:`.derived_params`.
        Raises ExpiredContractError once the contract stopped trading, ValueError for
        another secType (BAG: :func:`twsbridge.sim.market.combos.combo_quote`) or a
        priceless underlying quote, KeyError for an unknown product or class.
        """
        ts = t.replace(microsecond=0)
        if inst.secType in ("FUT", "CONTFUT"):
            q = self._future_quote(inst, ts, underlying, rate, dividend_yield)
        elif inst.secType in ("OPT", "FOP"):
            q = self._option_quote(inst, ts, underlying, rate, dividend_yield)
        else:
            raise ValueError(f"no derived price for secType {inst.secType!r}")
        return q if ts == t else dataclasses.replace(q, time=t)

    def computations(self, inst: Instrument, t: dt.datetime, underlying: Quote, *,
                     rate: float | None = None, dividend_yield: float | None = None,
                     ) -> dict[int, Computation]:
        """The tickOptionComputations of OPT/FOP ``inst`` at ``t``: tick type -> fields,
        for 10 bid, 11 ask, 12 last and 13 model (:meth:`computation`)."""
        t = t.replace(microsecond=0)
        m = self.option_model(inst, t, underlying, rate=rate, dividend_yield=dividend_yield)
        q = self._option_quote(inst, t, underlying, rate, dividend_yield, m)
        prices = [q.bid, q.ask, q.last]
        ivs = m.implied_vols(prices)
        live = [iv for iv in ivs if iv is not None]
        at = iter(m.greeks_at(live) if live else [])
        out: dict[int, Computation] = {}
        for kind, price, iv in zip((10, 11, 12), prices, ivs, strict=True):
            if iv is None:
                out[kind] = Computation(kind, None, None, price if price > 0 else None,
                                        m.pv_dividend, None, None, None, m.und)
                continue
            g = next(at)  # the greeks at the quoted price's vol
            g = OptionGreeks(price, g.delta, g.gamma, g.vega, g.theta, g.rho)
            out[kind] = _fields(kind, option_computation(g, iv, m.und, m.pv_dividend))
        out[13] = _fields(13, option_computation(m.greeks, m.vol, m.und, m.pv_dividend))
        return out

    def computation(self, inst: Instrument, t: dt.datetime, underlying: Quote, kind: int, *,
                    rate: float | None = None, dividend_yield: float | None = None,
                    ) -> Computation:
        """The tickOptionComputation of OPT/FOP ``inst`` for tick type ``kind``:
        10 bid, 11 ask, 12 last, 13 model (80-83 delayed, the same figures).

        Bid/ask/last: the implied vol of that price of :meth:`quote` at the same
        instant and the greeks at that vol (None when the price has no implied vol,
        e.g. a missing bid or one at the lower bound); model: the surface vol and the
        model price, which lies between bid and ask. ``undPrice`` the underlying's
        price used, ``pvDividend`` as in the module docstring, theta floored at
        ``-optPrice`` as TWS does. Message 21, TWS doc "Option Greeks". Raises as
        :meth:`quote`, and ValueError for another ``kind``.
        """
        if kind not in COMPUTATION_KINDS:
            raise ValueError(f"tick type {kind} is not an option computation")
        c = self.computations(inst, t, underlying, rate=rate,
                              dividend_yield=dividend_yield)[10 + (kind - 10) % 70]
        return dataclasses.replace(c, tickType=kind)


def _fields(kind: int, c: OptionComputation) -> Computation:
    return Computation(kind, c.impliedVol, c.delta, c.optPrice, c.pvDividend, c.gamma,
                       c.vega, c.theta, c.undPrice)
