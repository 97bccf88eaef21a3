"""The order family: placeOrder (3), cancelOrder (4), reqGlobalCancel (58),
reqOpenOrders (5), reqAllOpenOrders (16), reqAutoOpenOrders (15),
reqCompletedOrders (99) and reqExecutions (7).

Orders go to the simulator's shared :class:`~twsbridge.sim.broker.broker.Broker`;
the session's :class:`~twsbridge.sim.gateway.order_feed.OrderFeed` turns the
broker's events this client may see into messages.
"""

from __future__ import annotations

from twsbridge.protocol.catalogue import outgoing
from twsbridge.sim.gateway.families.base import Family, handles

__all__ = ["AUTO_BIND_CLIENT_0", "Orders"]

AUTO_BIND_CLIENT_0 = ("Error validating request.-'bJ' : cause - The API client is not "
                      "allowed to auto-bind orders: it must use client id 0")


class Orders(Family):
    """Orders, open and completed orders, and executions."""

    @handles(outgoing.PlaceOrder)
    def place_order(self, msg: outgoing.PlaceOrder) -> None:
        self.ctx.sim.broker.place(self.ctx.api_client, msg.orderId, msg.contract, msg.order)

    @handles(outgoing.CancelOrder)
    def cancel_order(self, msg: outgoing.CancelOrder) -> None:
        self.ctx.sim.broker.cancel(self.ctx.api_client, msg.orderId)

    @handles(outgoing.ReqGlobalCancel)
    def req_global_cancel(self, msg: outgoing.ReqGlobalCancel) -> None:
        self.ctx.sim.broker.global_cancel(self.ctx.api_client)

    @handles(outgoing.ReqOpenOrders)
    def req_open_orders(self, msg: outgoing.ReqOpenOrders) -> None:
        self.ctx.emit(self.ctx.orders.open_orders())

    @handles(outgoing.ReqAllOpenOrders)
    def req_all_open_orders(self, msg: outgoing.ReqAllOpenOrders) -> None:
        self.ctx.emit(self.ctx.orders.open_orders(all_clients=True))

    @handles(outgoing.ReqAutoOpenOrders)
    def req_auto_open_orders(self, msg: outgoing.ReqAutoOpenOrders) -> None:
        if self.ctx.client_id != 0:
            self.ctx.error(-1, 321, AUTO_BIND_CLIENT_0)
            return
        self.ctx.orders.set_auto_bind(msg.bAutoBind)

    @handles(outgoing.ReqCompletedOrders)
    def req_completed_orders(self, msg: outgoing.ReqCompletedOrders) -> None:
        self.ctx.emit(self.ctx.orders.completed_orders(msg.apiOnly, self.ctx.now()))

    @handles(outgoing.ReqExecutions)
    def req_executions(self, msg: outgoing.ReqExecutions) -> None:
        self.ctx.emit(self.ctx.orders.executions(msg.reqId, msg.execFilter, self.ctx.now()))
