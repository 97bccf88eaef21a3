"""The market rules and SMART components family: reqMarketRule (91) and
reqSmartComponents (83).

* reqMarketRule → marketRule (93): the price increments of a market rule id, one
  of those the simulator's contract details report in ``marketRuleIds``: 26
  (US stocks: 0.01 at every price) and 239 (IDEALPRO currency pairs: 0.00005).
  An unknown id is answered with error 321 (no reqId: id -1).
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
    26: ((0.0, 0.01),),
    239: ((0.0, 0.00005),),
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
