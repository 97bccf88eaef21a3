"""Checks the service runs on an order before it reaches TWS.

* :func:`check_prices`: every price of the order is a positive multiple of the
  instrument's minimum tick below :data:`MAX_PRICE` (TWS's error 110 otherwise);
  US stocks below USD 1 trade on TWS's 0.0001 grid.
* :func:`check_account`: the order names an account the gateway manages (TWS's
  error 321 "Invalid account code" otherwise), or none (the default account).

Both answer a 400 problem (type ``price-off-tick`` or ``account-not-managed``)
with TWS's ``code`` and the ``field``: the request was refused here and never sent,
so it is not titled as TWS's rejection; TWS would refuse it with the same code.
"""

from __future__ import annotations

import math

from twsbridge.protocol import Contract, ContractDetails
from twsbridge.protocol.codec import UNSET_DOUBLE
from twsbridge.protocol.order_models import Order

from ..problems import ProblemError

__all__ = ["INVALID_ACCOUNT", "MAX_PRICE", "OFF_TICK", "SUB_DOLLAR_TICK", "check_account",
           "check_prices", "on_grid"]

OFF_TICK = "The price does not conform to the minimum price variation for this contract."
INVALID_ACCOUNT = "Error validating request.-'bN' : cause - Invalid account code"
MAX_PRICE = 1e9
"""Prices from here up are refused: no instrument trades there, and far beyond it a
binary float no longer tells neighbouring grid points apart (1e300 is "on" every grid)."""
SUB_DOLLAR_TICK = 0.0001
"""TWS's price increment for US stocks below USD 1 (their market rule)."""


def on_grid(value: float, tick: float) -> bool:
    """Whether ``value`` is a positive multiple of ``tick`` below :data:`MAX_PRICE`.

    ``1e-300`` is not (it rounds to zero ticks), nor are 0, negative values, NaN and
    infinities.
    """
    if not (0 < value < MAX_PRICE) or not tick > 0:
        return False
    steps = round(value / tick)
    return steps >= 1 and abs(value / tick - steps) <= 1e-6


def _tick_for(value: float, contract: Contract, min_tick: float) -> float:
    if contract.secType == "STK" and contract.currency in ("", "USD") and value < 1:
        return min(min_tick, SUB_DOLLAR_TICK)
    return min_tick


def check_prices(order: Order, contract: Contract, details: ContractDetails) -> None:
    """Refuse ``order`` when a price of it is off the contract's tick grid.

    Checks ``lmtPrice`` and ``auxPrice`` where set (a trailing order's ``auxPrice``
    is its trailing amount: positive and on the grid too). Combos (``BAG``) may
    trade at negative prices: only their grid is checked.

    Raises:
        ProblemError: 400, ``code`` 110, ``field`` the price's name.
    """
    min_tick = details.minTick
    if not (math.isfinite(min_tick) and min_tick > 0):
        return  # TWS did not say: leave it to TWS
    for name in ("lmtPrice", "auxPrice"):
        value: float = getattr(order, name)
        if value == UNSET_DOUBLE:
            continue
        magnitude = abs(value) if contract.secType == "BAG" else value
        tick = _tick_for(magnitude, contract, min_tick)
        if not on_grid(magnitude, tick):
            why = ("must be a positive multiple of the tick" if magnitude <= 0 or
                   not math.isfinite(magnitude) or magnitude < tick
                   else f"must be below {MAX_PRICE:g}" if magnitude >= MAX_PRICE
                   else "is off the tick grid")
            raise ProblemError(
                "price-off-tick", f"{name} {value:g} {why} (minTick {tick:g}): {OFF_TICK}",
                code=110, field=name,
            )


def check_account(order: Order, managed: tuple[str, ...] | list[str]) -> None:
    """Refuse ``order`` when it names an account the gateway does not manage.

    ``managed``: the gateway's ``managedAccounts``; an empty list (not known yet)
    leaves it to TWS.

    Raises:
        ProblemError: 400, ``code`` 321, ``field`` ``account``.
    """
    named = order.account.strip()
    if named and managed and named not in managed:
        raise ProblemError(
            "account-not-managed",
            f"account {named!r} is not managed by this gateway (managed: "
            f"{', '.join(managed)}): {INVALID_ACCOUNT}",
            code=321, field="account",
        )
