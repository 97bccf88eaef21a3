"""The account: positions, account summary, account values and P&L."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..account_schemas import AccountValuePublic, PnLPublic, PositionPublic
from ..gateway import ClientDep, GatewayDep
from ..operations import account as ops
from ..problems import problem_responses

__all__ = ["router"]

router = APIRouter(tags=["account"])

_ERRORS = problem_responses(400, 404, 422, 503, 504)


@router.get("/positions", summary="Positions of every account", responses=_ERRORS)
async def positions(ib: ClientDep) -> list[PositionPublic]:
    """``reqPositions``: every position (closed ones with position 0 included as TWS
    reports them)."""
    return await ops.positions(ib)


@router.get("/account/summary", summary="Account summary (reqAccountSummary)",
            responses=_ERRORS)
async def account_summary(
    ib: ClientDep,
    group: Annotated[str, Query(description="Account group; 'All' for every account.")] = "All",
    tags: Annotated[
        str | None,
        Query(description="Comma-separated TWS tags (NetLiquidation,BuyingPower,$LEDGER ...); "
                          "default: every tag."),
    ] = None,
) -> list[AccountValuePublic]:
    """``reqAccountSummary``: TWS's tags with their values, per account."""
    return await ops.account_summary(ib, group, tags)


@router.get("/account/values", summary="Account values (reqAccountUpdates)",
            responses=_ERRORS)
async def account_values(
    ib: ClientDep,
    account: Annotated[str | None, Query(description="Account code (default: the first).")]
    = None,
) -> list[AccountValuePublic]:
    """``reqAccountUpdates``: every value TWS keeps for the account (cash per currency,
    margins, P&L ...), as TWS's text."""
    return await ops.account_values(ib, account)


@router.get("/pnl", summary="Account P&L (the service's reqPnL subscription)",
            responses=_ERRORS)
async def pnl(ib: ClientDep, gateway: GatewayDep) -> PnLPublic:
    """Daily, unrealized and realized P&L of the first managed account, as the
    service's reqPnL subscription last reported it (``null`` before TWS sent any)."""
    return await ops.pnl(ib, gateway)
