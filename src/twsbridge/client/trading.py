"""Order requests of a TWSClient (documented on ``TWSClient``).

:class:`Trading` places, modifies and cancels orders, previews them (whatIf),
asks TWS for open and completed orders and for executions, and feeds TWS's
order messages to the :class:`~twsbridge.client.orders.OrderBook`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from twsbridge.protocol import Contract, ExecutionFilter, Message, incoming, outgoing
from twsbridge.protocol.order_models import Order, OrderState

from .core import ClientCore
from .errors import InterceptError
from .orders import OrderBook
from .requests import Request
from .trade import Fill, Trade

__all__ = ["COMMISSION_WAIT", "Trading"]

#: Seconds reqExecutions waits after execDetailsEnd for missing commission reports.
COMMISSION_WAIT = 2.0


class Trading:
    """Orders of one client object; its :class:`OrderBook` lives across reconnects."""

    def __init__(self, core: ClientCore) -> None:
        self._core = core
        self.book = OrderBook(lambda: core.client_id, self._check)
        self._whatifs: dict[int, Request[OrderState]] = {}
        core.listen(incoming.OpenOrder, self._on_open_order)
        core.listen(incoming.OrderStatus, self.book.on_order_status)
        core.listen(incoming.ExecDetails, self.book.on_exec_details)
        core.listen(incoming.CommissionReportMessage, self.book.on_commission_report)
        core.listen(incoming.CompletedOrder, self.book.on_completed_order)
        core.claim_errors(self.book.on_error)
        core.on_close(self.book.on_close)

    def _check(self) -> None:
        """Raise unless connected; after a failed intercept hook its InterceptError."""
        reason = self._core.close_reason
        if not self._core.is_connected and isinstance(reason, InterceptError):
            raise reason
        self._core.ensure_connected()

    def _on_open_order(self, msg: incoming.OpenOrder) -> None:
        req = self._whatifs.pop(msg.orderId, None)
        if req is not None:
            req.feed(msg)
            self._core.router.discard(req)
        elif not msg.order.whatIf:
            self.book.on_open_order(msg)

    # placing -------------------------------------------------------------------

    def placeOrder(self, contract: Contract, order: Order) -> Trade:
        """placeOrder (3): a new order, or a modification of a live one."""
        core = self._core
        transport = core.live()
        if order.orderId == 0:
            order.orderId = core.ids.next()
        else:
            core.ids.raise_to(order.orderId + 1)
        trade = self.book.own(order.orderId)
        msg = outgoing.PlaceOrder(orderId=order.orderId, contract=contract, order=order)
        if trade is not None and not trade.is_done():
            transport.send(msg)
            self.book.modify(trade, contract, order)
            return trade
        trade = self.book.place(contract, order)
        try:
            transport.send(msg)
        except BaseException:
            self.book.forget(trade)
            raise
        return trade

    def cancelOrder(self, order: Order | int, manualOrderCancelTime: str) -> Trade | None:
        """cancelOrder (4)."""
        orderId = order if isinstance(order, int) else order.orderId
        self._core.send(outgoing.CancelOrder(orderId=orderId,
                                             manualOrderCancelTime=manualOrderCancelTime))
        trade = self.book.own(orderId)
        if trade is not None:
            self.book.cancel_requested([trade], "Cancel requested")
        return trade

    def reqGlobalCancel(self) -> None:
        """reqGlobalCancel (58)."""
        self._core.send(outgoing.ReqGlobalCancel())
        self.book.cancel_requested(self.book.open_trades(), "Global cancel requested")

    async def whatIfOrder(self, contract: Contract, order: Order) -> OrderState:
        """placeOrder (3) of a whatIf copy → openOrder (5) with the preview."""
        core = self._core
        orderId = core.next_id()
        preview = dataclasses.replace(order, orderId=orderId, whatIf=True)
        req = Request("whatIfOrder", orderId, (incoming.OpenOrder,), (incoming.OpenOrder,),
                      convert=_order_state)
        self._whatifs[orderId] = req
        try:
            [state] = await core.call(req, outgoing.PlaceOrder(
                orderId=orderId, contract=contract, order=preview))
        finally:
            self._whatifs.pop(orderId, None)
        return state

    # asking TWS ---------------------------------------------------------------------

    async def reqIds(self) -> int:
        """reqIds (8) → nextValidId (9); the allocator's next id."""
        req = Request("reqIds", None, (incoming.NextValidId,), (incoming.NextValidId,),
                      convert=_next_valid_id)
        await self._core.call(req, outgoing.ReqIds(numIds=1))
        return self._core.ids.peek

    async def _orders(self, name: str, msg: Message) -> list[Trade]:
        req = Request(name, None, (incoming.OpenOrder, incoming.OpenOrderEnd),
                      (incoming.OpenOrderEnd,), convert=self._open_trade)
        return list(dict.fromkeys(await self._core.call(req, msg)))

    async def reqOpenOrders(self) -> list[Trade]:
        """reqOpenOrders (5) → openOrder (5) … openOrderEnd (53)."""
        return await self._orders("reqOpenOrders", outgoing.ReqOpenOrders())

    async def reqAllOpenOrders(self) -> list[Trade]:
        """reqAllOpenOrders (16) → openOrder (5) … openOrderEnd (53)."""
        return await self._orders("reqAllOpenOrders", outgoing.ReqAllOpenOrders())

    async def reqCompletedOrders(self, apiOnly: bool) -> list[Trade]:
        """reqCompletedOrders (99) → completedOrder (101) … completedOrdersEnd (102)."""
        req = Request("reqCompletedOrders", None,
                      (incoming.CompletedOrder, incoming.CompletedOrdersEnd),
                      (incoming.CompletedOrdersEnd,), convert=self._completed_trade)
        trades = await self._core.call(req, outgoing.ReqCompletedOrders(apiOnly=apiOnly))
        return list(dict.fromkeys(trades))

    async def reqExecutions(self, execFilter: ExecutionFilter | None) -> list[Fill]:
        """reqExecutions (7) → execDetails (11) … execDetailsEnd (55), commissions (59)."""
        core = self._core
        reqId = core.next_id()
        req = Request("reqExecutions", reqId, (incoming.ExecDetails, incoming.ExecDetailsEnd),
                      (incoming.ExecDetailsEnd,), convert=self._fill)
        fills = list(dict.fromkeys(await core.call(req, outgoing.ReqExecutions(
            reqId=reqId, execFilter=execFilter or ExecutionFilter()))))
        await self.book.wait_commissions(fills, COMMISSION_WAIT)
        return fills

    # converters: the book has already taken the message --------------------------------

    def _open_trade(self, msg: Message) -> list[Trade]:
        if not isinstance(msg, incoming.OpenOrder) or msg.order.whatIf:
            return []
        trade = self.book.find(msg.order.clientId, msg.orderId, msg.order.permId)
        return [trade] if trade is not None else []

    def _completed_trade(self, msg: Message) -> list[Trade]:
        if not isinstance(msg, incoming.CompletedOrder):
            return []
        order = msg.order
        trade = self.book.find(order.clientId, order.orderId, order.permId)
        return [trade] if trade is not None else []

    def _fill(self, msg: Message) -> list[Fill]:
        if not isinstance(msg, incoming.ExecDetails):
            return []
        fill = self.book.fill(msg.execution.execId)
        return [fill] if fill is not None else []


def _order_state(msg: Message) -> list[OrderState]:
    return [msg.orderState] if isinstance(msg, incoming.OpenOrder) else []


def _next_valid_id(msg: Message) -> list[Any]:
    return [msg.orderId] if isinstance(msg, incoming.NextValidId) else []
