"""The market data family: reqMarketDataType, reqMktData, cancelMktData (ids 59, 1, 2).

A line streams about four tick updates a second from the price model
(:class:`~twsbridge.sim.market.streams.MktDataStream`); the session's guard
applies the line limit (101) and the faults (10197, silence during 1100).
The lines live in the session's ``mkt``, which the guard polls.

``genericTickList`` (:mod:`twsbridge.sim.market.generic_ticks`): an id TWS
does not accept for the contract, or generic ticks on a snapshot, is error
321 with TWS's text and no line; ``mdoff`` keeps only the generic ticks.
"""

from __future__ import annotations

from twsbridge.protocol.catalogue import outgoing
from twsbridge.sim.gateway.families.base import Family, handles
from twsbridge.sim.gateway.guard import Line
from twsbridge.sim.market.generic_ticks import (
    SNAPSHOT_GENERIC,
    GenericTickError,
    GenericTickModel,
    GenericTicks,
    parse_generic_tick_list,
)
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
        if inst is None:
            return
        snapshot = msg.snapshot or msg.regulatorySnapshot
        try:
            generic = parse_generic_tick_list(msg.genericTickList, inst.secType)
        except GenericTickError as e:
            ctx.error(msg.reqId, 321, e.text)
            return
        if generic and snapshot:
            ctx.error(msg.reqId, 321, SNAPSHOT_GENERIC)
            return
        line = ctx.guard.new_line(msg.reqId, ctx.md_type, snapshot)
        if line is Line.REFUSED:
            return
        stream = MktDataStream(msg.reqId, inst, ctx.sim.prices, ctx.md_type, snapshot=snapshot,
                               mdoff=generic.mdoff)
        if generic.ids:
            stream.generic = GenericTicks(msg.reqId, inst, GenericTickModel.of(ctx.sim.prices),
                                          generic.ids)
        if line is Line.ANSWER:  # else its first tick set waits for the data (faults)
            ctx.emit(stream.first(ctx.now()))
        if not stream.snapshot:
            ctx.mkt[msg.reqId] = stream

    @handles(outgoing.CancelMktData)
    def cancel_mkt_data(self, msg: outgoing.CancelMktData) -> None:
        self.ctx.mkt.pop(msg.reqId, None)
