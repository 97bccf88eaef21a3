"""The P&L family: reqPnL/cancelPnL (92/93) and reqPnLSingle/cancelPnLSingle (94/95).

Values and their periodic updates come from the session's
:class:`~twsbridge.sim.gateway.pnl_feed.PnLFeeds`.
"""

from __future__ import annotations

import datetime as dt

from twsbridge.protocol.catalogue import outgoing
from twsbridge.protocol.spec import Message
from twsbridge.sim.gateway.families.base import Family, handles

__all__ = ["PnL"]


class PnL(Family):
    """Account and single-position P&L subscriptions."""

    @handles(outgoing.ReqPnL)
    def req_pnl(self, msg: outgoing.ReqPnL) -> None:
        self.ctx.emit(self.ctx.pnl.req_pnl(msg.reqId, self.ctx.now()))

    @handles(outgoing.ReqPnLSingle)
    def req_pnl_single(self, msg: outgoing.ReqPnLSingle) -> None:
        self.ctx.emit(self.ctx.pnl.req_pnl_single(msg.reqId, msg.conId, self.ctx.now()))

    @handles(outgoing.CancelPnL, outgoing.CancelPnLSingle)
    def cancel(self, msg: outgoing.CancelPnL | outgoing.CancelPnLSingle) -> None:
        self.ctx.pnl.cancel(msg.reqId)

    def poll(self, now: dt.datetime) -> list[Message]:
        """The due pnl / pnlSingle updates."""
        return self.ctx.pnl.poll(now)
