"""The account: positions, account summary, account values and P&L."""

from __future__ import annotations

from twsbridge.client import TWSClient
from twsbridge.client.account import ALL_TAGS

from ..account_schemas import AccountValuePublic, PnLPublic, PositionPublic
from ..gateway import GatewayManager
from ..problems import ProblemError

__all__ = ["account_summary", "account_values", "managed_account", "pnl", "positions"]

_PNL_WAIT = 5.0


def managed_account(ib: TWSClient, account: str | None) -> str:
    """``account`` checked against the managed accounts (404 problem if foreign);
    ``None``: the first managed account."""
    accounts = list(ib.accounts)
    if account is None:
        if not accounts:
            raise ProblemError("gateway-unavailable", "TWS reported no managed account")
        return accounts[0]
    if accounts and account not in accounts:
        raise ProblemError(
            None,
            f"account {account!r} is not managed here (managed: {', '.join(accounts)})",
            status=404,
            title="Not Found",
        )
    return account


async def positions(ib: TWSClient) -> list[PositionPublic]:
    """``reqPositions``: every position (closed ones with position 0, as TWS reports them)."""
    return [PositionPublic.from_tws(p) for p in await ib.reqPositions()]


async def account_summary(
    ib: TWSClient, group: str = "All", tags: str | None = None
) -> list[AccountValuePublic]:
    """``reqAccountSummary``: TWS's tags with their values, per account."""
    rows = await ib.reqAccountSummary(groupName=group, tags=tags or ALL_TAGS)
    return [AccountValuePublic.from_tws(v) for v in rows]


async def account_values(ib: TWSClient, account: str | None = None) -> list[AccountValuePublic]:
    """``reqAccountUpdates``: every value TWS keeps for the account, as TWS's text."""
    code = managed_account(ib, account)
    snapshot = await ib.reqAccountUpdates(code)
    return [AccountValuePublic.from_tws(v, code) for v in snapshot.values]


async def pnl(ib: TWSClient, gateway: GatewayManager) -> PnLPublic:
    """P&L of the first managed account from the service's reqPnL subscription."""
    code = managed_account(ib, None)
    latest, at = await gateway.pnl.latest(_PNL_WAIT)
    return PnLPublic.from_tws(code, latest if gateway.pnl.account == code else None, at)
