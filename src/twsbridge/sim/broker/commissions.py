"""Commissions of the simulated broker: IB's tiered US stock schedule and IDEALPRO forex.

Every execution is charged by :func:`commission_for` and reported in a
commissionReport (id 59), in the account's base currency (USD).

US stocks, IBKR Pro *tiered*, first volume tier (<= 300,000 shares a month):

==============================  ================================================
IBKR commission                 USD 0.0035 per share, at least USD 0.35, at most
                                1 % of the trade value
exchange fee (approximation)    USD 0.0030 per share when the fill removes
                                liquidity (marketable orders), 0 when it adds
clearing fee (NSCC, DTC)        USD 0.00020 per share
pass-through fees               NYSE 0.000175 and FINRA 0.00056 times the IBKR
                                commission
regulatory fees, sales only     SEC transaction fee 0.0000278 times the sale
                                value; FINRA trading activity fee USD 0.000166
                                per share sold, at most USD 8.30
==============================  ================================================

IDEALPRO forex: 0.2 basis points (0.00002) of the trade value in USD, at least
USD 2.00 per order fill.

Amounts are rounded to 6 decimals, as TWS reports them (e.g. ``1.000003``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "FX_MIN",
    "FX_RATE",
    "STOCK_MAX_PCT",
    "STOCK_MIN",
    "STOCK_PER_SHARE",
    "Charge",
    "Liquidity",
    "commission_for",
    "idealpro_fx",
    "us_stock_tiered",
]

STOCK_PER_SHARE = 0.0035
"""IBKR tiered commission per share (USD), first tier."""
STOCK_MIN = 0.35
"""Minimum IBKR commission per order fill (USD)."""
STOCK_MAX_PCT = 0.01
"""Maximum IBKR commission as a share of the trade value."""
EXCHANGE_REMOVE = 0.0030
"""Approximate exchange fee per share for a fill that removes liquidity (USD)."""
EXCHANGE_ADD = 0.0
"""Approximate exchange fee per share for a fill that adds liquidity (USD)."""
CLEARING_PER_SHARE = 0.00020
"""NSCC/DTC clearing fee per share (USD)."""
NYSE_PASS_THROUGH = 0.000175
"""NYSE pass-through fee, times the IBKR commission."""
FINRA_PASS_THROUGH = 0.00056
"""FINRA pass-through fee, times the IBKR commission."""
SEC_FEE_RATE = 0.0000278
"""SEC transaction fee, times the value of a sale."""
FINRA_TAF_PER_SHARE = 0.000166
"""FINRA trading activity fee per share sold (USD)."""
FINRA_TAF_MAX = 8.30
"""Maximum FINRA trading activity fee per trade (USD)."""
FX_RATE = 0.00002
"""IDEALPRO commission: 0.2 basis points of the trade value."""
FX_MIN = 2.0
"""Minimum IDEALPRO commission per fill (USD)."""


class Liquidity:
    """TWS ``lastLiquidity`` codes of an execution."""

    ADDED = 1
    REMOVED = 2


@dataclass(frozen=True, slots=True)
class Charge:
    """Commission of one fill in USD: ``commission`` as reported; ``ibkr`` the
    broker's part, ``fees`` exchange, clearing and regulatory fees."""

    commission: float
    ibkr: float
    fees: float
    currency: str = "USD"


def us_stock_tiered(shares: Decimal, price: float, *, sell: bool, liquidity: int) -> Charge:
    """Tiered US stock commission of a fill of ``shares`` (> 0) at ``price`` (USD).

    ``sell`` adds the regulatory sale fees; ``liquidity`` (:class:`Liquidity`)
    selects the exchange fee.
    """
    qty = float(abs(shares))
    value = qty * price
    ibkr = min(max(qty * STOCK_PER_SHARE, STOCK_MIN), value * STOCK_MAX_PCT)
    exchange = qty * (EXCHANGE_REMOVE if liquidity == Liquidity.REMOVED else EXCHANGE_ADD)
    fees = exchange + qty * CLEARING_PER_SHARE + ibkr * (NYSE_PASS_THROUGH + FINRA_PASS_THROUGH)
    if sell:
        fees += value * SEC_FEE_RATE + min(qty * FINRA_TAF_PER_SHARE, FINRA_TAF_MAX)
    return Charge(round(ibkr + fees, 6), round(ibkr, 6), round(fees, 6))


def idealpro_fx(quantity: Decimal, price: float, usd_per_quote: float) -> Charge:
    """IDEALPRO commission of a fill of ``quantity`` base-currency units at
    ``price`` (quote currency per base unit); ``usd_per_quote`` converts the
    quote currency to USD."""
    value_usd = float(abs(quantity)) * price * usd_per_quote
    ibkr = max(value_usd * FX_RATE, FX_MIN)
    return Charge(round(ibkr, 6), round(ibkr, 6), 0.0)


_Schedule = Callable[[Decimal, float, bool, int, float], Charge]

_SCHEDULES: dict[str, _Schedule] = {
    "STK": lambda q, p, sell, liq, _fx: us_stock_tiered(q, p, sell=sell, liquidity=liq),
    "CASH": lambda q, p, _sell, _liq, fx: idealpro_fx(q, p, fx),
}


def commission_for(sec_type: str, quantity: Decimal, price: float, *, sell: bool,
                   liquidity: int, usd_per_ccy: float = 1.0) -> Charge:
    """Commission of a fill by security type (``STK`` tiered, ``CASH`` IDEALPRO;
    anything else is charged as a stock). ``usd_per_ccy``: USD per unit of the
    contract's currency."""
    schedule = _SCHEDULES.get(sec_type, _SCHEDULES["STK"])
    return schedule(quantity, price, sell, liquidity, usd_per_ccy)
