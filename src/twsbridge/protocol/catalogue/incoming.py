"""Messages TWS sends (EIncomingMessage ids), server versions 157-178.

Each class is one message; ``NAME`` is the TWS API callback it feeds
(EWrapper), which is also how it prints: ``<nextValidId orderId=1>``.
Fields named ``version`` are the legacy per-message version TWS still sends.
Sources: TWS API reference, "EWrapper" and "Message ids"; IB's decoder.
"""

from __future__ import annotations

from dataclasses import field
from decimal import Decimal

from ..codec import DECIMAL, ESTR, FLOAT, INT, STR, UNSET_DECIMAL
from ..models import BarData, ContractDescription, ContractDetails, TagValue
from ..models import Contract as _Contract
from ..spec import IN, F, Group, Message, message
from ..versions import ServerVersion as V

__all__ = [
    "AccountDownloadEnd",
    "AccountSummary",
    "AccountSummaryEnd",
    "AccountUpdateMulti",
    "AccountUpdateMultiEnd",
    "CompletedOrdersEnd",
    "ContractData",
    "ContractDataEnd",
    "CurrentTime",
    "ErrorMessage",
    "ExecDetailsEnd",
    "HeadTimestamp",
    "HistoricalData",
    "HistoricalDataUpdate",
    "ManagedAccounts",
    "MarketDataType",
    "NextValidId",
    "OpenOrderEnd",
    "Position",
    "PositionEnd",
    "RealTimeBar",
    "SymbolSamples",
    "TickGeneric",
    "TickPrice",
    "TickReqParams",
    "TickSize",
    "TickSnapshotEnd",
    "TickString",
    "UpdateAccountTime",
    "UpdateAccountValue",
    "UpdatePortfolio",
]


@message(IN, 1, "tickPrice")
class TickPrice(Message):
    """A price tick (id 1). ``tickType`` per TWS's tick types (1 bid, 2 ask, 4 last,
    6 high, 7 low, 9 close, 14 open, 66.. delayed); ``size`` is the size that goes
    with it; ``attrMask`` bits: 1 canAutoExecute, 2 pastLimit, 4 preOpen."""

    reqId: int = 0
    tickType: int = 0
    price: float = 0.0
    size: Decimal = UNSET_DECIMAL
    attrMask: int = 0
    version: int = 6
    WIRE = (
        F("version", INT), F("reqId", INT), F("tickType", INT), F("price", FLOAT),
        F("size", DECIMAL), F("attrMask", INT),
    )


@message(IN, 2, "tickSize")
class TickSize(Message):
    """A size tick (id 2): 0 bid size, 3 ask size, 5 last size, 8 volume (shares)."""

    reqId: int = 0
    tickType: int = 0
    size: Decimal = UNSET_DECIMAL
    version: int = 6
    WIRE = (F("version", INT), F("reqId", INT), F("tickType", INT), F("size", DECIMAL))


@message(IN, 4, "error")
class ErrorMessage(Message):
    """An error or notice (id 4). ``reqId`` -1 is not tied to a request; codes
    2104/2106/2158 are farm-status notices, 1100-1102 connectivity, 200 no
    security definition. ``advancedOrderRejectJson`` from server version 166."""

    reqId: int = -1
    errorCode: int = 0
    errorString: str = ""
    advancedOrderRejectJson: str = ""
    version: int = 2
    WIRE = (
        F("version", INT), F("reqId", INT), F("errorCode", INT), F("errorString", ESTR),
        F("advancedOrderRejectJson", ESTR, since=V.ADVANCED_ORDER_REJECT),
    )


@message(IN, 6, "updateAccountValue")
class UpdateAccountValue(Message):
    """One account value of reqAccountUpdates (id 6): key, value text, currency."""

    key: str = ""
    val: str = ""
    currency: str = ""
    accountName: str = ""
    version: int = 2
    WIRE = (F("version", INT), F("key", STR), F("val", STR), F("currency", STR),
            F("accountName", STR))


@message(IN, 7, "updatePortfolio")
class UpdatePortfolio(Message):
    """One portfolio position of reqAccountUpdates (id 7). Prices in the
    contract's currency; ``position`` is a Decimal quantity."""

    contract: _Contract = field(default_factory=_Contract)
    position: Decimal = UNSET_DECIMAL
    marketPrice: float = 0.0
    marketValue: float = 0.0
    averageCost: float = 0.0
    unrealizedPNL: float = 0.0
    realizedPNL: float = 0.0
    accountName: str = ""
    version: int = 8
    WIRE = (
        F("version", INT),
        F("contract.conId", INT), F("contract.symbol", STR), F("contract.secType", STR),
        F("contract.lastTradeDateOrContractMonth", STR), F("contract.strike", FLOAT),
        F("contract.right", STR), F("contract.multiplier", STR),
        F("contract.primaryExchange", STR), F("contract.currency", STR),
        F("contract.localSymbol", STR), F("contract.tradingClass", STR),
        F("position", DECIMAL), F("marketPrice", FLOAT), F("marketValue", FLOAT),
        F("averageCost", FLOAT), F("unrealizedPNL", FLOAT), F("realizedPNL", FLOAT),
        F("accountName", STR),
    )


@message(IN, 8, "updateAccountTime")
class UpdateAccountTime(Message):
    """Time of the last account update (id 8), ``"hh:mm"``."""

    timeStamp: str = ""
    version: int = 1
    WIRE = (F("version", INT), F("timeStamp", STR))


@message(IN, 9, "nextValidId")
class NextValidId(Message):
    """The next order id this client may use (id 9); answers startApi and reqIds."""

    orderId: int = 0
    version: int = 1
    WIRE = (F("version", INT), F("orderId", INT))


_CD = "contractDetails."
_CDC = "contractDetails.contract."


@message(IN, 10, "contractDetails")
class ContractData(Message):
    """One answer of reqContractDetails (id 10, CONTRACT_DATA).

    Before server version 164 it starts with a version field (8) and carries
    mdSizeMultiplier (110-163) and sizeMinTick (163); from 164 it carries
    minSize, sizeIncrement and suggestedSizeIncrement instead.
    """

    reqId: int = -1
    contractDetails: ContractDetails = field(default_factory=ContractDetails)
    version: int = 8
    WIRE = (
        F("version", INT, until=V.SIZE_RULES),
        F("reqId", INT),
        F(_CDC + "symbol", STR), F(_CDC + "secType", STR),
        F(_CDC + "lastTradeDateOrContractMonth", STR), F(_CDC + "strike", FLOAT),
        F(_CDC + "right", STR), F(_CDC + "exchange", STR), F(_CDC + "currency", STR),
        F(_CDC + "localSymbol", STR), F(_CD + "marketName", STR),
        F(_CDC + "tradingClass", STR), F(_CDC + "conId", INT), F(_CD + "minTick", FLOAT),
        F(_CD + "mdSizeMultiplier", INT, until=V.SIZE_RULES),
        F(_CDC + "multiplier", STR), F(_CD + "orderTypes", STR),
        F(_CD + "validExchanges", STR), F(_CD + "priceMagnifier", INT),
        F(_CD + "underConId", INT), F(_CD + "longName", ESTR),
        F(_CDC + "primaryExchange", STR), F(_CD + "contractMonth", STR),
        F(_CD + "industry", STR), F(_CD + "category", STR), F(_CD + "subcategory", STR),
        F(_CD + "timeZoneId", STR), F(_CD + "tradingHours", STR),
        F(_CD + "liquidHours", STR), F(_CD + "evRule", STR), F(_CD + "evMultiplier", INT),
        Group(_CD + "secIdList", TagValue, (F("tag", STR), F("value", STR))),
        F(_CD + "aggGroup", INT), F(_CD + "underSymbol", STR),
        F(_CD + "underSecType", STR), F(_CD + "marketRuleIds", STR),
        F(_CD + "realExpirationDate", STR), F(_CD + "stockType", STR),
        F(_CD + "sizeMinTick", DECIMAL, since=V.FRACTIONAL_SIZE_SUPPORT, until=V.SIZE_RULES),
        F(_CD + "minSize", DECIMAL, since=V.SIZE_RULES),
        F(_CD + "sizeIncrement", DECIMAL, since=V.SIZE_RULES),
        F(_CD + "suggestedSizeIncrement", DECIMAL, since=V.SIZE_RULES),
    )


@message(IN, 15, "managedAccounts")
class ManagedAccounts(Message):
    """Comma-separated account codes of this login (id 15), sent after startApi."""

    accountsList: str = ""
    version: int = 1
    WIRE = (F("version", INT), F("accountsList", STR))


@message(IN, 17, "historicalData")
class HistoricalData(Message):
    """All bars of one reqHistoricalData (id 17). Up to server version 195 the
    message carries the request's start and end and ends the data set itself."""

    reqId: int = 0
    startDateStr: str = ""
    endDateStr: str = ""
    bars: list[BarData] = field(default_factory=list)
    WIRE = (
        F("reqId", INT), F("startDateStr", STR), F("endDateStr", STR),
        Group("bars", BarData, (
            F("date", STR), F("open", FLOAT), F("high", FLOAT), F("low", FLOAT),
            F("close", FLOAT), F("volume", DECIMAL), F("wap", DECIMAL), F("barCount", INT),
        )),
    )


@message(IN, 45, "tickGeneric")
class TickGeneric(Message):
    """A generic numeric tick (id 45), e.g. 49 halted, 23 option historical vol."""

    reqId: int = 0
    tickType: int = 0
    value: float = 0.0
    version: int = 6
    WIRE = (F("version", INT), F("reqId", INT), F("tickType", INT), F("value", FLOAT))


@message(IN, 46, "tickString")
class TickString(Message):
    """A text tick (id 46), e.g. 45 last timestamp (epoch seconds), 32 bid exchange."""

    reqId: int = 0
    tickType: int = 0
    value: str = ""
    version: int = 6
    WIRE = (F("version", INT), F("reqId", INT), F("tickType", INT), F("value", STR))


@message(IN, 49, "currentTime")
class CurrentTime(Message):
    """The server's time (id 49), epoch seconds."""

    time: int = 0
    version: int = 1
    WIRE = (F("version", INT), F("time", INT))


@message(IN, 52, "contractDetailsEnd")
class ContractDataEnd(Message):
    """End of reqContractDetails answers (id 52)."""

    reqId: int = 0
    version: int = 1
    WIRE = (F("version", INT), F("reqId", INT))


@message(IN, 53, "openOrderEnd")
class OpenOrderEnd(Message):
    """End of the open orders (id 53)."""

    version: int = 1
    WIRE = (F("version", INT),)


@message(IN, 54, "accountDownloadEnd")
class AccountDownloadEnd(Message):
    """End of the first reqAccountUpdates download (id 54)."""

    accountName: str = ""
    version: int = 1
    WIRE = (F("version", INT), F("accountName", STR))


@message(IN, 55, "execDetailsEnd")
class ExecDetailsEnd(Message):
    """End of reqExecutions answers (id 55)."""

    reqId: int = 0
    version: int = 1
    WIRE = (F("version", INT), F("reqId", INT))


@message(IN, 57, "tickSnapshotEnd")
class TickSnapshotEnd(Message):
    """End of a snapshot reqMktData (id 57)."""

    reqId: int = 0
    version: int = 1
    WIRE = (F("version", INT), F("reqId", INT))


@message(IN, 58, "marketDataType")
class MarketDataType(Message):
    """The market data type in force for a request (id 58): 1 live, 2 frozen,
    3 delayed, 4 delayed frozen."""

    reqId: int = 0
    marketDataType: int = 1
    version: int = 1
    WIRE = (F("version", INT), F("reqId", INT), F("marketDataType", INT))


@message(IN, 61, "position")
class Position(Message):
    """One position of reqPositions (id 61); ``avgCost`` includes commissions."""

    account: str = ""
    contract: _Contract = field(default_factory=_Contract)
    position: Decimal = UNSET_DECIMAL
    avgCost: float = 0.0
    version: int = 3
    WIRE = (
        F("version", INT), F("account", STR),
        F("contract.conId", INT), F("contract.symbol", STR), F("contract.secType", STR),
        F("contract.lastTradeDateOrContractMonth", STR), F("contract.strike", FLOAT),
        F("contract.right", STR), F("contract.multiplier", STR), F("contract.exchange", STR),
        F("contract.currency", STR), F("contract.localSymbol", STR),
        F("contract.tradingClass", STR),
        F("position", DECIMAL), F("avgCost", FLOAT),
    )


@message(IN, 62, "positionEnd")
class PositionEnd(Message):
    """End of the positions (id 62)."""

    version: int = 1
    WIRE = (F("version", INT),)


@message(IN, 63, "accountSummary")
class AccountSummary(Message):
    """One tag of reqAccountSummary (id 63)."""

    reqId: int = 0
    account: str = ""
    tag: str = ""
    value: str = ""
    currency: str = ""
    version: int = 1
    WIRE = (F("version", INT), F("reqId", INT), F("account", STR), F("tag", STR),
            F("value", STR), F("currency", STR))


@message(IN, 64, "accountSummaryEnd")
class AccountSummaryEnd(Message):
    """End of a reqAccountSummary download (id 64)."""

    reqId: int = 0
    version: int = 1
    WIRE = (F("version", INT), F("reqId", INT))


@message(IN, 73, "accountUpdateMulti")
class AccountUpdateMulti(Message):
    """One value of reqAccountUpdatesMulti (id 73)."""

    reqId: int = 0
    account: str = ""
    modelCode: str = ""
    key: str = ""
    value: str = ""
    currency: str = ""
    version: int = 1
    WIRE = (F("version", INT), F("reqId", INT), F("account", STR), F("modelCode", STR),
            F("key", STR), F("value", STR), F("currency", STR))


@message(IN, 74, "accountUpdateMultiEnd")
class AccountUpdateMultiEnd(Message):
    """End of a reqAccountUpdatesMulti download (id 74)."""

    reqId: int = 0
    version: int = 1
    WIRE = (F("version", INT), F("reqId", INT))


@message(IN, 79, "symbolSamples")
class SymbolSamples(Message):
    """Answers of reqMatchingSymbols (id 79); description and issuerId from 176."""

    reqId: int = 0
    contractDescriptions: list[ContractDescription] = field(default_factory=list)
    WIRE = (
        F("reqId", INT),
        Group("contractDescriptions", ContractDescription, (
            F("contract.conId", INT), F("contract.symbol", STR), F("contract.secType", STR),
            F("contract.primaryExchange", STR), F("contract.currency", STR),
            Group("derivativeSecTypes", None, (F("", STR),)),
            F("contract.description", STR, since=V.BOND_ISSUERID),
            F("contract.issuerId", STR, since=V.BOND_ISSUERID),
        )),
    )


@message(IN, 81, "tickReqParams")
class TickReqParams(Message):
    """Parameters of a market data request (id 81): minTick, BBO exchange, permissions."""

    reqId: int = 0
    minTick: float = 0.0
    bboExchange: str = ""
    snapshotPermissions: int = 0


@message(IN, 88, "headTimestamp")
class HeadTimestamp(Message):
    """Earliest data available (id 88), as ``yyyymmdd hh:mm:ss`` or epoch seconds."""

    reqId: int = 0
    headTimestamp: str = ""


@message(IN, 90, "historicalDataUpdate")
class HistoricalDataUpdate(Message):
    """The current bar of a keepUpToDate reqHistoricalData (id 90).

    Note TWS's field order: barCount, date, open, close, high, low, wap, volume.
    """

    reqId: int = 0
    bar: BarData = field(default_factory=BarData)
    WIRE = (
        F("reqId", INT), F("bar.barCount", INT), F("bar.date", STR), F("bar.open", FLOAT),
        F("bar.close", FLOAT), F("bar.high", FLOAT), F("bar.low", FLOAT),
        F("bar.wap", DECIMAL), F("bar.volume", DECIMAL),
    )


@message(IN, 50, "realtimeBar")
class RealTimeBar(Message):
    """One 5-second bar of a reqRealTimeBars (id 50): ``time`` the bar's start in
    epoch seconds; ``volume``, ``wap`` and ``count`` are -1 unless TRADES."""

    reqId: int = 0
    time: int = 0
    open: float = 0.0
    high: float = 0.0
    low: float = 0.0
    close: float = 0.0
    volume: Decimal = UNSET_DECIMAL
    wap: Decimal = UNSET_DECIMAL
    count: int = 0
    version: int = 3
    WIRE = (
        F("version", INT), F("reqId", INT), F("time", INT), F("open", FLOAT),
        F("high", FLOAT), F("low", FLOAT), F("close", FLOAT), F("volume", DECIMAL),
        F("wap", DECIMAL), F("count", INT),
    )


@message(IN, 102, "completedOrdersEnd")
class CompletedOrdersEnd(Message):
    """End of reqCompletedOrders answers (id 102)."""

    WIRE = ()

from .orders_in import *  # noqa: E402, F403 (re-export: orders_in.__all__)
