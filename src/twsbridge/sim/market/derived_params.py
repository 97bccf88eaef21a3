"""Market parameters of the simulator's derived instruments (:mod:`.derived`).

Model inputs, not quotes: every figure below is a documented, rounded assumption.

Interest rates (:func:`rate`)
    USD and EUR: approximate annual averages of the overnight rate (US effective
    Fed funds; EONIA, from 2020 the euro short-term rate) per calendar year,
    2000-2025, rounded to 0.05 %; later years keep the last value. The other
    currencies use one constant each. Continuously compounded, decimal per year.

Dividend yields (:func:`dividend_yield`)
    Continuous, decimal per year, per underlying symbol (index, ETF or stock):
    rounded recent trailing yields. The DAX is a performance (total-return) index:
    0. Unlisted symbols: 1 % for stocks, 1.5 % for indices.

Futures carry (:data:`FUTURE_CARRY`)
    Index futures (ES NQ RTY FDAX): fair value ``spot * exp((r - q) * tau)`` with the
    currency's rate and the index's yield. 6E: ``EUR.USD * exp((r_USD - r_EUR) * tau)``.
    CL, GC, ZN, FGBL: the caller gives the front-month level (the contract the
    CONTFUT designates); a contract ``tau`` years to expiry is priced
    ``front * exp(c * (tau - tau_front))`` with the annual carry
    ``c = r + FUTURE_CARRY[class]``: CL -6 % (storage less convenience yield:
    a backwardated curve), GC +0.2 % (near full carry: a small lease rate), ZN and
    FGBL minus the bond's yield (4 % and 2.5 %): deferred bond futures trade below
    the front when the coupon exceeds the repo rate.

Volatility surfaces (:func:`smile_params`)
    SSVI presets of :mod:`twsbridge.sim.market.vol_surface` anchored to a 30-day ATM
    vol per underlying (indices and index ETFs use the ``index`` preset).

Option ticks (:func:`option_tick`)
    US equity options in the Penny Interval Program (every class listed here):
    0.01 below 3.00, 0.05 from 3.00 (SPY, QQQ, IWM: 0.01 at every price), as the
    Cboe / Nasdaq / MIAX program rules state; other US equity classes 0.05 / 0.10.
    Cboe index options (SPX, SPXW, NDX, NDXP, RUT, RUTW, VIX): 0.05 below 3.00, 0.10
    from 3.00. CME E-mini S&P options (ES, EW): 0.05 up to 5.00, 0.25 above. Other
    futures options and ODAX: the class's ``minTick``.
"""

from __future__ import annotations

from dataclasses import dataclass

from twsbridge.sim.market.vol_surface import SMILE_PRESETS, SmileParams

__all__ = [
    "FUTURE_CARRY",
    "FUTURE_LIQUIDITY",
    "INDEX_FUTURES",
    "OPTION_LIQUIDITY",
    "FutureLiquidity",
    "OptionLiquidity",
    "dividend_yield",
    "option_liquidity",
    "option_tick",
    "rate",
    "smile_params",
]

_USD = {2000: 6.25, 2001: 3.90, 2002: 1.65, 2003: 1.15, 2004: 1.35, 2005: 3.20, 2006: 4.95,
        2007: 5.00, 2008: 1.95, 2009: 0.15, 2010: 0.20, 2011: 0.10, 2012: 0.15, 2013: 0.10,
        2014: 0.10, 2015: 0.15, 2016: 0.40, 2017: 1.00, 2018: 1.85, 2019: 2.15, 2020: 0.40,
        2021: 0.10, 2022: 1.70, 2023: 5.00, 2024: 5.15, 2025: 4.20}
_EUR = {2000: 4.10, 2001: 4.40, 2002: 3.30, 2003: 2.30, 2004: 2.05, 2005: 2.10, 2006: 2.85,
        2007: 3.85, 2008: 3.85, 2009: 0.70, 2010: 0.45, 2011: 0.85, 2012: 0.25, 2013: 0.10,
        2014: 0.10, 2015: -0.10, 2016: -0.30, 2017: -0.35, 2018: -0.35, 2019: -0.40,
        2020: -0.55, 2021: -0.55, 2022: 0.00, 2023: 3.30, 2024: 3.65, 2025: 2.15}
_OTHER = {"GBP": 3.5, "JPY": 0.2, "CHF": 0.5, "CAD": 3.0, "AUD": 3.5, "HKD": 3.5,
          "NZD": 3.5, "SGD": 2.5, "CNH": 2.0}


def rate(currency: str, year: int) -> float:
    """Continuously compounded risk-free rate of ``currency`` in ``year`` (decimal/year).

    USD/EUR by year (module docstring); other currencies a constant; unknown ones 2 %.
    """
    table = {"USD": _USD, "EUR": _EUR}.get(currency)
    if table is None:
        return _OTHER.get(currency, 2.0) / 100.0
    return table[min(max(year, 2000), 2025)] / 100.0


_YIELDS = {
    "SPX": 1.5, "SPY": 1.3, "NDX": 0.8, "QQQ": 0.6, "RUT": 1.3, "IWM": 1.2, "INDU": 1.8,
    "DIA": 1.7, "DAX": 0.0, "ESTX50": 3.0, "N225": 1.8, "HSI": 3.5, "VIX": 0.0,
    "TLT": 3.8, "GLD": 0.0, "XLF": 1.7, "AAPL": 0.5, "MSFT": 0.8, "AMZN": 0.0,
    "NVDA": 0.05, "TSLA": 0.0, "META": 0.4, "GOOG": 0.4, "GOOGL": 0.4, "AMD": 0.0,
    "INTC": 1.5, "IBM": 3.0, "NFLX": 0.0, "JPM": 2.0, "BAC": 2.3, "XOM": 3.4, "GS": 2.0,
    "DIS": 0.8, "BA": 0.0, "V": 0.7, "BABA": 1.0, "BRK B": 0.0,
}


def dividend_yield(symbol: str, secType: str = "STK") -> float:
    """Continuous dividend yield of underlying ``symbol`` (decimal per year)."""
    default = 1.5 if secType == "IND" else 1.0
    return _YIELDS.get(symbol, default) / 100.0


FUTURE_CARRY: dict[str, float] = {"CL": -0.06, "GC": 0.002, "ZN": -0.04, "FGBL": -0.025}
"""Carry over the currency's rate of the front-month-quoted futures (module docstring)."""

INDEX_FUTURES = ("ES", "NQ", "RTY", "FDAX")
"""Futures priced at fair value from their index (``underConId``)."""


@dataclass(frozen=True, slots=True)
class FutureLiquidity:
    """Front-month top-of-book size up to ``size`` contracts, ``daily`` contracts
    traded a day, spreads of 1 to ``spread`` ticks; deferred months get a tenth per
    month of distance."""

    size: int
    daily: int
    spread: int = 1


FUTURE_LIQUIDITY: dict[str, FutureLiquidity] = {
    "ES": FutureLiquidity(300, 1_500_000), "NQ": FutureLiquidity(30, 500_000, 2),
    "RTY": FutureLiquidity(20, 150_000, 2), "CL": FutureLiquidity(30, 300_000, 2),
    "GC": FutureLiquidity(15, 200_000, 2), "ZN": FutureLiquidity(1500, 1_200_000),
    "6E": FutureLiquidity(40, 180_000, 2), "FDAX": FutureLiquidity(10, 80_000, 2),
    "FGBL": FutureLiquidity(100, 600_000),
}


@dataclass(frozen=True, slots=True)
class OptionLiquidity:
    """Quoting of an option class: the spread is ``width + rel * price`` (currency
    units, widened away from the money), sizes up to ``size`` contracts, ``daily``
    contracts traded a day over the whole class (calls and puts)."""

    width: float
    rel: float
    size: int
    daily: int
    open_interest: int


_STOCK_LIQ = OptionLiquidity(0.02, 0.02, 60, 400_000, 4_000_000)
OPTION_LIQUIDITY: dict[str, OptionLiquidity] = {
    "SPY": OptionLiquidity(0.01, 0.004, 500, 8_000_000, 18_000_000),
    "QQQ": OptionLiquidity(0.01, 0.005, 300, 3_500_000, 9_000_000),
    "IWM": OptionLiquidity(0.01, 0.006, 200, 1_200_000, 6_000_000),
    "AAPL": OptionLiquidity(0.02, 0.01, 150, 1_500_000, 5_000_000),
    "TSLA": OptionLiquidity(0.03, 0.01, 100, 2_500_000, 5_000_000),
    "NVDA": OptionLiquidity(0.02, 0.01, 200, 3_000_000, 8_000_000),
    "SPX": OptionLiquidity(0.10, 0.004, 50, 2_500_000, 15_000_000),
    "SPXW": OptionLiquidity(0.10, 0.004, 50, 2_500_000, 15_000_000),
    "NDX": OptionLiquidity(0.50, 0.006, 10, 40_000, 300_000),
    "RUT": OptionLiquidity(0.20, 0.008, 20, 60_000, 600_000),
    "VIX": OptionLiquidity(0.05, 0.02, 300, 700_000, 10_000_000),
    "ODAX": OptionLiquidity(0.50, 0.01, 50, 200_000, 2_000_000),
    "ES": OptionLiquidity(0.25, 0.004, 40, 300_000, 2_500_000),
    "EW": OptionLiquidity(0.25, 0.005, 30, 100_000, 800_000),
    "LO": OptionLiquidity(0.02, 0.01, 30, 150_000, 2_000_000),
    "OG": OptionLiquidity(0.30, 0.01, 20, 80_000, 800_000),
    "OZN": OptionLiquidity(1 / 64, 0.01, 300, 250_000, 3_000_000),
    "EUU": OptionLiquidity(0.0001, 0.01, 30, 20_000, 300_000),
    "OGBL": OptionLiquidity(0.01, 0.01, 200, 150_000, 1_500_000),
}


def option_liquidity(tradingClass: str) -> OptionLiquidity:
    """The quoting parameters of option class ``tradingClass`` (stocks' default)."""
    return OPTION_LIQUIDITY.get(tradingClass, _STOCK_LIQ)


_ATM_VOLS: dict[str, tuple[str, float]] = {
    "SPX": ("index", 0.16), "SPY": ("index", 0.16), "NDX": ("index", 0.21),
    "QQQ": ("index", 0.21), "RUT": ("index", 0.23), "IWM": ("index", 0.23),
    "INDU": ("index", 0.15), "DIA": ("index", 0.15), "DAX": ("index", 0.17),
    "ESTX50": ("index", 0.18), "VIX": ("commodity", 0.85), "TLT": ("stock", 0.15),
    "GLD": ("commodity", 0.16), "XLF": ("index", 0.20), "AAPL": ("stock", 0.27),
    "MSFT": ("stock", 0.25), "AMZN": ("stock", 0.32), "NVDA": ("stock", 0.50),
    "TSLA": ("stock", 0.58), "META": ("stock", 0.38), "GOOG": ("stock", 0.30),
    "GOOGL": ("stock", 0.30), "AMD": ("stock", 0.52), "INTC": ("stock", 0.40),
    "IBM": ("stock", 0.24), "NFLX": ("stock", 0.40), "JPM": ("stock", 0.24),
    # futures (FOP underlyings), by trading class
    "ES": ("index", 0.16), "NQ": ("index", 0.21), "RTY": ("index", 0.23),
    "FDAX": ("index", 0.17), "CL": ("commodity", 0.35), "GC": ("commodity", 0.17),
    "ZN": ("fx", 0.06), "6E": ("fx", 0.08), "FGBL": ("fx", 0.07),
}


def smile_params(key: str, secType: str = "STK") -> SmileParams:
    """The vol-surface parameters of an underlying: ``key`` is the stock's, ETF's or
    index's symbol, or a future's trading class; unknown keys get the preset of
    ``secType`` (IND: index, FUT: commodity, else stock)."""
    found = _ATM_VOLS.get(key)
    if found is not None:
        return SMILE_PRESETS[found[0]].with_atm_vol(found[1])
    preset = {"IND": "index", "FUT": "commodity", "CASH": "fx"}.get(secType, "stock")
    return SMILE_PRESETS[preset]


_PENNY_ALL = ("SPY", "QQQ", "IWM")
_CBOE_INDEX = ("SPX", "SPXW", "NDX", "NDXP", "RUT", "RUTW", "VIX")


def option_tick(tradingClass: str, secType: str, exchange: str, minTick: float,
                price: float) -> float:
    """Minimum price increment of an option of ``tradingClass`` at ``price``.

    Rules in the module docstring; ``minTick`` (the contract's) for other classes.
    """
    if secType == "OPT" and exchange == "SMART":
        if tradingClass in _PENNY_ALL:
            return 0.01
        if tradingClass in _CBOE_INDEX:
            return 0.05 if price < 3.0 else 0.10
        return 0.01 if price < 3.0 else 0.05
    if tradingClass in ("ES", "EW"):
        return 0.05 if price <= 5.0 else 0.25
    return minTick
