"""The simulated broker: orders, executions and commissions of one Simulator.

:class:`Broker` lives in the shared :class:`~twsbridge.sim.simulator.Simulator`,
so orders and executions survive client reconnects. Sessions call it for the
order requests (placeOrder 3, cancelOrder 4, reqGlobalCancel 58) and drive it
from their poll loop (:meth:`Broker.step`); it answers through events
(:mod:`twsbridge.sim.broker.orders`) that every attached listener (one per session,
:class:`~twsbridge.sim.gateway.order_feed.OrderFeed`) filters by TWS's visibility rules
and turns into messages.

Order ids are per API client: a placeOrder whose id is not above the last id
that client used, and is not one of its orders, is refused with 103 "Duplicate
order id"; an id of an open order modifies it. Manual TWS orders
(:meth:`Broker.place_manual`) have client id 0 and order id 0 until bound to
client 0 (reqAutoOpenOrders(True), or reqOpenOrders from client 0).

For tests and the service's journal, :meth:`Broker.executions` and
:meth:`Broker.orders` are the ledger.

With a store (:class:`~twsbridge.sim.store.sqlite.SimStore`, ``Simulator(store=...)``)
every request and step ends by writing what it changed, before it returns and
so before any session sends the messages reporting it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from twsbridge.protocol.models import Contract
from twsbridge.protocol.order_models import CommissionReport, Execution, Order
from twsbridge.sim.broker.executions import ExecutionLedger, ExecutionRecord
from twsbridge.sim.broker.matching import is_set
from twsbridge.sim.broker.orders import (
    FILLED,
    INACTIVE,
    BrokerEvent,
    ErrorEvent,
    OrderEvent,
    SimOrder,
    WhatIfEvent,
    format_size,
)
from twsbridge.sim.broker.validation import (
    TEXTS,
    Answer,
    Rejection,
    needs_exchange,
    order_rejected,
    unknown_account,
    validate,
)
from twsbridge.sim.broker.whatif import margin_effect, what_if_state
from twsbridge.sim.broker.working import OrderWorker
from twsbridge.sim.reference.calendar import SIM_TZ
from twsbridge.sim.reference.details import NO_SECURITY_DEFINITION, instrument_contract, resolve
from twsbridge.sim.reference.instruments import Instrument

if TYPE_CHECKING:
    from twsbridge.sim.store.sqlite import SimStore
    from twsbridge.sim.world import World

__all__ = ["Broker", "BrokerListener"]

OCA_FILLED = "OCA group is already filled."
_TRAIL_FIELDS = ("auxPrice", "trailingPercent", "trailStopPrice", "orderType")


class BrokerListener(Protocol):
    """What the broker needs of a session's feed."""

    @property
    def client_id(self) -> int | None:
        """The session's API client id (None before startApi)."""
        ...

    @property
    def auto_bind(self) -> bool:
        """True when the session asked reqAutoOpenOrders(True) (client 0)."""
        ...

    def on_event(self, event: BrokerEvent) -> None:
        """Handle one broker event."""
        ...


class Broker:
    """Orders and executions of the simulated account.

    Args:
        sim: the simulator (instruments, prices, clock, account).
    """

    def __init__(self, sim: World) -> None:
        self.sim = sim
        self.ledger = ExecutionLedger(sim.account, sim.fx_rate, sim.seed)
        self._orders: list[SimOrder] = []
        self._by_key: dict[tuple[int, int], SimOrder] = {}
        self._last_id: dict[int, int] = {}
        self._listeners: list[BrokerListener] = []
        self._store: SimStore | None = None
        self._depth = 0
        self.worker = OrderWorker(sim, self.ledger, self._emit, lambda: self._orders)

    # --------------------------------------------------------------- store
    def attach_store(self, store: SimStore) -> None:
        """Record every change in ``store`` (:meth:`SimStore.bind` calls it)."""
        self._store = store
        self.worker.on_change = store.touch

    @contextlib.contextmanager
    def _recording(self) -> Iterator[None]:
        """Around a request or step: write its changes at the end (one
        transaction for a request and the step it starts with)."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if not self._depth and self._store is not None:
                self._store.flush()

    def _touch(self, rec: SimOrder) -> None:
        if self._store is not None:
            self._store.touch(rec)

    @property
    def last_ids(self) -> dict[int, int]:
        """A copy of: API client id -> the highest order id it placed."""
        return dict(self._last_id)

    def orders_since(self, n: int) -> list[SimOrder]:
        """The orders registered after the first ``n`` (placement order)."""
        return self._orders[n:]

    def restore(self, orders: list[SimOrder], last_ids: dict[int, int]) -> None:
        """Continue a persisted account: its orders (placement order) and each
        client's last order id; done once, on a new broker."""
        self._orders = []
        self._by_key = {}
        for rec in orders:
            self._register(rec)
        self._last_id = dict(last_ids)

    # ---------------------------------------------------------- listeners
    def attach(self, listener: BrokerListener) -> None:
        """Send broker events to ``listener``."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def detach(self, listener: BrokerListener) -> None:
        """Stop sending events to ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _emit(self, event: BrokerEvent) -> None:
        if self._store is not None:
            self._store.note(event)
        for listener in list(self._listeners):
            listener.on_event(event)

    def _error(self, client_id: int, order_id: int, code: int, text: str | None = None,
               rec: SimOrder | None = None) -> None:
        self._emit(ErrorEvent(client_id, order_id, code, text or TEXTS[code], rec))

    # ------------------------------------------------------------- ledger
    def orders(self) -> list[SimOrder]:
        """Every order (all clients, manual ones, done ones), in placement order."""
        return list(self._orders)

    def executions(self) -> list[tuple[Execution, CommissionReport, Contract]]:
        """Every execution with its commission report and contract, in order."""
        return [(r.execution, r.report, r.contract) for r in self.ledger.records]

    def execution_records(self) -> list[ExecutionRecord]:
        """Every execution with its order and time."""
        return self.ledger.records

    def open_orders(self) -> list[SimOrder]:
        """Transmitted orders that are not done."""
        return [r for r in self._orders if r.working]

    def completed_orders(self, day: dt.date, api_only: bool = False) -> list[SimOrder]:
        """Orders done on ``day`` (US/Eastern), API orders only when ``api_only``."""
        return [r for r in self._orders
                if r.done and r.transmitted and r.done_at is not None
                and r.done_at.astimezone(SIM_TZ).date() == day
                and (r.api_order or not api_only)]

    def find(self, client_id: int, order_id: int) -> SimOrder | None:
        """The order ``order_id`` of API client ``client_id``."""
        return self._by_key.get((client_id, order_id))

    def step(self, now: dt.datetime | None = None) -> None:
        """Work the orders up to ``now`` (default: the simulator clock)."""
        with self._recording():
            self.worker.step(now if now is not None else self.sim.clock.now())

    # ----------------------------------------------------------- requests
    def place(self, client_id: int, order_id: int, contract: Contract, order: Order) -> None:
        """placeOrder (3) from API client ``client_id``: a new order, a
        modification of an open one, or a what-if request."""
        with self._recording():
            self._place(client_id, order_id, contract, order)

    def _place(self, client_id: int, order_id: int, contract: Contract, order: Order) -> None:
        now = self.sim.clock.now()
        self.step(now)
        existing = self._by_key.get((client_id, order_id))
        if existing is not None:
            self._modify(existing, contract, order, now)
            return
        if order_id <= self._last_id.get(client_id, 0):
            self._error(client_id, order_id, 103)
            return
        self._last_id[client_id] = order_id
        self.sim.use_order_id(order_id)
        missing = needs_exchange(contract) or unknown_account(order, self.sim.account.code)
        if missing is not None:
            self._error(client_id, order_id, missing.code, missing.text)
            return
        inst = self._instrument(client_id, order_id, contract)
        if inst is None:
            return
        warnings, rejection = validate(order, contract, inst, now)
        if rejection is not None and rejection.answer is Answer.ERROR:
            self._error(client_id, order_id, rejection.code, rejection.text)
            return
        for w in warnings:
            self._error(client_id, order_id, w.code, w.text)
        qualified = instrument_contract(inst, contract.exchange)
        if order.whatIf:
            echo = dataclasses.replace(order, orderId=order_id, clientId=client_id,
                                       permId=self.ledger.next_perm_id(),
                                       account=order.account or self.sim.account.code)
            self._emit(WhatIfEvent(client_id, order_id, qualified, echo,
                                   what_if_state(self.sim, inst, qualified, order, now)))
            return
        parent = None
        if order.parentId:
            parent = self._by_key.get((client_id, order.parentId))
            if parent is None or parent.done:
                self._error(client_id, order_id, 10006)
                return
        rec = self._new_order(client_id, order_id, qualified, inst, order, now)
        rejection = rejection or self._broker_checks(rec, now)
        if rejection is not None:
            self._reject(rec, rejection, now)
            return
        if parent is not None:
            rec.parent = parent
            parent.children.append(rec)
            if not rec.order.ocaGroup:
                rec.order.ocaGroup, rec.order.ocaType = str(parent.perm_id), 3
        self._register(rec)
        if rec.order.transmit:
            self.worker.transmit(rec, now)

    def _instrument(self, client_id: int, order_id: int, contract: Contract) -> Instrument | None:
        insts = resolve(self.sim.book, contract)
        if len(insts) == 1:
            return insts[0]
        text = NO_SECURITY_DEFINITION if not insts else (
            f"The contract description specified for {contract.symbol or contract.localSymbol} "
            f"is ambiguous.")
        self._error(client_id, order_id, 200, text)
        return None

    def _new_order(self, client_id: int, order_id: int, contract: Contract, inst: Instrument,
                   order: Order, now: dt.datetime, manual: bool = False) -> SimOrder:
        norm = dataclasses.replace(
            order, orderId=order_id, clientId=client_id, action=order.action.upper(),
            orderType=order.orderType.strip().upper(), tif=(order.tif or "DAY").strip().upper(),
            account=order.account or self.sim.account.code)
        return SimOrder(client_id, order_id, self.ledger.next_perm_id(), contract, inst, norm,
                        self.sim.account.code, now, manual=manual)

    def _register(self, rec: SimOrder) -> None:
        self._orders.append(rec)
        if rec.order_id:
            self._by_key[(rec.client_id, rec.order_id)] = rec

    def _broker_checks(self, rec: SimOrder, now: dt.datetime) -> Rejection | None:
        """Rejections that need the account: a filled OCA group, margin."""
        if rec.order.ocaGroup and rec.order.ocaGroup in self.worker.filled_oca:
            return order_rejected(OCA_FILLED)
        return self._margin_check(rec, now)

    def _margin_check(self, rec: SimOrder, now: dt.datetime) -> Rejection | None:
        held = self.sim.account.holdings.get(rec.inst.conId)
        position = held.position if held is not None else Decimal(0)
        signed = rec.total * rec.side
        if position and (position > 0) != (signed > 0) and abs(signed) <= abs(position):
            return None  # reduces a position: no new margin
        quote = self.sim.prices.quote(rec.inst.conId, now)
        price = rec.order.lmtPrice if is_set(rec.order.lmtPrice) and rec.order.lmtPrice > 0 \
            else (quote.ask if rec.side > 0 else quote.bid)
        (_, _, ewl_now), (init, _, ewl) = margin_effect(
            self.sim, rec.inst, rec.contract, signed, price, 0.0, now)
        if init <= ewl:
            return None
        return order_rejected(
            f"YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR EQUITY "
            f"WITH LOAN VALUE [{ewl_now:.2f} USD] MUST EXCEED THE INITIAL MARGIN "
            f"[{init:.2f} USD]")

    def _reject(self, rec: SimOrder, rejection: Rejection, now: dt.datetime) -> None:
        """TWS's answer to a rejected order: openOrder and orderStatus Inactive,
        then the error."""
        rec.status, rec.transmitted, rec.done_at = INACTIVE, True, now
        rec.completed_status = "Rejected"
        self._register(rec)
        self._emit(OrderEvent(rec))
        self._error(rec.client_id, rec.order_id, rejection.code, rejection.text, rec)

    def _modify(self, rec: SimOrder, contract: Contract, order: Order, now: dt.datetime) -> None:
        """placeOrder with the id of an existing order: change price, size, type
        or time in force of a working order."""
        cid, oid = rec.client_id, rec.order_id
        if rec.done:
            self._error(cid, oid, 104 if rec.status == FILLED else 103, rec=rec)
            return
        if (contract.conId and contract.conId != rec.inst.conId) or (
                order.action.upper() != rec.order.action):
            self._error(cid, oid, 105, rec=rec)
            return
        warnings, rejection = validate(order, contract, rec.inst, now)
        if rejection is None and order.totalQuantity < rec.filled:
            rejection = Rejection(105, TEXTS[105])
        if rejection is not None:
            self._error(cid, oid, rejection.code, rejection.text, rec)
            return
        for w in warnings:
            self._error(cid, oid, w.code, w.text, rec)
        new = dataclasses.replace(
            order, orderId=oid, clientId=cid, permId=rec.perm_id, action=rec.order.action,
            orderType=order.orderType.strip().upper(), tif=(order.tif or "DAY").strip().upper(),
            account=order.account or rec.account, parentId=rec.order.parentId,
            ocaGroup=order.ocaGroup or rec.order.ocaGroup,
            ocaType=order.ocaType if order.ocaGroup else rec.order.ocaType)
        if any(getattr(new, f) != getattr(rec.order, f) for f in _TRAIL_FIELDS):
            rec.trail_stop = rec.trail_extreme = None
            rec.triggered = False
        rec.order = new
        self._touch(rec)
        if not rec.transmitted:
            if new.transmit:
                self.worker.transmit(rec, now)
            return
        if rec.remaining == 0:
            rec.status, rec.done_at = FILLED, now
            rec.completed_status = f"Filled Size: {format_size(rec.total)}"
            self._emit(OrderEvent(rec))
            return
        self._emit(OrderEvent(rec))
        if rec.parent is None or rec.parent.status == FILLED:
            self.worker.work(rec, self.worker.view(rec, now, now), now)

    def cancel(self, client_id: int, order_id: int) -> None:
        """cancelOrder (4): 10147 for an unknown id, 10148 for a done order,
        else PendingCancel (an order at the exchange), Cancelled and 202."""
        with self._recording():
            self._cancel(client_id, order_id)

    def _cancel(self, client_id: int, order_id: int) -> None:
        now = self.sim.clock.now()
        self.step(now)
        rec = self._by_key.get((client_id, order_id))
        if rec is None:
            self._error(client_id, order_id, 10147,
                        f"OrderId {order_id} that needs to be cancelled is not found.")
        elif rec.done:
            self._error(client_id, order_id, 10148,
                        f"OrderId {order_id} that needs to be cancelled cannot be cancelled, "
                        f"state: {rec.status}.", rec)
        else:
            self.worker.cancel(rec, now, pending=True)

    def global_cancel(self, client_id: int) -> None:
        """reqGlobalCancel (58): cancel every open order of every client and of
        TWS; the requesting client's orders that are already done today get
        161 "Cancel attempted when order is not in a cancellable state"."""
        with self._recording():
            self._global_cancel(client_id)

    def _global_cancel(self, client_id: int) -> None:
        now = self.sim.clock.now()
        self.step(now)
        today = now.astimezone(SIM_TZ).date()
        for rec in self._orders:
            if (rec.client_id == client_id and rec.order_id and rec.done
                    and rec.done_at is not None and rec.done_at.astimezone(SIM_TZ).date() == today):
                self._error(client_id, rec.order_id, 161,
                            "Cancel attempted when order is not in a cancellable state.  "
                            f"Order permId ={rec.perm_id}", rec)
        for rec in list(self._orders):
            if not rec.done:
                self.worker.cancel(rec, now, pending=True)

    # ------------------------------------------------------ manual orders
    def place_manual(self, contract: Contract, order: Order) -> SimOrder:
        """An order entered in TWS itself (not through the API): client id 0,
        order id 0 unless bound to client 0. Transmitted at once.

        Raises:
            ValueError: when ``contract`` does not designate one instrument.
        """
        with self._recording():
            return self._place_manual(contract, order)

    def _place_manual(self, contract: Contract, order: Order) -> SimOrder:
        insts = resolve(self.sim.book, contract)
        if len(insts) != 1:
            raise ValueError(f"contract designates {len(insts)} instruments")
        now = self.sim.clock.now()
        self.step(now)
        inst = insts[0]
        rec = self._new_order(0, 0, instrument_contract(inst, contract.exchange or "SMART"),
                              inst, order, now, manual=True)
        if any(listener.auto_bind for listener in self._listeners):
            self._bind(rec)
        self._register(rec)
        self.worker.transmit(rec, now)
        return rec

    def _bind(self, rec: SimOrder) -> None:
        order_id = self.sim.next_order_id
        self.sim.use_order_id(order_id)
        rec.order_id = order_id
        rec.order.orderId = order_id
        self._last_id[0] = max(self._last_id.get(0, 0), order_id)
        self._by_key[(0, order_id)] = rec
        self._touch(rec)

    def bind_manual(self) -> list[SimOrder]:
        """Bind the open manual orders that have no order id to client 0 (what
        reqOpenOrders from client 0 does); returns the newly bound ones."""
        with self._recording():
            bound = [r for r in self._orders if r.manual and not r.order_id and not r.done]
            for rec in bound:
                self._bind(rec)
        return bound
