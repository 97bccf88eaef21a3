"""Matching of the simulated broker: what the market offers an order, and at what price.

A :class:`MarketView` is the market of one instrument over a step of the
simulated clock ``(t0, t1]``: the quote at ``t1`` (bid/ask and their sizes),
the range and volume of the trades in the step (from the 1-second price path
of :class:`~twsbridge.sim.market.prices.PriceModel`), the session state and, once
the regular session closed, the closing price.

:func:`plan_fill` decides one fill of an order against a view:

* a *marketable* order (market, or a buy limit at or above the ask, a sell
  limit at or below the bid) takes the quote's size at the ask (bid) the first
  time it meets a quote second, plus the volume traded in the step, so a large
  order fills over several steps;
* a *resting* limit fills at its limit price when the step's trades went
  through it (the step's volume times the type's share), or touched it (a
  quarter of that); forex has no trade volume, there the opposite quote size
  stands in for it.

:data:`ORDER_TYPES` is the table of order types the broker works: how each
one's effective limit is computed (market = ``None``), whether it waits for a
stop trigger, trails, or executes in the closing auction.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from twsbridge.protocol.codec import UNSET_DOUBLE
from twsbridge.sim.broker.commissions import Liquidity
from twsbridge.sim.broker.orders import SimOrder
from twsbridge.sim.market.prices import PriceModel
from twsbridge.sim.reference.calendar import SIM_TZ, is_trading_day, session_bounds
from twsbridge.sim.reference.instruments import Instrument

__all__ = [
    "ORDER_TYPES",
    "Fill",
    "MarketView",
    "TypeRule",
    "is_set",
    "market_view",
    "marketable",
    "plan_fill",
    "round_to_tick",
    "session_day",
    "stop_triggered",
    "trail_amount",
    "update_trail",
]

_EPS = 1e-9
TOUCH_SHARE = 0.25
"""Share of a step's volume a resting order gets when trades only touched its price."""


def is_set(x: float) -> bool:
    """True for a price that is set (not ``UNSET_DOUBLE`` nor NaN)."""
    return x != UNSET_DOUBLE and not math.isnan(x)


def round_to_tick(x: float, tick: float) -> float:
    """``x`` rounded to the nearest multiple of ``tick`` (``x`` itself when it is
    infinite, NaN, or so large that the quotient overflows)."""
    q = x / tick
    if not math.isfinite(q):
        return x
    return round(round(q) * tick, 10)


@dataclass(frozen=True, slots=True)
class MarketView:
    """The market of one instrument over ``(t0, time]``.

    Prices in the contract's currency, sizes and volume in shares (forex:
    base-currency units; ``volume`` is 0 there). ``low``/``high`` span the
    trades of the step and the last price. ``rth``: the regular session is
    open; ``extended``: the extended session (stocks 04:00-20:00; forex: its
    session) is. ``close`` is the day's closing price once ``close_time``
    passed (stocks), else None. ``elapsed``: seconds in the step.
    """

    time: dt.datetime
    bid: float
    ask: float
    last: float
    bid_size: Decimal
    ask_size: Decimal
    low: float
    high: float
    volume: Decimal
    rth: bool
    extended: bool
    day: dt.date
    close_time: dt.datetime
    close: float | None
    elapsed: float = 0.0

    @property
    def mid(self) -> float:
        """Midpoint of bid and ask."""
        return (self.bid + self.ask) / 2


def session_day(inst: Instrument, t: dt.datetime) -> dt.date:
    """The trading day whose session ``t`` belongs to (forex sessions open at
    17:15 US/Eastern for the next day)."""
    local = t.astimezone(SIM_TZ)
    if inst.is_forex and local.time() >= dt.time(17, 0):
        return local.date() + dt.timedelta(days=1)
    return local.date()


def _in(t: dt.datetime, bounds: tuple[dt.datetime, dt.datetime]) -> bool:
    return bounds[0] <= t < bounds[1]


def market_view(prices: PriceModel, inst: Instrument, t0: dt.datetime,
                t1: dt.datetime) -> MarketView:
    """The view of ``inst`` over ``(t0, t1]`` (``t0 == t1``: the quote only)."""
    q = prices.quote(inst.conId, t1)
    day = session_day(inst, t1)
    trading = is_trading_day(inst, day)
    rth_bounds = session_bounds(inst, day, True)
    ext_bounds = session_bounds(inst, day, inst.is_forex)
    rth = trading and _in(t1, rth_bounds)
    extended = trading and _in(t1, ext_bounds)
    low = high = q.last
    volume = Decimal(0)
    path = prices.path(inst.conId, day) if trading else None
    if path is not None and t1 > t0:
        k0 = max(math.floor(t0.timestamp()) + 1 - path.start, 0)
        k1 = min(math.floor(t1.timestamp()) + 1 - path.start, len(path.prices))
        if k1 > k0:
            seg = path.prices[k0:k1]
            low, high = min(low, float(seg.min())), max(high, float(seg.max()))
            volume = Decimal(int(np.sum(path.volumes[k0:k1])))
    close_time = rth_bounds[1]
    close = None
    if trading and not inst.is_forex and t1 >= close_time:
        bar = prices.daily_bar(inst.conId, day)
        close = bar.close if bar is not None else None
    return MarketView(t1, q.bid, q.ask, q.last, q.bidSize, q.askSize, low, high, volume,
                      rth, extended, day, close_time, close,
                      max((t1 - t0).total_seconds(), 0.0))


# ------------------------------------------------------------------ fills
@dataclass(frozen=True, slots=True)
class Fill:
    """One execution: ``quantity`` (> 0) at ``price``; ``liquidity`` per
    :class:`~twsbridge.sim.broker.commissions.Liquidity`."""

    quantity: Decimal
    price: float
    liquidity: int


def marketable(side: int, limit: float | None, view: MarketView) -> bool:
    """Whether an order of ``side`` (+1 buy, -1 sell) with ``limit`` (None:
    market) can take the quote now."""
    if side > 0:
        return view.ask > 0 and (limit is None or limit >= view.ask - _EPS)
    return view.bid > 0 and (limit is None or limit <= view.bid + _EPS)


def _lots(available: Decimal | float, remaining: Decimal, lot: Decimal) -> Decimal:
    avail = Decimal(str(available)) if not isinstance(available, Decimal) else available
    qty = min(remaining, (avail // lot) * lot)
    return qty if qty > 0 else Decimal(0)


def plan_fill(side: int, remaining: Decimal, limit: float | None, view: MarketView, *,
              quote_fresh: bool, share: float = 1.0, lot: Decimal = Decimal(1),
              resting: bool = False) -> Fill | None:
    """The fill an order gets from ``view``, or None.

    ``quote_fresh``: the quote's size has not been offered to this order yet
    (a new quote second). ``share``: the share of the step's volume a resting
    order of this type gets. ``lot``: the size increment. ``resting``: the
    limit order was already working before this step; when the quote crosses
    it, it is hit at its limit (adding liquidity) instead of taking the quote.
    """
    if marketable(side, limit, view):
        size = (view.ask_size if side > 0 else view.bid_size) if quote_fresh else Decimal(0)
        qty = _lots(size + view.volume, remaining, lot)
        if resting and limit is not None:
            return Fill(qty, limit, Liquidity.ADDED) if qty else None
        price = view.ask if side > 0 else view.bid
        return Fill(qty, price, Liquidity.REMOVED) if qty else None
    if limit is None:
        return None
    if side > 0:
        through, touch = view.low < limit - _EPS, abs(view.low - limit) <= _EPS
    else:
        through, touch = view.high > limit + _EPS, abs(view.high - limit) <= _EPS
    if not (through or touch) or view.elapsed <= 0:
        return None
    base = view.volume
    if base == 0:  # forex: no trade volume; the opposite book stands in
        base = view.bid_size if side > 0 else view.ask_size
    available = float(base) * share * (1.0 if through else TOUCH_SHARE)
    qty = _lots(math.floor(available), remaining, lot)
    return Fill(qty, limit, Liquidity.ADDED) if qty else None


# ------------------------------------------------------------------ stops
def trail_amount(order_aux: float, trailing_percent: float, ref: float) -> float:
    """Trailing distance: the amount (``auxPrice``) or ``trailingPercent`` of ``ref``."""
    if is_set(order_aux) and order_aux > 0:
        return order_aux
    if is_set(trailing_percent):
        return ref * trailing_percent / 100.0
    return 0.0


def update_trail(rec: SimOrder, view: MarketView, tick: float) -> bool:
    """Move ``rec``'s trailing stop with the market (only in its favour);
    True when it moved. The first call sets it from ``trailStopPrice`` or the
    last price."""
    o = rec.order
    if rec.trail_stop is None:
        ref = view.last
        amt = trail_amount(o.auxPrice, o.trailingPercent, ref)
        rec.trail_extreme = ref
        if is_set(o.trailStopPrice) and o.trailStopPrice > 0:
            rec.trail_stop = o.trailStopPrice
        else:
            rec.trail_stop = round_to_tick(ref + rec.side * amt, tick)
        return True
    assert rec.trail_extreme is not None
    if rec.side < 0:
        rec.trail_extreme = max(rec.trail_extreme, view.high)
        amt = trail_amount(o.auxPrice, o.trailingPercent, rec.trail_extreme)
        new = round_to_tick(rec.trail_extreme - amt, tick)
        if new > rec.trail_stop + _EPS:
            rec.trail_stop = new
            return True
    else:
        rec.trail_extreme = min(rec.trail_extreme, view.low)
        amt = trail_amount(o.auxPrice, o.trailingPercent, rec.trail_extreme)
        new = round_to_tick(rec.trail_extreme + amt, tick)
        if new < rec.trail_stop - _EPS:
            rec.trail_stop = new
            return True
    return False


def stop_triggered(side: int, stop: float, view: MarketView) -> bool:
    """TWS's default ("last") trigger: a buy stop when the step's trades reach
    ``stop`` or above, a sell stop when they reach it or below."""
    if side > 0:
        return view.high >= stop - _EPS
    return view.low <= stop + _EPS


# ------------------------------------------------------------ order types
LimitFn = Callable[[SimOrder, MarketView], float | None]


def _market(rec: SimOrder, view: MarketView) -> float | None:
    return None


def _limit(rec: SimOrder, view: MarketView) -> float | None:
    return rec.order.lmtPrice


def _trail_limit(rec: SimOrder, view: MarketView) -> float | None:
    """TRAIL LIMIT: the stop minus (sell) / plus (buy) ``lmtPriceOffset``."""
    o = rec.order
    stop = rec.trail_stop if rec.trail_stop is not None else view.last
    if is_set(o.lmtPriceOffset):
        return stop + rec.side * o.lmtPriceOffset
    return o.lmtPrice if is_set(o.lmtPrice) else stop


def _midprice(rec: SimOrder, view: MarketView) -> float | None:
    """MIDPRICE: the midpoint, capped by ``lmtPrice`` when set."""
    mid = round(view.mid, 6)
    cap = rec.order.lmtPrice
    if is_set(cap) and cap > 0:
        return min(mid, cap) if rec.side > 0 else max(mid, cap)
    return mid


def _relative(rec: SimOrder, view: MarketView) -> float | None:
    """REL: pegged to the same side's quote plus (buy) / minus (sell) ``auxPrice``,
    capped by ``lmtPrice`` when set."""
    o = rec.order
    offset = o.auxPrice if is_set(o.auxPrice) else 0.0
    peg = view.bid + offset if rec.side > 0 else view.ask - offset
    if is_set(o.lmtPrice) and o.lmtPrice > 0:
        return min(peg, o.lmtPrice) if rec.side > 0 else max(peg, o.lmtPrice)
    return peg


@dataclass(frozen=True, slots=True)
class TypeRule:
    """How the broker works one order type.

    ``limit``: the effective limit at a view (None = market). ``stop``: waits
    for a stop trigger (price ``auxPrice``, or the trailing stop when
    ``trailing``). ``auction``: executes only in the closing auction.
    ``share``: share of a step's volume a resting order gets. ``sec_types``:
    where IB accepts it. ``needs``: order prices the type requires.
    """

    limit: LimitFn
    stop: bool = False
    trailing: bool = False
    auction: bool = False
    share: float = 1.0
    sec_types: frozenset[str] = frozenset({"STK", "CASH"})
    needs: tuple[str, ...] = ()


_STK = frozenset({"STK"})

ORDER_TYPES: dict[str, TypeRule] = {
    "MKT": TypeRule(_market),
    "LMT": TypeRule(_limit, needs=("lmtPrice",)),
    "STP": TypeRule(_market, stop=True, needs=("auxPrice",)),
    "STP LMT": TypeRule(_limit, stop=True, needs=("lmtPrice", "auxPrice")),
    "TRAIL": TypeRule(_market, stop=True, trailing=True),
    "TRAIL LIMIT": TypeRule(_trail_limit, stop=True, trailing=True),
    "MOC": TypeRule(_market, auction=True, sec_types=_STK),
    "LOC": TypeRule(_limit, auction=True, sec_types=_STK, needs=("lmtPrice",)),
    "MIDPRICE": TypeRule(_midprice, share=0.5, sec_types=_STK),
    "REL": TypeRule(_relative, share=0.5),
}
"""Order types the simulated broker works (TWS's ``orderType`` texts)."""
