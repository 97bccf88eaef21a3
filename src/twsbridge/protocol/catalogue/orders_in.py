"""Order, execution and P&L messages TWS sends, server versions 157-178.

Layouts follow TWS's EDecoder: openOrder and completedOrder share most of the
order (``_order_wire``) in slightly different orders. Fields TWS sends that an
:class:`~twsbridge.protocol.order_models.Order` no longer holds (the obsolete
shares allocation, eTradeOnly, firmQuoteOnly, nbboPriceCap) are kept on the
message, so a decoded openOrder encodes back to the same bytes.
"""

from __future__ import annotations

from dataclasses import field
from decimal import Decimal

from ..codec import (
    BOOL,
    DECIMAL,
    FLOAT,
    FLOAT_MAX,
    INT,
    INT_MAX,
    STR,
    UNSET_DECIMAL,
    UNSET_DOUBLE,
)
from ..models import Contract
from ..order_models import CommissionReport, Execution, Order, OrderState
from ..spec import IN, F, Message, message
from ..versions import ServerVersion as V
from . import _order_wire as W
from ._order_wire import OR, C, S

__all__ = [
    "CommissionReportMessage",
    "CompletedOrder",
    "ExecDetails",
    "OpenOrder",
    "OrderStatus",
    "PnL",
    "PnLSingle",
]


@message(IN, 3, "orderStatus")
class OrderStatus(Message):
    """Status of an order (id 3): ``status`` PendingSubmit, PreSubmitted, Submitted,
    Filled, Cancelled, Inactive...; ``filled``/``remaining`` Decimal quantities;
    ``whyHeld`` e.g. "locate"; ``mktCapPrice`` the price a capped market order
    was capped at. TWS sends whole prices without a fraction ("0")."""

    orderId: int = 0
    status: str = ""
    filled: Decimal = UNSET_DECIMAL
    remaining: Decimal = UNSET_DECIMAL
    avgFillPrice: float = 0.0
    permId: int = 0
    parentId: int = 0
    lastFillPrice: float = 0.0
    clientId: int = 0
    whyHeld: str = ""
    mktCapPrice: float = 0.0
    WIRE = (
        F("orderId", INT), F("status", STR), F("filled", DECIMAL), F("remaining", DECIMAL),
        F("avgFillPrice", W.FLOAT_TRIM), F("permId", INT), F("parentId", INT),
        F("lastFillPrice", W.FLOAT_TRIM), F("clientId", INT), F("whyHeld", STR),
        F("mktCapPrice", W.FLOAT_TRIM),
    )


@message(IN, 5, "openOrder")
class OpenOrder(Message):
    """An open order (id 5), answering placeOrder, reqOpenOrders and reqAllOpenOrders.

    ``orderId`` is the message's (``order.orderId`` is not sent apart). With
    ``order.whatIf`` the ``orderState`` carries the what-if margins and
    commissions. ``order.trailStopPrice`` travels twice (TWS sends the same
    value); ``sharesAllocation``, ``eTradeOnly``, ``firmQuoteOnly`` and
    ``nbboPriceCap`` are obsolete fields TWS still sends.
    """

    orderId: int = 0
    contract: Contract = field(default_factory=Contract)
    order: Order = field(default_factory=Order)
    orderState: OrderState = field(default_factory=OrderState)
    sharesAllocation: str = ""
    eTradeOnly: bool = False
    firmQuoteOnly: bool = False
    nbboPriceCap: float = UNSET_DOUBLE
    WIRE = (
        F("orderId", INT), *W.order_contract(), *W.order_head(),
        F(OR + "clientId", INT), F(OR + "permId", INT), *W.rth_to_good_after(),
        F("sharesAllocation", STR), *W.fa_to_exempt_code(), F(OR + "auctionStrategy", INT),
        *W.box_to_display_size(), F(OR + "blockOrder", BOOL), *W.fill_flags(),
        F("eTradeOnly", BOOL), F("firmQuoteOnly", BOOL), F("nbboPriceCap", FLOAT),
        F(OR + "parentId", INT), F(OR + "triggerMethod", INT),
        *W.vol_params(INT, clearing=True),
        F(OR + "trailStopPrice", FLOAT), F(OR + "trailingPercent", FLOAT),
        F(OR + "basisPoints", FLOAT), F(OR + "basisPointsType", INT),
        *W.combo(), *W.scale_params(INT_MAX), *W.hedge(), F(OR + "optOutSmartRouting", BOOL),
        *W.clearing_to_solicited(), *W.what_if_state(), *W.randomize_to_conditions(),
        F(OR + "adjustedOrderType", STR), F(OR + "triggerPrice", FLOAT_MAX),
        F(OR + "trailStopPrice", FLOAT_MAX), F(OR + "lmtPriceOffset", FLOAT_MAX),
        F(OR + "adjustedStopPrice", FLOAT_MAX), F(OR + "adjustedStopLimitPrice", FLOAT_MAX),
        F(OR + "adjustedTrailingAmount", FLOAT_MAX), F(OR + "adjustableTrailingUnit", INT),
        F(OR + "softDollarTier.name", STR), F(OR + "softDollarTier.val", STR),
        F(OR + "softDollarTier.displayName", STR),
        *W.hedge_and_oms(), F(OR + "discretionaryUpToLimitPrice", BOOL),
        F(OR + "usePriceMgmtAlgo", W.OPT_BOOL), F(OR + "duration", INT, since=V.DURATION),
        F(OR + "postToAts", INT, since=V.POST_TO_ATS),
        F(OR + "autoCancelParent", BOOL, since=V.AUTO_CANCEL_PARENT),
        *W.peg_best_mid(place=False),
    )


@message(IN, 11, "execDetails")
class ExecDetails(Message):
    """One execution (id 11), answering reqExecutions (``reqId``) or unsolicited
    (``reqId`` -1). The order id travels as ``execution.orderId``."""

    reqId: int = -1
    contract: Contract = field(default_factory=Contract)
    execution: Execution = field(default_factory=Execution)
    WIRE = (
        F("reqId", INT), F("execution.orderId", INT),
        F(C + "conId", INT), F(C + "symbol", STR), F(C + "secType", STR),
        F(C + "lastTradeDateOrContractMonth", STR), F(C + "strike", FLOAT),
        F(C + "right", STR), F(C + "multiplier", STR), F(C + "exchange", STR),
        F(C + "currency", STR), F(C + "localSymbol", STR), F(C + "tradingClass", STR),
        *(F("execution." + n, STR) for n in ("execId", "time", "acctNumber", "exchange", "side")),
        F("execution.shares", DECIMAL), F("execution.price", FLOAT),
        F("execution.permId", INT), F("execution.clientId", INT),
        F("execution.liquidation", INT), F("execution.cumQty", DECIMAL),
        F("execution.avgPrice", FLOAT), F("execution.orderRef", STR),
        F("execution.evRule", STR), F("execution.evMultiplier", FLOAT),
        F("execution.modelCode", STR), F("execution.lastLiquidity", INT),
        F("execution.pendingPriceRevision", BOOL, since=V.PENDING_PRICE_REVISION),
    )


@message(IN, 59, "commissionReport")
class CommissionReportMessage(Message):
    """Commission of one execution (id 59); TWS sends an unset realizedPNL or
    yield as Java's largest double."""

    commissionReport: CommissionReport = field(default_factory=CommissionReport)
    version: int = 1
    WIRE = (
        F("version", INT), F("commissionReport.execId", STR),
        F("commissionReport.commission", FLOAT), F("commissionReport.currency", STR),
        F("commissionReport.realizedPNL", FLOAT_MAX), F("commissionReport.yield_", FLOAT_MAX),
        F("commissionReport.yieldRedemptionDate", INT),
    )


@message(IN, 94, "pnl")
class PnL(Message):
    """Daily, unrealized and realized P&L of an account or model (id 94), for
    reqPnL; TWS sends values it does not have as Java's largest double."""

    reqId: int = 0
    dailyPnL: float = 0.0
    unrealizedPnL: float = 0.0
    realizedPnL: float = 0.0
    WIRE = (
        F("reqId", INT), F("dailyPnL", FLOAT_MAX), F("unrealizedPnL", FLOAT_MAX),
        F("realizedPnL", FLOAT_MAX),
    )


@message(IN, 95, "pnlSingle")
class PnLSingle(Message):
    """P&L of one position (id 95), for reqPnLSingle: ``pos`` the position,
    ``value`` its market value; unknown values are Java's largest double."""

    reqId: int = 0
    pos: Decimal = UNSET_DECIMAL
    dailyPnL: float = 0.0
    unrealizedPnL: float = 0.0
    realizedPnL: float = 0.0
    value: float = 0.0
    WIRE = (
        F("reqId", INT), F("pos", DECIMAL), F("dailyPnL", FLOAT_MAX),
        F("unrealizedPnL", FLOAT_MAX), F("realizedPnL", FLOAT_MAX), F("value", FLOAT_MAX),
    )


@message(IN, 101, "completedOrder")
class CompletedOrder(Message):
    """An order filled or cancelled today (id 101), answering reqCompletedOrders.

    No order id and no client id travel; ``orderState`` has the status,
    ``completedTime`` and ``completedStatus``.
    """

    contract: Contract = field(default_factory=Contract)
    order: Order = field(default_factory=Order)
    orderState: OrderState = field(default_factory=OrderState)
    WIRE = (
        *W.order_contract(), *W.order_head(), F(OR + "permId", INT), *W.rth_to_good_after(),
        *W.fa_to_exempt_code(), *W.box_to_display_size(), *W.fill_flags(),
        F(OR + "triggerMethod", INT), *W.vol_params(INT, clearing=False),
        F(OR + "trailStopPrice", FLOAT), F(OR + "trailingPercent", FLOAT),
        *W.combo(), *W.scale_params(INT_MAX), *W.hedge(),
        *W.clearing_to_solicited(), F(S + "status", STR), *W.randomize_to_conditions(),
        F(OR + "trailStopPrice", FLOAT_MAX), F(OR + "lmtPriceOffset", FLOAT_MAX),
        *W.hedge_and_oms(), F(OR + "autoCancelDate", STR), F(OR + "filledQuantity", DECIMAL),
        F(OR + "refFuturesConId", INT), F(OR + "autoCancelParent", BOOL),
        F(OR + "shareholder", STR), F(OR + "imbalanceOnly", BOOL),
        F(OR + "routeMarketableToBbo", BOOL), F(OR + "parentPermId", INT),
        F(S + "completedTime", STR), F(S + "completedStatus", STR),
        *W.peg_best_mid(place=False),
    )
