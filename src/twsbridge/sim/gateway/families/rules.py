"""The market rules and SMART components family: reqMarketRule (91) and
reqSmartComponents (83).

* reqMarketRule → marketRule (93): the price increments of a market rule id, one
  of those the simulator's contract details report in ``marketRuleIds``
  (:data:`MARKET_RULES`: 26 US stocks, 31 indices, 32 US equity options and
  crude oil, 110 index options, 239 IDEALPRO currencies, the futures' and the
  foreign listings' rules). Each table is the grid the simulator prices and
  quotes on (the instruments' ``minTick``), one step from 0, except 110, IB's
  index option rule of two steps (0.05 below 3.00, 0.10 from 3.00; its
  smallest step is those options' minTick). An unknown id is answered with
  error 321 (no reqId: id -1).
* reqSmartComponents → smartComponents (82): for the ``bboExchange`` the
  simulator's tickReqParams (81) report for US stocks (:data:`BBO_EXCHANGE`,
  "9c0001"), the venues SMART routes to as bit number → exchange name and
  one-letter code (the exchange names of the simulator's tick-by-tick trades
  and SMART depth: :data:`~twsbridge.sim.market.depth.STOCK_VENUES`; the
  letters are the US consolidated tape's participant codes). Another code is
  answered with error 321.
"""

from __future__ import annotations

from twsbridge.protocol.catalogue import ticks as wire
from twsbridge.protocol.tick_models import PriceIncrement, SmartComponent
from twsbridge.sim.gateway.families.base import Family, handles
from twsbridge.sim.market.depth import STOCK_VENUES

__all__ = ["BBO_EXCHANGE", "MARKET_RULES", "SMART_COMPONENTS", "VENUE_LETTERS", "Rules"]

MARKET_RULES: dict[int, tuple[tuple[float, float], ...]] = {
    26: ((0.0, 0.01),),            # US stocks (SMART and every US venue), stock CFDs
    31: ((0.0, 0.01),),            # indices
    32: ((0.0, 0.01),),            # US equity options, NYMEX CL
    46: ((0.0, 0.1),),             # COMEX GC
    67: ((0.0, 0.25),),            # CME ES, NQ
    110: ((0.0, 0.05), (3.0, 0.1)),  # index options (SPX, NDX, RUT, VIX)
    230: ((0.0, 0.015625),),       # CBOT ZN (1/64)
    239: ((0.0, 0.00005),),        # IDEALPRO (half pips), CME 6E
    1549: ((0.0, 0.05),),          # LSE
    1556: ((0.0, 0.01),),          # SEHK
    1561: ((0.0, 1.0),),           # TSEJ
    1574: ((0.0, 0.01),),          # TSE (Toronto)
    1595: ((0.0, 0.001),),         # IBIS (XETRA)
    1630: ((0.0, 0.5),),           # EUREX FDAX
    1631: ((0.0, 0.01),),          # EUREX FGBL
    2046: ((0.0, 0.1),),           # CME RTY
}
"""Market rule id → (lowEdge, increment) steps, ascending in lowEdge."""

BBO_EXCHANGE = "9c0001"
"""The bboExchange of the simulator's US stock quotes (tickReqParams)."""

VENUE_LETTERS = {
    "NASDAQ": "Q", "ARCA": "P", "BATS": "Z", "IEX": "V", "EDGX": "K", "NYSE": "N",
    "DRCTEDGE": "J", "BYX": "Y",
}
"""Consolidated tape participant letter of each SMART stock venue."""

SMART_COMPONENTS: dict[str, tuple[tuple[int, str, str], ...]] = {
    BBO_EXCHANGE: tuple((bit, venue, VENUE_LETTERS[venue])
                        for bit, venue in enumerate(STOCK_VENUES, start=1)),
}
"""bboExchange → (bitNumber, exchange, exchangeLetter) of its venues."""

UNKNOWN_RULE = "Error validating request.-'bY' : cause - Invalid market rule id"
UNKNOWN_BBO = "Error validating request.-'bZ' : cause - Invalid BBO exchange"


class Rules(Family):
    """reqMarketRule and reqSmartComponents."""

    @handles(wire.ReqMarketRule)
    def req_market_rule(self, msg: wire.ReqMarketRule) -> None:
        steps = MARKET_RULES.get(msg.marketRuleId)
        if steps is None:
            self.ctx.error(-1, 321, f"{UNKNOWN_RULE} {msg.marketRuleId}")
            return
        self.ctx.emit([wire.MarketRule(
            marketRuleId=msg.marketRuleId,
            priceIncrements=[PriceIncrement(lowEdge=a, increment=b) for a, b in steps])])

    @handles(wire.ReqSmartComponents)
    def req_smart_components(self, msg: wire.ReqSmartComponents) -> None:
        rows = SMART_COMPONENTS.get(msg.bboExchange.strip().lower())
        if rows is None:
            self.ctx.error(msg.reqId, 321, f"{UNKNOWN_BBO} {msg.bboExchange!r}")
            return
        self.ctx.emit([wire.SmartComponents(reqId=msg.reqId, smartComponentMap=[
            SmartComponent(bitNumber=b, exchange=e, exchangeLetter=x) for b, e, x in rows])])
