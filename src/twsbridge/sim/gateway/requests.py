"""Names of client requests and where their request id sits, for server versions 157-178.

The simulator answers a request it does not implement with an error frame
naming it and carrying its request id (so a client's pending request ends);
these tables say, for an uncatalogued request (an ``Unknown`` event), what it
is and which of its fields (after the message id) is the reqId or orderId.
Source: TWS's EOutgoingMessage ids and the field layouts of IB's EClient.
"""

from __future__ import annotations

__all__ = ["REQUESTS", "request_name", "request_req_id"]

#: message id -> (EClient method, index of the reqId/orderId field after the id, or None).
REQUESTS: dict[int, tuple[str, int | None]] = {
    1: ("reqMktData", 1), 2: ("cancelMktData", 1), 3: ("placeOrder", 0),
    4: ("cancelOrder", 1), 5: ("reqOpenOrders", None), 6: ("reqAccountUpdates", None),
    7: ("reqExecutions", 1), 8: ("reqIds", None), 9: ("reqContractDetails", 1),
    10: ("reqMktDepth", 1), 11: ("cancelMktDepth", 1), 12: ("reqNewsBulletins", None),
    13: ("cancelNewsBulletins", None), 14: ("setServerLogLevel", None),
    15: ("reqAutoOpenOrders", None), 16: ("reqAllOpenOrders", None),
    17: ("reqManagedAccts", None), 18: ("requestFA", None), 19: ("replaceFA", 1),
    20: ("reqHistoricalData", 0), 21: ("exerciseOptions", 1),
    22: ("reqScannerSubscription", 0), 23: ("cancelScannerSubscription", 1),
    24: ("reqScannerParameters", None), 25: ("cancelHistoricalData", 1),
    49: ("reqCurrentTime", None), 50: ("reqRealTimeBars", 1), 51: ("cancelRealTimeBars", 1),
    52: ("reqFundamentalData", 1), 53: ("cancelFundamentalData", 1),
    54: ("calculateImpliedVolatility", 1), 55: ("calculateOptionPrice", 1),
    56: ("cancelCalculateImpliedVolatility", 1), 57: ("cancelCalculateOptionPrice", 1),
    58: ("reqGlobalCancel", None), 59: ("reqMarketDataType", None), 61: ("reqPositions", None),
    62: ("reqAccountSummary", 1), 63: ("cancelAccountSummary", 1),
    64: ("cancelPositions", None), 65: ("verifyRequest", None), 66: ("verifyMessage", None),
    67: ("queryDisplayGroups", 1), 68: ("subscribeToGroupEvents", 1),
    69: ("updateDisplayGroup", 1), 70: ("unsubscribeFromGroupEvents", 1),
    71: ("startApi", None), 72: ("verifyAndAuthRequest", None),
    73: ("verifyAndAuthMessage", None), 74: ("reqPositionsMulti", 1),
    75: ("cancelPositionsMulti", 1), 76: ("reqAccountUpdatesMulti", 1),
    77: ("cancelAccountUpdatesMulti", 1), 78: ("reqSecDefOptParams", 0),
    79: ("reqSoftDollarTiers", 0), 80: ("reqFamilyCodes", None),
    81: ("reqMatchingSymbols", 0), 82: ("reqMktDepthExchanges", None),
    83: ("reqSmartComponents", 0), 84: ("reqNewsArticle", 0),
    85: ("reqNewsProviders", None), 86: ("reqHistoricalNews", 0),
    87: ("reqHeadTimeStamp", 0), 88: ("reqHistogramData", 0),
    89: ("cancelHistogramData", 0), 90: ("cancelHeadTimeStamp", 0),
    91: ("reqMarketRule", None), 92: ("reqPnL", 0), 93: ("cancelPnL", 0),
    94: ("reqPnLSingle", 0), 95: ("cancelPnLSingle", 0), 96: ("reqHistoricalTicks", 0),
    97: ("reqTickByTickData", 0), 98: ("cancelTickByTickData", 0),
    99: ("reqCompletedOrders", None), 100: ("reqWshMetaData", 0),
    101: ("cancelWshMetaData", 0), 102: ("reqWshEventData", 0),
    103: ("cancelWshEventData", 0), 104: ("reqUserInfo", 0),
    105: ("reqCurrentTimeInMillis", None), 106: ("cancelContractData", 0),
    107: ("cancelHistoricalTicks", 0), 108: ("reqConfig", 0), 109: ("updateConfig", 0),
}


def request_name(msg_id: int) -> str:
    """The EClient method of an outgoing message id (``"request <id>"`` if unknown)."""
    entry = REQUESTS.get(msg_id)
    return entry[0] if entry else f"request {msg_id}"


def request_req_id(msg_id: int, fields: list[str]) -> int:
    """The reqId (or orderId) of a request from its fields after the id; -1 when
    the request has none or it does not parse."""
    entry = REQUESTS.get(msg_id)
    if entry is None or entry[1] is None or entry[1] >= len(fields):
        return -1
    try:
        return int(fields[entry[1]])
    except ValueError:
        return -1
