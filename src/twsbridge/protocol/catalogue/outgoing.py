"""Messages a client sends to TWS (EOutgoingMessage ids), server versions 157-178.

``NAME`` is the EClient method that sends the message (``reqMktData``).
Sources: TWS API reference, "EClient"; IB's client and ib_async's, whose
bytes these layouts reproduce (tests/interop check it against both).
"""

from __future__ import annotations

from dataclasses import field

from ..codec import BOOL, INT, INT_MAX, STR
from ..models import ComboLeg, Contract, DeltaNeutralContract, ExecutionFilter
from ..spec import OUT, F, Flag, Group, Message, When, message
from ..versions import ServerVersion as V
from ._contract import COMBO_LEGS, contract_fields
from ._order_wire import FLOAT_RAW

__all__ = [
    "CancelAccountSummary",
    "CancelAccountUpdatesMulti",
    "CancelHeadTimeStamp",
    "CancelHistoricalData",
    "CancelMktData",
    "CancelPositions",
    "CancelRealTimeBars",
    "ReqAccountSummary",
    "ReqAccountUpdates",
    "ReqAccountUpdatesMulti",
    "ReqAllOpenOrders",
    "ReqAutoOpenOrders",
    "ReqCompletedOrders",
    "ReqContractDetails",
    "ReqCurrentTime",
    "ReqExecutions",
    "ReqHeadTimeStamp",
    "ReqHistoricalData",
    "ReqIds",
    "ReqMarketDataType",
    "ReqMatchingSymbols",
    "ReqMktData",
    "ReqOpenOrders",
    "ReqPositions",
    "ReqRealTimeBars",
    "StartApi",
]


@message(OUT, 1, "reqMktData")
class ReqMktData(Message):
    """Subscribe to market data (id 1). ``genericTickList`` is a comma list of
    generic tick ids (e.g. "233" RT volume); ``snapshot`` asks for one set of
    ticks ending in tickSnapshotEnd. A BAG contract sends its legs' conId, ratio,
    action and exchange; ``contract.deltaNeutralContract`` travels behind a flag.
    reqId, conId, the legs' ints and the delta-neutral fields travel as IB's client
    sends them, an unset value as the sentinel itself."""

    reqId: int = 0
    contract: Contract = field(default_factory=Contract)
    genericTickList: str = ""
    snapshot: bool = False
    regulatorySnapshot: bool = False
    mktDataOptions: str = ""
    version: int = 11
    WIRE = (
        F("version", INT), F("reqId", INT_MAX),
        *(F(it.path, INT_MAX) if it.path == "contract.conId" else it for it in contract_fields()),
        When(COMBO_LEGS.predicate, (Group("contract.comboLegs", ComboLeg, (
            F("conId", INT_MAX), F("ratio", INT_MAX), F("action", STR), F("exchange", STR))),)),
        Flag("contract.deltaNeutralContract", DeltaNeutralContract,
             (F("conId", INT_MAX), F("delta", FLOAT_RAW), F("price", FLOAT_RAW))),
        F("genericTickList", STR), F("snapshot", BOOL), F("regulatorySnapshot", BOOL),
        F("mktDataOptions", STR),
    )


@message(OUT, 2, "cancelMktData")
class CancelMktData(Message):
    """Cancel a reqMktData (id 2)."""

    reqId: int = 0
    version: int = 2
    WIRE = (F("version", INT), F("reqId", INT))


@message(OUT, 5, "reqOpenOrders")
class ReqOpenOrders(Message):
    """This client's open orders (id 5), answered by openOrder... openOrderEnd."""

    version: int = 1
    WIRE = (F("version", INT),)


@message(OUT, 6, "reqAccountUpdates")
class ReqAccountUpdates(Message):
    """Subscribe to (or stop) one account's values and portfolio (id 6)."""

    subscribe: bool = True
    acctCode: str = ""
    version: int = 2
    WIRE = (F("version", INT), F("subscribe", BOOL), F("acctCode", STR))


@message(OUT, 7, "reqExecutions")
class ReqExecutions(Message):
    """Executions of today matching a filter (id 7), ending in execDetailsEnd."""

    reqId: int = 0
    execFilter: ExecutionFilter = field(default_factory=ExecutionFilter)
    version: int = 3
    WIRE = (
        F("version", INT), F("reqId", INT), F("execFilter.clientId", INT),
        F("execFilter.acctCode", STR), F("execFilter.time", STR), F("execFilter.symbol", STR),
        F("execFilter.secType", STR), F("execFilter.exchange", STR), F("execFilter.side", STR),
    )


@message(OUT, 8, "reqIds")
class ReqIds(Message):
    """Ask for the next valid order id (id 8); answered by nextValidId."""

    numIds: int = 1
    version: int = 1
    WIRE = (F("version", INT), F("numIds", INT))


@message(OUT, 9, "reqContractDetails")
class ReqContractDetails(Message):
    """Contract details (id 9), answered by contractDetails... contractDetailsEnd,
    or error 200 when nothing matches. ``issuerId`` from server version 176."""

    reqId: int = 0
    contract: Contract = field(default_factory=Contract)
    version: int = 8
    WIRE = (
        F("version", INT), F("reqId", INT), *contract_fields(),
        F("contract.includeExpired", BOOL), F("contract.secIdType", STR),
        F("contract.secId", STR), F("contract.issuerId", STR, since=V.BOND_ISSUERID),
    )


@message(OUT, 15, "reqAutoOpenOrders")
class ReqAutoOpenOrders(Message):
    """Bind orders placed in TWS to client 0 (id 15; client id 0 only)."""

    bAutoBind: bool = True
    version: int = 1
    WIRE = (F("version", INT), F("bAutoBind", BOOL))


@message(OUT, 16, "reqAllOpenOrders")
class ReqAllOpenOrders(Message):
    """Open orders of every client and of TWS (id 16)."""

    version: int = 1
    WIRE = (F("version", INT),)


@message(OUT, 20, "reqHistoricalData")
class ReqHistoricalData(Message):
    """Historical bars (id 20). ``endDateTime`` "" is now; ``durationStr`` like
    "30 D"; ``barSizeSetting`` like "1 day"; ``whatToShow`` TRADES, MIDPOINT,
    BID, ASK...; ``formatDate`` 1 text dates, 2 epoch seconds; ``keepUpToDate``
    streams historicalDataUpdate for the last bar."""

    reqId: int = 0
    contract: Contract = field(default_factory=Contract)
    endDateTime: str = ""
    barSizeSetting: str = ""
    durationStr: str = ""
    useRTH: bool = True
    whatToShow: str = "TRADES"
    formatDate: int = 1
    keepUpToDate: bool = False
    chartOptions: str = ""
    WIRE = (
        F("reqId", INT), *contract_fields(), F("contract.includeExpired", BOOL),
        F("endDateTime", STR), F("barSizeSetting", STR), F("durationStr", STR),
        F("useRTH", BOOL), F("whatToShow", STR), F("formatDate", INT), COMBO_LEGS,
        F("keepUpToDate", BOOL), F("chartOptions", STR),
    )


@message(OUT, 25, "cancelHistoricalData")
class CancelHistoricalData(Message):
    """Cancel a reqHistoricalData, keepUpToDate ones above all (id 25)."""

    reqId: int = 0
    version: int = 1
    WIRE = (F("version", INT), F("reqId", INT))


@message(OUT, 49, "reqCurrentTime")
class ReqCurrentTime(Message):
    """Ask for the server's time (id 49); answered by currentTime."""

    version: int = 1
    WIRE = (F("version", INT),)


@message(OUT, 50, "reqRealTimeBars")
class ReqRealTimeBars(Message):
    """Real-time 5-second bars (id 50), answered by realtimeBar (50) every 5 s.
    ``barSize`` must be 5 (TWS supports no other); ``whatToShow`` TRADES,
    MIDPOINT, BID or ASK; ``realTimeBarsOptions`` a "tag=value;" string."""

    reqId: int = 0
    contract: Contract = field(default_factory=Contract)
    barSize: int = 5
    whatToShow: str = "TRADES"
    useRTH: bool = True
    realTimeBarsOptions: str = ""
    version: int = 3
    WIRE = (
        F("version", INT), F("reqId", INT), *contract_fields(), F("barSize", INT),
        F("whatToShow", STR), F("useRTH", BOOL), F("realTimeBarsOptions", STR),
    )


@message(OUT, 51, "cancelRealTimeBars")
class CancelRealTimeBars(Message):
    """Cancel a reqRealTimeBars (id 51)."""

    reqId: int = 0
    version: int = 1
    WIRE = (F("version", INT), F("reqId", INT))


@message(OUT, 59, "reqMarketDataType")
class ReqMarketDataType(Message):
    """Switch market data type (id 59): 1 live, 2 frozen, 3 delayed, 4 delayed frozen."""

    marketDataType: int = 1
    version: int = 1
    WIRE = (F("version", INT), F("marketDataType", INT))


@message(OUT, 61, "reqPositions")
class ReqPositions(Message):
    """Positions of every account (id 61): position... positionEnd, then updates."""

    version: int = 1
    WIRE = (F("version", INT),)


@message(OUT, 62, "reqAccountSummary")
class ReqAccountSummary(Message):
    """Account summary (id 62): ``groupName`` "All", ``tags`` a comma list."""

    reqId: int = 0
    groupName: str = "All"
    tags: str = ""
    version: int = 1
    WIRE = (F("version", INT), F("reqId", INT), F("groupName", STR), F("tags", STR))


@message(OUT, 63, "cancelAccountSummary")
class CancelAccountSummary(Message):
    """Cancel a reqAccountSummary (id 63)."""

    reqId: int = 0
    version: int = 1
    WIRE = (F("version", INT), F("reqId", INT))


@message(OUT, 64, "cancelPositions")
class CancelPositions(Message):
    """Stop position updates (id 64)."""

    version: int = 1
    WIRE = (F("version", INT),)


@message(OUT, 71, "startApi")
class StartApi(Message):
    """Start the API session after the handshake (id 71)."""

    clientId: int = 0
    optionalCapabilities: str = ""
    version: int = 2
    WIRE = (F("version", INT), F("clientId", INT), F("optionalCapabilities", STR))


@message(OUT, 76, "reqAccountUpdatesMulti")
class ReqAccountUpdatesMulti(Message):
    """Account values of an account/model (id 76)."""

    reqId: int = 0
    account: str = ""
    modelCode: str = ""
    ledgerAndNLV: bool = False
    version: int = 1
    WIRE = (F("version", INT), F("reqId", INT), F("account", STR), F("modelCode", STR),
            F("ledgerAndNLV", BOOL))


@message(OUT, 77, "cancelAccountUpdatesMulti")
class CancelAccountUpdatesMulti(Message):
    """Cancel a reqAccountUpdatesMulti (id 77)."""

    reqId: int = 0
    version: int = 1
    WIRE = (F("version", INT), F("reqId", INT))


@message(OUT, 81, "reqMatchingSymbols")
class ReqMatchingSymbols(Message):
    """Contracts whose symbol or description match ``pattern`` (id 81)."""

    reqId: int = 0
    pattern: str = ""


@message(OUT, 87, "reqHeadTimeStamp")
class ReqHeadTimeStamp(Message):
    """Earliest data available for a contract (id 87); answered by headTimestamp."""

    reqId: int = 0
    contract: Contract = field(default_factory=Contract)
    useRTH: bool = True
    whatToShow: str = "TRADES"
    formatDate: int = 1
    WIRE = (
        F("reqId", INT), *contract_fields(), F("contract.includeExpired", BOOL),
        F("useRTH", BOOL), F("whatToShow", STR), F("formatDate", INT),
    )


@message(OUT, 90, "cancelHeadTimeStamp")
class CancelHeadTimeStamp(Message):
    """Cancel a reqHeadTimeStamp (id 90)."""

    reqId: int = 0


@message(OUT, 99, "reqCompletedOrders")
class ReqCompletedOrders(Message):
    """Orders completed today (id 99), ending in completedOrdersEnd."""

    apiOnly: bool = False

from .orders_out import *  # noqa: E402, F403 (re-export: orders_out.__all__)
