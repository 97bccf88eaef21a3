"""The option classes of the simulated universe (the listing rules of
:mod:`twsbridge.sim.reference.option_chains` applied per product).

``OPTION_CLASSES`` maps each trading class to its :class:`OptionClass`.
Slots (the conId slot, :func:`twsbridge.sim.reference.conids.option_conid`)
are fixed: 0-39 stock and ETF options, 40-59 index options, 60-79 futures
options; a slot is never reused.

Futures-option expiries (exchange contract specs, simplified where noted):

* ES (quarterly, third Friday, into the same month's future) and EW (last
  business day of every month, into the next quarterly future);
* LO (crude oil): the business day before the underlying CL future's last
  trading day (a simplification of NYMEX's rule), into the same month;
* OG (gold): 4 business days before the first day of the option month, into
  the next even-month GC future;
* OZN (10-year note): the last Friday at least two business days before the
  last business day of the month before the option month, into the next
  quarterly ZN;
* EUU (euro FX): the second Friday before the third Wednesday, into the
  next quarterly 6E;
* OGBL (Euro-Bund): the last Friday with at least two exchange days before
  the first day of the option month, into the next quarterly FGBL.
"""

from __future__ import annotations

import datetime as dt
import math

from twsbridge.sim.reference.business_days import (
    is_business_day,
    last_business_day,
    nth_weekday,
    on_or_before,
    shift_business_days,
)
from twsbridge.sim.reference.futures import FUTURES
from twsbridge.sim.reference.option_chains import OptionClass, Schedule, vix_expiry

__all__ = ["OPTION_CLASSES", "classes_of"]

_INF = math.inf
_STOCK_TIERS = ((25.0, 0.5), (200.0, 1.0), (500.0, 2.5), (_INF, 5.0))
_ETF_TIERS = ((50.0, 0.5), (_INF, 1.0))
_JAN, _FEB, _MAR = (1, 4, 7, 10), (2, 5, 8, 11), (3, 6, 9, 12)
_DAILY = (0, 1, 2, 3, 4)


def _month_before(year: int, month: int) -> tuple[int, int]:
    return (year, month - 1) if month > 1 else (year - 1, 12)


def _lo_expiry(year: int, month: int) -> dt.date:
    return shift_business_days(FUTURES["CL"].last_trade(year, month), -1)


def _og_expiry(year: int, month: int) -> dt.date:
    return shift_business_days(dt.date(year, month, 1), -4)


def _ozn_expiry(year: int, month: int) -> dt.date:
    py, pm = _month_before(year, month)
    last = last_business_day(py, pm)
    friday = nth_weekday(py, pm, 4, -1)
    while shift_business_days(friday, 2) > last:
        friday -= dt.timedelta(days=7)
    return on_or_before(friday)


def _euu_expiry(year: int, month: int) -> dt.date:
    return on_or_before(nth_weekday(year, month, 2, 3) - dt.timedelta(days=12))


def _ogbl_expiry(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    py, pm = _month_before(year, month)
    friday = nth_weekday(py, pm, 4, -1)
    while shift_business_days(friday, 2, "EUREX") >= first:
        friday -= dt.timedelta(days=7)
    return friday if is_business_day(friday, "EUREX") else on_or_before(friday, "EUREX")


def _third_friday_eurex(year: int, month: int) -> dt.date:
    return on_or_before(nth_weekday(year, month, 4, 3), "EUREX")


def _stock(slot: int, symbol: str, *, weekly: bool, cycle: tuple[int, ...] = _JAN,
           trading_class: str = "") -> OptionClass:
    schedule = Schedule(monthly=3 if weekly else 2, cycle=cycle, leaps=2,
                        weeks=6 if weekly else 0)
    return OptionClass(slot, symbol, trading_class or symbol, "OPT", "SMART", "USD", "100",
                       0.01, "US/Eastern", "16:00:00", schedule, 0.5, _STOCK_TIERS)


def _etf(slot: int, symbol: str, daily: tuple[int, ...]) -> OptionClass:
    schedule = Schedule(monthly=3, cycle=_MAR, cycle_span=12, leaps=2, leaps_month=12,
                        weeks=8, daily=daily, daily_weeks=3 if daily else 0, eom=3)
    return OptionClass(slot, symbol, symbol, "OPT", "SMART", "USD", "100", 0.01,
                       "US/Eastern", "16:00:00", schedule, 0.5, _ETF_TIERS,
                       near=0.1, outer=0.3, coarse=5)


def _index(slot: int, symbol: str, trading_class: str, schedule: Schedule, unit: float,
           tiers: tuple[tuple[float, float], ...], *, am: bool, exchanges: str,
           near: float = 0.1, outer: float = 0.3, coarse: int = 5) -> OptionClass:
    return OptionClass(slot, symbol, trading_class, "OPT", "SMART", "USD", "100", 0.05,
                       "US/Central", "15:00:00", schedule, unit, tiers, near=near,
                       outer=outer, coarse=coarse, am_settled=am, underSecType="IND",
                       validExchanges=exchanges, marketRuleIds="110")


def _fop(slot: int, fut: str, trading_class: str, schedule: Schedule, unit: float,
         inc: float, *, under: str, scale: int, near: float, outer: float, coarse: int,
         minTick: float, time: str, multiplier: str = "") -> OptionClass:
    product = FUTURES[fut]
    eurex = product.exchange == "EUREX"
    return OptionClass(
        slot, product.symbol, trading_class, "FOP", product.exchange, product.currency,
        multiplier or product.multiplier, minTick, product.timeZoneId, time, schedule,
        unit, ((_INF, inc),), near=near, outer=outer, coarse=coarse, underSecType="FUT",
        validExchanges=product.exchange, local_style="eurex" if eurex else "cme",
        strike_scale=scale, future=fut, under_month=under,
        marketRuleIds=product.marketRuleIds, longName=product.longName,
    )


_CLASSES: tuple[OptionClass, ...] = (
    _stock(0, "AAPL", weekly=True),
    _stock(1, "MSFT", weekly=True),
    _stock(2, "AMZN", weekly=True),
    _stock(3, "NVDA", weekly=True, cycle=_MAR),
    _stock(4, "TSLA", weekly=True, cycle=_MAR),
    _stock(5, "META", weekly=True, cycle=_MAR),
    _stock(6, "GOOG", weekly=True),
    _stock(7, "GOOGL", weekly=True),
    _stock(8, "AMD", weekly=True),
    _stock(9, "INTC", weekly=False),
    _stock(10, "IBM", weekly=False),
    _stock(11, "NFLX", weekly=True),
    _stock(12, "JPM", weekly=True, cycle=_MAR),
    _stock(13, "BAC", weekly=False, cycle=_FEB),
    _stock(14, "XOM", weekly=False, cycle=_MAR),
    _stock(15, "GS", weekly=False),
    _stock(16, "DIS", weekly=False),
    _stock(17, "BA", weekly=False, cycle=_MAR),
    _stock(18, "V", weekly=False, cycle=_MAR),
    _stock(19, "BABA", weekly=True, cycle=_MAR),
    _stock(20, "BRK B", weekly=False, cycle=_MAR, trading_class="BRKB"),
    _etf(30, "SPY", _DAILY),
    _etf(31, "QQQ", _DAILY),
    _etf(32, "IWM", (0, 2, 4)),
    _etf(33, "DIA", ()),
    _etf(34, "TLT", ()),
    _etf(35, "GLD", ()),
    _etf(36, "XLF", ()),
    _index(40, "SPX", "SPX", Schedule(monthly=12, cycle=_MAR, cycle_span=24, leaps=3,
                                      leaps_month=12), 5.0, ((_INF, 5.0),), am=True,
           exchanges="SMART,CBOE"),
    _index(41, "SPX", "SPXW", Schedule(monthly=3, weeks=8, daily=_DAILY, daily_weeks=3,
                                       eom=3), 5.0, ((_INF, 5.0),), am=False,
           exchanges="SMART,CBOE"),
    _index(42, "NDX", "NDX", Schedule(monthly=6, cycle=_MAR, cycle_span=12), 10.0,
           ((_INF, 10.0),), am=True, exchanges="SMART,CBOE,ISE,NASDAQOM"),
    _index(43, "NDX", "NDXP", Schedule(monthly=2, weeks=4, daily=_DAILY, daily_weeks=2),
           10.0, ((_INF, 10.0),), am=False, exchanges="SMART,CBOE,ISE,NASDAQOM"),
    _index(44, "RUT", "RUT", Schedule(monthly=6, cycle=_MAR, cycle_span=12), 5.0,
           ((_INF, 5.0),), am=True, exchanges="SMART,CBOE"),
    _index(45, "RUT", "RUTW", Schedule(monthly=2, weeks=4, daily=(0, 2, 4), daily_weeks=2),
           5.0, ((_INF, 5.0),), am=False, exchanges="SMART,CBOE"),
    _index(46, "VIX", "VIX", Schedule(monthly=6, month_rule=vix_expiry), 0.5,
           ((20.0, 0.5), (_INF, 1.0)), am=True, exchanges="SMART,CBOE", near=0.5,
           outer=2.0, coarse=5),
    OptionClass(47, "DAX", "ODAX", "OPT", "EUREX", "EUR", "5", 0.1, "MET", "13:00:00",
                Schedule(monthly=6, month_rule=_third_friday_eurex, cycle=_MAR,
                         cycle_span=12, calendar="EUREX"),
                50.0, ((_INF, 50.0),), near=0.1, outer=0.3, coarse=2, underSecType="IND",
                validExchanges="EUREX", local_style="eurex", marketRuleIds="1630"),
    _fop(60, "ES", "ES", Schedule(monthly=4, months=_MAR), 5.0, 5.0, under="same", scale=1,
         near=0.1, outer=0.3, coarse=5, minTick=0.05, time="08:30:00"),
    _fop(61, "ES", "EW", Schedule(monthly=0, eom=3), 5.0, 5.0, under="next_quarter",
         scale=1, near=0.1, outer=0.3, coarse=5, minTick=0.05, time="15:00:00"),
    _fop(63, "CL", "LO", Schedule(monthly=12, month_rule=_lo_expiry), 0.5, 0.5,
         under="same", scale=100, near=0.2, outer=0.5, coarse=2, minTick=0.01,
         time="14:30:00"),
    _fop(64, "GC", "OG", Schedule(monthly=6, month_rule=_og_expiry), 5.0, 5.0,
         under="next_even", scale=1, near=0.1, outer=0.3, coarse=5, minTick=0.1,
         time="13:30:00"),
    _fop(65, "ZN", "OZN", Schedule(monthly=4, month_rule=_ozn_expiry), 0.25, 0.25,
         under="next_quarter", scale=100, near=0.03, outer=0.08, coarse=2,
         minTick=0.015625, time="14:00:00"),
    _fop(66, "6E", "EUU", Schedule(monthly=4, month_rule=_euu_expiry), 0.005, 0.005,
         under="next_quarter", scale=1000, near=0.05, outer=0.12, coarse=2,
         minTick=0.00005, time="09:00:00"),
    _fop(67, "FGBL", "OGBL", Schedule(monthly=4, month_rule=_ogbl_expiry, calendar="EUREX"),
         0.5, 0.5, under="next_quarter", scale=1, near=0.03, outer=0.08, coarse=2,
         minTick=0.01, time="17:15:00"),
)

OPTION_CLASSES: dict[str, OptionClass] = {c.tradingClass: c for c in _CLASSES}
"""Option classes by trading class (SPX and SPXW are two classes of SPX)."""

if len({c.slot for c in _CLASSES}) != len(_CLASSES):  # pragma: no cover - table check
    raise ValueError("duplicate option class slot")


def classes_of(symbol: str, secType: str = "") -> list[OptionClass]:
    """Option classes on underlying ``symbol`` (``"SPX"`` gives SPX and SPXW);
    ``secType`` (``OPT``/``FOP``) narrows them."""
    sym, st = symbol.upper(), secType.upper()
    return [c for c in _CLASSES if c.symbol == sym and (not st or c.secType == st)]
