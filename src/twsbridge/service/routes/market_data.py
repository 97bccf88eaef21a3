"""Market data: snapshot quotes, historical bars, head timestamp."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from twsbridge.protocol import Contract

from ..gateway import ClientDep
from ..operations import market_data as ops
from ..problems import problem_responses
from ..schemas import TWS_INT_MAX, TWS_INT_MIN, BarsPublic, HeadTimestampPublic, QuotePublic
from ..streaming.deps import HubDep
from .common import ContractQueryDep

__all__ = ["router"]

router = APIRouter(tags=["market data"])

_ERRORS = problem_responses(400, 403, 404, 409, 422, 429, 503, 504)

GenericTicks = Annotated[
    str, Query(description="TWS genericTickList, comma-separated (e.g. '236').")
]
WhatToShow = Annotated[
    str,
    Query(description="TRADES, MIDPOINT, BID, ASK, BID_ASK, ADJUSTED_LAST ..."),
]
UseRTH = Annotated[bool, Query(description="Regular trading hours only.")]


@router.get(
    "/quotes/{conId}", summary="Snapshot quote of one conId", responses=_ERRORS
)
async def quote_by_conid(
    ib: ClientDep,
    hub: HubDep,
    conId: Annotated[int, Path(description="IB contract id, e.g. 265598 for AAPL.",
                               ge=TWS_INT_MIN, le=TWS_INT_MAX)],
    genericTickList: GenericTicks = "",
) -> QuotePublic:
    """``reqMktData`` snapshot of contract ``conId`` (from the live subscription when the
    service streams it already)."""
    return await ops.quote(ib, Contract(conId=conId), genericTickList, hub)


@router.get("/quotes", summary="Snapshot quote of a symbol", responses=_ERRORS)
async def quote(
    ib: ClientDep, hub: HubDep, query: ContractQueryDep, genericTickList: GenericTicks = ""
) -> QuotePublic:
    """``reqMktData`` snapshot of the one contract matching ``symbol`` (or ``conId``).

    Several matches are a 409 problem listing the candidates. A contract the service
    streams already (``/ws/quotes``, SSE, GraphQL subscriptions) is answered from that live
    subscription; identical concurrent requests share one snapshot; ``time`` is the
    gateway's.
    """
    return await ops.quote(ib, query.to_contract(), genericTickList, hub)


@router.get("/bars", summary="Historical bars", responses=_ERRORS)
async def bars(
    ib: ClientDep,
    query: ContractQueryDep,
    endDateTime: Annotated[
        str, Query(description="'' = now, or 'yyyymmdd hh:mm:ss TZ' (e.g. US/Eastern).")
    ] = "",
    durationStr: Annotated[
        str | None, Query(description="TWS duration: '1 D', '30 D', '2 W', '6 M', '1 Y'.")
    ] = None,
    duration: Annotated[str | None, Query(description="Short alias of durationStr.")] = None,
    barSizeSetting: Annotated[
        str | None,
        Query(description="TWS bar size: '1 secs', '5 mins', '1 hour', '1 day' ..."),
    ] = None,
    barSize: Annotated[str | None, Query(description="Short alias of barSizeSetting.")] = None,
    whatToShow: WhatToShow = "TRADES",
    useRTH: UseRTH = True,
) -> BarsPublic:
    """``reqHistoricalData`` for the one contract matching ``symbol`` or ``conId``.

    Values go to TWS as given; what TWS rejects (a bad ``barSizeSetting``, say)
    comes back as a 400 problem carrying TWS's error code.
    """
    return await ops.bars(
        ib,
        query.to_contract(),
        endDateTime=endDateTime,
        durationStr=durationStr or duration or ops.DEFAULT_DURATION,
        barSizeSetting=barSizeSetting or barSize or ops.DEFAULT_BAR_SIZE,
        whatToShow=whatToShow,
        useRTH=useRTH,
    )


@router.get(
    "/head-timestamp", summary="Earliest available historical data", responses=_ERRORS
)
async def head_timestamp(
    ib: ClientDep,
    query: ContractQueryDep,
    whatToShow: WhatToShow = "TRADES",
    useRTH: UseRTH = True,
) -> HeadTimestampPublic:
    """``reqHeadTimeStamp`` for the one contract matching ``symbol`` or ``conId``."""
    return await ops.head_timestamp(ib, query.to_contract(), whatToShow=whatToShow,
                                    useRTH=useRTH)
