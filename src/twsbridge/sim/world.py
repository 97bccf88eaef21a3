"""The state every part of one simulated TWS shares: the world the broker, the
faults and the gateway act on.

:class:`World` holds the seed, the instrument book, the price model, the
simulated clock, the paper account, the order id sequence and the "Master API
client ID" setting, with the two derived views several parts need (forex rates
and the valuation of open positions). It is built from the lower layers only
(:mod:`twsbridge.sim.reference`, :mod:`twsbridge.sim.market` and the
:class:`~twsbridge.sim.broker.account.Account` record) and imports none of the
parts that act on it (the broker, the faults, the gateway), so every one of
them can depend on it without an import circle. :class:`~twsbridge.sim.simulator.Simulator`
is a world with its broker, faults and store attached.
"""

from __future__ import annotations

import datetime as dt

from twsbridge.sim.broker.account import Account
from twsbridge.sim.market.clock import SimClock
from twsbridge.sim.market.prices import PriceModel
from twsbridge.sim.reference.book import UniverseBook
from twsbridge.sim.reference.instruments import Instrument, InstrumentBook

__all__ = ["World"]


class World:
    """The shared state of one simulated TWS.

    Args:
        seed: selects the synthetic market (real daily data is the same for every seed).
        clock: the simulated clock (default: 2013-03-01 10:00 US/Eastern, real-time speed).
        account: the paper account code reported in managedAccounts.
        cash: the account's starting cash, USD.

    Attributes:
        seed, book, prices, clock, account: as above; ``book`` is the
            :class:`~twsbridge.sim.reference.book.UniverseBook` of the
            clock's day (the whole listed universe, that day's futures and
            CONTFUT, options on demand), ``prices`` the
            :class:`~twsbridge.sim.market.prices.PriceModel` on it.
        master_client_id: TWS's "Master API client ID" setting: that client
            also sees every other API client's orders (None: no master).
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: SimClock | None = None,
        account: str = "DU1234567",
        cash: float = 1_000_000.0,
        book: InstrumentBook | None = None,
    ) -> None:
        self.seed = seed
        self.clock = clock if clock is not None else SimClock()
        self._book: InstrumentBook = book if book is not None else UniverseBook(
            self.clock.now().date(), ref_price=self._ref_price)
        self.prices = PriceModel(seed, self._book)
        self.account = Account(account, cash)
        self._next_order_id = 1
        self.master_client_id: int | None = None

    @property
    def book(self) -> InstrumentBook:
        """The instrument book on the clock's day (US/Eastern): the universe's is
        refreshed when the day changes, so new futures months appear and expired
        ones go; a book given to the constructor is served as it is."""
        if isinstance(self._book, UniverseBook):
            self._book.refresh(self.clock.now().date())
        return self._book

    def _ref_price(self, inst: Instrument) -> float:
        """The price option strikes are centred on: the instrument's own, else
        its underlying's (a future without a price of its own: its index)."""
        now = self.clock.now()
        try:
            return self.prices.price_at(inst.conId, now)
        except KeyError:
            if not inst.underConId:
                raise
            return self.prices.price_at(inst.underConId, now)

    @property
    def next_order_id(self) -> int:
        """The next valid order id (nextValidId, id 9)."""
        return self._next_order_id

    def use_order_id(self, order_id: int) -> None:
        """Record that ``order_id`` was used: nextValidId moves past it."""
        self._next_order_id = max(self._next_order_id, order_id + 1)

    def fx_rate(self, currency: str, now: dt.datetime) -> float:
        """Base-currency units per unit of ``currency`` at ``now``, from the forex pairs
        (1.0 for the base currency or when no pair quotes it)."""
        base = self.account.base_currency
        if currency == base:
            return 1.0
        for inst in self.book:
            if inst.secType != "CASH":
                continue
            if inst.symbol == currency and inst.currency == base:
                return self.prices.price_at(inst.conId, now)
            if inst.symbol == base and inst.currency == currency:
                return 1.0 / self.prices.price_at(inst.conId, now)
        return 1.0

    def valuation(self, now: dt.datetime) -> tuple[dict[int, float], dict[str, float]]:
        """(conId -> price of every open position, currency -> fx rate) at ``now``."""
        acct = self.account
        prices = acct.valuation_prices(lambda con_id: self.prices.price_at(con_id, now))
        ccys = {c for c in acct.cash if c != acct.base_currency}
        ccys |= {h.contract.currency for h in acct.holdings.values()
                 if h.contract.currency and h.contract.currency != acct.base_currency}
        return prices, {c: self.fx_rate(c, now) for c in ccys}
