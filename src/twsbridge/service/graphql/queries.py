"""GraphQL queries: contracts, market data, orders, executions and the account.

Each resolver calls the operation REST calls (:mod:`twsbridge.service.operations`)
and returns its Public model as the derived GraphQL type. Every query needs
the ``read`` scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, cast, get_args

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.types import Info

from twsbridge.client import TWSClient

from ..journal.queries import StatusFilter
from ..operations import account as account_ops
from ..operations import contracts as contract_ops
from ..operations import market_data as market_ops
from ..operations import orders as order_ops
from ..problems import ProblemError
from ..routes.common import ContractQuery
from .auth import GraphQLContext, ReadScope
from .errors import ProblemErrors
from .limits import TWSCall
from .types import (
    AccountValueGQL,
    BarsGQL,
    ContractDescriptionGQL,
    ContractDetailsGQL,
    ExecutionGQL,
    OrderGQL,
    PnLGQL,
    PositionGQL,
    QuoteGQL,
)

__all__ = ["AccountGQL", "Decorator", "Query", "answer_field", "contract_query", "read_field"]

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
WhatToShow = Annotated[str, strawberry.argument(
    description="TRADES, MIDPOINT, BID, ASK, BID_ASK, ADJUSTED_LAST ...")]
UseRTH = Annotated[bool, strawberry.argument(description="Regular trading hours only.")]
GenericTicks = Annotated[str, strawberry.argument(
    description="TWS genericTickList, comma-separated (e.g. '236').")]

_STATUSES: tuple[str, ...] = get_args(StatusFilter)


def contract_query(conId: int | None, symbol: str | None, secType: str | None,
                   exchange: str | None, currency: str | None,
                   primaryExchange: str | None) -> ContractQuery:
    """The contract description of the arguments (as REST's query parameters)."""
    return ContractQuery(symbol=symbol, conId=conId, secType=secType, exchange=exchange,
                         currency=currency, primaryExchange=primaryExchange)


Decorator = Callable[[Callable[..., Any]], Any]


def _extensions(tws: bool) -> list[FieldExtension]:
    return [ProblemErrors(), TWSCall()] if tws else [ProblemErrors()]


def answer_field(description: str, *, tws: bool = False) -> Decorator:
    """A field whose resolver's problems become GraphQL errors (see :mod:`.errors`);
    ``tws``: its resolver sends TWS a request (:class:`.limits.TWSCall`)."""
    decorator: Decorator = strawberry.field(description=description,
                                            extensions=_extensions(tws))
    return decorator


def read_field(description: str, *, tws: bool = False) -> Decorator:
    """A field that needs the ``read`` scope and answers problems as GraphQL errors;
    ``tws``: its resolver sends TWS a request (:class:`.limits.TWSCall`)."""
    decorator: Decorator = strawberry.field(description=description,
                                            permission_classes=[ReadScope],
                                            extensions=_extensions(tws))
    return decorator


async def _client(info: Info) -> TWSClient:
    context: GraphQLContext = info.context
    return await context.gateway.client()


@strawberry.type(name="Account", description="The account: its summary and its values.")
class AccountGQL:
    """What ``account`` answers; each field asks TWS only when it is selected."""

    account: str = strawberry.field(
        description="The account code (the first managed one unless asked for another).")

    @answer_field("reqAccountSummary: TWS's tags with their values, per account of the group.",
                  tws=True)
    async def summary(
        self, info: Info, group: str = "All",
        tags: Annotated[str | None, strawberry.argument(
            description="Comma-separated TWS tags (NetLiquidation,BuyingPower ...); "
                        "default: every tag.")] = None,
    ) -> list[AccountValueGQL]:
        rows = await account_ops.account_summary(await _client(info), group, tags)
        return [AccountValueGQL.from_pydantic(r) for r in rows]

    @answer_field("reqAccountUpdates: every value TWS keeps for the account (cash per "
                  "currency, margins, P&L ...), as TWS's text.", tws=True)
    async def values(self, info: Info) -> list[AccountValueGQL]:
        rows = await account_ops.account_values(await _client(info), self.account)
        return [AccountValueGQL.from_pydantic(r) for r in rows]


@strawberry.type(description="Reads: every field needs an API key with the read scope.")
class Query:
    """Contracts, market data, orders, executions, positions, the account and P&L."""

    @read_field("Contract details of one conId (404 status, code 200, when TWS knows none).",
                tws=True)
    async def contract(self, info: Info, conId: int) -> ContractDetailsGQL:
        details = await contract_ops.contract_by_conid(await _client(info), conId)
        return ContractDetailsGQL.from_pydantic(details)

    @read_field("All contracts matching a description (reqContractDetails).", tws=True)
    async def contracts(
        self, info: Info, symbol: Symbol = None, conId: ConId = None, secType: SecType = None,
        exchange: Exchange = None, currency: Currency = None,
        primaryExchange: PrimaryExchange = None,
    ) -> list[ContractDetailsGQL]:
        query = contract_query(conId, symbol, secType, exchange, currency, primaryExchange)
        found = await contract_ops.contract_details(await _client(info), query.to_contract())
        return [ContractDetailsGQL.from_pydantic(d) for d in found]

    @read_field("Symbols matching a pattern (reqMatchingSymbols).", tws=True)
    async def searchContracts(
        self, info: Info, pattern: Annotated[str, strawberry.argument(
            description="Start of a symbol or company name, e.g. 'intc'.")],
    ) -> list[ContractDescriptionGQL]:
        if not pattern.strip():
            raise ProblemError("validation-error", "pattern: give at least one character")
        found = await contract_ops.search_contracts(await _client(info), pattern)
        return [ContractDescriptionGQL.from_pydantic(d) for d in found]

    @read_field("Snapshot quote (reqMktData snapshot) of the one contract matching conId or "
                "symbol; several matches are an error (status 409) listing candidates.", tws=True)
    async def quote(
        self, info: Info, conId: ConId = None, symbol: Symbol = None, secType: SecType = None,
        exchange: Exchange = None, currency: Currency = None,
        primaryExchange: PrimaryExchange = None, genericTickList: GenericTicks = "",
    ) -> QuoteGQL:
        query = contract_query(conId, symbol, secType, exchange, currency, primaryExchange)
        quote = await market_ops.quote(await _client(info), query.to_contract(),
                                       genericTickList, info.context.hub)
        return QuoteGQL.from_pydantic(quote)

    @read_field("Historical bars (reqHistoricalData) of the one contract matching conId or "
                "symbol; what TWS rejects is an error carrying TWS's code.", tws=True)
    async def bars(
        self, info: Info, conId: ConId = None, symbol: Symbol = None, secType: SecType = None,
        exchange: Exchange = None, currency: Currency = None,
        primaryExchange: PrimaryExchange = None,
        endDateTime: Annotated[str, strawberry.argument(
            description="'' = now, or 'yyyymmdd hh:mm:ss TZ'.")] = "",
        durationStr: Annotated[str, strawberry.argument(
            description="TWS duration: '1 D', '30 D', '2 W', '6 M', '1 Y'.")]
        = market_ops.DEFAULT_DURATION,
        barSizeSetting: Annotated[str, strawberry.argument(
            description="TWS bar size: '1 secs', '5 mins', '1 hour', '1 day' ...")]
        = market_ops.DEFAULT_BAR_SIZE,
        whatToShow: WhatToShow = "TRADES", useRTH: UseRTH = True,
    ) -> BarsGQL:
        query = contract_query(conId, symbol, secType, exchange, currency, primaryExchange)
        bars = await market_ops.bars(
            await _client(info), query.to_contract(), endDateTime=endDateTime,
            durationStr=durationStr, barSizeSetting=barSizeSetting, whatToShow=whatToShow,
            useRTH=useRTH)
        return BarsGQL.from_pydantic(bars)

    @read_field("Orders, newest first: open (working at TWS now), completed (filled, "
                "cancelled or rejected) or all (everything in the journal).", tws=True)
    async def orders(
        self, info: Info, status: Annotated[str, strawberry.argument(
            description="open, completed or all.")] = "open",
        limit: int = 500,
    ) -> list[OrderGQL]:
        if status not in _STATUSES:
            raise ProblemError("validation-error",
                               f"status: give one of {', '.join(_STATUSES)} (not {status!r})")
        if not 1 <= limit <= 10_000:
            raise ProblemError("validation-error", "limit: between 1 and 10000")
        context: GraphQLContext = info.context
        rows = await order_ops.list_orders(await _client(info), context.journal,
                                           cast(StatusFilter, status), limit)
        return [OrderGQL.from_pydantic(r) for r in rows]

    @read_field("One order with its executions, as journaled (works while TWS is "
                "unreachable); status 404 when unknown.")
    async def order(
        self, info: Info, orderId: int, clientId: Annotated[int | None, strawberry.argument(
            description="TWS client id of the order (default: the service's).")] = None,
    ) -> OrderGQL:
        context: GraphQLContext = info.context
        order = await order_ops.get_order(context.journal,
                                          clientId or context.settings.client_id, orderId)
        return OrderGQL.from_pydantic(order)

    @read_field("Executions with their commissions, oldest first, from the journal.")
    async def executions(
        self, info: Info,
        since: Annotated[dt.datetime | None, strawberry.argument(
            description="ISO time, inclusive (UTC if no zone).")] = None,
        until: Annotated[dt.datetime | None, strawberry.argument(
            description="ISO time, exclusive.")] = None,
        symbol: str | None = None, account: str | None = None, conId: int | None = None,
        limit: int = 10_000,
    ) -> list[ExecutionGQL]:
        if not 1 <= limit <= 100_000:
            raise ProblemError("validation-error", "limit: between 1 and 100000")
        context: GraphQLContext = info.context
        rows = await order_ops.list_executions(context.journal, since=since, until=until,
                                               symbol=symbol, account=account, conId=conId,
                                               limit=limit)
        return [ExecutionGQL.from_pydantic(r) for r in rows]

    @read_field("Every position of every account (reqPositions).", tws=True)
    async def positions(self, info: Info) -> list[PositionGQL]:
        rows = await account_ops.positions(await _client(info))
        return [PositionGQL.from_pydantic(p) for p in rows]

    @read_field("The account (default: the first managed one): its summary and values.")
    async def account(
        self, info: Info, account: Annotated[str | None, strawberry.argument(
            description="Account code (default: the first managed one).")] = None,
    ) -> AccountGQL:
        return AccountGQL(account=account_ops.managed_account(await _client(info), account))

    @read_field("Daily, unrealized and realized P&L of the first managed account.")
    async def pnl(self, info: Info) -> PnLGQL:
        context: GraphQLContext = info.context
        pnl = await account_ops.pnl(await _client(info), context.gateway)
        return PnLGQL.from_pydantic(pnl)
