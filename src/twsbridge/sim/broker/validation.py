"""Validation of placeOrder requests, with TWS's error codes and texts.

:func:`validate` runs the checks of :data:`CHECKS` in order on an order for
one instrument and returns the warnings (the order goes on) and the first
rejection. A :class:`Rejection` says how TWS answers it:

* ``ERROR``: an error frame (id 4) with the order id, nothing else;
* ``INACTIVE``: openOrder and orderStatus ``Inactive``, then the error (code
  201 "Order rejected - reason:..." as TWS sends it);
* ``WARNING``: an error frame, and the order is processed.

Codes and texts follow TWS's message-code table and live captures of TWS/IB
Gateway sessions; :data:`TEXTS` lists them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from twsbridge.protocol.codec import UNSET_DECIMAL
from twsbridge.protocol.models import Contract
from twsbridge.protocol.order_models import Order
from twsbridge.sim.broker.executions import parse_filter_time
from twsbridge.sim.broker.matching import ORDER_TYPES, TypeRule, is_set
from twsbridge.sim.reference.instruments import Instrument

__all__ = [
    "CHECKS",
    "IB_ORDER_TYPES",
    "MAX_PRICE",
    "MAX_SIZE",
    "TEXTS",
    "TIFS",
    "Answer",
    "OrderCheck",
    "Rejection",
    "needs_exchange",
    "on_grid",
    "order_rejected",
    "regular_hours_only",
    "unknown_account",
    "validate",
]


class Answer(Enum):
    """How TWS answers a rejected or questionable order."""

    ERROR = "error"
    INACTIVE = "inactive"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Rejection:
    """An error frame for an order: ``code``, ``text`` and how TWS answers it."""

    code: int
    text: str
    answer: Answer = Answer.ERROR


TEXTS: dict[int, str] = {
    103: "Duplicate order id",
    104: "Can't modify a filled order.",
    105: "Order being modified does not match original order.",
    107: "Cannot transmit incomplete order.",
    110: "The price does not conform to the minimum price variation for this contract.",
    111: "The TIF (Tif type) and the order type are incompatible.",
    113: "The Tif option should be set to DAY for MOC and LOC orders.",
    158: "You must specify an offset amount or a percent offset value.",
    159: "The percent offset value must be between 0% and 100%.",
    200: "No security definition has been found for the request",
    202: "Order Canceled - reason:",
    303: "Invalid action:",
    334: "Invalid Good Till Date order",
    387: "Unsupported order type for this exchange and security type.",
    413: "What-if order should have the transmit flag set to true.",
    434: "The order size cannot be zero.",
    2109: "Order Event Warning: Attribute 'Outside Regular Trading Hours' is ignored based on "
          "the order type and destination. PlaceOrder is now being processed.",
    10006: "Missing parent order.",
    10243: "Fractional-sized order cannot be placed via API. Please use desktop version to "
           "place this order.",
}
"""TWS's texts of the order errors the simulated broker sends (fixed texts only)."""

INVALID_SIZE = "Error validating request.-'bN' : cause - Invalid order size:"
MAX_SIZE = Decimal(10**15)
"""Sizes from here up are refused (321): no order is that large, and the broker's
arithmetic must stay within the decimal context (1E+999999999 overflows it)."""
MISSING_EXCHANGE = "Error validating request.-'bN' : cause - Missing order exchange."
INVALID_ACCOUNT = "Error validating request.-'bN' : cause - Invalid account code"
INVALID_ORDER_TYPE = "Error validating request.-'v' : cause - Invalid order type was entered"
FOK_INVALID = ("The time-in-force FOK is invalid for this combination of exchange and "
               "security type.")

#: Order types TWS knows (those outside :data:`ORDER_TYPES` get 387 here, anything
#: else 321 "Invalid order type was entered").
IB_ORDER_TYPES: frozenset[str] = frozenset({
    *ORDER_TYPES, "MIT", "LIT", "MTL", "PEG MKT", "PEG MID", "PEG BENCH", "PEG PRIM",
    "PEG STK", "REL + LMT", "REL + MKT", "SNAP MKT", "SNAP MID", "SNAP PRIM", "VOL", "VWAP",
    "BOX TOP", "AUC", "PASSV REL", "PEG BEST", "STP PRT", "MKT PRT", "QUOTE", "LMT + MKT",
    "TRAIL MIT", "TRAIL LIT", "TRAIL REL + MKT", "TRAILLIMIT", "STPLMT",
})
#: Time-in-force values the simulated broker works.
TIFS: frozenset[str] = frozenset({"DAY", "GTC", "IOC", "FOK", "GTD"})
_ACTIONS = frozenset({"BUY", "SELL", "SSHORT"})
_PRICES = ("lmtPrice", "auxPrice", "trailStopPrice", "lmtPriceOffset", "trailingPercent")
"""The order's prices (and price offsets) the broker works with."""
_NO_RTH_DISTINCTION = frozenset({"MKT", "MOC", "LOC"})
"""Order types that never work outside regular trading hours (outsideRth is ignored)."""


def regular_hours_only(order_type: str) -> bool:
    """Whether an order type works in regular trading hours only (MKT, MOC, LOC)."""
    return order_type.upper() in _NO_RTH_DISTINCTION


def order_rejected(reason: str) -> Rejection:
    """TWS's 201 rejection, answered with an Inactive order."""
    return Rejection(201, f"Order rejected - reason:{reason}", Answer.INACTIVE)


def _fixed(code: int, answer: Answer = Answer.ERROR) -> Rejection:
    return Rejection(code, TEXTS[code], answer)


@dataclass(frozen=True, slots=True)
class OrderCheck:
    """What a check looks at: the order, the requested contract, the resolved
    instrument and its order-type rule, the simulated time."""

    order: Order
    contract: Contract
    inst: Instrument
    now: dt.datetime

    @property
    def order_type(self) -> str:
        return self.order.orderType.strip().upper()

    @property
    def rule(self) -> TypeRule | None:
        return ORDER_TYPES.get(self.order_type)

    @property
    def tif(self) -> str:
        return (self.order.tif or "DAY").strip().upper()


Check = Callable[[OrderCheck], Rejection | None]


def _order_type(c: OrderCheck) -> Rejection | None:
    if c.order_type not in IB_ORDER_TYPES:
        return Rejection(321, INVALID_ORDER_TYPE)
    rule = c.rule
    if rule is None or c.inst.secType not in rule.sec_types:
        return _fixed(387)
    return None


def _action(c: OrderCheck) -> Rejection | None:
    action = c.order.action.strip().upper()
    if action not in _ACTIONS:
        return Rejection(303, f"{TEXTS[303]} {c.order.action}")
    return None


def _quantity(c: OrderCheck) -> Rejection | None:
    qty = c.order.totalQuantity
    # NaN and Infinity are no size (NaN does not even compare); 1E+999999999 is
    # finite, but any arithmetic on it overflows the decimal context
    size = Decimal(qty)
    if not size.is_finite() or size.copy_abs() >= MAX_SIZE:  # copy_abs: no context
        return Rejection(321, f"{INVALID_SIZE} {qty}")
    if qty == UNSET_DECIMAL or qty <= 0:
        return _fixed(434)
    if c.inst.secType == "STK" and qty != qty.to_integral_value():
        return _fixed(10243)
    return None


def _prices_present(c: OrderCheck) -> Rejection | None:
    rule = c.rule
    assert rule is not None
    for name in rule.needs:
        value = getattr(c.order, name)
        if not is_set(value):
            return _fixed(107)
    if rule.trailing:
        o = c.order
        amount, pct = o.auxPrice, o.trailingPercent
        if not (is_set(amount) and amount > 0) and not is_set(pct):
            return _fixed(158)
        if is_set(pct) and not (0 < pct <= 100) and not (is_set(amount) and amount > 0):
            return _fixed(159)
    return None


MAX_PRICE = 1e9
"""Prices from here up are refused (110): no instrument trades there, and far beyond
it a binary float no longer tells neighbouring grid points apart (1e300 is "on" every
grid)."""
SUB_DOLLAR_TICK = 0.0001
"""The price increment of US stocks below USD 1 (TWS's market rule for them)."""


def on_grid(price: float, tick: float) -> bool:
    """Whether ``price`` is a positive multiple of ``tick`` below :data:`MAX_PRICE`.

    ``1e-300`` is not (it rounds to zero ticks), nor are 0, negative prices, NaN
    and infinities.
    """
    if not (0 < price < MAX_PRICE) or not tick > 0:
        return False
    steps = round(price / tick)
    return steps >= 1 and abs(price / tick - steps) <= 1e-6


def _tick_at(inst: Instrument, price: float, tick: float) -> float:
    if inst.secType == "STK" and inst.currency == "USD" and 0 < price < 1:
        return min(tick, SUB_DOLLAR_TICK)
    return tick


def _tick_grid(c: OrderCheck) -> Rejection | None:
    """110 unless every price of the order is a positive multiple of the minimum tick.

    The prices the order type needs must be positive (a BUY STP at -5 is refused
    as TWS refuses it: only combos trade at negative prices, and the simulator
    has none); other prices are checked when they are set and not zero (clients
    send 0 for "none"). Offsets (``lmtPriceOffset``) are checked by magnitude.
    """
    o, tick = c.order, c.inst.minTick
    if any(math.isinf(getattr(o, name)) for name in _PRICES):
        return _fixed(110)  # no tick has an infinite multiple
    rule = c.rule
    needed = rule.needs if rule is not None else ()
    prices = {"lmtPrice": o.lmtPrice, "trailStopPrice": o.trailStopPrice}
    if c.order_type in ("STP", "STP LMT", "TRAIL", "TRAIL LIMIT"):
        prices["auxPrice"] = o.auxPrice
    for name, p in prices.items():
        if not is_set(p) or (p == 0 and name not in needed):
            continue
        if name == "auxPrice" and c.order_type.startswith("TRAIL"):
            p = abs(p)  # a trailing amount, positive by 158's check
        if not on_grid(p, _tick_at(c.inst, p, tick)):
            return _fixed(110)
    offset = o.lmtPriceOffset
    if c.order_type == "TRAIL LIMIT" and is_set(offset) and offset != 0 \
            and not on_grid(abs(offset), tick):
        return _fixed(110)
    return None


def _time_in_force(c: OrderCheck) -> Rejection | None:
    tif, rule = c.tif, c.rule
    assert rule is not None
    if rule.auction and tif != "DAY":
        return _fixed(113)
    if tif not in TIFS:
        return _fixed(111)
    if tif == "FOK" and c.inst.secType == "STK":
        return order_rejected(FOK_INVALID)
    if tif == "GTD":
        until = parse_filter_time(c.order.goodTillDate)
        if until is None or until <= c.now:
            return _fixed(334)
    return None


def _outside_rth(c: OrderCheck) -> Rejection | None:
    if c.order.outsideRth and (c.inst.is_forex or c.order_type in _NO_RTH_DISTINCTION):
        return _fixed(2109, Answer.WARNING)
    return None


def _what_if(c: OrderCheck) -> Rejection | None:
    if c.order.whatIf and not c.order.transmit:
        return _fixed(413)
    return None


CHECKS: tuple[Check, ...] = (
    _order_type, _action, _quantity, _prices_present, _tick_grid, _time_in_force,
    _what_if, _outside_rth,
)
"""The checks, in the order TWS reports the problems."""


def validate(order: Order, contract: Contract, inst: Instrument,
             now: dt.datetime) -> tuple[list[Rejection], Rejection | None]:
    """(warnings, rejection or None) for ``order`` on ``inst`` at ``now``.

    The requested contract must carry an exchange (321 "Missing order
    exchange." otherwise, checked by the caller before resolving it).
    """
    check = OrderCheck(order, contract, inst, now)
    warnings: list[Rejection] = []
    for fn in CHECKS:
        found = fn(check)
        if found is None:
            continue
        if found.answer is Answer.WARNING:
            warnings.append(found)
            continue
        return warnings, found
    return warnings, None


def unknown_account(order: Order, managed: str) -> Rejection | None:
    """321 "Invalid account code" for an order naming an account the gateway does
    not manage (``managed``: the ``managedAccounts`` code); none named is the default."""
    named = order.account.strip()
    if named and named != managed:
        return Rejection(321, INVALID_ACCOUNT)
    return None


def needs_exchange(contract: Contract) -> Rejection | None:
    """321 "Missing order exchange." for a contract without exchange."""
    if not contract.exchange.strip():
        return Rejection(321, MISSING_EXCHANGE)
    return None
