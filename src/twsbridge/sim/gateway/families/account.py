"""The account family: reqPositions/cancelPositions (61/64), reqAccountUpdates (6),
reqAccountSummary/cancel (62/63), reqAccountUpdatesMulti/cancel (76/77).

The messages come from the session's
:class:`~twsbridge.sim.gateway.account_feed.AccountFeeds`, which also streams
the periodic updates of the active subscriptions (:meth:`Account.poll`).
"""

from __future__ import annotations

import datetime as dt

from twsbridge.protocol.catalogue import outgoing
from twsbridge.protocol.spec import Message
from twsbridge.sim.gateway.families.base import Family, handles

__all__ = ["Account"]


class Account(Family):
    """Positions, account updates, account summary and account updates multi."""

    @handles(outgoing.ReqPositions)
    def req_positions(self, msg: outgoing.ReqPositions) -> None:
        self.ctx.emit(self.ctx.feeds.req_positions())

    @handles(outgoing.CancelPositions)
    def cancel_positions(self, msg: outgoing.CancelPositions) -> None:
        self.ctx.feeds.cancel_positions()

    @handles(outgoing.ReqAccountUpdates)
    def req_account_updates(self, msg: outgoing.ReqAccountUpdates) -> None:
        ctx = self.ctx
        code = ctx.sim.account.code
        if msg.acctCode and msg.acctCode != code:
            ctx.error(-1, 321, f"Error validating request.-'bB' : cause - "
                               f"Invalid account code {msg.acctCode}")
            return
        ctx.emit(ctx.feeds.req_account_updates(msg.subscribe, ctx.now()))

    @handles(outgoing.ReqAccountSummary)
    def req_account_summary(self, msg: outgoing.ReqAccountSummary) -> None:
        ctx = self.ctx
        ctx.emit(ctx.feeds.req_account_summary(msg.reqId, msg.groupName, msg.tags, ctx.now()))

    @handles(outgoing.CancelAccountSummary)
    def cancel_account_summary(self, msg: outgoing.CancelAccountSummary) -> None:
        self.ctx.feeds.cancel_summary(msg.reqId)

    @handles(outgoing.ReqAccountUpdatesMulti)
    def req_account_updates_multi(self, msg: outgoing.ReqAccountUpdatesMulti) -> None:
        ctx = self.ctx
        ctx.emit(ctx.feeds.req_account_updates_multi(
            msg.reqId, msg.account, msg.modelCode, msg.ledgerAndNLV, ctx.now()))

    @handles(outgoing.CancelAccountUpdatesMulti)
    def cancel_account_updates_multi(self, msg: outgoing.CancelAccountUpdatesMulti) -> None:
        self.ctx.feeds.cancel_multi(msg.reqId)

    def poll(self, now: dt.datetime) -> list[Message]:
        """The due periodic account updates, summaries and positions."""
        return self.ctx.feeds.poll(now)
