"""Orders: place, preview, modify, cancel and list them; executions from the journal.

What the service sends is journaled before it waits for TWS (``placeOrder``,
``modifyOrder`` and ``cancelOrder`` events), and every answer TWS sends is
journaled by the intercept before these routes see it; so the order a route
returns is read back from the journal. The work is done by
:mod:`twsbridge.service.operations.orders` (shared with GraphQL and MCP).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from ..gateway import ClientDep, GatewayDep, JournalDep
from ..journal import queries
from ..operations import orders as ops
from ..order_schemas import (
    ExecutionPublic,
    OrderCreate,
    OrderPreviewPublic,
    OrderPublic,
    OrderUpdate,
)
from ..problems import problem_responses
from ..schemas import TWS_INT_MAX, TWS_INT_MIN
from ..security import Principal, require_scope

__all__ = ["router"]

router = APIRouter(tags=["orders"])

_ERRORS = problem_responses(400, 404, 409, 422, 503, 504)

ClientIdQuery = Annotated[
    int | None, Query(description="TWS client id of the order (default: the service's).",
                      ge=TWS_INT_MIN, le=TWS_INT_MAX)
]
OrderIdPath = Annotated[int, Path(description="TWS orderId (per client id).",
                                  ge=TWS_INT_MIN, le=TWS_INT_MAX)]
TradeKey = Annotated[Principal, Depends(require_scope("trade"))]
"""Placing, previewing, modifying and cancelling need the ``trade`` scope."""
_GUARDED = problem_responses(401, 403, 422)


@router.post(
    "/orders", status_code=201, summary="Place an order", responses={**_ERRORS, **_GUARDED},
    response_description="The order as journaled once TWS acknowledged it.",
)
async def place_order(
    body: OrderCreate, ib: ClientDep, journal: JournalDep, gateway: GatewayDep,
    response: Response, request: Request, principal: TradeKey,
) -> OrderPublic:
    """``placeOrder``: resolve the contract (404 with code 200 when unknown), check the
    prices against its tick grid (400 with code 110), run the guardrails (403 / 422
    naming the ``rule``), journal the order, send it, and wait for TWS's
    acknowledgement. A TWS rejection is a 4xx problem with TWS's code and leaves the
    journal with the order ``Rejected``.
    """
    order = await ops.place_order(ib, journal, gateway.settings, body, guard=request,
                                  principal=principal)
    response.headers["Location"] = f"/orders/{order.orderId}"
    return order


@router.post("/orders/preview", summary="What-if: commission and margin",
             responses={**_ERRORS, **_GUARDED})
async def preview_order(
    body: OrderCreate, ib: ClientDep, request: Request, principal: TradeKey,
) -> OrderPreviewPublic:
    """``placeOrder`` with ``whatIf``: TWS's commission and margin impact; nothing is
    placed. With ``require_preview`` it allows this key to place this order."""
    return await ops.preview_order(ib, body, guard=request, principal=principal)


@router.get("/orders", summary="Orders (open, completed or all)", responses=_ERRORS)
async def list_orders(
    ib: ClientDep,
    journal: JournalDep,
    status: Annotated[
        queries.StatusFilter,
        Query(description="open: working at TWS now; completed: filled, cancelled or "
                          "rejected; all: everything in the journal."),
    ] = "open",
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> list[OrderPublic]:
    """Asks TWS (reqOpenOrders / reqCompletedOrders; the answers are journaled) and
    answers from the journal, newest first."""
    return await ops.list_orders(ib, journal, status, limit)


@router.get("/orders/{orderId}", summary="One order, with its executions", responses=_ERRORS)
async def get_order(
    orderId: OrderIdPath, gateway: GatewayDep, journal: JournalDep, clientId: ClientIdQuery = None,
) -> OrderPublic:
    """The order as journaled (works while TWS is unreachable)."""
    return await ops.get_order(journal, clientId or gateway.settings.client_id, orderId)


@router.put("/orders/{orderId}", summary="Modify a working order",
            responses={**_ERRORS, **_GUARDED})
async def modify_order(
    orderId: OrderIdPath, body: OrderUpdate, ib: ClientDep, journal: JournalDep,
    gateway: GatewayDep, request: Request, principal: TradeKey,
) -> OrderPublic:
    """Sends the order again with the same orderId and the new terms (TWS's modification).

    404 when the order is unknown; 409 when it is not working any more (code 104 when
    filled); a refused modification is a 4xx problem with TWS's code.
    """
    return await ops.modify_order(ib, journal, gateway.settings, orderId, body, guard=request,
                                  principal=principal)


@router.delete("/orders/{orderId}", summary="Cancel an order", responses=_ERRORS,
               dependencies=[Depends(require_scope("trade"))])
async def cancel_order(
    orderId: OrderIdPath, ib: ClientDep, journal: JournalDep, gateway: GatewayDep,
) -> OrderPublic:
    """``cancelOrder``; answers the order once TWS confirmed (or the wait ran out).

    404 with TWS's code 10147 when no such order; 409 with code 161 when it is done.
    """
    return await ops.cancel_order(ib, journal, gateway.settings, orderId)


@router.get("/executions", summary="Executions with commissions (journal)",
            responses=problem_responses(422))
async def list_executions(
    journal: JournalDep,
    since: Annotated[dt.datetime | None, Query(description="ISO time, inclusive (UTC if no "
                                                           "zone), of the execution.")] = None,
    until: Annotated[dt.datetime | None, Query(description="ISO time, exclusive.")] = None,
    symbol: str | None = None,
    account: str | None = None,
    conId: Annotated[int | None, Query(ge=TWS_INT_MIN, le=TWS_INT_MAX)] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> list[ExecutionPublic]:
    """Every execution the journal holds, oldest first, with its commission report;
    answered from the journal alone (works while TWS is unreachable)."""
    return await ops.list_executions(journal, since=since, until=until, symbol=symbol,
                                     account=account, conId=conId, limit=limit)
