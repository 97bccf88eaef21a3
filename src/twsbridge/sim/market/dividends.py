"""Cash dividends of the simulated stocks: one seeded, documented schedule.

What the IB Dividends tick (generic tick 456 → tickString 59) is answered
from, and the schedule the news / Wall Street Horizon events and the option
model's ``pvDividend`` are to read, so that they agree. No I/O, no protocol.

Schedule
    Every payer pays quarterly. A payer has an *anchor* ex-date and amount
    (the table below: real ex-dates and amounts near 2013-03-01 for the US
    payers of the instrument book, and the first dividends of GOOG and META
    in 2024). Quarter ``q`` (``q = 0`` the anchor) has its ex-date ``3q``
    months after the anchor's, moved by a seeded ``-3..+3`` days (none for
    ``q = 0``) and then to the following Monday if on a weekend. Its amount
    is the anchor's raised by the payer's seeded yearly growth
    (3 %..10 %) once every four quarters: ``amount * (1 + g) ** floor(q / 4)``,
    rounded to 0.001. There are no ex-dates before the payer's first one
    (AAPL: 2012-08-09, NVDA: 2012-11-20, GOOG and META: 2024).

    Stocks not in the table (and not listed as non-payers) pay with a
    seeded probability of 1/2: anchored in February..April 2013 on a seeded
    day, at a seeded yield of 1 %..3 % a year of their 2013-03-01 close.
    Forex and other non-stock instruments have no dividends.

Everything is a pure function of ``(seed, conId)`` (and the price model for
the seeded yields).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from twsbridge.sim.market.prices import DATA_END, PriceModel
from twsbridge.sim.market.quoting import mix64_one
from twsbridge.sim.reference.instruments import Instrument

__all__ = ["Dividend", "DividendSchedule", "IBDividends", "Payer"]

_SALT = 0x5DEECE66D
_YEAR = dt.timedelta(days=365)


@dataclass(frozen=True, slots=True)
class Dividend:
    """One cash dividend: ``exDate`` and ``amount`` in the stock's currency per share."""

    exDate: dt.date
    amount: float


@dataclass(frozen=True, slots=True)
class Payer:
    """A payer's quarterly schedule: ``anchor`` ex-date and ``amount`` (quarter 0),
    ``first`` ex-date (none before), yearly ``growth`` (0.05 = 5 %)."""

    anchor: dt.date
    amount: float
    first: dt.date
    growth: float


@dataclass(frozen=True, slots=True)
class IBDividends:
    """The four values of TWS's IB Dividends tick (59), as of one day:
    the sum of the amounts with ex-dates in the past 12 months (``day``
    included), the sum over the next 12 months (both rounded to 0.0001),
    the next ex-date and its amount (None when there is none)."""

    past12Months: float
    next12Months: float
    nextDate: dt.date | None
    nextAmount: float | None

    def text(self) -> str:
        """The tickString value: ``'0.83,0.92,20130219,0.23'`` (IB's example);
        a stock without a next dividend: ``'0,0,,'``."""
        nxt = self.nextDate.strftime("%Y%m%d") if self.nextDate else ""
        amt = _num(self.nextAmount) if self.nextAmount is not None else ""
        return f"{_num(self.past12Months)},{_num(self.next12Months)},{nxt},{amt}"


def _num(x: float) -> str:
    return f"{round(x, 4):g}"


_D = dt.date
#: conId → (anchor ex-date, amount, first ex-date): real dividends of the book's payers.
PAYERS: dict[int, tuple[dt.date, float, dt.date]] = {
    265598: (_D(2013, 2, 7), 2.65, _D(2012, 8, 9)),  # AAPL (pre-split dollars)
    272093: (_D(2013, 2, 19), 0.23, _D(2003, 2, 19)),  # MSFT
    8314: (_D(2013, 2, 6), 0.85, _D(1990, 1, 1)),  # IBM
    270639: (_D(2013, 2, 5), 0.225, _D(1992, 1, 1)),  # INTC
    4815747: (_D(2013, 2, 26), 0.075, _D(2012, 11, 20)),  # NVDA
    756733: (_D(2013, 3, 15), 0.70, _D(1993, 3, 1)),  # SPY
    320227571: (_D(2013, 3, 18), 0.17, _D(2004, 12, 1)),  # QQQ
    208813720: (_D(2024, 6, 10), 0.20, _D(2024, 6, 10)),  # GOOG
    107113386: (_D(2024, 2, 21), 0.50, _D(2024, 2, 21)),  # META
}
#: Stocks of the book that pay no dividend.
NON_PAYERS = frozenset({4391, 76792991, 3691937})  # AMD, TSLA, AMZN


def _add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.year * 12 + day.month - 1 + months, 12)
    m += 1
    last = (dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(y, m, min(day.day, last))


class DividendSchedule:
    """The dividends of a :class:`PriceModel`'s stocks (module docstring).

    Unknown conIds raise KeyError (from the price model).
    """

    def __init__(self, prices: PriceModel) -> None:
        self.prices = prices
        self._payers: dict[int, Payer | None] = {}

    def _hash(self, conId: int, k: int) -> int:
        return mix64_one(self.prices.seed ^ _SALT, conId, k)

    def payer(self, inst: Instrument) -> Payer | None:
        """The instrument's schedule, None for a non-payer."""
        if inst.conId in self._payers:
            return self._payers[inst.conId]
        p: Payer | None = None
        if inst.secType == "STK" and inst.conId not in NON_PAYERS:
            growth = 0.03 + (self._hash(inst.conId, -1) % 701) / 10_000
            known = PAYERS.get(inst.conId)
            if known is not None:
                p = Payer(known[0], known[1], known[2], growth)
            elif self._hash(inst.conId, -2) % 2 == 0:
                h = self._hash(inst.conId, -3)
                anchor = DATA_END + dt.timedelta(days=-28 + int(h % 89))
                close = self.prices.price_at(
                    inst.conId, dt.datetime.combine(DATA_END, dt.time(21), dt.UTC))
                yld = 0.01 + ((h >> 12) % 2001) / 100_000
                amount = max(round(close * yld / 4, 3), 0.001)
                p = Payer(anchor, amount, max(inst.firstDate, anchor - 40 * _YEAR), growth)
        self._payers[inst.conId] = p
        return p

    def _quarter(self, inst: Instrument, p: Payer, q: int) -> Dividend:
        day = _add_months(p.anchor, 3 * q)
        if q:
            day += dt.timedelta(days=int(self._hash(inst.conId, q) % 7) - 3)
        if day.weekday() >= 5:
            day += dt.timedelta(days=7 - day.weekday())
        amount = round(p.amount * (1 + p.growth) ** math.floor(q / 4), 3)
        return Dividend(day, amount)

    def between(self, conId: int, start: dt.date, end: dt.date) -> list[Dividend]:
        """The dividends with ``start < exDate <= end``, ascending."""
        inst = self.prices.instrument(conId)
        p = self.payer(inst)
        if p is None or end <= start:
            return []
        q = (start.year - p.anchor.year) * 4 + (start.month - p.anchor.month) // 3 - 2
        out: list[Dividend] = []
        while True:
            d = self._quarter(inst, p, q)
            if d.exDate > end:
                return out
            if d.exDate > start and d.exDate >= p.first:
                out.append(d)
            q += 1

    def ib_dividends(self, conId: int, day: dt.date) -> IBDividends:
        """The IB Dividends values as of ``day`` (ex-dates on ``day`` are past)."""
        past = self.between(conId, day - _YEAR, day)
        future = self.between(conId, day, day + _YEAR)
        nxt = future[0] if future else None
        return IBDividends(round(math.fsum(d.amount for d in past), 4),
                           round(math.fsum(d.amount for d in future), 4),
                           nxt.exDate if nxt else None, nxt.amount if nxt else None)
