"""Working of transmitted orders: activation, triggers, fills, expiry, brackets, OCA.

:class:`OrderWorker` moves the orders of the simulated broker through TWS's
statuses as the simulated clock advances:

* activation (when transmitted): openOrder + orderStatus ``PreSubmitted``;
  then, when nothing holds it, ``Submitted`` and an immediate match against
  the quote. What holds an order (``whyHeld``): an unfilled parent
  (``child``), an untriggered stop (``trigger``), a closed session (a stock
  outside regular hours also gets TWS's warning 399 "Your order will not be
  placed at the exchange until ...");
* :meth:`OrderWorker.step` (the session poll loop calls it): expiry of DAY and
  GTD orders, stop triggers and trailing stops, the closing auction of MOC/LOC,
  fills from :func:`~twsbridge.sim.broker.matching.plan_fill`;
* a fill: execDetails, openOrder (when the order is done) and orderStatus,
  commissionReport, position/account updates; a filled parent activates its
  children; a fill in an OCA group cancels (type 1) or reduces (types 2, 3)
  the other members (bracket children form an OCA group of type 3);
* IOC orders cancel what the first match leaves; FOK orders fill completely
  at once or are cancelled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from twsbridge.sim.broker.commissions import Liquidity
from twsbridge.sim.broker.executions import ExecutionLedger, parse_filter_time
from twsbridge.sim.broker.matching import (
    ORDER_TYPES,
    Fill,
    MarketView,
    TypeRule,
    market_view,
    marketable,
    plan_fill,
    session_day,
    stop_triggered,
    update_trail,
)
from twsbridge.sim.broker.orders import (
    CANCELLED,
    FILLED,
    PENDING_CANCEL,
    PRE_SUBMITTED,
    SUBMITTED,
    BrokerEvent,
    CommissionEvent,
    ErrorEvent,
    ExecEvent,
    FillEvent,
    OrderEvent,
    SimOrder,
    format_size,
)
from twsbridge.sim.broker.validation import TEXTS, regular_hours_only
from twsbridge.sim.reference.calendar import SIM_TZ, is_trading_day, session_bounds

if TYPE_CHECKING:
    from twsbridge.sim.world import World

__all__ = ["CANCELLED_BY_SYSTEM", "CANCELLED_BY_TRADER", "OrderWorker"]

CANCELLED_BY_TRADER = "Cancelled by Trader"
CANCELLED_BY_SYSTEM = "Cancelled by System:\n"
ORDER_MESSAGE = 399
"""TWS's "Order Message" warning code."""


def _ignore(rec: SimOrder) -> None:
    """No store: nothing to remember."""


class OrderWorker:
    """Works the transmitted orders of one simulated broker.

    Args:
        sim: the simulator (clock, prices, instruments).
        ledger: books fills.
        emit: publishes broker events.
        orders: the broker's orders (all of them, in placement order).
    """

    def __init__(self, sim: World, ledger: ExecutionLedger,
                 emit: Callable[[BrokerEvent], None],
                 orders: Callable[[], Iterable[SimOrder]]) -> None:
        self.sim = sim
        self.ledger = ledger
        self._emit = emit
        self._orders = orders
        self._last_step: dt.datetime | None = None
        self.filled_oca: set[str] = set()
        #: Called with an order changed without an event (its trailing stop
        #: moved, its size reduced by its OCA group): the broker's store.
        self.on_change: Callable[[SimOrder], None] = _ignore

    # ------------------------------------------------------------ helpers
    def view(self, rec: SimOrder, t0: dt.datetime, t1: dt.datetime) -> MarketView:
        """The market of ``rec``'s instrument over ``(t0, t1]``."""
        return market_view(self.sim.prices, rec.inst, t0, t1)

    @staticmethod
    def rule(rec: SimOrder) -> TypeRule:
        """The order type's rule."""
        return ORDER_TYPES[rec.order_type]

    @staticmethod
    def tradable(rec: SimOrder, view: MarketView) -> bool:
        """Whether ``rec`` may work now: forex in its session; stocks in regular
        hours, or in the extended session with outsideRth (not MKT/MOC/LOC)."""
        if rec.inst.is_forex:
            return view.extended
        if view.rth:
            return True
        return view.extended and rec.order.outsideRth and not regular_hours_only(
            rec.order_type)

    def _stop_price(self, rec: SimOrder) -> float:
        if self.rule(rec).trailing:
            assert rec.trail_stop is not None
            return rec.trail_stop
        return rec.order.auxPrice

    def _announce(self, rec: SimOrder, open_order: bool = True) -> None:
        self._emit(OrderEvent(rec, open_order))

    # ---------------------------------------------------------- activation
    def transmit(self, rec: SimOrder, now: dt.datetime) -> None:
        """Transmit ``rec`` with its bracket group: every member is announced
        (parent first, then the children placed so far) before any is matched."""
        root = rec.parent or rec
        members = [m for m in (root, *root.children) if not m.transmitted and not m.done]
        for member in members:
            member.transmitted = True
            member.expires = self._expiry(member)
        live = [m for m in members if self.activate(m, now, match=False)]
        for member in live:
            if member.working:
                self._fill_now(member, self.view(member, now, now), now)

    def activate(self, rec: SimOrder, now: dt.datetime, match: bool = True) -> bool:
        """Announce ``rec`` as PreSubmitted and, unless something holds it,
        Submitted, then (``match``) match it against the quote at ``now``.
        Returns True when it went Submitted."""
        rule = self.rule(rec)
        rec.status = PRE_SUBMITTED
        if rec.parent is not None and rec.parent.status != FILLED:
            rec.why_held = "child,trigger" if rule.stop else "child"
            self._announce(rec)
            return False
        view = self.view(rec, now, now)
        if not self.tradable(rec, view):
            if rec.order.tif.upper() in ("IOC", "FOK"):
                self._announce(rec)
                self.cancel(rec, now, pending=False, reason=CANCELLED_BY_SYSTEM)
                return False
            rec.why_held = "trigger" if rule.stop else ""
            self._announce(rec)
            if not rec.inst.is_forex:
                self._emit(ErrorEvent(rec.client_id, rec.order_id, ORDER_MESSAGE,
                                      self._not_before_text(rec, now), rec))
                self._announce(rec)
            return False
        if rule.trailing:
            if update_trail(rec, view, rec.inst.minTick):
                self.on_change(rec)
        if rule.stop and not stop_triggered(rec.side, self._stop_price(rec), view):
            rec.why_held = "trigger"
            self._announce(rec)
            return False
        rec.triggered = rule.stop
        rec.why_held = ""
        self._announce(rec)
        rec.status = SUBMITTED
        self._announce(rec)
        if match:
            self._fill_now(rec, view, now)
        return True

    def _fill_now(self, rec: SimOrder, view: MarketView, now: dt.datetime) -> None:
        """The first match of a Submitted order; IOC/FOK end here."""
        tif = rec.order.tif.upper()
        if tif == "FOK":
            limit = self.rule(rec).limit(rec, view)
            fill = plan_fill(rec.side, rec.total, limit, view, quote_fresh=True,
                             lot=rec.inst.sizeIncrement)
            if fill is not None and fill.quantity == rec.total:
                self.execute(rec, fill, now)
            else:
                self.cancel(rec, now, pending=True, reason=CANCELLED_BY_SYSTEM)
            return
        self.work(rec, view, now)
        if tif == "IOC" and not rec.done:
            self.cancel(rec, now, pending=True, reason=CANCELLED_BY_SYSTEM)

    def _not_before_text(self, rec: SimOrder, now: dt.datetime) -> str:
        inst = rec.inst
        extended = rec.order.outsideRth and not regular_hours_only(rec.order_type)
        day = now.astimezone(SIM_TZ).date()
        opens = now
        for k in range(10):
            d = day + dt.timedelta(days=k)
            if is_trading_day(inst, d):
                opens = session_bounds(inst, d, not extended)[0]
                if opens > now:
                    break
        venue = f"{inst.primaryExchange or inst.exchange}.{inst.tradingClass}"
        return (f"Order Message:\n{rec.order.action.upper()} {format_size(rec.total)} "
                f"{inst.symbol} {venue}\nWarning: Your order will not be placed at the "
                f"exchange until {opens:%Y-%m-%d %H:%M:%S} US/Eastern.")

    def _expiry(self, rec: SimOrder) -> dt.datetime | None:
        """When a DAY or GTD order expires (None: GTC, IOC, FOK)."""
        tif = (rec.order.tif or "DAY").upper()
        if tif == "GTD":
            return parse_filter_time(rec.order.goodTillDate)
        if tif != "DAY":
            return None
        inst = rec.inst
        extended = rec.order.outsideRth and not regular_hours_only(rec.order_type)
        day = session_day(inst, rec.placed)
        for _ in range(10):
            if is_trading_day(inst, day):
                end = session_bounds(inst, day, inst.is_forex or not extended)[1]
                if end > rec.placed:
                    return end
            day += dt.timedelta(days=1)
        return None

    # --------------------------------------------------------------- step
    def step(self, now: dt.datetime) -> None:
        """Work every transmitted order over the time since the last step."""
        last = self._last_step if self._last_step is not None else now
        self._last_step = now
        if now < last:
            return
        views: dict[int, MarketView] = {}
        for rec in [r for r in self._orders() if r.working]:
            if not rec.working:  # done by an earlier order of this step (OCA, parent)
                continue
            if rec.parent is None or rec.parent.status == FILLED:
                view = views.get(rec.inst.conId)
                if view is None:
                    view = views[rec.inst.conId] = self.view(rec, last, now)
                self.work(rec, view, now, immediate=False)
            if rec.working and rec.expires is not None and now >= rec.expires:
                self.cancel(rec, rec.expires, pending=False, reason=CANCELLED_BY_SYSTEM,
                            notify=False)

    def work(self, rec: SimOrder, view: MarketView, now: dt.datetime, *,
             immediate: bool = True) -> None:
        """One step of a working order: session, trigger, auction, fill.
        ``immediate``: the order is new or just modified (a marketable limit
        takes the quote); else a crossed limit is hit at its price."""
        rule = self.rule(rec)
        if rule.auction and rec.status == SUBMITTED:
            self._auction(rec, view, now)
            return
        if not self.tradable(rec, view):
            return
        resting = not immediate
        if rec.status == PRE_SUBMITTED:
            if rule.stop and not rec.triggered:
                if rule.trailing:  # the stop follows silently; openOrder shows it when asked
                    if update_trail(rec, view, rec.inst.minTick):
                        self.on_change(rec)
                if not stop_triggered(rec.side, self._stop_price(rec), view):
                    if rec.why_held != "trigger":
                        rec.why_held = "trigger"
                        self._announce(rec)
                    return
                rec.triggered = True
            rec.why_held = ""
            rec.status = SUBMITTED
            resting = False
            self._announce(rec)
        if rule.auction:
            return  # executes in the closing auction
        limit = rule.limit(rec, view)
        epoch = int(now.timestamp())
        fresh = rec.quote_epoch != epoch
        if fresh and marketable(rec.side, limit, view):
            rec.quote_epoch = epoch
        fill = plan_fill(rec.side, rec.remaining, limit, view, quote_fresh=fresh,
                         share=rule.share, lot=rec.inst.sizeIncrement,
                         resting=resting and not rule.stop)
        if fill is not None:
            self.execute(rec, fill, now)

    def _auction(self, rec: SimOrder, view: MarketView, now: dt.datetime) -> None:
        """MOC/LOC: the whole order at the day's close, once it is known."""
        if view.close is None or rec.placed >= view.close_time:
            return
        limit = self.rule(rec).limit(rec, view)
        price = view.close
        if limit is not None and (price - limit) * rec.side > 1e-9:
            self.cancel(rec, now, pending=False, reason=CANCELLED_BY_SYSTEM)
            return
        self.execute(rec, Fill(rec.remaining, price, Liquidity.REMOVED), now)

    # --------------------------------------------------------------- fills
    def execute(self, rec: SimOrder, fill: Fill, now: dt.datetime) -> None:
        """Book ``fill`` and publish it as TWS does: execDetails, openOrder (when
        filled) and orderStatus, commissionReport; then the consequences."""
        record = self.ledger.book(rec, fill, now)
        self._emit(ExecEvent(rec, record.execution, record.contract))
        if rec.remaining == 0:
            rec.status = FILLED
            rec.done_at = now
            rec.completed_status = f"Filled Size: {format_size(rec.total)}"
        self._announce(rec, open_order=rec.status == FILLED)
        self._emit(CommissionEvent(rec, record.report))
        self._emit(FillEvent(record.holding))
        if rec.status == FILLED:
            for child in rec.children:
                if child.transmitted and not child.done:
                    self.activate(child, now)
        self._oca(rec, fill, now)

    def _oca(self, rec: SimOrder, fill: Fill, now: dt.datetime) -> None:
        group = rec.order.ocaGroup
        if not group:
            return
        oca_type = rec.order.ocaType or 1
        if rec.status == FILLED or oca_type == 1:
            self.filled_oca.add(group)
        for other in self._orders():
            if other is rec or other.done or other.order.ocaGroup != group:
                continue
            if oca_type == 1:
                self.cancel(other, now, pending=True, reason=CANCELLED_BY_SYSTEM)
                continue
            new_total = other.total - fill.quantity
            if new_total <= other.filled:
                self.cancel(other, now, pending=True, reason=CANCELLED_BY_SYSTEM)
            else:
                other.order.totalQuantity = new_total
                self.on_change(other)
                if other.transmitted:
                    self._announce(other)

    # -------------------------------------------------------------- cancel
    def cancel(self, rec: SimOrder, now: dt.datetime, *, pending: bool,
               reason: str = CANCELLED_BY_TRADER, notify: bool = True) -> None:
        """Cancel ``rec`` and its working children: orderStatus PendingCancel
        (for an order at the exchange, when ``pending``), orderStatus
        Cancelled, and (``notify``) error 202 "Order Canceled - reason:"."""
        if rec.done:
            return
        if rec.transmitted and rec.status == SUBMITTED and pending:
            rec.status = PENDING_CANCEL
            self._announce(rec)
        rec.status = CANCELLED
        rec.done_at = now
        rec.completed_status = reason
        self._announce(rec, open_order=False)
        if notify:
            self._emit(ErrorEvent(rec.client_id, rec.order_id, 202, TEXTS[202], rec))
        for child in rec.children:
            self.cancel(child, now, pending=pending, reason=reason, notify=notify)
