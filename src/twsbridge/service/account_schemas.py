"""Response models of the account routes: positions, account values, P&L."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from .schemas import ContractPublic, Money, MoneyRounding, Size, TwsPrice, price, size

__all__ = [
    "AccountValuePublic",
    "PnLPublic",
    "PositionPublic",
]


class PositionPublic(BaseModel):
    """One position (reqPositions); ``avgCost`` includes commissions, as TWS reports it."""

    account: str
    contract: ContractPublic
    position: Size
    avgCost: TwsPrice = Field(description="Average cost per unit, commissions included (TWS's "
                              "avgCost: a price times the multiplier; 8 decimals at most).")

    @classmethod
    def from_tws(cls, p: Any) -> PositionPublic:
        """Convert an ``incoming.Position``."""
        return cls(account=p.account, contract=ContractPublic.from_tws(p.contract),
                   position=size(p.position) if p.position >= 0 else p.position,
                   avgCost=price(p.avgCost))


class AccountValuePublic(BaseModel):
    """One account value: TWS's ``tag`` (key), its ``value`` text and ``currency``."""

    account: str
    tag: str
    value: str
    currency: str = Field(description="'' for values without a currency; 'BASE' for totals.")

    @classmethod
    def from_tws(cls, v: Any, account: str = "") -> AccountValuePublic:
        """Convert an account value of the client (``tag`` or ``key``)."""
        return cls(account=getattr(v, "account", "") or account,
                   tag=str(getattr(v, "tag", None) or getattr(v, "key", "")),
                   value=str(v.value), currency=getattr(v, "currency", "") or "")


class PnLPublic(MoneyRounding):
    """Account P&L from the service's reqPnL subscription (null until TWS sent a value),
    in the account's base currency, rounded to cents."""

    _money_currency: ClassVar[str] = ""  # the base currency

    account: str
    modelCode: str = ""
    dailyPnL: Money
    unrealizedPnL: Money
    realizedPnL: Money
    time: dt.datetime | None = Field(description="When the last update arrived (UTC).")

    @classmethod
    def from_tws(cls, account: str, pnl: Any | None, at: dt.datetime | None) -> PnLPublic:
        """Convert the latest ``incoming.PnL`` (``None``: nothing yet)."""
        if pnl is None:
            return cls(account=account, dailyPnL=None, unrealizedPnL=None, realizedPnL=None,
                       time=None)
        return cls(account=account, dailyPnL=price(pnl.dailyPnL),
                   unrealizedPnL=price(pnl.unrealizedPnL), realizedPnL=price(pnl.realizedPnL),
                   time=at)
