"""Market data: snapshot quotes, historical bars, head timestamp."""

from __future__ import annotations

from twsbridge.client import TWSClient
from twsbridge.protocol import Contract

from ..routes.common import market_contract, resolve_contract
from ..schemas import BarPublic, BarsPublic, ContractPublic, HeadTimestampPublic, QuotePublic

__all__ = ["DEFAULT_BAR_SIZE", "DEFAULT_DURATION", "bars", "head_timestamp", "quote"]

DEFAULT_DURATION = "1 D"
DEFAULT_BAR_SIZE = "1 hour"


async def quote(ib: TWSClient, contract: Contract, genericTickList: str = "") -> QuotePublic:
    """``reqMktData`` snapshot of the one contract matching ``contract``
    (404 when none, 409 listing the candidates when several)."""
    details = await resolve_contract(ib, contract)
    target = market_contract(details)
    ticker = await ib.reqMktDataSnapshot(target, genericTickList)
    return QuotePublic.from_ticker(ticker, target)


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
    """``reqHistoricalData`` for the one contract matching ``contract``; values go to
    TWS as given (what TWS rejects comes back as a TWS error with its code)."""
    details = await resolve_contract(ib, contract)
    target = market_contract(details)
    result = await ib.reqHistoricalData(
        target,
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
    """``reqHeadTimeStamp`` for the one contract matching ``contract``."""
    details = await resolve_contract(ib, contract)
    target = market_contract(details)
    stamp = await ib.reqHeadTimeStamp(target, whatToShow=whatToShow, useRTH=useRTH, formatDate=1)
    return HeadTimestampPublic(
        contract=ContractPublic.from_tws(target),
        whatToShow=whatToShow,
        useRTH=useRTH,
        headTimestamp=stamp,
    )
