"""On-demand derivatives of the simulated universe: futures, CONTFUT,
options and futures options, looked up the ways TWS requests name them.

:class:`Derivatives` is the source an
:class:`~twsbridge.sim.reference.instruments.InstrumentBook` can consult for
contracts it does not hold (wiring it in is a later step): by fields
(:meth:`Derivatives.match`, reqContractDetails), by conId
(:meth:`Derivatives.by_conid`, which inverts the generated-conId scheme of
:mod:`twsbridge.sim.reference.conids`) and by chain
(:meth:`Derivatives.chains`, reqSecDefOptParams).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from twsbridge.sim.reference.conids import FUTURE_BASE, OPTION_BASE, weekday_number
from twsbridge.sim.reference.futures import (
    FUTURES,
    FutureProduct,
    continuous_future,
    future,
    listed_futures,
)
from twsbridge.sim.reference.instruments import Instrument
from twsbridge.sim.reference.option_chains import (
    OptionChain,
    OptionClass,
    expirations,
    last_trade_day,
    option,
    option_chain,
    strike_from_units,
)
from twsbridge.sim.reference.option_classes import OPTION_CLASSES, classes_of

__all__ = ["Derivatives"]

_EPOCH = dt.date(2000, 1, 3)
_EXPIRY_SLOTS, _STRIKE_SLOTS, _MONTH_SLOTS = 1625, 4096, 2400
_DECODE_BEHIND = 400  # weekdays before today an option conId may have expired


def _from_weekday_number(n: int) -> dt.date:
    weeks, rem = divmod(n, 5)
    return _EPOCH + dt.timedelta(days=7 * weeks + rem)


def _parse_date(text: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(text[:8], "%Y%m%d").date() if len(text) >= 8 else None
    except ValueError:
        return None


class Derivatives:
    """Futures and options on the given underlyings (the listed universe).

    ``underlyings`` are the stocks, ETFs and indices options are written on;
    an option class whose underlying is not among them has no contracts.
    """

    def __init__(self, underlyings: Iterable[Instrument]) -> None:
        self._under: dict[tuple[str, str], Instrument] = {}
        for inst in underlyings:  # the first listing of a symbol wins
            if inst.secType in ("STK", "IND"):
                self._under.setdefault((inst.symbol, inst.secType), inst)

    # ---------------------------------------------------------------- futures

    @staticmethod
    def future_products(symbol: str = "") -> list[FutureProduct]:
        """Futures products, all or those of IB ``symbol`` or trading class."""
        sym = symbol.upper()
        return [p for p in FUTURES.values() if not sym or sym in (p.symbol, p.tradingClass)]

    def futures(self, symbol: str, today: dt.date) -> list[Instrument]:
        """FUT contracts of ``symbol`` (IB symbol or trading class) listed on ``today``."""
        return [f for p in self.future_products(symbol) for f in listed_futures(p, today)]

    def continuous(self, symbol: str, today: dt.date) -> list[Instrument]:
        """CONTFUT of ``symbol``: the front contract by the roll rule (one per product)."""
        return [continuous_future(p, today) for p in self.future_products(symbol)]

    # ---------------------------------------------------------------- options

    def underlying(self, cls: OptionClass, today: dt.date) -> Instrument | None:
        """The stock or index of an OPT class; for a FOP the nearest listed future."""
        if cls.secType == "FOP":
            listed = listed_futures(FUTURES[cls.future], today)
            return listed[0] if listed else None
        return self._under.get((cls.symbol, cls.underSecType))

    def option(self, tradingClass: str, expiry: dt.date, strike: float,
               right: str) -> Instrument:
        """The contract of class ``tradingClass`` (e.g. ``SPXW``). Raises
        KeyError for an unknown class or one without an underlying, and
        ValueError as :func:`~twsbridge.sim.reference.option_chains.option`."""
        cls = OPTION_CLASSES[tradingClass.upper()]
        under = None if cls.secType == "FOP" else self._under[(cls.symbol, cls.underSecType)]
        return option(cls, expiry, strike, right, under)

    def chains(self, underlying: Instrument, today: dt.date,
               ref_price: float) -> list[OptionChain]:
        """reqSecDefOptParams answers for ``underlying`` (stock, index or future)."""
        kind = "FOP" if underlying.secType == "FUT" else "OPT"
        out = []
        for cls in classes_of(underlying.symbol, kind):
            if kind == "FOP" and cls.future != underlying.tradingClass:
                continue
            if kind == "OPT" and self._under.get((cls.symbol, cls.underSecType)) != underlying:
                continue
            chain = option_chain(cls, today, ref_price, underlying)
            if chain.expirations:
                out.append(chain)
        return out

    # ---------------------------------------------------------------- lookup

    def match(self, *, symbol: str, secType: str, today: dt.date,
              lastTradeDateOrContractMonth: str = "", strike: float = 0.0, right: str = "",
              tradingClass: str = "", localSymbol: str = "") -> list[Instrument]:
        """Derivatives a request's contract designates (reqContractDetails).

        FUT/CONTFUT: ``symbol`` with an optional contract month (``YYYYMM``)
        or last trading day (``YYYYMMDD``) and localSymbol. OPT/FOP: symbol,
        last trading day or expiry (``YYYYMMDD``), strike and right are all
        required (TWS would list a whole chain otherwise; the simulator
        needs a reference price for that, see :meth:`chains`).
        """
        st, when = secType.upper(), lastTradeDateOrContractMonth
        if st == "CONTFUT":
            return self.continuous(symbol, today)
        if st == "FUT":
            return [f for f in self.futures(symbol, today)
                    if (not when or (f.contractMonth if len(when) == 6
                                     else f.lastTradeDateOrContractMonth) == when[:8])
                    and (not localSymbol or f.localSymbol.upper() == localSymbol.upper())
                    and (not tradingClass or f.tradingClass == tradingClass.upper())]
        day = _parse_date(when)
        if st not in ("OPT", "FOP") or day is None or strike <= 0 or right[:1] not in "CP":
            return []
        out = []
        for cls in classes_of(symbol, st):
            if tradingClass and cls.tradingClass != tradingClass.upper():
                continue
            for expiry in self._expiries_named(cls, day):
                try:
                    out.append(self.option(cls.tradingClass, expiry, strike, right[:1]))
                except (KeyError, ValueError):
                    continue
        return out

    @staticmethod
    def _expiries_named(cls: OptionClass, day: dt.date) -> list[dt.date]:
        """Expiries of ``cls`` whose last trading day or expiry is ``day``."""
        found = []
        for expiry in (day, day + dt.timedelta(days=1), day + dt.timedelta(days=3)):
            if expiry in expirations(cls, day) and (
                expiry == day or last_trade_day(cls, expiry) == day
            ):
                found.append(expiry)
        return sorted(set(found))

    def by_conid(self, conId: int, today: dt.date) -> Instrument | None:
        """The future or option with generated conId ``conId``, or None.

        Futures decode exactly. An option's expiry is taken from 400 weekdays
        (about 19 months) before ``today`` to 1225 after, and must be an
        expiry of its class; its strike below 4096 strike units."""
        for product in FUTURES.values():
            for month, real in product.real_conids:
                if real == conId:
                    return future(product, int(month[:4]), int(month[4:]))
        if FUTURE_BASE <= conId < OPTION_BASE:
            slot, month_index = divmod(conId - FUTURE_BASE, _MONTH_SLOTS)
            found = next((p for p in FUTURES.values() if p.slot == slot), None)
            if found is None:
                return None
            return future(found, 1900 + month_index // 12, month_index % 12 + 1)
        if conId < OPTION_BASE:
            return None
        value, put = divmod(conId - OPTION_BASE, 2)
        value, strike_units = divmod(value, _STRIKE_SLOTS)
        slot, expiry_slot = divmod(value, _EXPIRY_SLOTS)
        cls = next((c for c in OPTION_CLASSES.values() if c.slot == slot), None)
        if cls is None:
            return None
        base = weekday_number(today) - _DECODE_BEHIND
        n = base + (expiry_slot - base) % _EXPIRY_SLOTS
        expiry = _from_weekday_number(n)
        if expiry not in expirations(cls, last_trade_day(cls, expiry)):
            return None
        strike = strike_from_units(strike_units or _STRIKE_SLOTS, cls.strike_unit)
        right = "P" if put else "C"
        try:
            inst = self.option(cls.tradingClass, expiry, strike, right)
        except (KeyError, ValueError):
            return None
        return inst if inst.conId == conId else None

