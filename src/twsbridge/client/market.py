"""Contract and market data requests of a TWSClient (documented on ``TWSClient``).

:class:`MarketData` builds each request with the generic
:class:`~twsbridge.client.requests.Request` and sends it through the
:class:`~twsbridge.client.core.ClientCore`.
"""

from __future__ import annotations

from collections.abc import Callable

from twsbridge.protocol import (
    BarData,
    Contract,
    ContractDescription,
    ContractDetails,
    Message,
    incoming,
    outgoing,
)

from .core import ClientCore
from .pacing import PaceKey, historical_key
from .requests import (
    MARKET_DATA,
    HistoricalDataStream,
    MarketDataSubscription,
    Request,
    Subscription,
    bars_of,
)
from .ticker import TickBook, Ticker

__all__ = ["MarketData"]


def _details(msg: Message) -> list[ContractDetails]:
    return [msg.contractDetails] if isinstance(msg, incoming.ContractData) else []


def _descriptions(msg: Message) -> list[ContractDescription]:
    return list(msg.contractDescriptions) if isinstance(msg, incoming.SymbolSamples) else []


def _time(msg: Message) -> list[int]:
    return [msg.time] if isinstance(msg, incoming.CurrentTime) else []


def _realtime_bar(msg: Message) -> list[incoming.RealTimeBar]:
    return [msg] if isinstance(msg, incoming.RealTimeBar) else []


def _head(msg: Message) -> list[str]:
    return [msg.headTimestamp] if isinstance(msg, incoming.HeadTimestamp) else []


def _historical(
    contract: Contract, endDateTime: str, durationStr: str, barSizeSetting: str,
    whatToShow: str, useRTH: bool, formatDate: int, keepUpToDate: bool,
) -> Callable[[int | None], tuple[outgoing.ReqHistoricalData, outgoing.CancelHistoricalData]]:
    """The renew function of a reqHistoricalData: reqId → (request, cancel)."""

    def renew(reqId: int | None) -> tuple[outgoing.ReqHistoricalData,
                                          outgoing.CancelHistoricalData]:
        assert reqId is not None
        return (outgoing.ReqHistoricalData(
            reqId=reqId, contract=contract, endDateTime=endDateTime, durationStr=durationStr,
            barSizeSetting=barSizeSetting, whatToShow=whatToShow, useRTH=useRTH,
            formatDate=formatDate, keepUpToDate=keepUpToDate),
            outgoing.CancelHistoricalData(reqId=reqId))

    return renew


class MarketData:
    """Contract details, symbols, market data, history and time (messages 1, 9,
    20, 49, 59, 81, 87)."""

    def __init__(self, core: ClientCore) -> None:
        self._core = core

    async def reqContractDetails(self, contract: Contract) -> list[ContractDetails]:
        """reqContractDetails (9) → contractDetails (10) … contractDetailsEnd (52)."""
        core = self._core
        reqId = core.next_id()
        req = Request("reqContractDetails", reqId,
                      (incoming.ContractData, incoming.ContractDataEnd),
                      (incoming.ContractDataEnd,), convert=_details)
        return await core.call(req, outgoing.ReqContractDetails(reqId=reqId, contract=contract))

    async def reqMatchingSymbols(self, pattern: str) -> list[ContractDescription]:
        """reqMatchingSymbols (81) → symbolSamples (79)."""
        core = self._core
        reqId = core.next_id()
        req = Request("reqMatchingSymbols", reqId, (incoming.SymbolSamples,),
                      (incoming.SymbolSamples,), convert=_descriptions)
        return await core.call(req, outgoing.ReqMatchingSymbols(reqId=reqId, pattern=pattern))

    async def reqMktDataSnapshot(
        self, contract: Contract, genericTickList: str, regulatorySnapshot: bool
    ) -> Ticker:
        """reqMktData (1, snapshot) → ticks … tickSnapshotEnd (57)."""
        core = self._core
        reqId = core.next_id()
        book = TickBook(reqId, contract)
        end = (incoming.TickSnapshotEnd,)
        req = Request("reqMktData", reqId, (*MARKET_DATA, *end), end, convert=book.update,
                      cancel=outgoing.CancelMktData(reqId=reqId))
        await core.call(req, outgoing.ReqMktData(
            reqId=reqId, contract=contract, genericTickList=genericTickList, snapshot=True,
            regulatorySnapshot=regulatorySnapshot))
        return book.ticker

    def reqMktData(self, contract: Contract, genericTickList: str) -> MarketDataSubscription:
        """reqMktData (1) streaming; cancelMktData (2); sent again after a reconnect."""
        core = self._core
        reqId = core.next_id()

        def renew(rid: int | None) -> tuple[Message, Message]:
            assert rid is not None
            return (outgoing.ReqMktData(reqId=rid, contract=contract,
                                        genericTickList=genericTickList),
                    outgoing.CancelMktData(reqId=rid))

        msg, cancel = renew(reqId)
        sub = MarketDataSubscription(reqId, contract, msg, cancel, renew=renew)
        return core.start(sub, msg)

    async def reqHistoricalData(
        self, contract: Contract, endDateTime: str, durationStr: str, barSizeSetting: str,
        whatToShow: str, useRTH: bool, formatDate: int,
    ) -> list[BarData]:
        """reqHistoricalData (20) → historicalData (17); paced (:mod:`.pacing`)."""
        core = self._core
        reqId = core.next_id()
        renew = _historical(contract, endDateTime, durationStr, barSizeSetting, whatToShow,
                            useRTH, formatDate, False)
        msg, cancel = renew(reqId)
        req: Request[BarData] = Request(
            "reqHistoricalData", reqId, (incoming.HistoricalData,), (incoming.HistoricalData,),
            convert=bars_of, cancel=cancel, renew=renew)
        req.pace = self._pace(msg)
        return await core.call(req, msg)

    def reqHistoricalDataStream(
        self, contract: Contract, durationStr: str, barSizeSetting: str, whatToShow: str,
        useRTH: bool, formatDate: int,
    ) -> HistoricalDataStream:
        """reqHistoricalData (20, keepUpToDate) → historicalData (17), updates (90);
        paced; sent again after a reconnect."""
        core = self._core
        reqId = core.next_id()
        renew = _historical(contract, "", durationStr, barSizeSetting, whatToShow, useRTH,
                            formatDate, True)
        msg, cancel = renew(reqId)
        stream = HistoricalDataStream(
            "reqHistoricalData", reqId, (incoming.HistoricalData, incoming.HistoricalDataUpdate),
            convert=bars_of, cancel=cancel, maxlen=100_000, renew=renew)
        stream.pace = self._pace(msg)
        return core.start(stream, msg)

    def reqRealTimeBars(
        self, contract: Contract, barSize: int, whatToShow: str, useRTH: bool,
    ) -> Subscription[incoming.RealTimeBar]:
        """reqRealTimeBars (50) → realtimeBar (50) every 5 s; cancelRealTimeBars
        (51); sent again after a reconnect."""
        core = self._core
        reqId = core.next_id()

        def renew(rid: int | None) -> tuple[Message, Message]:
            assert rid is not None
            return (outgoing.ReqRealTimeBars(reqId=rid, contract=contract, barSize=barSize,
                                             whatToShow=whatToShow, useRTH=useRTH),
                    outgoing.CancelRealTimeBars(reqId=rid))

        msg, cancel = renew(reqId)
        sub: Subscription[incoming.RealTimeBar] = Subscription(
            "reqRealTimeBars", reqId, (incoming.RealTimeBar,), convert=_realtime_bar,
            cancel=cancel, maxlen=100_000, renew=renew)
        return core.start(sub, msg)

    def _pace(self, msg: outgoing.ReqHistoricalData) -> PaceKey | None:
        """The pacing key of ``msg`` when the historical rules apply to it."""
        limits = self._core.pacing.limits
        if limits is None or not limits.applies(msg.barSizeSetting):
            return None
        return historical_key(msg)

    async def reqHeadTimeStamp(
        self, contract: Contract, whatToShow: str, useRTH: bool, formatDate: int
    ) -> str:
        """reqHeadTimeStamp (87) → headTimestamp (88); then cancelHeadTimeStamp (90)."""
        core = self._core
        reqId = core.next_id()
        req = Request("reqHeadTimeStamp", reqId, (incoming.HeadTimestamp,),
                      (incoming.HeadTimestamp,), convert=_head,
                      cancel=outgoing.CancelHeadTimeStamp(reqId=reqId))
        [stamp] = await core.call(req, outgoing.ReqHeadTimeStamp(
            reqId=reqId, contract=contract, whatToShow=whatToShow, useRTH=useRTH,
            formatDate=formatDate))
        core.send_quietly(outgoing.CancelHeadTimeStamp(reqId=reqId))
        return stamp

    async def reqCurrentTime(self) -> int:
        """reqCurrentTime (49) → currentTime (49)."""
        req = Request("reqCurrentTime", None, (incoming.CurrentTime,), (incoming.CurrentTime,),
                      convert=_time)
        [now] = await self._core.call(req, outgoing.ReqCurrentTime())
        return now
