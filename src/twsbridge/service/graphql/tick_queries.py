"""GraphQL queries of historical ticks, histograms, market rules and SMART components.

``historicalTicks``, ``histogram``, ``marketRule`` and ``smartComponents`` call the
operations REST's ``/ticks/historical`` and ``/market/...`` call
(:mod:`twsbridge.service.operations.ticks`), need the ``read`` scope, and each counts as
one field that sends TWS a request (:class:`.limits.TWSCall`, as ``bars``).
The root ``Query`` type of :mod:`twsbridge.service.graphql` inherits :class:`TickQuery`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from twsbridge.client import TWSClient

from ..operations import ticks as tick_ops
from ..routes.common import ContractQuery
from ..tick_schemas import TICKS_MAX
from .auth import GraphQLContext, ReadScope
from .errors import ProblemErrors
from .limits import TWSCall
from .tick_types import HistogramGQL, HistoricalTicksGQL, MarketRuleGQL, SmartComponentsGQL

__all__ = ["TickQuery"]

ConId = Annotated[int | None, strawberry.argument(description="IB contract id, e.g. 265598.")]
Symbol = Annotated[str | None, strawberry.argument(
    description="Ticker symbol, e.g. AAPL (or EUR.USD with secType CASH).")]
SecType = Annotated[str | None, strawberry.argument(description="STK (default), CASH, IND ...")]
Exchange = Annotated[str | None, strawberry.argument(
    description="SMART (default; IDEALPRO for CASH), ISLAND ...")]
Currency = Annotated[str | None, strawberry.argument(
    description="USD (default; any for CASH) ...")]
PrimaryExchange = Annotated[str | None, strawberry.argument(
    description="Listing exchange, e.g. NASDAQ.")]


def _read(description: str) -> Callable[[Callable[..., Any]], Any]:
    decorator: Callable[[Callable[..., Any]], Any] = strawberry.field(
        description=description, permission_classes=[ReadScope],
        extensions=[ProblemErrors(), TWSCall()])
    return decorator


async def _client(info: Info) -> TWSClient:
    context: GraphQLContext = info.context
    return await context.gateway.client()


def _contract(conId: int | None, symbol: str | None, secType: str | None,
              exchange: str | None, currency: str | None,
              primaryExchange: str | None) -> ContractQuery:
    return ContractQuery(symbol=symbol, conId=conId, secType=secType, exchange=exchange,
                         currency=currency, primaryExchange=primaryExchange)


@strawberry.type(description="Historical ticks, histograms, market rules, SMART components.")
class TickQuery:
    """The tick queries of the root ``Query``."""

    @_read("Historical ticks (reqHistoricalTicks) of the one contract matching conId or "
           "symbol: at most 1000 of one session, ascending in time; count and whatToShow "
           "are checked first (status 422), what TWS rejects carries TWS's code.")
    async def historicalTicks(
        self, info: Info, conId: ConId = None, symbol: Symbol = None,
        secType: SecType = None, exchange: Exchange = None, currency: Currency = None,
        primaryExchange: PrimaryExchange = None,
        start: Annotated[str | None, strawberry.argument(
            description="First ticks from here: 'yyyymmdd hh:mm:ss TZ', UTC "
                        "'yyyymmdd-hh:mm:ss' or ISO 8601.")] = None,
        end: Annotated[str | None, strawberry.argument(
            description="Last ticks before here (same forms); give start or end.")] = None,
        count: Annotated[int, strawberry.argument(
            description="numberOfTicks, 1..1000.")] = TICKS_MAX,
        whatToShow: Annotated[str, strawberry.argument(
            description="TRADES, BID_ASK or MIDPOINT.")] = "TRADES",
        useRth: Annotated[bool, strawberry.argument(
            description="Regular trading hours only.")] = True,
        ignoreSize: Annotated[bool, strawberry.argument(
            description="BID_ASK: leave out ticks where only a size changed.")] = False,
    ) -> HistoricalTicksGQL:
        tick_ops.check_ticks_request(count, whatToShow)  # 422 before the contract look-up
        query = _contract(conId, symbol, secType, exchange, currency, primaryExchange)
        answer = await tick_ops.historical_ticks(
            await _client(info), query.to_contract(), startDateTime=start, endDateTime=end,
            numberOfTicks=count, whatToShow=whatToShow, useRth=useRth, ignoreSize=ignoreSize)
        return HistoricalTicksGQL.from_pydantic(answer)

    @_read("Volume by price (reqHistogramData) of the one contract matching conId or symbol "
           "over period back from now, ascending in price.")
    async def histogram(
        self, info: Info, conId: ConId = None, symbol: Symbol = None,
        secType: SecType = None, exchange: Exchange = None, currency: Currency = None,
        primaryExchange: PrimaryExchange = None,
        period: Annotated[str, strawberry.argument(
            description="TWS timePeriod: '3 days', '1 week', '2 months'.")]
        = tick_ops.DEFAULT_PERIOD,
        useRTH: Annotated[bool, strawberry.argument(
            description="Regular trading hours only.")] = True,
    ) -> HistogramGQL:
        query = _contract(conId, symbol, secType, exchange, currency, primaryExchange)
        answer = await tick_ops.histogram(await _client(info), query.to_contract(),
                                          period=period, useRTH=useRTH)
        return HistogramGQL.from_pydantic(answer)

    @_read("Price increments of a market rule (reqMarketRule), one of a contract's "
           "marketRuleIds; an id TWS does not know is an error carrying TWS's code.")
    async def marketRule(self, info: Info, marketRuleId: int) -> MarketRuleGQL:
        answer = await tick_ops.market_rule(await _client(info), marketRuleId)
        return MarketRuleGQL.from_pydantic(answer)

    @_read("The venues SMART routes to for the bboExchange of a quote's tickReqParams "
           "(reqSmartComponents), ascending in bit number.")
    async def smartComponents(self, info: Info, bboExchange: str) -> SmartComponentsGQL:
        answer = await tick_ops.smart_components(await _client(info), bboExchange)
        return SmartComponentsGQL.from_pydantic(answer)

