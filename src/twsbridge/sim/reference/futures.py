"""Futures of the simulated universe: products, their expiry schedules and
the contracts listed on a given day.

Each :class:`FutureProduct` states its exchange's rules (contract specs of
CME Group and Eurex):

========  =======  ===============================================================
class     months   last trading day
========  =======  ===============================================================
ES NQ RTY HMUZ     third Friday of the contract month (08:30 US/Central)
6E        HMUZ     second business day before the third Wednesday (09:16 US/Central)
ZN        HMUZ     seventh business day before the month's last business day
                   (12:01 US/Central)
CL        monthly  3 business days before the 25th of the month before the
                   contract month; 4 if the 25th is not a business day (14:30 US/Eastern)
GC        see GC   third-last business day of the contract month (13:30 US/Eastern);
                   listed: the next three calendar months, Feb/Apr/Aug/Oct within
                   23 months, Jun/Dec within 72 months
FDAX      HMZU     third Friday, or the exchange day before (13:00 MET)
FGBL      HMUZ     two exchange days before the delivery day, the 10th of the month
                   or the next exchange day (12:30 MET)
========  =======  ===============================================================

Business days come from :mod:`twsbridge.sim.reference.business_days`.
``localSymbol`` follows TWS: ``ESZ6`` for CME Group (month code and the
year's last digit), ``FDAX DEC 26`` for Eurex. conIds are generated
(:func:`twsbridge.sim.reference.conids.future_conid`) except the few real
ones in ``_REAL_CONIDS``.

CONTFUT (:func:`continuous_future`): TWS's continuous future designates the
front contract and carries its conId. TWS does not publish its roll rule;
the simulator rolls on the exchange's customary roll date: ``roll_days``
business days before the last trading day (equity index futures: the
Thursday eight days before expiry, i.e. 6 business days).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from twsbridge.sim.reference.business_days import (
    is_business_day,
    last_business_day,
    nth_weekday,
    on_or_after,
    on_or_before,
    shift_business_days,
)
from twsbridge.sim.reference.conids import future_conid, listed_conid
from twsbridge.sim.reference.instruments import Instrument

__all__ = [
    "FUTURES",
    "MONTH_CODES",
    "FutureProduct",
    "continuous_future",
    "contract_months",
    "future",
    "listed_futures",
    "roll_date",
]

MONTH_CODES = "FGHJKMNQUVXZ"
"""CME month codes, January (F) to December (Z)."""
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_QUARTERLY = (3, 6, 9, 12)
_FUT_ORDER_TYPES = (
    "ACTIVETIM,AD,ADJUST,ALERT,ALLOC,AVGCOST,BASKET,BENCHPX,COND,CONDORDER,DAY,DEACT,"
    "DEACTDIS,DEACTEOD,GAT,GTC,GTD,GTT,HID,ICE,IOC,LIT,LMT,LTH,MIT,MKT,MTL,NGCOMB,"
    "NONALGO,OCA,PEGBENCH,SCALE,SCALERST,SNAPMID,SNAPMKT,SNAPREL,STP,STPLMT,TRAIL,"
    "TRAILLIT,TRAILLMT,TRAILMIT,WHATIF"
)


def _third_friday(year: int, month: int, calendar: str) -> dt.date:
    return on_or_before(nth_weekday(year, month, 4, 3), calendar)


def _equity_index(year: int, month: int) -> dt.date:
    return _third_friday(year, month, "US")


def _euro_fx(year: int, month: int) -> dt.date:
    return shift_business_days(nth_weekday(year, month, 2, 3), -2, "US")


def _ten_year_note(year: int, month: int) -> dt.date:
    return shift_business_days(last_business_day(year, month, "US"), -7, "US")


def _crude_oil(year: int, month: int) -> dt.date:
    prior = dt.date(year, month, 1) - dt.timedelta(days=1)
    the_25th = dt.date(prior.year, prior.month, 25)
    n = 3 if is_business_day(the_25th, "US") else 4
    return shift_business_days(the_25th, -n, "US")


def _gold(year: int, month: int) -> dt.date:
    return shift_business_days(last_business_day(year, month, "US"), -2, "US")


def _fdax(year: int, month: int) -> dt.date:
    return _third_friday(year, month, "EUREX")


def _bund(year: int, month: int) -> dt.date:
    delivery = on_or_after(dt.date(year, month, 10), "EUREX")
    return shift_business_days(delivery, -2, "EUREX")


@dataclass(frozen=True, slots=True)
class FutureProduct:
    """One futures product: its contract terms and expiry schedule.

    ``slot`` is the product's fixed conId slot (never reused); ``months``
    the contract months of the cycle (1-12); ``listed`` how many contracts
    of the cycle are listed at once (GC: see ``gold_listing``);
    ``last_trade(year, month)`` the last trading day of a contract month;
    ``lastTradeTime`` is in ``timeZoneId``.
    """

    slot: int
    symbol: str
    tradingClass: str
    exchange: str
    currency: str
    multiplier: str
    minTick: float
    timeZoneId: str
    longName: str
    months: tuple[int, ...]
    listed: int
    last_trade: Callable[[int, int], dt.date]
    lastTradeTime: str
    calendar: str = "US"
    roll_days: int = 6
    eurex_style: bool = False
    gold_listing: bool = False
    underSymbol: str = ""
    underConId: int = 0
    marketRuleIds: str = ""
    real_conids: tuple[tuple[str, int], ...] = ()


#: Futures products by trading class.
FUTURES: dict[str, FutureProduct] = {
    p.tradingClass: p
    for p in (
        FutureProduct(0, "ES", "ES", "CME", "USD", "50", 0.25, "US/Central",
                      "E-mini S&P 500", _QUARTERLY, 5, _equity_index, "08:30:00",
                      underSymbol="SPX", underConId=416904, marketRuleIds="67"),
        FutureProduct(1, "NQ", "NQ", "CME", "USD", "20", 0.25, "US/Central",
                      "E-mini NASDAQ 100", _QUARTERLY, 5, _equity_index, "08:30:00",
                      underSymbol="NDX", underConId=416843, marketRuleIds="67"),
        FutureProduct(2, "RTY", "RTY", "CME", "USD", "50", 0.1, "US/Central",
                      "E-mini Russell 2000 Index", _QUARTERLY, 5, _equity_index, "08:30:00",
                      underSymbol="RUT", underConId=416888, marketRuleIds="2046"),
        FutureProduct(3, "CL", "CL", "NYMEX", "USD", "1000", 0.01, "US/Eastern",
                      "Light Sweet Crude Oil", tuple(range(1, 13)), 12, _crude_oil,
                      "14:30:00", roll_days=3, marketRuleIds="32"),
        FutureProduct(4, "GC", "GC", "COMEX", "USD", "100", 0.1, "US/Eastern",
                      "Gold", tuple(range(1, 13)), 0, _gold, "13:30:00",
                      roll_days=3, gold_listing=True, marketRuleIds="46",
                      real_conids=(("202512", 397594951), ("202601", 760200558),
                                   ("202602", 693609539))),
        FutureProduct(5, "ZN", "ZN", "CBOT", "USD", "1000", 0.015625, "US/Central",
                      "10 Year US Treasury Note", _QUARTERLY, 3, _ten_year_note,
                      "12:01:00", roll_days=15, marketRuleIds="230"),
        FutureProduct(6, "EUR", "6E", "CME", "USD", "125000", 0.00005, "US/Central",
                      "European Monetary Union Euro", _QUARTERLY, 5, _euro_fx,
                      "09:16:00", roll_days=5, marketRuleIds="239"),
        FutureProduct(7, "DAX", "FDAX", "EUREX", "EUR", "25", 0.5, "MET",
                      "DAX Index", _QUARTERLY, 3, _fdax, "13:00:00", calendar="EUREX",
                      roll_days=6, eurex_style=True, underSymbol="DAX",
                      underConId=listed_conid("IND", "DAX", "EUREX", "EUR"),
                      marketRuleIds="1630"),
        FutureProduct(8, "GBL", "FGBL", "EUREX", "EUR", "1000", 0.01, "MET",
                      "Euro Bund (8.5 - 10.5 Years)", _QUARTERLY, 3, _bund, "12:30:00",
                      calendar="EUREX", roll_days=2, eurex_style=True,
                      marketRuleIds="1631"),
    )
}


def _gold_listed(offset: int, month: int) -> bool:
    """COMEX gold's listing: the next three calendar months, Feb/Apr/Aug/Oct
    within 23 months, Jun/Dec within 72 months."""
    return offset <= 2 or (month in (2, 4, 8, 10) and offset <= 23) or (
        month in (6, 12) and offset <= 72
    )


def contract_months(product: FutureProduct, today: dt.date) -> list[tuple[int, int]]:
    """(year, month) of every contract of ``product`` listed on ``today``
    (not yet past its last trading day), nearest first."""
    out: list[tuple[int, int]] = []
    year, month = today.year, today.month
    for offset in range(0, 75):
        y, m = year + (month - 1 + offset) // 12, (month - 1 + offset) % 12 + 1
        if m not in product.months or product.last_trade(y, m) < today:
            continue
        if product.gold_listing:
            if _gold_listed(offset, m):
                out.append((y, m))
        elif len(out) < product.listed:
            out.append((y, m))
        else:
            break
    return out


def _local_symbol(product: FutureProduct, year: int, month: int) -> str:
    if product.eurex_style:
        return f"{product.tradingClass} {_MONTH_NAMES[month - 1]} {year % 100:02d}"
    return f"{product.tradingClass}{MONTH_CODES[month - 1]}{year % 10}"


def future(product: FutureProduct, year: int, month: int) -> Instrument:
    """The FUT contract of ``product`` for contract month ``year``-``month``
    (whether listed or not: expired contracts keep their conId)."""
    month_text = f"{year:04d}{month:02d}"
    last = product.last_trade(year, month).strftime("%Y%m%d")
    conid = dict(product.real_conids).get(month_text) or future_conid(product.slot, year, month)
    return Instrument(
        conId=conid,
        symbol=product.symbol,
        secType="FUT",
        exchange=product.exchange,
        primaryExchange="",
        currency=product.currency,
        localSymbol=_local_symbol(product, year, month),
        tradingClass=product.tradingClass,
        longName=product.longName,
        minTick=product.minTick,
        multiplier=product.multiplier,
        timeZoneId=product.timeZoneId,
        orderTypes=_FUT_ORDER_TYPES,
        validExchanges=product.exchange,
        stockType="",
        marketRuleIds=product.marketRuleIds,
        aggGroup=2,
        derivativeSecTypes=("FOP",),
        description=product.longName,
        suggestedSizeIncrement=Decimal("1"),
        lastTradeDateOrContractMonth=last,
        contractMonth=month_text,
        realExpirationDate=last,
        lastTradeTime=product.lastTradeTime,
        underSymbol=product.underSymbol,
        underConId=product.underConId,
        underSecType="IND" if product.underSymbol else "",
    )


def listed_futures(product: FutureProduct, today: dt.date) -> list[Instrument]:
    """The FUT contracts of ``product`` listed on ``today``, nearest first."""
    return [future(product, y, m) for y, m in contract_months(product, today)]


def roll_date(product: FutureProduct, year: int, month: int) -> dt.date:
    """The day the continuous future moves past contract month ``year``-``month``:
    ``roll_days`` business days before its last trading day."""
    return shift_business_days(product.last_trade(year, month), -product.roll_days,
                               product.calendar)


def continuous_future(product: FutureProduct, today: dt.date) -> Instrument:
    """CONTFUT of ``product`` on ``today``: the first listed contract whose
    roll date is after ``today``, with secType ``CONTFUT`` and its conId."""
    for y, m in contract_months(product, today):
        if roll_date(product, y, m) > today:
            return dataclasses.replace(future(product, y, m), secType="CONTFUT")
    raise LookupError(f"no listed {product.tradingClass} contract after {today}")
