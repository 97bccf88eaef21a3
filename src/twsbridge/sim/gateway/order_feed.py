"""One session's view of the simulated broker: which orders it sees, and the messages.

:class:`OrderFeed` is attached to the :class:`~twsbridge.sim.broker.broker.Broker`
while its session has an API client id. It follows TWS's visibility rules:

* a client sees its own orders: openOrder (5), orderStatus (3), execDetails
  (11, reqId -1), commissionReport (59) and the order errors go to the
  placing client;
* client 0 also sees manual TWS orders bound to it (reqAutoOpenOrders(True)
  binds new ones, its reqOpenOrders binds the open ones);
* the master client (``Simulator.master_client_id``) sees every API order;
* every client with a reqPositions subscription gets a position (61) update
  after a fill, and its account subscriptions become due.

It also answers the snapshot requests: reqOpenOrders (5) and
reqAllOpenOrders (16) with openOrder + orderStatus pairs then openOrderEnd
(53), reqCompletedOrders (99) with completedOrder (101) then
completedOrdersEnd (102), reqExecutions (7) with the execDetails (with the
reqId), then their commissionReports, then execDetailsEnd (55), in the order
a live IB Gateway answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from twsbridge.protocol.catalogue import incoming
from twsbridge.protocol.models import ExecutionFilter
from twsbridge.protocol.spec import Message
from twsbridge.sim.broker.orders import (
    BrokerEvent,
    CommissionEvent,
    ErrorEvent,
    ExecEvent,
    FillEvent,
    OrderEvent,
    SimOrder,
    WhatIfEvent,
)
from twsbridge.sim.gateway.account_feed import AccountFeeds
from twsbridge.sim.reference.calendar import SIM_TZ

if TYPE_CHECKING:
    from twsbridge.sim.simulator import Simulator

__all__ = ["OrderFeed", "order_messages"]

Sink = Callable[[list[Message]], None]


def order_messages(rec: SimOrder, open_order: bool = True) -> list[Message]:
    """openOrder (when ``open_order``) and orderStatus of ``rec``."""
    out: list[Message] = []
    if open_order:
        out.append(incoming.OpenOrder(orderId=rec.order_id, contract=rec.contract,
                                      order=rec.wire_order(), orderState=rec.order_state()))
    out.append(incoming.OrderStatus(
        orderId=rec.order_id, status=rec.status, filled=rec.filled, remaining=rec.remaining,
        avgFillPrice=rec.avg_price, permId=rec.perm_id, parentId=rec.order.parentId,
        lastFillPrice=rec.last_price, clientId=rec.client_id, whyHeld=rec.why_held,
        mktCapPrice=0.0))
    return out


class OrderFeed:
    """The broker as one session sees it.

    Args:
        simulator: the shared state (its ``broker`` and ``master_client_id``).
        feeds: the session's account subscriptions (positions, updates).
        sink: where the messages of live events go (the session's output).
    """

    def __init__(self, simulator: Simulator, feeds: AccountFeeds, sink: Sink) -> None:
        self.sim = simulator
        self.feeds = feeds
        self._sink = sink
        self._client_id: int | None = None
        self._auto_bind = False

    # --------------------------------------------------------- listener
    @property
    def client_id(self) -> int | None:
        """The session's API client id (None while detached)."""
        return self._client_id

    @property
    def auto_bind(self) -> bool:
        """True after reqAutoOpenOrders(True) from client 0."""
        return self._auto_bind

    def attach(self, client_id: int) -> None:
        """Start receiving the broker's events as API client ``client_id``."""
        self._client_id = client_id
        self.sim.broker.attach(self)

    def detach(self) -> None:
        """Stop receiving events (the session closed)."""
        self.sim.broker.detach(self)
        self._client_id = None
        self._auto_bind = False

    def set_auto_bind(self, on: bool) -> None:
        """reqAutoOpenOrders (15) from client 0."""
        self._auto_bind = on

    def sees(self, rec: SimOrder) -> bool:
        """Whether this client gets ``rec``'s live updates."""
        cid = self._client_id
        if cid is None:
            return False
        if rec.manual:
            return rec.order_id != 0 and cid == 0
        return rec.client_id == cid or cid == self.sim.master_client_id

    def on_event(self, event: BrokerEvent) -> None:
        """Turn a broker event into this session's messages (if it may see it)."""
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            msgs = handler(self, event)
            if msgs:
                self._sink(msgs)

    def _order(self, ev: OrderEvent) -> list[Message]:
        return order_messages(ev.order, ev.open_order) if self.sees(ev.order) else []

    def _exec(self, ev: ExecEvent) -> list[Message]:
        if not self.sees(ev.order):
            return []
        return [incoming.ExecDetails(reqId=-1, contract=ev.contract, execution=ev.execution)]

    def _commission(self, ev: CommissionEvent) -> list[Message]:
        if not self.sees(ev.order):
            return []
        return [incoming.CommissionReportMessage(commissionReport=ev.report)]

    def _error(self, ev: ErrorEvent) -> list[Message]:
        if ev.client_id != self._client_id or (ev.order is not None and ev.order.manual
                                               and ev.order.order_id == 0):
            return []
        return [incoming.ErrorMessage(reqId=ev.req_id, errorCode=ev.code, errorString=ev.text)]

    def _what_if(self, ev: WhatIfEvent) -> list[Message]:
        if ev.client_id != self._client_id:
            return []
        return [incoming.OpenOrder(orderId=ev.order_id, contract=ev.contract, order=ev.order,
                                   orderState=ev.state)]

    def _fill(self, ev: FillEvent) -> list[Message]:
        self.feeds.refresh()
        if not self.feeds.positions_subscribed:
            return []
        h = ev.holding
        return [incoming.Position(account=self.sim.account.code, contract=h.contract,
                                  position=h.position, avgCost=h.avgCost)]

    # -------------------------------------------------------- snapshots
    def connect_orders(self) -> list[Message]:
        """What TWS sends at startApi before managedAccounts: this client's open
        orders (openOrder + orderStatus each) and openOrderEnd; nothing when
        it has none."""
        mine = [r for r in self.sim.broker.open_orders() if self.sees(r)]
        if not mine:
            return []
        out = [m for r in mine for m in order_messages(r)]
        out.append(incoming.OpenOrderEnd())
        return out

    def open_orders(self, all_clients: bool = False) -> list[Message]:
        """reqOpenOrders (this client's; client 0 binds the open manual orders
        first) or reqAllOpenOrders (every client's, manual ones, no binding)."""
        broker = self.sim.broker
        if not all_clients and self._client_id == 0:
            broker.bind_manual()
        orders = broker.open_orders()
        if not all_clients:
            orders = [r for r in orders if self.sees(r)]
        out = [m for r in orders for m in order_messages(r)]
        out.append(incoming.OpenOrderEnd())
        return out

    def completed_orders(self, api_only: bool, now: dt.datetime) -> list[Message]:
        """completedOrder for every order done today, then completedOrdersEnd."""
        day = now.astimezone(SIM_TZ).date()
        out: list[Message] = [
            incoming.CompletedOrder(contract=r.contract, order=r.wire_order(),
                                    orderState=r.order_state())
            for r in self.sim.broker.completed_orders(day, api_only)]
        out.append(incoming.CompletedOrdersEnd())
        return out

    def executions(self, req_id: int, flt: ExecutionFilter, now: dt.datetime) -> list[Message]:
        """execDetails (with ``req_id``) and commissionReport of today's
        executions matching ``flt``, then execDetailsEnd."""
        day = now.astimezone(SIM_TZ).date()
        found = self.sim.broker.ledger.matching(flt, day)
        out: list[Message] = [
            incoming.ExecDetails(reqId=req_id, contract=r.contract, execution=r.execution)
            for r in found]
        out.extend(incoming.CommissionReportMessage(commissionReport=r.report) for r in found)
        out.append(incoming.ExecDetailsEnd(reqId=req_id))
        return out


_HANDLERS: dict[type, Callable[[OrderFeed, BrokerEvent], list[Message]]] = {
    OrderEvent: OrderFeed._order,  # type: ignore[dict-item]
    ExecEvent: OrderFeed._exec,  # type: ignore[dict-item]
    CommissionEvent: OrderFeed._commission,  # type: ignore[dict-item]
    ErrorEvent: OrderFeed._error,  # type: ignore[dict-item]
    WhatIfEvent: OrderFeed._what_if,  # type: ignore[dict-item]
    FillEvent: OrderFeed._fill,  # type: ignore[dict-item]
}
