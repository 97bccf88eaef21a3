"""Account subscriptions of one simulated client connection.

:class:`AccountFeeds` answers reqPositions (61), reqAccountUpdates (6),
reqAccountSummary (62) and reqAccountUpdatesMulti (76) from the shared
:class:`~twsbridge.sim.broker.account.Account`, and keeps the subscriptions: every
three simulated minutes (as TWS) it sends the values that changed, and for
reqAccountUpdates an accountUpdateTime (8). :meth:`AccountFeeds.refresh`
makes them due at once (after a trade changed the account).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from twsbridge.protocol.catalogue import incoming
from twsbridge.protocol.spec import Message
from twsbridge.sim.broker.account import AccountValue, PortfolioRow

if TYPE_CHECKING:
    from twsbridge.sim.world import World

__all__ = ["ACCOUNT_UPDATE_INTERVAL", "AccountFeeds"]

ACCOUNT_UPDATE_INTERVAL = dt.timedelta(minutes=3)
"""Simulated time between two periodic account updates (TWS: 3 minutes)."""

_Key = tuple[str, str, str]


@dataclass(slots=True)
class _Sub:
    """One subscription: what was last sent, and when the next update is due."""

    next_due: dt.datetime
    sent: dict[_Key, str] = field(default_factory=dict)
    group: str = ""
    tags: str = ""
    model: str = ""
    ledger_only: bool = False


def _portfolio_msg(row: PortfolioRow, account: str) -> incoming.UpdatePortfolio:
    return incoming.UpdatePortfolio(
        contract=row.contract, position=row.position, marketPrice=row.marketPrice,
        marketValue=row.marketValue, averageCost=row.averageCost,
        unrealizedPNL=row.unrealizedPNL, realizedPNL=row.realizedPNL, accountName=account)


class AccountFeeds:
    """The account requests and subscriptions of one session."""

    def __init__(self, simulator: World) -> None:
        self.sim = simulator
        self.positions_subscribed = False
        self._updates: _Sub | None = None
        self._portfolio_sent: dict[int, PortfolioRow] = {}
        self._summary: dict[int, _Sub] = {}
        self._multi: dict[int, _Sub] = {}

    @property
    def code(self) -> str:
        """The account code."""
        return self.sim.account.code

    # ---------------------------------------------------------- positions
    def req_positions(self) -> list[Message]:
        """position (61) rows then positionEnd (62); updates follow trades."""
        self.positions_subscribed = True
        out: list[Message] = [
            incoming.Position(account=self.code, contract=h.contract, position=h.position,
                              avgCost=h.avgCost)
            for h in self.sim.account.positions()]
        out.append(incoming.PositionEnd())
        return out

    def cancel_positions(self) -> None:
        """cancelPositions (64)."""
        self.positions_subscribed = False

    # ----------------------------------------------------- account updates
    def _update_rows(self, now: dt.datetime) -> tuple[list[AccountValue], list[PortfolioRow]]:
        prices, fx = self.sim.valuation(now)
        acct = self.sim.account
        return acct.update_values(prices, fx), acct.portfolio(prices)

    def req_account_updates(self, subscribe: bool, now: dt.datetime) -> list[Message]:
        """Subscribe: every updateAccountValue (6), updatePortfolio (7),
        accountUpdateTime (8) and accountDownloadEnd (54). Unsubscribe: nothing."""
        if not subscribe:
            self._updates = None
            return []
        sub = self._updates = _Sub(now + ACCOUNT_UPDATE_INTERVAL)
        rows, portfolio = self._update_rows(now)
        out: list[Message] = self._value_msgs(sub, rows, only_changed=False)
        self._portfolio_sent = {r.contract.conId: r for r in portfolio}
        out.extend(_portfolio_msg(r, self.code) for r in portfolio)
        out.append(incoming.UpdateAccountTime(timeStamp=f"{now:%H:%M}"))
        out.append(incoming.AccountDownloadEnd(accountName=self.code))
        return out

    def _value_msgs(self, sub: _Sub, rows: list[AccountValue],
                    only_changed: bool) -> list[Message]:
        out: list[Message] = []
        for r in rows:
            key = (self.code, r.key, r.currency)
            if only_changed and sub.sent.get(key) == r.value:
                continue
            sub.sent[key] = r.value
            out.append(incoming.UpdateAccountValue(key=r.key, val=r.value, currency=r.currency,
                                                   accountName=self.code))
        return out

    # ----------------------------------------------------- account summary
    def _summary_msgs(self, req_id: int, sub: _Sub, now: dt.datetime,
                      only_changed: bool) -> list[Message]:
        prices, fx = self.sim.valuation(now)
        out: list[Message] = []
        for account, r in self.sim.account.summary_values(sub.tags, sub.group, prices, fx):
            key = (account, r.key, r.currency)
            if only_changed and sub.sent.get(key) == r.value:
                continue
            sub.sent[key] = r.value
            out.append(incoming.AccountSummary(reqId=req_id, account=account, tag=r.key,
                                               value=r.value, currency=r.currency))
        return out

    def req_account_summary(self, req_id: int, group: str, tags: str,
                            now: dt.datetime) -> list[Message]:
        """accountSummary (63) rows for ``tags`` then accountSummaryEnd (64)."""
        sub = _Sub(now + ACCOUNT_UPDATE_INTERVAL, group=group or "All", tags=tags)
        self._summary[req_id] = sub
        out = self._summary_msgs(req_id, sub, now, only_changed=False)
        out.append(incoming.AccountSummaryEnd(reqId=req_id))
        return out

    def cancel_summary(self, req_id: int) -> None:
        """cancelAccountSummary (63)."""
        self._summary.pop(req_id, None)

    # ------------------------------------------------ account updates multi
    def _multi_msgs(self, req_id: int, sub: _Sub, now: dt.datetime,
                    only_changed: bool) -> list[Message]:
        prices, fx = self.sim.valuation(now)
        out: list[Message] = []
        rows = self.sim.account.multi_values(prices, fx, ledger_and_nlv=sub.ledger_only)
        for r in rows:
            key = (self.code, r.key, r.currency)
            if only_changed and sub.sent.get(key) == r.value:
                continue
            sub.sent[key] = r.value
            out.append(incoming.AccountUpdateMulti(
                reqId=req_id, account=self.code, modelCode=sub.model, key=r.key,
                value=r.value, currency=r.currency))
        return out

    def req_account_updates_multi(self, req_id: int, account: str, model_code: str,
                                  ledger_and_nlv: bool, now: dt.datetime) -> list[Message]:
        """accountUpdateMulti (73) rows then accountUpdateMultiEnd (74)."""
        sub = _Sub(now + ACCOUNT_UPDATE_INTERVAL, model=model_code, ledger_only=ledger_and_nlv)
        self._multi[req_id] = sub
        out = self._multi_msgs(req_id, sub, now, only_changed=False)
        out.append(incoming.AccountUpdateMultiEnd(reqId=req_id))
        return out

    def cancel_multi(self, req_id: int) -> None:
        """cancelAccountUpdatesMulti (77)."""
        self._multi.pop(req_id, None)

    # ---------------------------------------------------------- streaming
    def refresh(self) -> None:
        """Make every subscription due at the next :meth:`poll`."""
        epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
        for sub in [self._updates, *self._summary.values(), *self._multi.values()]:
            if sub is not None:
                sub.next_due = epoch

    def poll(self, now: dt.datetime) -> list[Message]:
        """Changed values of the subscriptions that are due."""
        out: list[Message] = []
        sub = self._updates
        if sub is not None and now >= sub.next_due:
            sub.next_due = now + ACCOUNT_UPDATE_INTERVAL
            rows, portfolio = self._update_rows(now)
            out.extend(self._value_msgs(sub, rows, only_changed=True))
            for r in portfolio:
                if self._portfolio_sent.get(r.contract.conId) != r:
                    self._portfolio_sent[r.contract.conId] = r
                    out.append(_portfolio_msg(r, self.code))
            out.append(incoming.UpdateAccountTime(timeStamp=f"{now:%H:%M}"))
        for req_id, sub in list(self._summary.items()):
            if now >= sub.next_due:
                sub.next_due = now + ACCOUNT_UPDATE_INTERVAL
                out.extend(self._summary_msgs(req_id, sub, now, only_changed=True))
        for req_id, sub in list(self._multi.items()):
            if now >= sub.next_due:
                sub.next_due = now + ACCOUNT_UPDATE_INTERVAL
                out.extend(self._multi_msgs(req_id, sub, now, only_changed=True))
        return out
