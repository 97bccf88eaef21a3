"""Order and P&L requests a client sends, server versions 157-178.

placeOrder carries the whole :class:`~twsbridge.protocol.order_models.Order`
in TWS's EClient order, with the kinds IB's client uses field by field: ints
and floats it sends as they are (``INT_MAX``, ``FLOAT_RAW``: an unset value
travels as the sentinel itself) and those it sends empty when unset (``INT``,
``FLOAT``). Obsolete fields the message still carries (shares allocation,
eTradeOnly, firmQuoteOnly, nbboPriceCap) are attributes of the message with
the values IB's client sends.
"""

from __future__ import annotations

from dataclasses import field

from ..codec import BOOL, DECIMAL, FLOAT, INT, INT_MAX, STR, UNSET_DOUBLE
from ..models import Contract
from ..order_models import Order
from ..spec import OUT, F, Message, When, message
from ..versions import ServerVersion as V
from . import _order_wire as W
from ._order_wire import OR, C

__all__ = [
    "CancelOrder",
    "CancelPnL",
    "CancelPnLSingle",
    "PlaceOrder",
    "ReqGlobalCancel",
    "ReqPnL",
    "ReqPnLSingle",
]

_RAW = W.FLOAT_RAW


@message(OUT, 3, "placeOrder")
class PlaceOrder(Message):
    """Place or modify an order (id 3): ``orderId`` a new id from nextValidId
    (or the id of the order to modify), ``contract`` what to trade, ``order``
    how. A BAG contract sends its legs, ``order.orderComboLegs`` and
    ``order.smartComboRoutingParams``. TWS answers openOrder and orderStatus
    (or, with ``order.whatIf``, one openOrder with the margin preview)."""

    orderId: int = 0
    contract: Contract = field(default_factory=Contract)
    order: Order = field(default_factory=Order)
    sharesAllocation: str = ""
    eTradeOnly: bool = False
    firmQuoteOnly: bool = False
    nbboPriceCap: float = UNSET_DOUBLE
    WIRE = (
        F("orderId", INT_MAX),
        F(C + "conId", INT_MAX),
        *(F(C + n, STR) for n in ("symbol", "secType", "lastTradeDateOrContractMonth")),
        F(C + "strike", FLOAT),
        *(F(C + n, STR) for n in ("right", "multiplier", "exchange", "primaryExchange",
                                  "currency", "localSymbol", "tradingClass", "secIdType",
                                  "secId")),
        F(OR + "action", STR), F(OR + "totalQuantity", DECIMAL), F(OR + "orderType", STR),
        F(OR + "lmtPrice", FLOAT), F(OR + "auxPrice", FLOAT),
        *(F(OR + n, STR) for n in ("tif", "ocaGroup", "account", "openClose")),
        F(OR + "origin", INT_MAX), F(OR + "orderRef", STR), F(OR + "transmit", BOOL),
        F(OR + "parentId", INT_MAX), F(OR + "blockOrder", BOOL), F(OR + "sweepToFill", BOOL),
        F(OR + "displaySize", INT_MAX), F(OR + "triggerMethod", INT_MAX),
        F(OR + "outsideRth", BOOL), F(OR + "hidden", BOOL),
        When(W.is_bag, (W.combo_legs(INT_MAX), *W.order_combo_legs())),
        F("sharesAllocation", STR), F(OR + "discretionaryAmt", _RAW),
        *(F(OR + n, STR) for n in ("goodAfterTime", "goodTillDate", "faGroup", "faMethod",
                                  "faPercentage")),
        F(OR + "faProfile", STR, until=V.FA_PROFILE_DESUPPORT), F(OR + "modelCode", STR),
        F(OR + "shortSaleSlot", INT_MAX), F(OR + "designatedLocation", STR),
        F(OR + "exemptCode", INT_MAX), F(OR + "ocaType", INT_MAX),
        F(OR + "rule80A", STR), F(OR + "settlingFirm", STR), F(OR + "allOrNone", BOOL),
        F(OR + "minQty", INT), F(OR + "percentOffset", FLOAT),
        F("eTradeOnly", BOOL), F("firmQuoteOnly", BOOL), F("nbboPriceCap", FLOAT),
        F(OR + "auctionStrategy", INT_MAX),
        *(F(OR + n, FLOAT) for n in ("startingPrice", "stockRefPrice", "delta",
                                    "stockRangeLower", "stockRangeUpper")),
        F(OR + "overridePercentageConstraints", BOOL),
        *W.vol_params(INT_MAX, clearing=True),
        F(OR + "trailStopPrice", FLOAT), F(OR + "trailingPercent", FLOAT),
        *W.scale_params(INT),
        F(OR + "scaleTable", STR), F(OR + "activeStartTime", STR), F(OR + "activeStopTime", STR),
        *W.hedge(), F(OR + "optOutSmartRouting", BOOL),
        F(OR + "clearingAccount", STR), F(OR + "clearingIntent", STR), F(OR + "notHeld", BOOL),
        W.delta_neutral_contract(INT_MAX, _RAW), *W.algo(), F(OR + "algoId", STR),
        F(OR + "whatIf", BOOL), F(OR + "orderMiscOptions", W.TAGS), F(OR + "solicited", BOOL),
        F(OR + "randomizeSize", BOOL), F(OR + "randomizePrice", BOOL),
        W.peg_bench(INT_MAX, _RAW), *W.conditions(INT_MAX, _RAW),
        F(OR + "adjustedOrderType", STR), F(OR + "triggerPrice", _RAW),
        F(OR + "lmtPriceOffset", _RAW), F(OR + "adjustedStopPrice", _RAW),
        F(OR + "adjustedStopLimitPrice", _RAW), F(OR + "adjustedTrailingAmount", _RAW),
        F(OR + "adjustableTrailingUnit", INT_MAX), F(OR + "extOperator", STR),
        F(OR + "softDollarTier.name", STR), F(OR + "softDollarTier.val", STR),
        F(OR + "cashQty", _RAW),
        *(F(OR + n, STR) for n in ("mifid2DecisionMaker", "mifid2DecisionAlgo",
                                  "mifid2ExecutionTrader", "mifid2ExecutionAlgo")),
        F(OR + "dontUseAutoPriceForHedge", BOOL), F(OR + "isOmsContainer", BOOL),
        F(OR + "discretionaryUpToLimitPrice", BOOL), F(OR + "usePriceMgmtAlgo", W.OPT_BOOL),
        F(OR + "duration", INT_MAX, since=V.DURATION),
        F(OR + "postToAts", INT_MAX, since=V.POST_TO_ATS),
        F(OR + "autoCancelParent", BOOL, since=V.AUTO_CANCEL_PARENT),
        F(OR + "advancedErrorOverride", STR, since=V.ADVANCED_ORDER_REJECT),
        F(OR + "manualOrderTime", STR, since=V.MANUAL_ORDER_TIME),
        *W.peg_best_mid(place=True),
    )


@message(OUT, 4, "cancelOrder")
class CancelOrder(Message):
    """Cancel an order (id 4); ``manualOrderCancelTime`` from server version 169."""

    orderId: int = 0
    manualOrderCancelTime: str = ""
    version: int = 1
    WIRE = (
        F("version", INT), F("orderId", INT),
        F("manualOrderCancelTime", STR, since=V.MANUAL_ORDER_TIME),
    )


@message(OUT, 58, "reqGlobalCancel")
class ReqGlobalCancel(Message):
    """Cancel every open order, of every client and of TWS (id 58)."""

    version: int = 1
    WIRE = (F("version", INT),)


@message(OUT, 92, "reqPnL")
class ReqPnL(Message):
    """Subscribe to an account's (or a model's) daily P&L (id 92), answered by pnl."""

    reqId: int = 0
    account: str = ""
    modelCode: str = ""


@message(OUT, 93, "cancelPnL")
class CancelPnL(Message):
    """Cancel a reqPnL (id 93)."""

    reqId: int = 0


@message(OUT, 94, "reqPnLSingle")
class ReqPnLSingle(Message):
    """Subscribe to the P&L of one position (id 94), answered by pnlSingle."""

    reqId: int = 0
    account: str = ""
    modelCode: str = ""
    conId: int = 0


@message(OUT, 95, "cancelPnLSingle")
class CancelPnLSingle(Message):
    """Cancel a reqPnLSingle (id 95)."""

    reqId: int = 0
