"""The simulator's default instrument book: the whole universe on one day.

:class:`UniverseBook` is an
:class:`~twsbridge.sim.reference.instruments.InstrumentBook` holding every
listed instrument (:func:`~twsbridge.sim.reference.universe.listed_instruments`),
the futures listed on its day and each product's CONTFUT. Options and
futures options are never enumerated up front: :meth:`UniverseBook.match`
builds the contracts a request designates from the option listing rules
(:mod:`twsbridge.sim.reference.option_chains`) through
:class:`~twsbridge.sim.reference.derivatives.Derivatives`, and
:meth:`UniverseBook.by_conid` decodes an option's generated conId.

:meth:`UniverseBook.refresh` moves the book to another day: new contract
months appear, expired ones go. It costs nothing when the day is unchanged
and a few milliseconds otherwise (the day's futures are computed once and
kept for a few days).

Resolution follows TWS's reqContractDetails (message 9, answer 10): every
contract the partial contract designates is returned, e.g. symbol + FUT
without an expiry gives every listed month, OPT with symbol, expiry and
right but no strike every strike of that expiry (around the underlying's
current price: ``ref_price``).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from functools import lru_cache

from twsbridge.sim.reference.conids import FUTURE_BASE, OPTION_BASE
from twsbridge.sim.reference.derivatives import Derivatives
from twsbridge.sim.reference.futures import FUTURES, continuous_future, listed_futures
from twsbridge.sim.reference.instruments import Criteria, Instrument, InstrumentBook
from twsbridge.sim.reference.option_chains import (
    OptionClass,
    expirations,
    last_trade_day,
    option,
    strikes,
)
from twsbridge.sim.reference.option_classes import classes_of
from twsbridge.sim.reference.universe import listed_instruments

__all__ = ["RefPrice", "UniverseBook", "dated_futures"]

RefPrice = Callable[[Instrument], float]
"""The current price of an underlying (stock, index or future), to centre a
strike grid on; raises KeyError (or returns <= 0) when it has none."""

_OPTION_CACHE = 4096  # decoded option conIds kept per book


@lru_cache(maxsize=8)
def dated_futures(today: dt.date) -> tuple[tuple[Instrument, ...], tuple[Instrument, ...]]:
    """(every listed future, nearest first per product; every product's CONTFUT)
    on ``today``."""
    futs = tuple(f for p in FUTURES.values() for f in listed_futures(p, today))
    conts = []
    for p in FUTURES.values():
        try:
            conts.append(continuous_future(p, today))
        except LookupError:
            continue
    return futs, tuple(conts)


class UniverseBook(InstrumentBook):
    """Listed instruments, the futures and CONTFUT of ``today``, and options on demand.

    Args:
        today: the simulated day the book lists (futures listed, options not expired).
        listed: the listed instruments (default: the whole universe).
        ref_price: see :data:`RefPrice`; without one (or when it fails) an
            option request without a strike matches nothing.
    """

    def __init__(self, today: dt.date, listed: Iterable[Instrument] | None = None,
                 ref_price: RefPrice | None = None) -> None:
        self._listed = tuple(listed) if listed is not None else listed_instruments()
        self._derivatives = Derivatives(self._listed)
        self.ref_price = ref_price
        self._lock = threading.Lock()
        self._options: OrderedDict[int, Instrument | None] = OrderedDict()
        self._today = dt.date.min
        self.refresh(today)

    @property
    def today(self) -> dt.date:
        """The day the book lists."""
        return self._today

    @property
    def derivatives(self) -> Derivatives:
        """The on-demand source of futures and options."""
        return self._derivatives

    def refresh(self, today: dt.date) -> bool:
        """List the futures of ``today`` (True if the day changed)."""
        if today == self._today:
            return False
        futs, conts = dated_futures(today)
        with self._lock:
            self._load(self._listed + futs + conts)
            self._options.clear()
            self._today = today
        return True

    # ----------------------------------------------------------- lookup

    def by_conid(self, conId: int) -> Instrument | None:
        """The instrument with this conId: listed, a future listed today, or
        an option not yet expired whose generated conId decodes; else None."""
        found = self._by_conid.get(conId)
        if found is not None or conId < FUTURE_BASE:
            return found
        if conId < OPTION_BASE:
            return None  # a future not listed today (expired or too far out)
        with self._lock:
            if conId in self._options:
                return self._options[conId]
        inst = self._derivatives.by_conid(conId, self._today)
        if inst is not None and inst.lastTradeDateOrContractMonth < f"{self._today:%Y%m%d}":
            inst = None
        with self._lock:
            self._options[conId] = inst
            while len(self._options) > _OPTION_CACHE:
                self._options.popitem(last=False)
        return inst

    def match(
        self,
        *,
        symbol: str = "",
        secType: str = "",
        exchange: str = "",
        primaryExchange: str = "",
        currency: str = "",
        localSymbol: str = "",
        conId: int = 0,
        lastTradeDateOrContractMonth: str = "",
        strike: float = 0.0,
        right: str = "",
        multiplier: str = "",
        tradingClass: str = "",
    ) -> list[Instrument]:
        """As :meth:`InstrumentBook.match`, over listed instruments, today's
        futures and CONTFUT, and (secType OPT or FOP with a symbol) the
        options of every class of the symbol: the listed expiries named by
        lastTradeDateOrContractMonth (all when empty), the given strike or
        every strike of the grid, the given right or both; calls before
        puts, by expiry then strike."""
        found = super().match(
            symbol=symbol, secType=secType, exchange=exchange,
            primaryExchange=primaryExchange, currency=currency, localSymbol=localSymbol,
            conId=conId, lastTradeDateOrContractMonth=lastTradeDateOrContractMonth,
            strike=strike, right=right, multiplier=multiplier, tradingClass=tradingClass)
        st = secType.strip().upper()
        if conId or st not in ("OPT", "FOP") or not symbol.strip():
            return found
        crit = Criteria.of(symbol=symbol, secType=st, exchange=exchange,
                           primaryExchange=primaryExchange, currency=currency,
                           localSymbol=localSymbol, when=lastTradeDateOrContractMonth,
                           strike=strike, right=right, multiplier=multiplier,
                           tradingClass=tradingClass)
        return found + [o for o in self._options_of(crit) if crit.accepts(o)]

    def _options_of(self, crit: Criteria) -> list[Instrument]:
        """The option contracts of ``crit``'s symbol and secType that its
        expiry, strike and right name (before the other fields are checked)."""
        today = self._today
        rights = (crit.right,) if crit.right else ("C", "P")
        out: list[Instrument] = []
        for cls in classes_of(crit.symbol, crit.secType):
            if crit.tradingClass and cls.tradingClass != crit.tradingClass:
                continue
            under = self._derivatives.underlying(cls, today)
            if under is None:
                continue
            grid = [crit.strike] if crit.strike else self._grid(cls, under)
            for expiry in expirations(cls, today):
                last = last_trade_day(cls, expiry)
                if crit.when and not _names(crit.when, expiry, last):
                    continue
                for r in rights:
                    for k in grid:
                        try:
                            out.append(option(cls, expiry, k, r,
                                              None if cls.secType == "FOP" else under))
                        except ValueError:
                            continue
        out.sort(key=lambda o: (o.right, o.realExpirationDate, o.strike))
        return out

    def _grid(self, cls: OptionClass, under: Instrument) -> list[float]:
        if self.ref_price is None:
            return []
        try:
            price = self.ref_price(under)
        except KeyError:
            return []
        return strikes(cls, price) if price > 0 else []


def _names(when: str, expiry: dt.date, last: dt.date) -> bool:
    w = when.strip()[:8]
    if len(w) == 6:
        return w in (f"{expiry:%Y%m}", f"{last:%Y%m}")
    return w in (f"{expiry:%Y%m%d}", f"{last:%Y%m%d}")
