"""The MCP tools of historical ticks and market rules: ``historical_ticks``, ``market_rule``.

Both need the ``read`` scope and call the operations of ``GET /ticks/historical`` and
``GET /market/rules/{id}`` (:mod:`twsbridge.service.operations.ticks`);
:func:`register_tick_tools` adds them to the server :func:`.tools.build_server` makes,
with its ``run`` (scope check, time budget, errors as tool errors).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from ..operations import ticks as tick_ops
from ..routes.common import ContractQuery
from ..tick_schemas import TICKS_MAX, HistoricalTicksPublic, MarketRulePublic
from .params import READ, ConId, Currency, Exchange, Primary, SecType, Symbol
from .runtime import Call

__all__ = ["TICK_TOOL_TEXTS", "register_tick_tools"]

Run = Callable[[Context, str, Callable[[Call], Awaitable[Any]]], Awaitable[Any]]

TICK_TOOL_TEXTS: dict[str, tuple[str, str]] = {
    "historical_ticks": (
        "Historical ticks",
        "Tick-level history of one contract (TWS reqHistoricalTicks), at most 1000 ticks of "
        "one trading session, oldest first, each with TWS's time (ISO 8601, UTC). TRADES: "
        "price (contract's currency), size (shares), exchange, specialConditions, pastLimit, "
        "unreported; BID_ASK: priceBid, priceAsk, sizeBid, sizeAsk; MIDPOINT: price. Give "
        "start (the first ticks from it) or end (the last ticks before it). Needs 'read'.",
    ),
    "market_rule": (
        "Market rule (price increments)",
        "The price increments of a market rule id (TWS reqMarketRule), one of the "
        "marketRuleIds of get_contract (comma separated, one per valid exchange): steps of "
        "lowEdge and increment; from a step's lowEdge up to the next one's, order prices "
        "must be multiples of its increment. Needs 'read'.",
    ),
}
"""Tool name -> (title, description)."""




def register_tick_tools(server: MCPServer, run: Run) -> None:
    """Add ``historical_ticks`` and ``market_rule`` to ``server``."""

    def tool(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        title, description = TICK_TOOL_TEXTS[name]
        return server.tool(name=name, title=title, description=description,
                           annotations=READ, structured_output=True)

    @tool("historical_ticks")
    async def historical_ticks(
        ctx: Context, symbol: Symbol = None, conId: ConId = None, secType: SecType = None,
        exchange: Exchange = None, currency: Currency = None, primaryExchange: Primary = None,
        start: Annotated[str | None, Field(description=(
            "First ticks from here: ISO 8601 such as '2013-03-01T14:30:00Z' (no zone: UTC) "
            "or TWS's 'yyyymmdd hh:mm:ss TZ' such as '20130301 09:30:00 US/Eastern'."))]
        = None,
        end: Annotated[str | None, Field(description=(
            "Last ticks before here, same forms. Give start or end."))] = None,
        count: Annotated[int, Field(ge=1, le=TICKS_MAX, description=(
            "How many ticks, 1..1000 (whole seconds come, so a few more may)."))] = 100,
        whatToShow: Annotated[Literal["TRADES", "BID_ASK", "MIDPOINT"], Field(description=(
            "TRADES (prints; stocks), BID_ASK (quotes) or MIDPOINT (forex has no "
            "TRADES)."))] = "TRADES",
        useRth: Annotated[bool, Field(description=(
            "True: regular trading hours only; False: include pre- and post-market."))]
        = True,
    ) -> HistoricalTicksPublic:
        query = ContractQuery(symbol=symbol, conId=conId, secType=secType, exchange=exchange,
                              currency=currency, primaryExchange=primaryExchange)

        async def work(call: Call) -> HistoricalTicksPublic:
            return await tick_ops.historical_ticks(
                await call.client(), query.to_contract(), startDateTime=start,
                endDateTime=end, numberOfTicks=count, whatToShow=whatToShow, useRth=useRth)

        answer: HistoricalTicksPublic = await run(ctx, "read", work)
        return answer

    @tool("market_rule")
    async def market_rule(
        ctx: Context,
        marketRuleId: Annotated[int, Field(ge=0, le=2**31 - 1, description=(
            "A market rule id from get_contract's marketRuleIds, e.g. 26."))],
    ) -> MarketRulePublic:
        async def work(call: Call) -> MarketRulePublic:
            return await tick_ops.market_rule(await call.client(), marketRuleId)

        answer: MarketRulePublic = await run(ctx, "read", work)
        return answer
