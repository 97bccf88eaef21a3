"""The ``orders`` topic of the hub: events of the service's own orders.

One upstream for every subscriber (the topic has no parameters): handlers on
the service's client for ``orderStatus``, ``execDetails``,
``commissionReport`` and ``error``, called after the journal has committed
each message (the journal is the client's intercept hook). Only the service's
orders pass (its client id; executions TWS sends unsolicited, not replays
answering reqExecutions); a status repeated unchanged (reqOpenOrders answers)
is not sent again. Items are :class:`~twsbridge.service.event_schemas.OrderEventPublic`
as JSON; the topic's snapshot keeps the latest event per order (status) and
per execution.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable
from typing import Any

from twsbridge.client import TWSClient

from ..event_schemas import OrderEventPublic
from ..gateway import GatewayManager
from ..gateway_clock import gateway_clock
from ..problems import ProblemError
from .hub import Emit, Item, StreamHub, TopicKind, TopicSpec, Upstream

__all__ = ["ORDERS", "orders_spec", "register_order_upstream"]

log = logging.getLogger("twsbridge.service.streaming")

ORDERS = "orders"
_MESSAGES = ("orderStatus", "execDetails", "commissionReport", "error")
_RETRY = 0.5
_MAX_EXECS = 10_000


def orders_spec() -> TopicSpec:
    """The one topic of order events (every subscriber shares it)."""
    return TopicSpec(ORDERS, ())


def _key(item: Item) -> Hashable:
    if item["event"] == "status":
        return ("status", item.get("clientId"), item.get("orderId"))
    if item["event"] == "error":
        return ("error", item.get("orderId"), item.get("errorCode"))
    return (item["event"], item.get("execId"))


class _OrderEvents:
    """Turns the client's order messages into events of the service's orders."""

    def __init__(self, ib: TWSClient, emit: Emit) -> None:
        self.ib = ib
        self.emit = emit
        self.clock = gateway_clock(ib)
        self.statuses: dict[int, tuple[Any, ...]] = {}
        self.execs: dict[str, int] = {}  # execId -> orderId, of the service's executions

    def _send(self, event: OrderEventPublic) -> None:
        self.emit((event.model_dump(mode="json"),))

    def _own_order(self, order_id: int) -> bool:
        if order_id in self.statuses:
            return True
        return any(t.orderId == order_id and t.order.clientId in (0, self.ib.client_id)
                   for t in self.ib.trades())

    def __call__(self, msg: Any) -> None:
        at = self.clock.now()  # the gateway's time, as the executions' own
        name = msg.NAME
        if name == "orderStatus":
            if msg.clientId != self.ib.client_id:
                return
            state = (msg.status, msg.filled, msg.remaining, msg.avgFillPrice, msg.whyHeld)
            if self.statuses.get(msg.orderId) == state:
                return
            self.statuses[msg.orderId] = state
            self._send(OrderEventPublic.from_status(msg, at))
        elif name == "execDetails":
            e = msg.execution
            if msg.reqId != -1 or e.clientId != self.ib.client_id or e.execId in self.execs:
                return
            if len(self.execs) >= _MAX_EXECS:
                self.execs.pop(next(iter(self.execs)))
            self.execs[e.execId] = e.orderId
            self._send(OrderEventPublic.from_execution(msg, at))
        elif name == "commissionReport":
            exec_id = msg.commissionReport.execId
            if exec_id in self.execs:
                self._send(OrderEventPublic.from_commission(msg, self.execs[exec_id], at))
        elif name == "error":
            if msg.reqId > 0 and self._own_order(msg.reqId):
                self._send(OrderEventPublic.from_error(msg, self.ib.client_id, at))


def _orders_factory(gateway: GatewayManager) -> Any:
    def factory(spec: TopicSpec) -> Upstream:
        async def run(emit: Emit) -> None:
            while True:  # the client object lives across reconnects: its handlers too
                try:
                    ib = await gateway.client()
                    break
                except (ProblemError, ConnectionError) as exc:
                    log.debug("orders upstream waits for TWS: %s", exc)
                    await asyncio.sleep(_RETRY)
            handler = _OrderEvents(ib, emit)
            ib.register(handler, *_MESSAGES)
            emit(())  # ready: subscribers get the (empty) snapshot
            try:
                await asyncio.Event().wait()
            finally:
                ib.unregister(handler, *_MESSAGES)
        return run
    return factory


def register_order_upstream(hub: StreamHub, gateway: GatewayManager) -> None:
    """Register the ``orders`` kind on ``hub``, fed by ``gateway``'s client."""
    hub.register(TopicKind(ORDERS, _orders_factory(gateway), message="orders",
                           field="events", key=_key, max_state=2_000))
