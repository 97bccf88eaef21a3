"""What-if orders: the OrderState TWS answers an ``order.whatIf`` placeOrder with.

Nothing is placed. The answer is one openOrder whose OrderState has status
``PreSubmitted``, the commission estimate (``commission`` and
``maxCommission``: the fill takes liquidity; ``minCommission``: it adds
liquidity) and the margin effect: initial and maintenance margin and equity
with loan value before, change and after, as TWS's text numbers (Java
``Double.toString``), in the base currency. The estimate fills the whole
order at the quote (the ask for a buy, the bid for a sell).
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from twsbridge.protocol.models import Contract
from twsbridge.protocol.order_models import Order, OrderState
from twsbridge.sim.broker.commissions import Liquidity, commission_for
from twsbridge.sim.broker.orders import PRE_SUBMITTED
from twsbridge.sim.reference.instruments import Instrument

if TYPE_CHECKING:
    from twsbridge.sim.world import World

__all__ = ["IDEALPRO_MINIMUM", "java_double", "margin_effect", "what_if_state"]

IDEALPRO_MINIMUM = 20_000
"""Order size (base-currency units) below which TWS warns that a forex order
is routed as an odd lot."""
_ODD_LOT = (
    "Important Note: Your order size is below the {ccy} 20000 IdealPro minimum.\n"
    "You may cancel and increase the order size if you wish to route to IdealPro\n"
    "or select the Transmit button to route as an odd lot order.\n"
    "Note that odd lot orders are not guaranteed executions at the IdealPro displayed quotes."
)


def java_double(x: float) -> str:
    """``x`` as Java's ``Double.toString`` writes it (``'148839.9'``,
    ``'-0.85'``, ``'1.23456789E7'``)."""
    if x == 0:
        return "0.0"
    ax = abs(x)
    if 1e-3 <= ax < 1e7:
        text = repr(float(x))
        return text if ("." in text or "e" in text) else text + ".0"
    digits, exponent = Decimal(repr(float(x))).normalize().as_tuple()[1:]
    assert isinstance(exponent, int)
    mantissa = "".join(str(d) for d in digits)
    exp10 = len(mantissa) - 1 + exponent
    frac = mantissa[1:] or "0"
    sign = "-" if x < 0 else ""
    return f"{sign}{mantissa[0]}.{frac}E{exp10}"


Margins = tuple[float, float, float]


def margin_effect(sim: World, inst: Instrument, contract: Contract, quantity: Decimal,
                  price: float, commission: float, now: dt.datetime) -> tuple[Margins, Margins]:
    """(before, after) of (initial margin, maintenance margin, equity with loan
    value), base currency, for a fill of ``quantity`` (signed) at ``price``."""
    ccy = contract.currency or sim.account.base_currency
    rate = sim.fx_rate(ccy, now)
    prices, fx = sim.valuation(now)
    before = sim.account.margins(prices, fx)
    after = copy.deepcopy(sim.account)
    after.book_fill(contract, quantity, price, commission, rate)
    prices_after = {**prices, inst.conId: sim.prices.price_at(inst.conId, now)}
    fx_after = {**fx, ccy: rate}
    if inst.is_forex:
        fx_after[inst.symbol] = sim.fx_rate(inst.symbol, now)
    return before, after.margins(prices_after, fx_after)


def what_if_state(sim: World, inst: Instrument, contract: Contract, order: Order,
                  now: dt.datetime) -> OrderState:
    """The what-if OrderState of ``order`` on ``inst`` at ``now``."""
    quote = sim.prices.quote(inst.conId, now)
    side = 1 if order.action.upper() == "BUY" else -1
    price = quote.ask if side > 0 else quote.bid
    qty: Decimal = order.totalQuantity
    ccy = contract.currency or sim.account.base_currency
    rate = sim.fx_rate(ccy, now)
    taker = commission_for(inst.secType, qty, price, sell=side < 0,
                           liquidity=Liquidity.REMOVED, usd_per_ccy=rate)
    maker = commission_for(inst.secType, qty, price, sell=side < 0,
                           liquidity=Liquidity.ADDED, usd_per_ccy=rate)
    (init0, maint0, ewl0), (init1, maint1, ewl1) = margin_effect(
        sim, inst, contract, qty * side, price, taker.commission, now)
    warning = ""
    if inst.is_forex and qty < IDEALPRO_MINIMUM:
        warning = _ODD_LOT.format(ccy=inst.symbol)
    return OrderState(
        status=PRE_SUBMITTED,
        initMarginBefore=java_double(round(init0, 2)),
        maintMarginBefore=java_double(round(maint0, 2)),
        equityWithLoanBefore=java_double(round(ewl0, 2)),
        initMarginChange=java_double(init1 - init0),
        maintMarginChange=java_double(maint1 - maint0),
        equityWithLoanChange=java_double(ewl1 - ewl0),
        initMarginAfter=java_double(round(init1, 2)),
        maintMarginAfter=java_double(round(maint1, 2)),
        equityWithLoanAfter=java_double(round(ewl1, 2)),
        commission=taker.commission,
        minCommission=maker.commission,
        maxCommission=taker.commission,
        commissionCurrency=taker.currency,
        warningText=warning,
    )
