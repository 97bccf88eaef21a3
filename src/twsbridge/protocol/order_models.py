"""Orders, order states, executions and commissions (TWS doc: Order, OrderState,
Execution, CommissionReport, OrderCondition), as server versions 157-178 carry them.

Attribute names are TWS's. Prices are ``float`` with ``UNSET_DOUBLE`` for "not
set"; quantities are :class:`decimal.Decimal` with ``UNSET_DECIMAL``; optional
ints use ``UNSET_INTEGER``. Defaults are those of TWS's API, so an ``Order()``
sent as is carries the same fields as IB's own client would send.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .codec import UNSET_DECIMAL, UNSET_DOUBLE, UNSET_INTEGER
from .models import TagValue

__all__ = [
    "CommissionReport",
    "Execution",
    "ExecutionCondition",
    "MarginCondition",
    "Order",
    "OrderComboLeg",
    "OrderCondition",
    "OrderState",
    "PercentChangeCondition",
    "PriceCondition",
    "SoftDollarTier",
    "TimeCondition",
    "VolumeCondition",
]


@dataclass(slots=True)
class SoftDollarTier:
    """A soft-dollar tier (TWS doc: SoftDollarTier)."""

    name: str = ""
    val: str = ""
    displayName: str = ""


@dataclass(slots=True)
class OrderComboLeg:
    """Per-leg price of a combo order (TWS doc: OrderComboLeg)."""

    price: float = UNSET_DOUBLE


# ----------------------------------------------------------------- conditions


@dataclass(slots=True)
class OrderCondition:
    """Base of the order conditions; ``conjunction`` is "a" (and) or "o" (or).

    ``condType`` ids (TWS doc, OrderCondition): 1 Price, 3 Time, 4 Margin,
    5 Execution, 6 Volume, 7 PercentChange.
    """

    condType: int = 0
    isConjunctionConnection: bool = True


@dataclass(slots=True)
class PriceCondition(OrderCondition):
    """Triggers when ``conId``'s price crosses ``price`` (``isMore``: above)."""

    condType: int = 1
    isMore: bool = True
    conId: int = 0
    exchange: str = ""
    price: float = 0.0
    triggerMethod: int = 0


@dataclass(slots=True)
class TimeCondition(OrderCondition):
    """Triggers after (``isMore``) or before ``time`` ("yyyymmdd hh:mm:ss TZ")."""

    condType: int = 3
    isMore: bool = True
    time: str = ""


@dataclass(slots=True)
class MarginCondition(OrderCondition):
    """Triggers when the margin cushion crosses ``percent``."""

    condType: int = 4
    isMore: bool = True
    percent: int = 0


@dataclass(slots=True)
class ExecutionCondition(OrderCondition):
    """Triggers on an execution of ``symbol``/``secType`` on ``exchange``."""

    condType: int = 5
    secType: str = ""
    exchange: str = ""
    symbol: str = ""


@dataclass(slots=True)
class VolumeCondition(OrderCondition):
    """Triggers when ``conId``'s traded volume crosses ``volume``."""

    condType: int = 6
    isMore: bool = True
    conId: int = 0
    exchange: str = ""
    volume: int = 0


@dataclass(slots=True)
class PercentChangeCondition(OrderCondition):
    """Triggers when ``conId``'s change since the close crosses ``changePercent``."""

    condType: int = 7
    isMore: bool = True
    conId: int = 0
    exchange: str = ""
    changePercent: float = UNSET_DOUBLE


CONDITION_TYPES: dict[int, type[OrderCondition]] = {
    1: PriceCondition,
    3: TimeCondition,
    4: MarginCondition,
    5: ExecutionCondition,
    6: VolumeCondition,
    7: PercentChangeCondition,
}


# ---------------------------------------------------------------------- order


@dataclass(slots=True)
class Order:
    """An order (TWS doc: Order). Only what placeOrder/openOrder carry at 157-178.

    Quantities: ``totalQuantity``, ``filledQuantity`` Decimal. Prices:
    ``lmtPrice``, ``auxPrice`` (stop price, trailing amount), ``trailStopPrice``
    float. ``orderType`` is TWS's text ("MKT", "LMT", "STP", "STP LMT", "TRAIL",
    "TRAIL LIMIT", "MOC", "LOC", "MIDPRICE", "REL", ...); ``tif`` "DAY", "GTC",
    "IOC", "FOK", "GTD" (with ``goodTillDate``).
    """

    # identification
    orderId: int = 0
    clientId: int = 0
    permId: int = 0
    parentId: int = 0
    parentPermId: int = UNSET_INTEGER
    # main
    action: str = ""
    totalQuantity: Decimal = UNSET_DECIMAL
    orderType: str = ""
    lmtPrice: float = UNSET_DOUBLE
    auxPrice: float = UNSET_DOUBLE
    tif: str = ""
    activeStartTime: str = ""
    activeStopTime: str = ""
    ocaGroup: str = ""
    ocaType: int = 0
    orderRef: str = ""
    transmit: bool = True
    blockOrder: bool = False
    sweepToFill: bool = False
    displaySize: int = 0
    triggerMethod: int = 0
    outsideRth: bool = False
    hidden: bool = False
    goodAfterTime: str = ""
    goodTillDate: str = ""
    rule80A: str = ""
    allOrNone: bool = False
    minQty: int = UNSET_INTEGER
    percentOffset: float = UNSET_DOUBLE
    overridePercentageConstraints: bool = False
    trailStopPrice: float = UNSET_DOUBLE
    trailingPercent: float = UNSET_DOUBLE
    # financial advisors
    faGroup: str = ""
    faProfile: str = ""
    faMethod: str = ""
    faPercentage: str = ""
    # institutional
    designatedLocation: str = ""
    openClose: str = ""
    origin: int = 0
    shortSaleSlot: int = 0
    exemptCode: int = -1
    # SMART routing
    discretionaryAmt: float = 0.0
    optOutSmartRouting: bool = False
    # BOX
    auctionStrategy: int = 0
    startingPrice: float = UNSET_DOUBLE
    stockRefPrice: float = UNSET_DOUBLE
    delta: float = UNSET_DOUBLE
    # pegged to stock, VOL
    stockRangeLower: float = UNSET_DOUBLE
    stockRangeUpper: float = UNSET_DOUBLE
    randomizePrice: bool = False
    randomizeSize: bool = False
    volatility: float = UNSET_DOUBLE
    volatilityType: int = UNSET_INTEGER
    deltaNeutralOrderType: str = ""
    deltaNeutralAuxPrice: float = UNSET_DOUBLE
    deltaNeutralConId: int = 0
    deltaNeutralSettlingFirm: str = ""
    deltaNeutralClearingAccount: str = ""
    deltaNeutralClearingIntent: str = ""
    deltaNeutralOpenClose: str = ""
    deltaNeutralShortSale: bool = False
    deltaNeutralShortSaleSlot: int = 0
    deltaNeutralDesignatedLocation: str = ""
    continuousUpdate: bool = False
    referencePriceType: int = UNSET_INTEGER
    # combo
    basisPoints: float = UNSET_DOUBLE
    basisPointsType: int = UNSET_INTEGER
    # scale
    scaleInitLevelSize: int = UNSET_INTEGER
    scaleSubsLevelSize: int = UNSET_INTEGER
    scalePriceIncrement: float = UNSET_DOUBLE
    scalePriceAdjustValue: float = UNSET_DOUBLE
    scalePriceAdjustInterval: int = UNSET_INTEGER
    scaleProfitOffset: float = UNSET_DOUBLE
    scaleAutoReset: bool = False
    scaleInitPosition: int = UNSET_INTEGER
    scaleInitFillQty: int = UNSET_INTEGER
    scaleRandomPercent: bool = False
    scaleTable: str = ""
    # hedge
    hedgeType: str = ""
    hedgeParam: str = ""
    # clearing
    account: str = ""
    settlingFirm: str = ""
    clearingAccount: str = ""
    clearingIntent: str = ""
    # algos
    algoStrategy: str = ""
    algoParams: list[TagValue] = field(default_factory=list)
    smartComboRoutingParams: list[TagValue] = field(default_factory=list)
    algoId: str = ""
    # what-if
    whatIf: bool = False
    # misc
    notHeld: bool = False
    solicited: bool = False
    modelCode: str = ""
    orderComboLegs: list[OrderComboLeg] = field(default_factory=list)
    orderMiscOptions: list[TagValue] = field(default_factory=list)
    # pegged to benchmark / adjusted orders
    referenceContractId: int = 0
    peggedChangeAmount: float = 0.0
    isPeggedChangeAmountDecrease: bool = False
    referenceChangeAmount: float = 0.0
    referenceExchangeId: str = ""
    adjustedOrderType: str = ""
    triggerPrice: float = UNSET_DOUBLE
    adjustedStopPrice: float = UNSET_DOUBLE
    adjustedStopLimitPrice: float = UNSET_DOUBLE
    adjustedTrailingAmount: float = UNSET_DOUBLE
    adjustableTrailingUnit: int = 0
    lmtPriceOffset: float = UNSET_DOUBLE
    # conditions
    conditions: list[OrderCondition] = field(default_factory=list)
    conditionsCancelOrder: bool = False
    conditionsIgnoreRth: bool = False
    extOperator: str = ""
    softDollarTier: SoftDollarTier = field(default_factory=SoftDollarTier)
    cashQty: float = UNSET_DOUBLE
    mifid2DecisionMaker: str = ""
    mifid2DecisionAlgo: str = ""
    mifid2ExecutionTrader: str = ""
    mifid2ExecutionAlgo: str = ""
    dontUseAutoPriceForHedge: bool = False
    isOmsContainer: bool = False
    discretionaryUpToLimitPrice: bool = False
    autoCancelDate: str = ""
    filledQuantity: Decimal = UNSET_DECIMAL
    refFuturesConId: int = 0
    autoCancelParent: bool = False
    shareholder: str = ""
    imbalanceOnly: bool = False
    routeMarketableToBbo: bool = False
    usePriceMgmtAlgo: bool | None = None
    duration: int = UNSET_INTEGER
    postToAts: int = UNSET_INTEGER
    advancedErrorOverride: str = ""
    manualOrderTime: str = ""
    minTradeQty: int = UNSET_INTEGER
    minCompeteSize: int = UNSET_INTEGER
    competeAgainstBestOffset: float = UNSET_DOUBLE
    midOffsetAtWhole: float = UNSET_DOUBLE
    midOffsetAtHalf: float = UNSET_DOUBLE


@dataclass(slots=True)
class OrderState:
    """State of an order, and the what-if preview (TWS doc: OrderState).

    The margin fields are TWS's text (numbers or ""); commissions are floats
    with ``UNSET_DOUBLE`` when TWS has none.
    """

    status: str = ""
    initMarginBefore: str = ""
    maintMarginBefore: str = ""
    equityWithLoanBefore: str = ""
    initMarginChange: str = ""
    maintMarginChange: str = ""
    equityWithLoanChange: str = ""
    initMarginAfter: str = ""
    maintMarginAfter: str = ""
    equityWithLoanAfter: str = ""
    commission: float = UNSET_DOUBLE
    minCommission: float = UNSET_DOUBLE
    maxCommission: float = UNSET_DOUBLE
    commissionCurrency: str = ""
    warningText: str = ""
    completedTime: str = ""
    completedStatus: str = ""


@dataclass(slots=True)
class Execution:
    """One fill (TWS doc: Execution). ``time`` "yyyymmdd hh:mm:ss TZ"; ``side``
    "BOT"/"SLD"; ``shares`` and ``cumQty`` Decimal; ``execId`` like
    "0000e0d5.6576fd38.01.01"."""

    execId: str = ""
    time: str = ""
    acctNumber: str = ""
    exchange: str = ""
    side: str = ""
    shares: Decimal = UNSET_DECIMAL
    price: float = 0.0
    permId: int = 0
    clientId: int = 0
    orderId: int = 0
    liquidation: int = 0
    cumQty: Decimal = UNSET_DECIMAL
    avgPrice: float = 0.0
    orderRef: str = ""
    evRule: str = ""
    evMultiplier: float = 0.0
    modelCode: str = ""
    lastLiquidity: int = 0
    pendingPriceRevision: bool = False


@dataclass(slots=True)
class CommissionReport:
    """Commission of one execution (TWS doc: CommissionReport, message 59).

    ``commission`` and ``realizedPNL`` in ``currency``; ``realizedPNL`` is
    ``UNSET_DOUBLE`` on an opening fill.
    """

    execId: str = ""
    commission: float = 0.0
    currency: str = ""
    realizedPNL: float = UNSET_DOUBLE
    yield_: float = UNSET_DOUBLE
    yieldRedemptionDate: int = 0
