"""The market data family: reqMarketDataType, reqMktData, cancelMktData (ids 59, 1, 2).

A line streams about four tick updates a second from the price model
(:class:`~twsbridge.sim.market.streams.MktDataStream`); the session's guard
applies the line limit (101) and the faults (10197, silence during 1100).
The lines live in the session's ``mkt``, which the guard polls.
"""

from __future__ import annotations

from twsbridge.protocol.catalogue import outgoing
from twsbridge.sim.gateway.families.base import Family, handles
from twsbridge.sim.gateway.guard import Line
from twsbridge.sim.market.streams import MktDataStream

__all__ = ["DUPLICATE_TICKER", "MarketData"]

DUPLICATE_TICKER = "Error processing request.-'bT' : cause - Duplicate ticker id"


class MarketData(Family):
    """reqMarketDataType, reqMktData and cancelMktData."""

    @handles(outgoing.ReqMarketDataType)
    def req_market_data_type(self, msg: outgoing.ReqMarketDataType) -> None:
        if msg.marketDataType not in (1, 2, 3, 4):
            self.ctx.error(-1, 321, f"Error validating request.-'bS' : cause - Invalid market "
                                    f"data type {msg.marketDataType}")
            return
        self.ctx.md_type = msg.marketDataType

    @handles(outgoing.ReqMktData)
    def req_mkt_data(self, msg: outgoing.ReqMktData) -> None:
        ctx = self.ctx
        if msg.reqId in ctx.mkt:
            ctx.error(msg.reqId, 322, DUPLICATE_TICKER)
            return
        inst = ctx.single(msg.reqId, msg.contract)
        snapshot = msg.snapshot or msg.regulatorySnapshot
        line = Line.REFUSED if inst is None else ctx.guard.new_line(
            msg.reqId, ctx.md_type, snapshot)
        if inst is None or line is Line.REFUSED:
            return
        stream = MktDataStream(msg.reqId, inst, ctx.sim.prices, ctx.md_type, snapshot=snapshot)
        if line is Line.ANSWER:  # else its first tick set waits for the data (faults)
            ctx.emit(stream.first(ctx.now()))
        if not stream.snapshot:
            ctx.mkt[msg.reqId] = stream

    @handles(outgoing.CancelMktData)
    def cancel_mkt_data(self, msg: outgoing.CancelMktData) -> None:
        self.ctx.mkt.pop(msg.reqId, None)
