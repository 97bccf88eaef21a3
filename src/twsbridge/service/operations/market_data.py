"""Market data: snapshot quotes, historical bars, head timestamp.

Contract resolutions are cached and identical concurrent requests share one TWS request
(:mod:`twsbridge.service.market_cache`); a quote of a contract the streaming hub already
streams (``reqMktData`` of ``/ws/quotes``, SSE, GraphQL) is answered from that live
subscription without a TWS message. Times are the gateway's
(:mod:`twsbridge.service.gateway_clock`).
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from twsbridge.client import Contract, Ticker, TWSClient
from twsbridge.client.ticker import PRICE_ATTRS, SIZE_ATTRS, tick_type_name

from ..gateway_clock import gateway_clock
from ..market_cache import contract_key, market_cache
from ..routes.common import market_contract, resolve_contract
from ..schemas import BarPublic, BarsPublic, ContractPublic, HeadTimestampPublic, QuotePublic

if TYPE_CHECKING:
    from ..streaming.hub import Item, StreamHub

__all__ = [
    "DEFAULT_BAR_SIZE",
    "DEFAULT_DURATION",
    "bars",
    "head_timestamp",
    "quote",
    "quote_from_items",
]

DEFAULT_DURATION = "1 D"
DEFAULT_BAR_SIZE = "1 hour"

_PRICES = {tick_type_name(t): attr for t, attr in PRICE_ATTRS.items()}
_SIZES = {tick_type_name(t): attr for t, attr in SIZE_ATTRS.items()}
_TIMESTAMPS = {"lastTimestamp", "delayedLastTimestamp"}
_DELAYED = 3  # marketDataType of delayed data


def quote_from_items(items: list[Item], contract: Contract) -> QuotePublic:
    """A quote from the tick items of a live quotes topic (``{"name", "value", "time"}``,
    as :func:`~twsbridge.service.streaming.upstreams.tick_item` makes them): each tick's
    latest value; ``time`` the latest tick's; ``marketDataType`` 3 when the ticks are
    delayed ones (66-76, 88), else 1."""
    ticker = Ticker(contract)
    latest: dt.datetime | None = None
    delayed = False
    for item in items:
        name, value = item.get("name"), item.get("value")
        delayed = delayed or str(name).startswith("delayed")
        if name in _PRICES:
            setattr(ticker, _PRICES[name], math.nan if value is None else float(value))
        elif name in _SIZES and value is not None:
            setattr(ticker, _SIZES[name], Decimal(str(value)))
        elif name in _TIMESTAMPS and str(value).strip().isdigit():
            ticker.lastTimestamp = dt.datetime.fromtimestamp(int(str(value)), dt.UTC)
        stamp = item.get("time")
        if isinstance(stamp, str):
            when = dt.datetime.fromisoformat(stamp)
            latest = when if latest is None or when > latest else latest
    ticker.time = latest
    ticker.marketDataType = _DELAYED if delayed else 1
    return QuotePublic.from_ticker(ticker, contract)


def _live_quote(hub: StreamHub | None, target: Contract, genericTickList: str
                ) -> QuotePublic | None:
    if hub is None:
        return None
    from ..streaming.upstreams import quotes_spec  # the hub's topic of this contract

    items = hub.latest(quotes_spec(target, genericTickList).key)
    return None if items is None else quote_from_items(items, target)


async def quote(ib: TWSClient, contract: Contract, genericTickList: str = "",
                hub: StreamHub | None = None) -> QuotePublic:
    """The market data of the one contract matching ``contract`` (404 when none, 409
    listing the candidates when several): from the live subscription of ``hub`` when it
    streams that contract with that ``genericTickList``, else a ``reqMktData`` snapshot
    (message 1 → ticks … tickSnapshotEnd 57) shared with identical concurrent requests.
    ``time`` is when the last tick arrived, on the gateway's clock (UTC)."""
    details = await resolve_contract(ib, contract)
    target = market_contract(details)
    live = _live_quote(hub, target, genericTickList)
    if live is not None:
        return live
    clock = gateway_clock(ib)
    await clock.ensure()

    async def snapshot() -> Ticker:
        return await ib.reqMktDataSnapshot(target, genericTickList)

    ticker = await market_cache(ib).coalesced(
        ("reqMktData", contract_key(target), genericTickList), snapshot)
    answer = QuotePublic.from_ticker(ticker, target)
    if ticker.time is not None:
        answer.time = clock.at(ticker.time)
    return answer


async def bars(
    ib: TWSClient,
    contract: Contract,
    *,
    endDateTime: str = "",
    durationStr: str = DEFAULT_DURATION,
    barSizeSetting: str = DEFAULT_BAR_SIZE,
    whatToShow: str = "TRADES",
    useRTH: bool = True,
) -> BarsPublic:
    """``reqHistoricalData`` (message 20) for the one contract matching ``contract``;
    values go to TWS as given (what TWS rejects comes back as a TWS error with its code).
    Paced as TWS demands (the client's :mod:`~twsbridge.client.pacing`); an identical
    request within a few seconds is answered once
    (:meth:`~twsbridge.service.market_cache.MarketCache.historical_data`)."""
    details = await resolve_contract(ib, contract)
    target = market_contract(details)
    result = await market_cache(ib).historical_data(
        ib, target,
        endDateTime=endDateTime,
        durationStr=durationStr,
        barSizeSetting=barSizeSetting,
        whatToShow=whatToShow,
        useRTH=useRTH,
        formatDate=1,
    )
    return BarsPublic(
        contract=ContractPublic.from_tws(target),
        endDateTime=endDateTime,
        durationStr=durationStr,
        barSizeSetting=barSizeSetting,
        whatToShow=whatToShow,
        useRTH=useRTH,
        count=len(result),
        bars=[BarPublic.from_tws(b) for b in result],
    )


async def head_timestamp(
    ib: TWSClient, contract: Contract, *, whatToShow: str = "TRADES", useRTH: bool = True
) -> HeadTimestampPublic:
    """``reqHeadTimeStamp`` (message 87 → headTimestamp 88) for the one contract matching
    ``contract``; identical concurrent requests share one."""
    details = await resolve_contract(ib, contract)
    target = market_contract(details)

    async def ask() -> Any:
        return await ib.reqHeadTimeStamp(target, whatToShow=whatToShow, useRTH=useRTH,
                                         formatDate=1)

    stamp = await market_cache(ib).coalesced(
        ("reqHeadTimeStamp", contract_key(target), whatToShow, useRTH), ask)
    return HeadTimestampPublic(
        contract=ContractPublic.from_tws(target),
        whatToShow=whatToShow,
        useRTH=useRTH,
        headTimestamp=stamp,
    )
