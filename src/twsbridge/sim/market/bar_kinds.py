"""What each whatToShow of reqHistoricalData (id 20) shows, per secType.

The one table of which values TWS's historical data farm serves for which
instrument class (:data:`WHAT_TO_SHOW_BY_SEC_TYPE`), the errors it sends for the
others, and the series behind the values that are not prices of the path:

* ``TRADES`` / ``ADJUSTED_LAST``: traded prices; ADJUSTED_LAST multiplies each
  day's prices (not its volume) by the day's split and dividend adjustment
  (:func:`adjustment_factors`, from the data set's adjusted closes, relative
  to the last real day; synthetic days have no corporate actions: factor 1).
  TWS refuses an endDateTime with ADJUSTED_LAST (321, :data:`ADJUSTED_LAST_END`).
* ``MIDPOINT`` / ``BID`` / ``ASK`` / ``BID_ASK``: the quotes (bid, ask) of the
  same seconds; BID_ASK is (time-average bid, max ask, min bid, time-average ask).
* ``HISTORICAL_VOLATILITY``: the 30-day close-to-close volatility, annualised
  over 252 trading days, as a decimal (0.25 = 25 %), the day in progress
  counting with its return so far (:func:`hv_values`); IB's tick 23.
* ``OPTION_IMPLIED_VOLATILITY``: the 30-day at-the-money implied vol of the
  option model's surface (:mod:`twsbridge.sim.market.vol_surface`,
  :func:`implied_vol_level`): the level options on it are priced with; tick 24.
* ``FEE_RATE`` / ``REBATE_RATE``: the stock-borrow fee and short-sale rebate,
  annual percent (:data:`FEE_RATE`, :data:`REBATE_RATE`; every simulated stock is
  general collateral).
* ``SCHEDULE``: no bars; the sessions (historicalSchedule, id 106).

All non-TRADES values carry volume, wap and barCount -1, as TWS sends them.
Source: TWS API reference, "Historical Bar Data", "Historical Data Types".
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from functools import lru_cache
from importlib import resources

import numpy as np

from twsbridge.sim.market.day_path import FloatArray
from twsbridge.sim.market.prices import DATA_END, REAL_DATA_TICKERS, DailySeries
from twsbridge.sim.market.vol_surface import ATM_REFERENCE_YEARS, VolSurface, preset_for_sec_type
from twsbridge.sim.reference.instruments import Instrument

__all__ = [
    "ADJUSTED_LAST_END",
    "ALL_WHAT_TO_SHOW",
    "FEE_RATE",
    "HMDS_PREFIX",
    "HV_DAYS",
    "QUOTE_KINDS",
    "REBATE_RATE",
    "TRADE_KINDS",
    "VALIDATION_PREFIX",
    "VALUE_KINDS",
    "WHAT_TO_SHOW_BY_SEC_TYPE",
    "HistoryError",
    "adjustment_factors",
    "check_available",
    "daily_values",
    "hv_base",
    "hv_values",
    "implied_vol_level",
    "no_data",
    "parse_what",
    "value_series",
]

VALIDATION_PREFIX = "Error validating request.-'bP' : cause - "
HMDS_PREFIX = "Historical Market Data Service error message:"
ADJUSTED_LAST_END = VALIDATION_PREFIX + "End date not supported with adjusted last"
"""321 for an ADJUSTED_LAST request with an endDateTime (TWS takes only '')."""

TRADE_KINDS = frozenset({"TRADES", "ADJUSTED_LAST", "AGGTRADES"})
"""Bars of traded prices, with volume, wap and barCount."""
QUOTE_KINDS = frozenset({"MIDPOINT", "BID", "ASK", "BID_ASK"})
"""Bars of the quotes."""
VALUE_KINDS = frozenset({"HISTORICAL_VOLATILITY", "OPTION_IMPLIED_VOLATILITY", "FEE_RATE",
                         "REBATE_RATE"})
"""Bars of a derived value (volatility, rate), not a price."""

_STOCK = frozenset({"TRADES", "MIDPOINT", "BID", "ASK", "BID_ASK", "ADJUSTED_LAST",
                    "HISTORICAL_VOLATILITY", "OPTION_IMPLIED_VOLATILITY", "FEE_RATE",
                    "REBATE_RATE", "SCHEDULE"})
_QUOTED = frozenset({"TRADES", "MIDPOINT", "BID", "ASK", "BID_ASK", "SCHEDULE"})
WHAT_TO_SHOW_BY_SEC_TYPE: dict[str, frozenset[str]] = {
    "STK": _STOCK,
    "IND": frozenset({"TRADES", "HISTORICAL_VOLATILITY", "OPTION_IMPLIED_VOLATILITY",
                      "SCHEDULE"}),
    "CASH": frozenset({"MIDPOINT", "BID", "ASK", "BID_ASK", "SCHEDULE"}),
    "CRYPTO": frozenset({"AGGTRADES", "MIDPOINT", "BID", "ASK", "BID_ASK", "SCHEDULE"}),
    "FUT": _QUOTED, "OPT": _QUOTED, "FOP": _QUOTED, "CFD": _QUOTED - {"TRADES"},
    "CMDTY": _QUOTED - {"TRADES"},
    "BOND": frozenset({"TRADES", "MIDPOINT", "BID", "ASK", "BID_ASK", "YIELD_BID",
                       "YIELD_ASK", "YIELD_BID_ASK", "YIELD_LAST", "SCHEDULE"}),
}
"""secType -> the whatToShow values TWS serves historical bars of (Historical Data
Types). This simulator has data for STK and CASH; a value outside its secType's
set is refused with 162 (:func:`check_available`)."""

ALL_WHAT_TO_SHOW = frozenset().union(*WHAT_TO_SHOW_BY_SEC_TYPE.values()) | {
    "YIELD_MARK", "NAV_LAST", "NAV_BID", "NAV_ASK", "INDICATIVE_AUCTION_PRICE_SIZE"}
"""Every value TWS accepts as a whatToShow (others: 321 "What to show value ... rejected")."""

HV_DAYS = 30
"""Daily log returns in the historical volatility (IB's 30-day HV, tick 23)."""
_TRADING_DAYS_PER_YEAR = 252.0
FEE_RATE = 0.25
"""Annual borrow fee of a general-collateral stock, in percent."""
_BENCHMARK_RATE = 0.15
REBATE_RATE = round(_BENCHMARK_RATE - FEE_RATE, 4)
"""Annual short-sale rebate, in percent: the benchmark rate (0.15) minus the fee."""

_FX_VENUE = "FXSUBPIP"  # the historical data farm's venue of IDEALPRO pairs


class HistoryError(Exception):
    """A refused request: ``code`` and ``message`` as TWS sends them in
    errMsg (10314, 321 or 162)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def parse_what(whatToShow: str) -> str:
    """The upper-cased whatToShow; raises HistoryError 321 for an empty or unknown one."""
    what = whatToShow.strip().upper()
    if not what:
        raise HistoryError(321, VALIDATION_PREFIX + "What to show field is missing or incorrect.")
    if what not in ALL_WHAT_TO_SHOW:
        raise HistoryError(321, VALIDATION_PREFIX + f"What to show value of {whatToShow} "
                                                    f"rejected.")
    return what


def _label(what: str) -> str:
    return what[0] + what[1:].lower()


def no_data(inst: Instrument, what: str) -> HistoryError:
    """162 "HMDS query returned no data" (nothing in the requested span)."""
    return HistoryError(162, f"{HMDS_PREFIX}HMDS query returned no data: "
                             f"{inst.localSymbol}@{inst.exchange} {_label(what)}")


def _step_text(bar_seconds: int) -> str:
    return f"{bar_seconds}" if bar_seconds else "1d"


def check_available(inst: Instrument, what: str, bar_seconds: int) -> None:
    """Raise HistoryError 162 when TWS serves no ``what`` for ``inst``'s secType.

    TWS's text names the contract as the farm sees it and the data type, then
    the bar size in seconds ("1d" for daily bars): ``No historical market data
    for EUR/CASH@FXSUBPIP Last 1d`` for forex TRADES (TRADES is "Last").
    ``bar_seconds`` is 0 for bars of a day or more.
    """
    allowed = WHAT_TO_SHOW_BY_SEC_TYPE.get(inst.secType, frozenset())
    if what in allowed:
        return
    venue = _FX_VENUE if inst.is_forex else inst.exchange
    name = inst.symbol if inst.is_forex else inst.localSymbol
    kind = "Last" if what == "TRADES" else _label(what)
    raise HistoryError(162, f"{HMDS_PREFIX}No historical market data for "
                            f"{name}/{inst.secType}@{venue} {kind} {_step_text(bar_seconds)}")


# ------------------------------------------------------------ adjustments

@lru_cache(maxsize=1)
def _adjusted_ratios() -> dict[str, dict[int, float]]:
    """Ticker -> {date ordinal: adjusted close / close} of the data set."""
    raw = resources.files("bokeh_sampledata").joinpath("_data/stocks.csv.gz").read_bytes()
    out: dict[str, dict[int, float]] = {}
    for row in csv.DictReader(io.StringIO(gzip.decompress(raw).decode("utf-8"))):
        close = float(row["Close"])
        if close > 0:
            out.setdefault(row["Ticker"], {})[dt.date.fromisoformat(row["Date"]).toordinal()] = (
                float(row["Adj Close"]) / close)
    return out


def adjustment_factors(inst: Instrument, ords: np.ndarray) -> FloatArray:
    """Split and dividend adjustment of each day (date ordinals ``ords``):
    the multiplier that makes the day's prices comparable with today's. 1 for
    days after the last corporate action (every day after 2013-03-01, every
    synthetic instrument)."""
    out = np.ones(len(ords))
    ticker = REAL_DATA_TICKERS.get(inst.conId)
    if ticker is None:
        return out
    ratios = _adjusted_ratios().get(ticker, {})
    last = ratios.get(DATA_END.toordinal())
    if not last:
        return out
    for k, o in enumerate(ords):
        r = ratios.get(int(o))
        if r is not None:
            out[k] = r / last
    return out


# ------------------------------------------------------------- volatility

def hv_base(ser: DailySeries, i: int) -> tuple[float, int, float]:
    """(sum of the squared log returns of the ``HV_DAYS - 1`` days before day
    ``i``, how many there are, the previous close) — what the day's HV adds its
    own return to. Raises IndexError for the first day (no previous close)."""
    if i < 1:
        raise IndexError("no previous close")
    lo = max(1, i - (HV_DAYS - 1))
    c = ser.close[lo - 1: i]
    r = np.log(c[1:] / c[:-1])
    return float((r * r).sum()), len(r), float(ser.close[i - 1])


def hv_values(base: tuple[float, int, float], prices: FloatArray) -> FloatArray:
    """The historical volatility (annualised decimal) with the day's return
    at each of ``prices``: the root mean square of the 30 daily log returns
    (the last one running) times sqrt(252)."""
    s, n, prev = base
    r: FloatArray = np.log(np.asarray(prices, dtype=np.float64) / prev)
    hv = np.sqrt((s + r * r) / (n + 1) * _TRADING_DAYS_PER_YEAR)
    return np.asarray(np.round(hv, 6), dtype=np.float64)


@lru_cache(maxsize=64)
def implied_vol_level(secType: str) -> float:
    """The 30-day at-the-money implied vol (annualised decimal) of the option
    model's surface for an underlying of ``secType``: the vol an ATM 30-day
    option on it is priced with (preset smile of
    :func:`~twsbridge.sim.market.vol_surface.preset_for_sec_type`)."""
    surface = VolSurface(preset_for_sec_type(secType))
    return round(float(surface.atm_vol(ATM_REFERENCE_YEARS)), 6)


def value_series(what: str, inst: Instrument, hv: tuple[float, int, float] | None,
                 prices: FloatArray) -> FloatArray:
    """The VALUE_KINDS series at the seconds of ``prices`` (``hv``: the day's
    :func:`hv_base`, needed for HISTORICAL_VOLATILITY)."""
    if what == "HISTORICAL_VOLATILITY":
        assert hv is not None
        return hv_values(hv, prices)
    if what == "OPTION_IMPLIED_VOLATILITY":
        level = implied_vol_level(inst.secType)
    else:
        level = FEE_RATE if what == "FEE_RATE" else REBATE_RATE
    return np.full(len(prices), level)


def daily_values(inst: Instrument, ser: DailySeries, first: int, what: str,
                 o: FloatArray, h: FloatArray, lo: FloatArray, c: FloatArray,
                 ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Daily (open, high, low, close) of a VALUE_KINDS series for the days
    ``first ...`` of ``ser`` whose prices are ``o, h, lo, c``: its value at the
    day's open, extreme prices and close. The HV is lowest where the
    day's return is nearest 0 (the previous close, when the day's range spans it)."""
    outs = [np.empty(len(o)) for _ in range(4)]
    for k in range(len(o)):
        base = hv_base(ser, first + k) if what == "HISTORICAL_VOLATILITY" else None
        prev = base[2] if base is not None else 0.0
        inside = float(lo[k]) <= prev <= float(h[k])
        pts = np.array([o[k], h[k], lo[k], c[k], prev if inside else c[k]])
        val = value_series(what, inst, base, pts)
        outs[0][k], outs[3][k] = val[0], val[3]
        outs[1][k], outs[2][k] = val.max(), val.min()
    return outs[0], outs[1], outs[2], outs[3]
