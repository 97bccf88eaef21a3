"""Option listing rules of the simulated universe: expirations, strike grids
and the contract of (class, expiry, strike, right).

Everything is lazy and deterministic: :func:`expirations` is a function of
(class, today), :func:`strikes` of (class, reference price),
:func:`option_chain` of both (the shape of reqSecDefOptParams, message 78
/ answer 75), and :func:`option` builds the contract with a generated conId
(:func:`twsbridge.sim.reference.conids.option_conid`), so nothing is
enumerated in advance.

Expiry rules (:class:`Schedule`), per option class (``tradingClass``):

* monthlies on the third Friday (the business day before if a holiday), for
  ``monthly`` consecutive months, plus the months of ``cycle`` within
  ``cycle_span`` months and ``leaps`` years of LEAPS (January for stocks,
  December for SPX);
* weeklies (``weeks``): every Friday of the next weeks (AAPL, MSFT ...);
* short-dated (``daily``): the listed weekdays of the next ``daily_weeks``
  weeks (SPY, QQQ, SPXW: Monday to Friday; IWM: Mon/Wed/Fri);
* end of month (``eom``): the last business day of the next months (SPXW, EW);
* product rules: VIX (the Wednesday 30 days before the next month's third
  Friday), CME/Eurex futures options (``month_rule``).

AM-settled classes (SPX, NDX, RUT monthlies, VIX) stop trading the business
day before their expiry: ``lastTradeDateOrContractMonth`` is that day and
``realExpirationDate`` the settlement day, as TWS reports them.

Strike grids (:func:`strikes`): a fine increment by price level (stocks: 0.5
under $25, 1 under $200, 2.5 under $500, 5 above; SPX 5) within ``near`` of
the reference price, and ``coarse`` times it out to ``outer``. localSymbol
is OCC's (``AAPL  261218C00200000``) for US options, ``ESZ6 C6000`` for CME
futures options, ``C ODAX 20261218 24000 M`` for Eurex.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from twsbridge.sim.reference.business_days import (
    is_business_day,
    last_business_day,
    nth_weekday,
    on_or_before,
    shift_business_days,
)
from twsbridge.sim.reference.conids import option_conid
from twsbridge.sim.reference.futures import FUTURES, MONTH_CODES, contract_months, future
from twsbridge.sim.reference.instruments import Instrument

__all__ = [
    "OptionChain",
    "OptionClass",
    "Schedule",
    "expirations",
    "last_trade_day",
    "option",
    "option_chain",
    "strike_from_units",
    "strikes",
]

_ONE = dt.timedelta(days=1)
_OPT_ORDER_TYPES = (
    "ACTIVETIM,AD,ADJUST,ALERT,ALLOC,AVGCOST,BASKET,COND,CONDORDER,DAY,DEACT,DEACTDIS,"
    "DEACTEOD,GAT,GTC,GTD,GTT,HID,IOC,LIT,LMT,MIT,MKT,MTL,NGCOMB,NONALGO,OCA,OPENCLOSE,"
    "PEGMID,REL,RELPCTOFS,SCALE,SCALERST,SMARTSTG,SNAPMID,SNAPMKT,SNAPREL,STP,STPLMT,"
    "TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,VOLAT,WHATIF"
)
US_OPTION_EXCHANGES = (
    "SMART,AMEX,CBOE,PHLX,PSE,ISE,BOX,BATS,NASDAQOM,CBOE2,NASDAQBX,MIAX,GEMINI,EDGX,"
    "MERCURY,PEARL,EMERALD,MEMX,IBUSOPT"
)
"""validExchanges of US equity options."""


def third_friday(year: int, month: int, calendar: str = "US") -> dt.date:
    """Standard monthly expiry: the third Friday, or the business day before."""
    return on_or_before(nth_weekday(year, month, 4, 3), calendar)


def vix_expiry(year: int, month: int) -> dt.date:
    """VIX options of ``month``: the Wednesday 30 days before the third Friday
    of the next month (the business day before a holiday)."""
    ny, nm = year + month // 12, month % 12 + 1
    friday = nth_weekday(ny, nm, 4, 3)
    if not is_business_day(friday):
        friday = on_or_before(friday)
    return on_or_before(friday - dt.timedelta(days=30))


@dataclass(frozen=True, slots=True)
class Schedule:
    """Which expiries of a class are listed on a day (see the module docstring).

    ``month_rule(year, month)`` gives the expiry of a contract month (default
    :func:`third_friday`); ``months`` the months that have one.
    """

    monthly: int = 3
    months: tuple[int, ...] = tuple(range(1, 13))
    month_rule: Callable[[int, int], dt.date] = third_friday
    cycle: tuple[int, ...] = ()
    cycle_span: int = 9
    leaps: int = 0
    leaps_month: int = 1
    weeks: int = 0
    daily: tuple[int, ...] = ()
    daily_weeks: int = 0
    eom: int = 0
    calendar: str = "US"


@dataclass(frozen=True, slots=True)
class OptionClass:
    """One option class: contract terms, listing schedule and strike grid.

    ``slot`` is the fixed conId slot (0..79, never reused); ``strike_unit``
    the unit every strike is a multiple of; ``tiers`` (price bound, fine
    increment) pairs, the first bound above the reference price applies;
    ``near``/``outer`` half-widths of the fine/coarse grids as fractions of
    the reference price; ``future`` the futures class of a FOP, whose
    contract month for an option month is ``under_month``.
    """

    slot: int
    symbol: str
    tradingClass: str
    secType: str
    exchange: str
    currency: str
    multiplier: str
    minTick: float
    timeZoneId: str
    lastTradeTime: str
    schedule: Schedule
    strike_unit: float
    tiers: tuple[tuple[float, float], ...]
    near: float = 0.15
    outer: float = 0.4
    coarse: int = 2
    am_settled: bool = False
    underSecType: str = "STK"
    validExchanges: str = US_OPTION_EXCHANGES
    local_style: str = "occ"  # "occ", "cme" (ESZ6 C6000), "eurex" (C ODAX 20261218 24000 M)
    strike_scale: int = 1  # cme style: strike * scale in the localSymbol
    future: str = ""
    under_month: str = "same"  # "same", "next_quarter", "next_even"
    marketRuleIds: str = "32"
    longName: str = ""


@dataclass(frozen=True, slots=True)
class OptionChain:
    """One reqSecDefOptParams answer (message 75): ``expirations`` are last
    trading days ``YYYYMMDD``, ``strikes`` ascending floats."""

    exchange: str
    underConId: int
    tradingClass: str
    multiplier: str
    expirations: tuple[str, ...]
    strikes: tuple[float, ...]


def _months_ahead(today: dt.date, n: int) -> list[tuple[int, int]]:
    return [(today.year + (today.month - 1 + k) // 12, (today.month - 1 + k) % 12 + 1)
            for k in range(n)]


def expirations(cls: OptionClass, today: dt.date) -> list[dt.date]:
    """Expiry (settlement) dates of ``cls`` listed on ``today``, ascending;
    an expiry lists until its last trading day has passed."""
    s = cls.schedule
    found: set[dt.date] = set()

    def alive(expiry: dt.date) -> bool:
        return last_trade_day(cls, expiry) >= today

    monthly = 0
    for y, m in _months_ahead(today, max(40, 12 * s.leaps + 13)):
        if m not in s.months:
            continue
        expiry = s.month_rule(y, m)
        if not alive(expiry):
            continue
        offset = (y - today.year) * 12 + m - today.month
        if monthly < s.monthly:
            monthly += 1
            found.add(expiry)
        elif m in s.cycle and offset <= s.cycle_span:
            found.add(expiry)
        elif m == s.leaps_month and y - today.year <= s.leaps and s.leaps:
            found.add(expiry)
    for k in range(s.weeks):
        friday = today + dt.timedelta(days=(4 - today.weekday()) % 7 + 7 * k)
        expiry = on_or_before(friday, s.calendar)
        if alive(expiry):
            found.add(expiry)
    for k in range(7 * s.daily_weeks):
        day = today + k * _ONE
        if day.weekday() in s.daily and is_business_day(day, s.calendar):
            found.add(day)
    eoms = 0
    for y, m in _months_ahead(today, s.eom + 1):
        expiry = last_business_day(y, m, s.calendar)
        if eoms < s.eom and alive(expiry):
            found.add(expiry)
            eoms += 1
    return sorted(found)


def last_trade_day(cls: OptionClass, expiry: dt.date) -> dt.date:
    """Last trading day of an expiry of ``cls``: the business day before for
    AM-settled classes, else the expiry itself."""
    if cls.am_settled:
        return shift_business_days(expiry, -1, cls.schedule.calendar)
    return expiry


def _to_units(value: float, unit: float) -> float:
    return float(Decimal(repr(value)) / Decimal(repr(unit)))


def strike_from_units(units: int, unit: float) -> float:
    """``units * unit`` as the nearest float to the exact decimal product."""
    return float(units * Decimal(repr(unit)))


def strikes(cls: OptionClass, ref_price: float) -> list[float]:
    """The strike grid of ``cls`` around ``ref_price`` (> 0), ascending.
    Raises ValueError for a non-positive price."""
    if not ref_price > 0:
        raise ValueError(f"reference price must be positive, not {ref_price}")
    fine = next((inc for bound, inc in cls.tiers if ref_price < bound), cls.tiers[-1][1])
    fine_u = max(1, round(_to_units(fine, cls.strike_unit)))
    coarse_u = fine_u * cls.coarse
    ref_u = _to_units(ref_price, cls.strike_unit)
    units: set[int] = set()
    for step, width in ((fine_u, cls.near), (coarse_u, cls.outer)):
        lo = max(step, math.ceil(ref_u * (1 - width) / step) * step)
        hi = math.floor(ref_u * (1 + width) / step) * step
        units.update(range(lo, hi + 1, step))
    return [strike_from_units(u, cls.strike_unit) for u in sorted(units)]


def _underlying_future(cls: OptionClass, expiry: dt.date, month: tuple[int, int]) -> Instrument:
    """The future a FOP of option month ``month`` exercises into."""
    product = FUTURES[cls.future]
    y, m = month
    if cls.under_month != "same":
        for y2, m2 in contract_months(product, dt.date(y, m, 1)):
            if product.last_trade(y2, m2) >= expiry and (
                cls.under_month != "next_even" or m2 % 2 == 0
            ):
                return future(product, y2, m2)
    return future(product, y, m)


def _option_month(cls: OptionClass, expiry: dt.date) -> tuple[int, int]:
    """The contract month of an expiry: the month whose rule gives it, else its own."""
    s = cls.schedule
    for k in range(-1, 3):
        y, m = expiry.year + (expiry.month - 1 + k) // 12, (expiry.month - 1 + k) % 12 + 1
        if m in s.months and s.month_rule(y, m) == expiry:
            return y, m
    return expiry.year, expiry.month


def _local_symbol(cls: OptionClass, expiry: dt.date, strike: float, right: str,
                  month: tuple[int, int]) -> str:
    if cls.local_style == "cme":
        y, m = month
        scaled = round(Decimal(repr(strike)) * cls.strike_scale)
        return f"{cls.tradingClass}{MONTH_CODES[m - 1]}{y % 10} {right}{scaled}"
    if cls.local_style == "eurex":
        return f"{right} {cls.tradingClass} {expiry:%Y%m%d} {strike:g} M"
    thousandths = round(Decimal(repr(strike)) * 1000)
    return f"{cls.tradingClass:<6}{expiry:%y%m%d}{right}{thousandths:08d}"


def option(cls: OptionClass, expiry: dt.date, strike: float, right: str,
           underlying: Instrument | None = None) -> Instrument:
    """The OPT/FOP contract of ``cls`` expiring on ``expiry`` (settlement
    date) with ``strike`` and ``right`` (``"C"``/``"P"``).

    ``underlying`` is the stock or index of an OPT (required); a FOP's
    future is derived from the class's rule when omitted. Raises ValueError
    for a strike off the class's unit grid, another right, or a missing
    OPT underlying. Whether the expiry is listed is not checked (expired
    contracts keep their conIds).
    """
    units = _to_units(strike, cls.strike_unit)
    if strike <= 0 or abs(units - round(units)) > 1e-9:
        raise ValueError(f"strike {strike} is not a multiple of {cls.strike_unit}")
    if right not in ("C", "P"):
        raise ValueError(f"right must be C or P, not {right!r}")
    month = _option_month(cls, expiry)
    if cls.secType == "FOP" and underlying is None:
        underlying = _underlying_future(cls, expiry, month)
    if underlying is None:
        raise ValueError(f"an underlying is required for {cls.tradingClass} options")
    last = last_trade_day(cls, expiry)
    return Instrument(
        conId=option_conid(cls.slot, expiry, round(units), right),
        symbol=cls.symbol,
        secType=cls.secType,
        exchange=cls.exchange,
        primaryExchange="",
        currency=cls.currency,
        localSymbol=_local_symbol(cls, expiry, strike, right, month),
        tradingClass=cls.tradingClass,
        longName=cls.longName or underlying.longName,
        minTick=cls.minTick,
        multiplier=cls.multiplier,
        timeZoneId=cls.timeZoneId,
        orderTypes=_OPT_ORDER_TYPES,
        validExchanges=cls.validExchanges,
        stockType="",
        marketRuleIds=",".join([cls.marketRuleIds] * len(cls.validExchanges.split(","))),
        aggGroup=2,
        derivativeSecTypes=(),
        description=underlying.longName,
        suggestedSizeIncrement=Decimal("1"),
        lastTradeDateOrContractMonth=last.strftime("%Y%m%d"),
        strike=strike,
        right=right,
        underConId=underlying.conId,
        underSymbol=underlying.symbol,
        underSecType=underlying.secType,
        contractMonth=f"{month[0]:04d}{month[1]:02d}",
        realExpirationDate=expiry.strftime("%Y%m%d"),
        lastTradeTime=cls.lastTradeTime,
    )


def option_chain(cls: OptionClass, today: dt.date, ref_price: float,
                 underlying: Instrument) -> OptionChain:
    """reqSecDefOptParams answer of ``cls`` on ``today``: its expirations
    (last trading days) and strikes around ``ref_price``. For a FOP only
    the expiries exercising into ``underlying`` (a future) are included."""
    dates = expirations(cls, today)
    if cls.secType == "FOP":
        dates = [d for d in dates
                 if _underlying_future(cls, d, _option_month(cls, d)).conId == underlying.conId]
    return OptionChain(
        exchange=cls.exchange,
        underConId=underlying.conId,
        tradingClass=cls.tradingClass,
        multiplier=cls.multiplier,
        expirations=tuple(last_trade_day(cls, d).strftime("%Y%m%d") for d in dates),
        strikes=tuple(strikes(cls, ref_price)),
    )
