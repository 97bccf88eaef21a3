"""Orders: place, preview, modify, cancel and list them; executions from the journal.

What the service sends is journaled before it waits for TWS (``placeOrder``,
``modifyOrder`` and ``cancelOrder`` events), and every answer TWS sends is
journaled by the intercept before these operations see it; so the order an
operation returns is read back from the journal.

:func:`place_order` and :func:`modify_order` run the guardrails
(:func:`~twsbridge.service.security.check_order`) before anything reaches TWS.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from twsbridge.client import TWSClient, TWSError
from twsbridge.protocol import Contract, ContractDetails
from twsbridge.protocol.order_models import Order

from ..journal import Journal, queries
from ..order_schemas import (
    ExecutionPublic,
    OrderCreate,
    OrderPreviewPublic,
    OrderPublic,
    OrderUpdate,
)
from ..problems import ProblemError, tws_problem
from ..routes.common import ContractQuery, resolve_contract
from ..security import Principal, check_order, record_preview
from ..settings import ServiceSettings
from .order_checks import OFF_TICK, check_account, check_prices

__all__ = [
    "NOT_CANCELLABLE",
    "NOT_FOUND",
    "OFF_TICK",
    "cancel_order",
    "get_order",
    "list_executions",
    "list_orders",
    "modify_order",
    "place_order",
    "preview_order",
]

_REJECTION_GRACE = 1.0
_CANCEL_REFUSED = frozenset({161, 10147, 10148})
#: TWS's texts of the errors the operations answer themselves (as TWS would).
NOT_FOUND = "OrderId {} that needs to be cancelled is not found."
NOT_CANCELLABLE = "Cancel attempted when order is not in a cancellable state. Order permId ={}"


def _order_contract(details: ContractDetails, exchange: str | None) -> Contract:
    """The resolved contract, routed to ``exchange`` (default SMART, IDEALPRO for CASH)."""
    c = details.contract
    default = "IDEALPRO" if c.secType == "CASH" else "SMART"
    return dataclasses.replace(c, exchange=exchange or c.exchange or default)


def _check_ticks(ib: TWSClient, order: Order, contract: Contract,
                 details: ContractDetails) -> None:
    """The checks TWS would refuse the order by, run before sending it: prices on the
    tick grid (110) and a managed account (321); see :mod:`.order_checks`."""
    check_prices(order, contract, details)
    check_account(order, list(ib.accounts))


async def _resolve(ib: TWSClient, body: OrderCreate) -> tuple[Contract, ContractDetails]:
    query = ContractQuery(
        symbol=body.symbol, conId=body.conId, secType=body.secType, exchange=body.exchange,
        currency=body.currency, primaryExchange=body.primaryExchange,
    ).to_contract()
    if body.symbol is None:  # by conId: TWS wants no routing exchange in the look-up
        query = Contract(conId=query.conId)
    details = await resolve_contract(ib, query)
    return _order_contract(details, body.exchange), details


async def _await_answer(
    trade: Any, timeout: float, *, until_done: bool = False,
    stop: Callable[[], bool] = lambda: False,
) -> None:
    """Wait until TWS answered the order or ``timeout``: acknowledged (or, with
    ``until_done``, done), or rejected. An order that ended unfilled without an
    error gets a second for the error TWS sends after the status (201 after Inactive)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout

    def answered() -> bool:
        if trade.rejected or stop():
            return True
        if trade.is_done():
            return trade.status == "Filled" or trade.error is not None
        return bool(until_done is False and trade.acknowledged)

    reader = trade.updates()
    while not answered():
        if trade.is_done():  # ended unfilled without an error (yet): poll for it briefly
            grace = min(deadline, loop.time() + _REJECTION_GRACE)
            while not answered() and loop.time() < grace:
                await asyncio.sleep(0.02)
            return
        try:
            async with asyncio.timeout_at(deadline):
                await anext(reader)
        except StopAsyncIteration:
            # the reader has ended: the trade completed (the loop then sees it done), or
            # the connection was closed on purpose and no update will come through this
            # reader: poll until answered or the deadline (an immediate retry would spin
            # and starve the event loop)
            if loop.time() >= deadline:
                return
            await asyncio.sleep(0.02)
        except TimeoutError:
            return
    # acknowledged by openOrder: its orderStatus follows at once (filled, remaining)
    grace = min(deadline, loop.time() + _REJECTION_GRACE / 2)
    while trade.orderStatus is None and not trade.is_done() and loop.time() < grace:
        await asyncio.sleep(0.01)


async def get_order(journal: Journal, client_id: int, order_id: int) -> OrderPublic:
    """The order as journaled (works while TWS is unreachable); 404 problem when unknown."""
    async with journal.session() as s:
        row = await queries.find_order(s, client_id, order_id)
    if row is None:
        raise ProblemError(None, f"no order {order_id} of client {client_id} in the journal",
                           status=404, title="Not Found")
    return OrderPublic.from_record(row)


async def _own_trade(ib: TWSClient, order_id: int) -> Any | None:
    """This client's working trade ``order_id`` (asking TWS when not known)."""

    def find() -> Any | None:
        for trade in ib.openTrades():
            if trade.orderId == order_id and trade.order.clientId in (0, ib.client_id):
                return trade
        return None

    trade = find()
    if trade is None:
        await ib.reqOpenOrders()
        trade = find()
    return trade


async def place_order(
    ib: TWSClient, journal: Journal, settings: ServiceSettings, body: OrderCreate,
    *, guard: Any, principal: Principal,
) -> OrderPublic:
    """``placeOrder``: resolve the contract (404 with code 200 when unknown), check the
    prices against its tick grid (400 with code 110) and the account (321), run the guardrails for
    ``principal`` (``guard`` is what :func:`check_order` reads the service's state
    from: the HTTP request, or the app state), journal the order, send it, and wait
    for TWS's acknowledgement. A TWS rejection is a 4xx problem with TWS's code and
    leaves the journal with the order ``Rejected``.
    """
    contract, details = await _resolve(ib, body)
    order = body.to_order()
    _check_ticks(ib, order, contract, details)
    await check_order(guard, principal, order, details)
    trade = ib.placeOrder(contract, order)
    await journal.record_submission(ib.client_id, contract, trade.order)
    wait = settings.order_ack_timeout
    if not order.transmit:  # TWS holds it unacknowledged: only an error can come
        wait = min(wait, _REJECTION_GRACE)
    await _await_answer(trade, wait)
    if trade.rejected and trade.error is not None:
        err: TWSError = trade.error
        await journal.record_rejection(ib.client_id, trade.orderId, err.code, err.message)
        raise tws_problem(err)
    return await get_order(journal, ib.client_id, trade.orderId)


async def preview_order(
    ib: TWSClient, body: OrderCreate, *, guard: Any, principal: Principal,
) -> OrderPreviewPublic:
    """``placeOrder`` with ``whatIf``: TWS's commission and margin impact; nothing is placed.
    The preview is remembered for ``principal`` (the ``require_preview`` guardrail)."""
    contract, details = await _resolve(ib, body)
    order = body.to_order()
    _check_ticks(ib, order, contract, details)
    state = await ib.whatIfOrder(contract, order)
    record_preview(guard, principal, order, details)
    return OrderPreviewPublic.from_tws(contract, order, state)


async def list_orders(
    ib: TWSClient, journal: Journal, status: queries.StatusFilter = "open", limit: int = 500,
) -> list[OrderPublic]:
    """Asks TWS (reqOpenOrders / reqCompletedOrders; the answers are journaled) and
    answers from the journal, newest first."""
    trades: list[Any] = []
    if status in ("open", "all"):
        trades = await ib.reqOpenOrders()
    if status in ("completed", "all"):
        await ib.reqCompletedOrders(apiOnly=False)
    async with journal.session() as s:
        if status != "open":
            rows = list(await queries.list_orders(s, status, limit=limit))
        else:
            perm_ids = {t.order.permId for t in trades if t.order.permId}
            rows = list(await queries.order_by_perm_ids(s, perm_ids, epoch=journal.epoch))
            for t in trades:
                if not t.order.permId:
                    row = await queries.find_order(s, t.order.clientId, t.orderId)
                    if row is not None:
                        rows.append(row)
    return [OrderPublic.from_record(r) for r in rows[:limit]]


async def modify_order(
    ib: TWSClient, journal: Journal, settings: ServiceSettings, order_id: int,
    body: OrderUpdate, *, guard: Any, principal: Principal,
) -> OrderPublic:
    """Sends the order again with the same orderId and the new terms (TWS's modification),
    after the guardrails. 404 when the order is unknown; 409 when it is not working any
    more (code 104 when filled); a refused modification is a 4xx problem with TWS's code.
    """
    trade = await _own_trade(ib, order_id)
    if trade is None:
        async with journal.session() as s:
            row = await queries.find_order(s, ib.client_id, order_id)
        if row is None:
            raise ProblemError(None, f"no working order {order_id}", status=404,
                               title="Not Found")
        raise ProblemError(
            "order-conflict",
            f"order {order_id} is {row.status}; only working orders can be modified",
            code=104 if row.status == "Filled" else None,
        )
    order = dataclasses.replace(trade.order)
    try:
        body.apply(order)
    except ValueError as exc:
        raise ProblemError("validation-error", str(exc)) from exc
    details = await ib.reqContractDetails(Contract(conId=trade.contract.conId))
    if details:
        _check_ticks(ib, order, trade.contract, details[0])
    # the new terms pass the same guardrails as a new order (no bypass by modifying)
    await check_order(guard, principal, order, details[0] if details else trade.contract)
    await journal.record_submission(ib.client_id, trade.contract, order, kind="modifyOrder")
    before = trade.error
    ib.placeOrder(trade.contract, order)
    reader = trade.updates()
    try:
        async with asyncio.timeout(settings.order_ack_timeout):
            async for _ in reader:
                break
    except TimeoutError:
        pass
    if trade.error is not None and trade.error is not before:
        raise tws_problem(trade.error)
    return await get_order(journal, ib.client_id, order_id)


async def cancel_order(
    ib: TWSClient, journal: Journal, settings: ServiceSettings, order_id: int,
) -> OrderPublic:
    """``cancelOrder``; answers the order once TWS confirmed (or the wait ran out).

    404 with TWS's code 10147 when no such order; 409 with code 161 when it is done.
    """
    trade = await _own_trade(ib, order_id)
    if trade is None or trade.is_done():
        async with journal.session() as s:
            row = await queries.find_order(s, ib.client_id, order_id)
        if row is None and trade is None:
            raise ProblemError("order-not-found", NOT_FOUND.format(order_id), code=10147)
        perm_id = trade.order.permId if trade is not None else (row.perm_id if row else 0)
        status = trade.status if trade is not None else (row.status if row else "")
        raise ProblemError("order-conflict",
                           f"{NOT_CANCELLABLE.format(perm_id)} (status {status})", code=161)
    await journal.record_request(ib.client_id, order_id, "cancelOrder")
    seen = len(trade.log)

    def refused() -> Any | None:  # TWS's answer to a cancel it cannot do (161, 10147 ...)
        return next((e for e in trade.log[seen:] if e.errorCode in _CANCEL_REFUSED), None)

    ib.cancelOrder(trade.order)
    await _await_answer(trade, settings.order_ack_timeout, until_done=True,
                        stop=lambda: refused() is not None)
    entry = refused()
    if entry is not None:
        raise tws_problem(TWSError(entry.errorCode, entry.message, order_id))
    return await get_order(journal, ib.client_id, order_id)


async def list_executions(
    journal: Journal, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
    symbol: str | None = None, account: str | None = None, conId: int | None = None,
    limit: int = 10_000,
) -> list[ExecutionPublic]:
    """Every execution the journal holds, oldest first, with its commission report
    (times without a zone are UTC); answered from the journal alone."""

    def utc(t: dt.datetime | None) -> dt.datetime | None:
        return None if t is None else t if t.tzinfo else t.replace(tzinfo=dt.UTC)

    async with journal.session() as s:
        rows = await queries.list_executions(
            s, since=utc(since), until=utc(until), symbol=symbol, account=account,
            con_id=conId, limit=limit,
        )
    return [ExecutionPublic.from_record(r) for r in rows]
