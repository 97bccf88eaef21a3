"""Market data: snapshot quotes, historical bars, head timestamp."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from twsbridge.protocol import Contract

from ..gateway import ClientDep
from ..problems import problem_responses
from ..schemas import BarPublic, BarsPublic, ContractPublic, HeadTimestampPublic, QuotePublic
from .common import ContractQueryDep, market_contract, resolve_contract

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
    conId: Annotated[int, Path(description="IB contract id, e.g. 265598 for AAPL.")],
    genericTickList: GenericTicks = "",
) -> QuotePublic:
    """``reqMktData`` snapshot of contract ``conId``."""
    details = await resolve_contract(ib, Contract(conId=conId))
    contract = market_contract(details)
    ticker = await ib.reqMktDataSnapshot(contract, genericTickList)
    return QuotePublic.from_ticker(ticker, contract)


@router.get("/quotes", summary="Snapshot quote of a symbol", responses=_ERRORS)
async def quote(
    ib: ClientDep, query: ContractQueryDep, genericTickList: GenericTicks = ""
) -> QuotePublic:
    """``reqMktData`` snapshot of the one contract matching ``symbol`` (or ``conId``).

    Several matches are a 409 problem listing the candidates.
    """
    details = await resolve_contract(ib, query.to_contract())
    contract = market_contract(details)
    ticker = await ib.reqMktDataSnapshot(contract, genericTickList)
    return QuotePublic.from_ticker(ticker, contract)


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
    details = await resolve_contract(ib, query.to_contract())
    contract = market_contract(details)
    duration_str = durationStr or duration or "1 D"
    bar_size = barSizeSetting or barSize or "1 hour"
    result = await ib.reqHistoricalData(
        contract,
        endDateTime=endDateTime,
        durationStr=duration_str,
        barSizeSetting=bar_size,
        whatToShow=whatToShow,
        useRTH=useRTH,
        formatDate=1,
    )
    return BarsPublic(
        contract=ContractPublic.from_tws(contract),
        endDateTime=endDateTime,
        durationStr=duration_str,
        barSizeSetting=bar_size,
        whatToShow=whatToShow,
        useRTH=useRTH,
        count=len(result),
        bars=[BarPublic.from_tws(b) for b in result],
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
    details = await resolve_contract(ib, query.to_contract())
    contract = market_contract(details)
    stamp = await ib.reqHeadTimeStamp(contract, whatToShow=whatToShow, useRTH=useRTH, formatDate=1)
    return HeadTimestampPublic(
        contract=ContractPublic.from_tws(contract),
        whatToShow=whatToShow,
        useRTH=useRTH,
        headTimestamp=stamp,
    )
