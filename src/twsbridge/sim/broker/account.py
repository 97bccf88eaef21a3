"""The simulated paper account: cash, positions and the values TWS reports.

One :class:`Account` holds the state (cash per currency, positions, realized
P&L) and renders it the way TWS does for

* reqAccountUpdates (id 6): updateAccountValue (6) rows, updatePortfolio (7)
  rows, then accountUpdateTime (8) and accountDownloadEnd (54);
* reqAccountUpdatesMulti (id 76): accountUpdateMulti (73) rows, then
  accountUpdateMultiEnd (74);
* reqAccountSummary (id 62): accountSummary (63) rows for the requested tags
  (and ``$LEDGER`` / ``$LEDGER:ALL`` / ``$LEDGER:<CCY>``), then accountSummaryEnd (64);
* reqPositions (id 61): position (61) rows, then positionEnd (62).

Keys, currencies, row order and value formats follow a real TWS session
(``tws-recording-v176.json``); the values are computed from the state.
Money is in the account's base currency (USD by default) unless a row names
another currency; amounts are formatted with two decimals as TWS does.

Positions start empty; :meth:`Account.book_fill` books a trade (cash,
position, average cost with commissions, realized P&L) for the simulated broker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from twsbridge.protocol.models import Contract

__all__ = [
    "ACCOUNT_TAGS",
    "LEDGER_KEYS",
    "Account",
    "AccountValue",
    "Holding",
    "PortfolioRow",
]

#: Ledger keys, in the order TWS sends them for one currency (accountUpdateMulti,
#: accountSummary $LEDGER rows). reqAccountUpdates omits ``Cryptocurrency``.
LEDGER_KEYS: tuple[str, ...] = (
    "Currency", "CashBalance", "TotalCashBalance", "AccruedCash", "StockMarketValue",
    "OptionMarketValue", "FutureOptionValue", "FuturesPNL", "NetLiquidationByCurrency",
    "UnrealizedPnL", "RealizedPnL", "ExchangeRate", "FundValue", "NetDividend",
    "MutualFundValue", "MoneyMarketFundValue", "CorporateBondValue", "TBondValue",
    "TBillValue", "WarrantValue", "FxCashBalance", "AccountOrGroup", "RealCurrency",
    "IssuerOptionValue", "Cryptocurrency",
)

# Segmented keys: ``key`` (total), ``key-C`` (commodities, always 0 here) and
# ``key-S`` (securities, equal to the total), all in the base currency.
_SEGMENTED: tuple[str, ...] = (
    "AccruedDividend", "AvailableFunds", "Billable", "EquityWithLoanValue",
    "ExcessLiquidity", "FullAvailableFunds", "FullExcessLiquidity", "FullInitMarginReq",
    "FullMaintMarginReq", "Guarantee", "IndianStockHaircut", "InitMarginReq",
    "LookAheadAvailableFunds", "LookAheadExcessLiquidity", "LookAheadInitMarginReq",
    "LookAheadMaintMarginReq", "MaintMarginReq", "NetLiquidation", "PASharesValue",
    "PhysicalCertificateValue", "PostExpirationExcess", "PostExpirationMargin",
    "TotalCashValue", "TotalDebitCardPendingCharges",
)
# Keys with a total and a ``-S`` row only.
_SECURITIES: tuple[str, ...] = (
    "GrossPositionValue", "PreviousDayEquityWithLoanValue", "RegTEquity", "RegTMargin", "SMA",
)
# Single rows in the base currency.
_BASE_ONLY: tuple[str, ...] = ("BuyingPower", "NetLiquidationUncertainty")

#: Tags reqAccountSummary can ask for by name (TWS's AccountSummaryTags that
#: this account reports); unknown tags are ignored, as TWS does.
ACCOUNT_TAGS: frozenset[str] = frozenset({
    "AccountType", "NetLiquidation", "TotalCashValue", "AccruedCash", "BuyingPower",
    "EquityWithLoanValue", "PreviousDayEquityWithLoanValue", "GrossPositionValue",
    "RegTEquity", "RegTMargin", "SMA", "InitMarginReq", "MaintMarginReq", "AvailableFunds",
    "ExcessLiquidity", "Cushion", "FullInitMarginReq", "FullMaintMarginReq",
    "FullAvailableFunds", "FullExcessLiquidity", "LookAheadNextChange",
    "LookAheadInitMarginReq", "LookAheadMaintMarginReq", "LookAheadAvailableFunds",
    "LookAheadExcessLiquidity", "DayTradesRemaining", "DayTradesRemainingT+1",
    "DayTradesRemainingT+2", "DayTradesRemainingT+3", "DayTradesRemainingT+4",
})

_INIT_MARGIN = {"STK": 0.25, "CASH": 0.03}
_MAINT_MARGIN = {"STK": 0.25, "CASH": 0.03}
_SHORT_STK_MARGIN = 0.30


def _money(x: float) -> str:
    return f"{x:.2f}"


def _ratio(x: float) -> str:
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


@dataclass(frozen=True, slots=True)
class AccountValue:
    """One account value: ``key`` (TWS tag), ``value`` as TWS's text, ``currency``
    (``""`` for non-monetary values, ``"BASE"`` for base-currency totals)."""

    key: str
    value: str
    currency: str


@dataclass(slots=True)
class Holding:
    """One position: ``position`` in shares (forex: base-currency units, signed),
    ``avgCost`` per unit in the contract's currency (TWS's averageCost),
    ``realizedPnL`` booked on this contract, in its currency."""

    contract: Contract
    position: Decimal = Decimal(0)
    avgCost: float = 0.0
    realizedPnL: float = 0.0


@dataclass(frozen=True, slots=True)
class PortfolioRow:
    """One updatePortfolio (7) row: prices in the contract's currency."""

    contract: Contract
    position: Decimal
    marketPrice: float
    marketValue: float
    averageCost: float
    unrealizedPNL: float
    realizedPNL: float


@dataclass(slots=True)
class _Totals:
    """Valuation of the account at one moment, base currency unless noted."""

    cash: dict[str, float] = field(default_factory=dict)  # by currency, own units
    stock: dict[str, float] = field(default_factory=dict)  # stock market value by currency
    unreal: dict[str, float] = field(default_factory=dict)
    real: dict[str, float] = field(default_factory=dict)
    fx: dict[str, float] = field(default_factory=dict)  # base units per currency unit
    gross: float = 0.0
    init: float = 0.0
    maint: float = 0.0

    def base(self, per_ccy: dict[str, float]) -> float:
        return sum(v * self.fx.get(c, 1.0) for c, v in per_ccy.items())


class Account:
    """A paper account (TWS ``DU…`` code) with cash and positions.

    Args:
        code: the account code reported in managedAccounts and every row.
        cash: starting cash, in ``base_currency``.
        base_currency: the account's base currency (``"USD"``).
        account_type: the ``AccountType`` value (``"INDIVIDUAL"``).

    Valuation methods take ``prices`` (conId -> current price in the
    contract's currency; a missing conId is valued at its average cost) and
    ``fx`` (currency -> base-currency units per unit; missing means 1.0).
    """

    def __init__(
        self,
        code: str = "DU1234567",
        cash: float = 1_000_000.0,
        base_currency: str = "USD",
        account_type: str = "INDIVIDUAL",
    ) -> None:
        self.code = code
        self.base_currency = base_currency
        self.account_type = account_type
        self.cash: dict[str, float] = {base_currency: float(cash)}
        self.holdings: dict[int, Holding] = {}
        self.start_equity = float(cash)

    # ------------------------------------------------------------ changes
    def apply_fill(self, contract: Contract, quantity: Decimal, price: float,
                   commission: float = 0.0, fx_rate: float = 1.0) -> Holding:
        """Book a fill: ``quantity`` signed (buy > 0), ``price`` in the contract's
        currency, ``commission`` in the base currency, ``fx_rate`` base units per
        unit of the contract's currency. Returns the holding (position 0 when
        closed); see :meth:`book_fill`.

        Raises:
            ValueError: for a zero quantity or a contract without conId.
        """
        return self.book_fill(contract, quantity, price, commission, fx_rate)[0]

    def book_fill(self, contract: Contract, quantity: Decimal, price: float,
                  commission: float = 0.0, fx_rate: float = 1.0) -> tuple[Holding, float | None]:
        """Book a fill as TWS does and return (holding, realized P&L of the fill).

        Cash moves by the trade value (contract currency) and the commission
        (base currency). The commission of an opening fill goes into the
        average cost (a buy's cost rises, a short sale's proceeds fall); a
        closing fill realizes ``closed * (price * multiplier - avgCost)`` less
        its share of the commission. The realized P&L is in the contract's
        currency, None for a fill that only opens or adds.

        Raises:
            ValueError: for a zero quantity or a contract without conId.
        """
        if quantity == 0 or not contract.conId:
            raise ValueError("a fill needs a conId and a non-zero quantity")
        ccy = contract.currency or self.base_currency
        mult = float(contract.multiplier or 1)
        h = self.holdings.get(contract.conId) or Holding(contract)
        qty, old = float(quantity), float(h.position)
        comm = commission / fx_rate if fx_rate else commission  # in the contract's currency
        self.cash[ccy] = self.cash.get(ccy, 0.0) - qty * price * mult
        self.cash[self.base_currency] = self.cash.get(self.base_currency, 0.0) - commission
        realized: float | None = None
        new = old + qty
        if old == 0 or (old > 0) == (qty > 0):  # opening or adding
            sign = 1.0 if qty > 0 else -1.0
            h.avgCost = (abs(old) * h.avgCost + abs(qty) * price * mult + sign * comm) / abs(new)
        else:  # reducing, closing or flipping
            closed = min(abs(qty), abs(old))
            sign = 1.0 if old > 0 else -1.0
            close_comm = comm * closed / abs(qty)
            realized = closed * sign * (price * mult - h.avgCost) - close_comm
            h.realizedPnL += realized
            if new != 0 and (new > 0) != (old > 0):
                open_comm = comm - close_comm
                h.avgCost = price * mult + (1.0 if new > 0 else -1.0) * open_comm / abs(new)
        h.position = Decimal(str(new)).normalize() if new else Decimal(0)
        self.holdings[contract.conId] = h
        if contract.secType == "CASH":  # forex: the pair's base currency is held as cash
            self.cash[contract.symbol] = self.cash.get(contract.symbol, 0.0) + qty
        return h, realized

    def margins(self, prices: Mapping[int, float] | None = None,
                fx: Mapping[str, float] | None = None) -> tuple[float, float, float]:
        """(initial margin, maintenance margin, equity with loan value), base currency."""
        t = self._totals(prices, fx)
        return t.init, t.maint, t.base(t.cash) + t.base(t.stock)

    def deposit(self, amount: float, currency: str | None = None) -> None:
        """Add (or, negative, withdraw) cash in ``currency`` (default base)."""
        ccy = currency or self.base_currency
        self.cash[ccy] = self.cash.get(ccy, 0.0) + amount

    # ---------------------------------------------------------- valuation
    def _totals(self, prices: Mapping[int, float] | None,
                fx: Mapping[str, float] | None) -> _Totals:
        t = _Totals(fx={self.base_currency: 1.0, **(fx or {})})
        t.cash = {c: v for c, v in self.cash.items() if v or c == self.base_currency}
        for con_id, h in self.holdings.items():
            if h.position == 0 and not h.realizedPnL:
                continue
            ccy = h.contract.currency or self.base_currency
            t.real[ccy] = t.real.get(ccy, 0.0) + h.realizedPnL
            if h.contract.secType == "CASH" or h.position == 0:
                continue  # forex positions live in the cash balances
            mult = float(h.contract.multiplier or 1)
            price = (prices or {}).get(con_id, h.avgCost / mult)
            qty = float(h.position)
            value = qty * price * mult
            t.stock[ccy] = t.stock.get(ccy, 0.0) + value
            t.unreal[ccy] = t.unreal.get(ccy, 0.0) + value - qty * h.avgCost
            base_value = abs(value) * t.fx.get(ccy, 1.0)
            t.gross += base_value
            rate = _SHORT_STK_MARGIN if qty < 0 else _INIT_MARGIN.get(h.contract.secType, 0.5)
            t.init += base_value * rate
            t.maint += base_value * max(rate, _MAINT_MARGIN.get(h.contract.secType, 0.5))
        for ccy, amount in t.cash.items():
            if ccy != self.base_currency:
                value = abs(amount) * t.fx.get(ccy, 1.0)
                t.init += value * _INIT_MARGIN["CASH"]
                t.maint += value * _MAINT_MARGIN["CASH"]
        return t

    def currencies(self, totals: _Totals | None = None) -> list[str]:
        """Ledger currencies: the base currency, then every other held one (sorted)."""
        t = totals or self._totals(None, None)
        others = {c for c in (*t.cash, *t.stock, *t.real) if c != self.base_currency}
        return [self.base_currency, *sorted(others)]

    def _account_rows(self, t: _Totals) -> list[AccountValue]:
        """Account-level rows (no ledger), sorted by key as TWS sends them."""
        base = self.base_currency
        cash = t.base(t.cash)
        stock = t.base(t.stock)
        nlv = cash + stock
        ewl = nlv
        avail = ewl - t.init
        excess = ewl - t.maint
        regt_margin = t.gross * 0.5
        money = {
            "AvailableFunds": avail, "EquityWithLoanValue": ewl, "ExcessLiquidity": excess,
            "FullAvailableFunds": avail, "FullExcessLiquidity": excess,
            "FullInitMarginReq": t.init, "FullMaintMarginReq": t.maint,
            "InitMarginReq": t.init, "MaintMarginReq": t.maint,
            "LookAheadAvailableFunds": avail, "LookAheadExcessLiquidity": excess,
            "LookAheadInitMarginReq": t.init, "LookAheadMaintMarginReq": t.maint,
            "NetLiquidation": nlv, "TotalCashValue": cash,
            "GrossPositionValue": t.gross, "PreviousDayEquityWithLoanValue": self.start_equity,
            "RegTEquity": nlv, "RegTMargin": regt_margin, "SMA": max(0.0, nlv - regt_margin),
            "BuyingPower": max(0.0, avail) * 4, "NetLiquidationUncertainty": 0.0,
        }
        rows = [
            AccountValue("AccountCode", self.code, ""),
            AccountValue("AccountReady", "true", ""),
            AccountValue("AccountType", self.account_type, ""),
            AccountValue("AccruedCash", _money(0.0), base),
            AccountValue("ColumnPrio-C", "2", ""),
            AccountValue("ColumnPrio-S", "1", ""),
            AccountValue("Cushion", _ratio(excess / nlv if nlv else 0.0), ""),
            AccountValue("DayTradesRemaining", "-1", ""),
            *(AccountValue(f"DayTradesRemainingT+{k}", "-1", "") for k in range(1, 5)),
            AccountValue("DayTradingStatus-S", f"::false:{_money(nlv)}:", ""),
            AccountValue("Leverage-S", _money(t.gross / nlv if nlv else 0.0), ""),
            AccountValue("LookAheadNextChange", "0", ""),
            AccountValue("NLVAndMarginInReview", "false", ""),
            AccountValue("SegmentTitle-C", "US Commodities", ""),
            AccountValue("SegmentTitle-S", "US Securities", ""),
            AccountValue("TradingType-S", "STKNOPT", ""),
            AccountValue("WhatIfPMEnabled", "true", ""),
        ]
        for key in ("AccruedCash", *_SEGMENTED):
            total = money.get(key, 0.0)
            if key != "AccruedCash":
                rows.append(AccountValue(key, _money(total), base))
            rows.append(AccountValue(key + "-C", _money(0.0), base))
            rows.append(AccountValue(key + "-S", _money(total), base))
        for key in _SECURITIES:
            rows.append(AccountValue(key, _money(money[key]), base))
            rows.append(AccountValue(key + "-S", _money(money[key]), base))
        rows.extend(AccountValue(key, _money(money[key]), base) for key in _BASE_ONLY)
        rows.sort(key=lambda r: r.key)
        return rows

    def _ledger_rows(self, t: _Totals, ccy: str, group: str = "",
                     base_real: str = "BASE") -> list[AccountValue]:
        """Ledger rows of one currency (``"BASE"`` for the converted totals);
        ``group`` fills AccountOrGroup (default the account code), ``base_real``
        the RealCurrency of the BASE ledger."""
        if ccy == "BASE":
            cash, stock = t.base(t.cash), t.base(t.stock)
            unreal, real, rate = t.base(t.unreal), t.base(t.real), 1.0
            fx_cash = sum(v * t.fx.get(c, 1.0) for c, v in t.cash.items()
                          if c != self.base_currency)
            real_ccy = base_real
        else:
            cash, stock = t.cash.get(ccy, 0.0), t.stock.get(ccy, 0.0)
            unreal, real, rate = t.unreal.get(ccy, 0.0), t.real.get(ccy, 0.0), t.fx.get(ccy, 1.0)
            fx_cash, real_ccy = 0.0, ccy
        values: dict[str, str] = {key: _money(0.0) for key in LEDGER_KEYS}
        values.update({
            "Currency": ccy, "CashBalance": _money(cash), "TotalCashBalance": _money(cash),
            "StockMarketValue": _money(stock), "NetLiquidationByCurrency": _money(cash + stock),
            "UnrealizedPnL": _money(unreal), "RealizedPnL": _money(real),
            "ExchangeRate": _money(rate), "FxCashBalance": _money(fx_cash),
            "AccountOrGroup": group or self.code, "RealCurrency": real_ccy,
            "Cryptocurrency": "",
        })
        return [AccountValue(key, values[key], ccy) for key in LEDGER_KEYS]

    # -------------------------------------------------------------- views
    def update_values(self, prices: Mapping[int, float] | None = None,
                      fx: Mapping[str, float] | None = None) -> list[AccountValue]:
        """updateAccountValue (6) rows of reqAccountUpdates, in TWS's order:
        sorted by key, the BASE row of a ledger key before the currency rows."""
        t = self._totals(prices, fx)
        ccys = ["BASE", *self.currencies(t)]
        seen: set[tuple[str, str]] = set()
        rows: list[AccountValue] = []
        ledger = [r for c in ccys for r in self._ledger_rows(t, c) if r.key != "Cryptocurrency"]
        for r in [*self._account_rows(t), *ledger]:
            if (r.key, r.currency) not in seen:
                seen.add((r.key, r.currency))
                rows.append(r)
        order = {c: k for k, c in enumerate(ccys)}
        rows.sort(key=lambda r: (r.key, order.get(r.currency, -1)))
        return rows

    def multi_values(self, prices: Mapping[int, float] | None = None,
                     fx: Mapping[str, float] | None = None,
                     ledger_and_nlv: bool = False) -> list[AccountValue]:
        """accountUpdateMulti (73) rows of reqAccountUpdatesMulti: account rows,
        then each currency's ledger, then the BASE ledger. ``ledger_and_nlv``
        keeps only the ledgers and NetLiquidation."""
        t = self._totals(prices, fx)
        rows = self._account_rows(t)
        if ledger_and_nlv:
            rows = [r for r in rows if r.key == "NetLiquidation"]
        for ccy in [*self.currencies(t), "BASE"]:
            rows.extend(self._ledger_rows(t, ccy, base_real=self.base_currency))
        return rows

    def summary_values(self, tags: str, group: str = "All",
                       prices: Mapping[int, float] | None = None,
                       fx: Mapping[str, float] | None = None) -> list[tuple[str, AccountValue]]:
        """(account, row) pairs of reqAccountSummary for a comma list of ``tags``.

        Named tags come first (non-monetary ones, then monetary ones, each sorted
        by key), then the ledger rows: ``$LEDGER`` the BASE ledger,
        ``$LEDGER:ALL`` every currency then BASE, ``$LEDGER:<CCY>`` one currency.
        Ledger rows carry the group name as account, as TWS does.
        """
        t = self._totals(prices, fx)
        wanted = {s.strip() for s in tags.split(",") if s.strip()}
        rows = [r for r in self._account_rows(t)
                if r.key in wanted and r.key in ACCOUNT_TAGS]
        rows.sort(key=lambda r: (r.currency != "", r.key))
        out = [(self.code, r) for r in rows]
        held = self.currencies(t)
        ledger: list[str] = []
        for tag in wanted:
            up = tag.upper()
            if up == "$LEDGER":
                ledger.append("BASE")
            elif up == "$LEDGER:ALL":
                ledger.extend([*held, "BASE"])
            elif up.startswith("$LEDGER:") and up[8:] in held:
                ledger.append(up[8:])
        for ccy in dict.fromkeys(ledger):
            out.extend((group, r) for r in self._ledger_rows(t, ccy, group=group))
        return out

    def portfolio(self, prices: Mapping[int, float] | None = None) -> list[PortfolioRow]:
        """updatePortfolio (7) rows: every position (closed ones with realized P&L
        are reported with position 0, as TWS does for the day)."""
        out = []
        for con_id, h in self.holdings.items():
            mult = float(h.contract.multiplier or 1)
            price = (prices or {}).get(con_id, h.avgCost / mult)
            qty = float(h.position)
            value = qty * price * mult
            out.append(PortfolioRow(h.contract, h.position, price, round(value, 2), h.avgCost,
                                    round(value - qty * h.avgCost, 2), round(h.realizedPnL, 2)))
        return out

    def positions(self) -> list[Holding]:
        """Holdings for reqPositions (position (61) rows), in booking order."""
        return list(self.holdings.values())

    def valuation_prices(self, price_of: Callable[[int], float]) -> dict[int, float]:
        """conId -> price for every open position, from ``price_of(conId)``."""
        return {c: price_of(c) for c, h in self.holdings.items() if h.position != 0}
