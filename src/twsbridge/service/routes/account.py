"""The account: positions, account summary, account values and P&L."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from twsbridge.client.account import ALL_TAGS

from ..account_schemas import AccountValuePublic, PnLPublic, PositionPublic
from ..gateway import ClientDep, GatewayDep
from ..problems import ProblemError, problem_responses

__all__ = ["router"]

router = APIRouter(tags=["account"])

_ERRORS = problem_responses(400, 404, 422, 503, 504)
_PNL_WAIT = 5.0


def _account(ib: ClientDep, account: str | None) -> str:
    accounts = list(ib.accounts)
    if account is None:
        if not accounts:
            raise ProblemError("gateway-unavailable", "TWS reported no managed account")
        return accounts[0]
    if accounts and account not in accounts:
        raise ProblemError(None, f"account {account!r} is not managed here "
                                 f"(managed: {', '.join(accounts)})", status=404,
                           title="Not Found")
    return account


@router.get("/positions", summary="Positions of every account", responses=_ERRORS)
async def positions(ib: ClientDep) -> list[PositionPublic]:
    """``reqPositions``: every position (closed ones with position 0 included as TWS
    reports them)."""
    return [PositionPublic.from_tws(p) for p in await ib.reqPositions()]


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
    rows = await ib.reqAccountSummary(groupName=group, tags=tags or ALL_TAGS)
    return [AccountValuePublic.from_tws(v) for v in rows]


@router.get("/account/values", summary="Account values (reqAccountUpdates)",
            responses=_ERRORS)
async def account_values(
    ib: ClientDep,
    account: Annotated[str | None, Query(description="Account code (default: the first).")]
    = None,
) -> list[AccountValuePublic]:
    """``reqAccountUpdates``: every value TWS keeps for the account (cash per currency,
    margins, P&L ...), as TWS's text."""
    code = _account(ib, account)
    snapshot = await ib.reqAccountUpdates(code)
    return [AccountValuePublic.from_tws(v, code) for v in snapshot.values]


@router.get("/pnl", summary="Account P&L (the service's reqPnL subscription)",
            responses=_ERRORS)
async def pnl(ib: ClientDep, gateway: GatewayDep) -> PnLPublic:
    """Daily, unrealized and realized P&L of the first managed account, as the
    service's reqPnL subscription last reported it (``null`` before TWS sent any)."""
    code = _account(ib, None)
    latest, at = await gateway.pnl.latest(_PNL_WAIT)
    return PnLPublic.from_tws(code, latest if gateway.pnl.account == code else None, at)
