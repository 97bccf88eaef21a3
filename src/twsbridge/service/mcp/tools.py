"""The MCP tools: contracts, quotes, market depth, bars, positions, orders, account;
preview, place, cancel.

Every tool checks the caller's scope first (``read`` for look-ups, ``trade`` for
preview / place / cancel); a missing scope is a tool error naming it, and the
call does nothing. Orders go through the same operations as ``POST /orders``,
guardrails (:func:`~twsbridge.service.security.check_order`) included.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from twsbridge.client import TWSError

from ..account_schemas import AccountValuePublic, PositionPublic
from ..depth_schemas import DepthBookPublic
from ..operations import account, contracts, depth, market_data, orders
from ..order_schemas import OrderCreate, OrderPreviewPublic, OrderPublic
from ..problems import ProblemError, tws_problem
from ..routes.common import ContractQuery
from ..schemas import BarsPublic, ContractDescriptionPublic, ContractDetailsPublic, QuotePublic
from ..security.auth import forbidden
from ..settings import VERSION
from .params import READ, ConId, Currency, Exchange, Primary, SecType, Symbol
from .resources import register_resources
from .runtime import Call, McpRuntime
from .texts import INSTRUCTIONS, TOOL_TEXTS, instructions_for
from .tick_tools import register_tick_tools

__all__ = ["build_server", "problem_text"]

T = TypeVar("T")
_RUNNING: set[asyncio.Future[Any]] = set()  # trade operations of requests gone meanwhile

OrderId = Annotated[int, Field(gt=0, description="TWS orderId of the order (from place_order "
                                                 "or get_orders).")]

_PREVIEW = ToolAnnotations(read_only_hint=True, open_world_hint=True, idempotent_hint=True)
_TRADE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False,
                         open_world_hint=True)


def problem_text(problem: ProblemError) -> str:
    """One paragraph an agent can act on: what went wrong, TWS's code, the candidates."""
    text = f"{problem.title} (HTTP {problem.status})"
    if problem.detail:
        text += f": {problem.detail}"
    if problem.code is not None:
        text += f" [TWS error code {problem.code}]"
    rule = problem.extensions.get("rule")
    if rule:
        text += f" [guardrail {rule}]"
        if rule == "require_preview":
            text += "; call preview_order with the same order first"
    candidates = problem.extensions.get("candidates")
    if candidates:
        listed = "; ".join(
            f"conId {c.get('conId')} {c.get('symbol')} {c.get('secType')} "
            f"{c.get('primaryExchange') or c.get('exchange')} {c.get('currency')}"
            for c in candidates[:20]
        )
        text += f". Candidates: {listed}"
    return text


def _contract(symbol: str | None, conId: int | None, secType: str | None,
              exchange: str | None, currency: str | None, primaryExchange: str | None,
              ) -> ContractQuery:
    return ContractQuery(symbol=symbol, conId=conId, secType=secType, exchange=exchange,
                         currency=currency, primaryExchange=primaryExchange)


def build_server(runtime: McpRuntime) -> MCPServer:
    """The MCP server with every tool, bound to ``runtime``."""
    settings = runtime.settings
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    server: MCPServer = MCPServer(
        "twsbridge",
        title="twsbridge: Interactive Brokers TWS",
        instructions=instructions_for(settings) + INSTRUCTIONS,
        version=VERSION,
        log_level="WARNING",
        subscriptions=runtime.events,
    )
    # MCPServer() configures the root logger (logging.basicConfig); the service's
    # logging is configured by its runner, so undo that
    root.handlers[:] = handlers
    root.setLevel(level)

    # inside the HTTP request's own budget, so the agent gets a tool error, not a 504
    budget = settings.request_timeout * 0.9

    async def run(ctx: Context, scope: str, work: Callable[[Call], Awaitable[T]]) -> T:
        try:
            call = await runtime.call(ctx.request_context.request)
        except ProblemError as exc:
            raise ToolError(f"{problem_text(exc)}; nothing was done") from exc
        if not call.principal.allows(scope):
            denied = forbidden(call.principal, scope).detail
            raise ToolError(f"{denied}; nothing was done")
        try:
            async with asyncio.timeout(budget):
                if scope != "trade":
                    return await work(call)
                # an order's operation outlives its request (a revoked key's requests are
                # cut short, a client may leave): the journal must not be cut short
                task = asyncio.ensure_future(work(call))
                _RUNNING.add(task)
                task.add_done_callback(_RUNNING.discard)
                return await asyncio.shield(task)
        except ProblemError as exc:
            raise ToolError(problem_text(exc)) from exc
        except TWSError as exc:
            raise ToolError(problem_text(tws_problem(exc))) from exc
        except TimeoutError as exc:
            retry = ("; the order may have reached TWS: check get_orders before retrying"
                     if scope == "trade" else "")
            raise ToolError(f"TWS did not answer within {budget:g} s{retry}") from exc
        except ConnectionError as exc:
            raise ToolError(f"TWS gateway unavailable: connection lost ({exc})") from exc

    def tool(name: str, annotations: ToolAnnotations) -> Callable[[Callable[..., T]],
                                                                   Callable[..., T]]:
        title, description = TOOL_TEXTS[name]
        return server.tool(name=name, title=title, description=description,
                           annotations=annotations, structured_output=True)

    @tool("search_contracts", READ)
    async def search_contracts(
        ctx: Context,
        pattern: Annotated[str, Field(min_length=1, description=(
            "Start of a ticker symbol or company name, e.g. 'intc' or 'micro'."))],
    ) -> list[ContractDescriptionPublic]:
        async def work(call: Call) -> list[ContractDescriptionPublic]:
            return await contracts.search_contracts(await call.client(), pattern)

        return await run(ctx, "read", work)

    @tool("get_contract", READ)
    async def get_contract(
        ctx: Context, symbol: Symbol = None, conId: ConId = None, secType: SecType = None,
        exchange: Exchange = None, currency: Currency = None, primaryExchange: Primary = None,
    ) -> list[ContractDetailsPublic]:
        query = _contract(symbol, conId, secType, exchange, currency, primaryExchange)

        async def work(call: Call) -> list[ContractDetailsPublic]:
            ib = await call.client()
            if symbol is None and conId is not None:
                return [await contracts.contract_by_conid(ib, conId)]
            return await contracts.contract_details(ib, query.to_contract())

        return await run(ctx, "read", work)

    @tool("get_quote", READ)
    async def get_quote(
        ctx: Context, symbol: Symbol = None, conId: ConId = None, secType: SecType = None,
        exchange: Exchange = None, currency: Currency = None, primaryExchange: Primary = None,
    ) -> QuotePublic:
        query = _contract(symbol, conId, secType, exchange, currency, primaryExchange)

        async def work(call: Call) -> QuotePublic:
            return await market_data.quote(await call.client(), query.to_contract(),
                                           hub=call.hub)

        return await run(ctx, "read", work)

    @tool("market_depth", READ)
    async def market_depth(
        ctx: Context, symbol: Symbol = None, conId: ConId = None, secType: SecType = None,
        exchange: Exchange = None, currency: Currency = None, primaryExchange: Primary = None,
        rows: Annotated[int, Field(ge=1, le=depth.MAX_ROWS, description=(
            "Rows a side (numRows), 1-50."))] = 5,
        smart: Annotated[bool | None, Field(description=(
            "True: the SMART book aggregated over exchanges (rows name the exchange); "
            "default: true when exchange is SMART (the default), else false."))] = None,
    ) -> DepthBookPublic:
        query = _contract(symbol, conId, secType, exchange, currency, primaryExchange)

        async def work(call: Call) -> DepthBookPublic:
            return await depth.market_depth(await call.client(), query.to_contract(), rows,
                                            smart, hub=call.hub)

        return await run(ctx, "read", work)

    @tool("get_bars", READ)
    async def get_bars(
        ctx: Context, symbol: Symbol = None, conId: ConId = None, secType: SecType = None,
        exchange: Exchange = None, currency: Currency = None, primaryExchange: Primary = None,
        durationStr: Annotated[str, Field(description=(
            "How far back from endDateTime, TWS syntax '<n> <unit>' with unit S, D, W, M or Y: "
            "'1 D', '30 D', '2 W', '6 M', '1 Y'."))] = market_data.DEFAULT_DURATION,
        barSizeSetting: Annotated[str, Field(description=(
            "Bar length, TWS syntax: '1 secs', '5 secs', '1 min', '5 mins', '15 mins', "
            "'1 hour', '4 hours', '1 day', '1 week', '1 month'."))] = market_data.DEFAULT_BAR_SIZE,
        whatToShow: Annotated[str, Field(description=(
            "TRADES (default; stocks), MIDPOINT, BID, ASK, BID_ASK (forex has no TRADES: use "
            "MIDPOINT), ADJUSTED_LAST ..."))] = "TRADES",
        useRTH: Annotated[bool, Field(description=(
            "True: regular trading hours only (09:30-16:00 US/Eastern for US stocks); "
            "False: include pre- and post-market."))] = True,
        endDateTime: Annotated[str, Field(description=(
            "End of the period: '' for now, or 'yyyymmdd hh:mm:ss TZ' such as "
            "'20130301 16:00:00 US/Eastern'."))] = "",
    ) -> BarsPublic:
        query = _contract(symbol, conId, secType, exchange, currency, primaryExchange)

        async def work(call: Call) -> BarsPublic:
            return await market_data.bars(
                await call.client(), query.to_contract(), endDateTime=endDateTime,
                durationStr=durationStr, barSizeSetting=barSizeSetting,
                whatToShow=whatToShow, useRTH=useRTH)

        return await run(ctx, "read", work)

    @tool("get_positions", READ)
    async def get_positions(ctx: Context) -> list[PositionPublic]:
        async def work(call: Call) -> list[PositionPublic]:
            return await account.positions(await call.client())

        return await run(ctx, "read", work)

    @tool("get_orders", READ)
    async def get_orders(
        ctx: Context,
        status: Annotated[Literal["open", "completed", "all"], Field(description=(
            "open: working at TWS now; completed: filled, cancelled or rejected; "
            "all: every order the journal holds."))] = "open",
        limit: Annotated[int, Field(ge=1, le=1000, description="At most this many orders, "
                                                               "newest first.")] = 100,
    ) -> list[OrderPublic]:
        async def work(call: Call) -> list[OrderPublic]:
            return await orders.list_orders(await call.client(), call.journal, status, limit)

        return await run(ctx, "read", work)

    @tool("get_account", READ)
    async def get_account(
        ctx: Context,
        tags: Annotated[str | None, Field(description=(
            "Comma-separated TWS account tags, e.g. 'NetLiquidation,TotalCashValue,"
            "BuyingPower,AvailableFunds,GrossPositionValue'; omit for every tag."))] = None,
    ) -> list[AccountValuePublic]:
        async def work(call: Call) -> list[AccountValuePublic]:
            return await account.account_summary(await call.client(), "All", tags)

        return await run(ctx, "read", work)

    @tool("preview_order", _PREVIEW)
    async def preview_order(ctx: Context, order: OrderCreate) -> OrderPreviewPublic:
        async def work(call: Call) -> OrderPreviewPublic:
            return await orders.preview_order(await call.client(), order,
                                              guard=call.source, principal=call.principal)

        return await run(ctx, "trade", work)

    @tool("place_order", _TRADE)
    async def place_order(ctx: Context, order: OrderCreate) -> OrderPublic:
        async def work(call: Call) -> OrderPublic:
            return await orders.place_order(
                await call.client(), call.journal, call.settings, order,
                guard=call.source, principal=call.principal)

        return await run(ctx, "trade", work)

    @tool("cancel_order", _TRADE)
    async def cancel_order(ctx: Context, orderId: OrderId) -> OrderPublic:
        async def work(call: Call) -> OrderPublic:
            return await orders.cancel_order(
                await call.client(), call.journal, call.settings, orderId)

        return await run(ctx, "trade", work)

    register_tick_tools(server, run)  # historical_ticks, market_rule
    register_resources(server, runtime)
    return server
