"""Historical ticks, histograms, market rules and SMART components (read scope)."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from ..gateway import ClientDep
from ..operations import ticks as ops
from ..problems import problem_responses
from ..schemas import TWS_INT_MAX
from ..tick_schemas import (
    TICKS_MAX,
    HistogramPublic,
    HistoricalTicksPublic,
    MarketRulePublic,
    SmartComponentsPublic,
)
from .common import ContractQueryDep

__all__ = ["CSV", "router", "ticks_csv"]

router = APIRouter(tags=["market data"])

CSV = "text/csv"
_ERRORS = problem_responses(400, 403, 404, 409, 422, 429, 503, 504)
_COLUMNS = {
    "TRADES": ("time", "price", "size", "exchange", "specialConditions", "pastLimit",
               "unreported"),
    "BID_ASK": ("time", "priceBid", "priceAsk", "sizeBid", "sizeAsk", "bidPastLow",
                "askPastHigh"),
    "MIDPOINT": ("time", "price", "size"),
}
_CSV_EXAMPLE = ("time,price,size,exchange,specialConditions,pastLimit,unreported\r\n"
                "2013-03-01T14:59:58Z,430.12,100,NASDAQ,,false,false\r\n")


def ticks_csv(answer: HistoricalTicksPublic) -> str:
    """The ticks of ``answer`` as CSV (RFC 4180, a header row; the columns of its
    whatToShow; times ISO 8601 UTC, booleans ``true``/``false``, unknown values empty)."""
    columns = _COLUMNS[answer.whatToShow]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for tick in answer.ticks:
        row = tick.model_dump(mode="json")
        writer.writerow(["" if row[c] is None else
                         str(row[c]).lower() if isinstance(row[c], bool) else row[c]
                         for c in columns])
    return out.getvalue()


def _wants_csv(request: Request, format: str | None) -> bool:
    if format is not None:
        return format == "csv"
    accept = request.headers.get("accept", "").lower()
    return CSV in accept and "application/json" not in accept


@router.get(
    "/ticks/historical",
    summary="Historical ticks (time and sales, bid/ask, midpoint)",
    responses={**_ERRORS, 200: {
        "description": "The ticks: JSON, or CSV with `Accept: text/csv` or `format=csv`.",
        "content": {CSV: {"schema": {"type": "string"}, "example": _CSV_EXAMPLE}}}},
    response_model=HistoricalTicksPublic,
    response_model_exclude_none=True,
)
async def historical_ticks(
    request: Request,
    ib: ClientDep,
    query: ContractQueryDep,
    start: Annotated[str | None, Query(
        description="First ticks from here: 'yyyymmdd hh:mm:ss TZ', UTC 'yyyymmdd-hh:mm:ss' "
                    "or ISO 8601 ('2013-03-01T14:30:00Z'; no zone: UTC).")] = None,
    end: Annotated[str | None, Query(
        description="Last ticks before here (same forms). Give start or end (or both: "
                    "the first ticks from start, none after end).")] = None,
    count: Annotated[int, Query(ge=1, le=TICKS_MAX,
                                description="numberOfTicks, 1..1000 (whole seconds come, "
                                            "so a few more may).")] = TICKS_MAX,
    whatToShow: Annotated[Literal["TRADES", "BID_ASK", "MIDPOINT"], Query(
        description="TRADES (prints), BID_ASK (quotes) or MIDPOINT.")] = "TRADES",
    useRth: Annotated[bool, Query(description="Regular trading hours only.")] = True,
    ignoreSize: Annotated[bool, Query(
        description="BID_ASK: leave out ticks where only a size changed.")] = False,
    format: Annotated[Literal["json", "csv"] | None, Query(
        description="json or csv (default: by the Accept header; JSON).")] = None,
) -> Any:
    """``reqHistoricalTicks`` (message 96, server version 130+) for the one contract
    matching ``symbol`` or ``conId``: at most 1000 ticks of one trading session, ascending
    in time, each stamped by TWS (UTC). TRADES ticks have price, size, exchange,
    specialConditions, pastLimit, unreported; BID_ASK ticks priceBid, priceAsk, sizeBid,
    sizeAsk, bidPastLow, askPastHigh; MIDPOINT ticks price and size.

    ``count`` and ``whatToShow`` are checked before anything reaches TWS (422). TWS's
    refusals keep its ``code``: 321 (validation, e.g. neither start nor end) and 10314 (a
    date it cannot read) are 400, 200 (no such contract) 404, 162 400 (429 when it is a
    pacing violation). Paced as TWS's historical-data rules demand; an identical request
    within seconds is answered once.
    """
    answer = await ops.historical_ticks(
        ib, query.to_contract(), startDateTime=start, endDateTime=end, numberOfTicks=count,
        whatToShow=whatToShow, useRth=useRth, ignoreSize=ignoreSize)
    if _wants_csv(request, format):
        return Response(ticks_csv(answer), media_type=f"{CSV}; charset=utf-8")
    return answer


@router.get("/market/histogram", summary="Volume by price", responses=_ERRORS)
async def histogram(
    ib: ClientDep,
    query: ContractQueryDep,
    period: Annotated[str, Query(
        description="TWS timePeriod: '3 days', '1 week', '2 months', '1 year'.",
        max_length=64)] = ops.DEFAULT_PERIOD,
    useRTH: Annotated[bool, Query(description="Regular trading hours only.")] = True,
) -> HistogramPublic:
    """``reqHistogramData`` (message 88 → histogramData 89, server version 119+) for the
    one contract matching ``symbol`` or ``conId``: the volume traded at each price over
    ``period`` back from now, ascending in price. A period TWS refuses is 400 with its code
    (321)."""
    return await ops.histogram(ib, query.to_contract(), period=period, useRTH=useRTH)


@router.get("/market/rules/{marketRuleId}", summary="Price increments of a market rule",
            responses=_ERRORS)
async def market_rule(
    ib: ClientDep,
    marketRuleId: Annotated[int, Path(
        description="One of a contract's marketRuleIds (GET /contracts), e.g. 26.",
        ge=0, le=TWS_INT_MAX)],
) -> MarketRulePublic:
    """``reqMarketRule`` (message 91 → marketRule 93, server version 126+): the price
    increments of a market rule, ascending in lowEdge (from a step's lowEdge up to the
    next one's, prices move by its increment). An id TWS does not know is 400 with its
    code (321)."""
    return await ops.market_rule(ib, marketRuleId)


@router.get("/market/smart-components/{bboExchange}",
            summary="Venues behind a SMART BBO exchange code", responses=_ERRORS)
async def smart_components(
    ib: ClientDep,
    bboExchange: Annotated[str, Path(
        description="The bboExchange of a quote's tickReqParams, e.g. 9c0001.",
        max_length=64)],
) -> SmartComponentsPublic:
    """``reqSmartComponents`` (message 83 → smartComponents 82, server version 114+): the
    exchanges SMART routes to for ``bboExchange``, with the one-letter codes of tick data,
    ascending in bit number. A code TWS does not know is 400 with its code (321)."""
    return await ops.smart_components(ib, bboExchange)
