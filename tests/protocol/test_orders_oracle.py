"""IB's own Python client as a test oracle for the order messages, and the orders to try.

``ib_send`` runs ``ibapi.client.EClient`` with a connection object that records
what it would write to the socket, at a chosen server version: the bytes are
IB's encoder's, byte for byte. ``ib_decode`` feeds a frame to
``ibapi.decoder.Decoder`` and records the EWrapper callbacks it makes, checking
that it read every field. ``to_ib`` copies a twsbridge object into the ibapi
object of the same name, attribute by attribute (and fails on a name ibapi
does not have). ibapi is used here only, never from ``src/``.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from twsbridge.protocol import UNSET_DOUBLE
from twsbridge.protocol.models import ComboLeg, Contract, DeltaNeutralContract, TagValue
from twsbridge.protocol.order_models import (
    CommissionReport,
    ExecutionCondition,
    MarginCondition,
    Order,
    OrderComboLeg,
    OrderCondition,
    PercentChangeCondition,
    PriceCondition,
    SoftDollarTier,
    TimeCondition,
    VolumeCondition,
)

pytest.importorskip("ibapi")

from ibapi import order_condition as ib_conditions
from ibapi.client import EClient
from ibapi.commission_and_fees_report import CommissionAndFeesReport
from ibapi.contract import ComboLeg as IbComboLeg
from ibapi.contract import Contract as IbContract
from ibapi.contract import DeltaNeutralContract as IbDeltaNeutralContract
from ibapi.decoder import Decoder
from ibapi.order import Order as IbOrder
from ibapi.order import OrderComboLeg as IbOrderComboLeg
from ibapi.softdollartier import SoftDollarTier as IbSoftDollarTier
from ibapi.tag_value import TagValue as IbTagValue
from ibapi.wrapper import EWrapper

#: twsbridge names (TWS's documented ones) that newer ibapi releases renamed.
IB_NAMES = {
    "commission": "commissionAndFees",
    "minCommission": "minCommissionAndFees",
    "maxCommission": "maxCommissionAndFees",
    "commissionCurrency": "commissionAndFeesCurrency",
}


class Recorder(EWrapper):  # type: ignore[misc]
    """An EWrapper that records every callback the order messages make."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.errors: list[tuple[Any, ...]] = []

    def error(self, reqId: int, errorTime: int, errorCode: int, errorString: str,
              advancedOrderRejectJson: str = "") -> None:
        self.errors.append((reqId, errorCode, errorString))

    def _record(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))

    def openOrder(self, *args: Any) -> None:
        self._record("openOrder", *args)

    def orderStatus(self, *args: Any) -> None:
        self._record("orderStatus", *args)

    def execDetails(self, *args: Any) -> None:
        self._record("execDetails", *args)

    def commissionAndFeesReport(self, *args: Any) -> None:
        self._record("commissionReport", *args)

    def completedOrder(self, *args: Any) -> None:
        self._record("completedOrder", *args)

    def pnl(self, *args: Any) -> None:
        self._record("pnl", *args)

    def pnlSingle(self, *args: Any) -> None:
        self._record("pnlSingle", *args)


class _Socket:
    """What EClient writes to (``conn.sendMsg``), recorded instead of sent."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def sendMsg(self, msg: bytes) -> None:
        self.sent.append(msg)

    def isConnected(self) -> bool:
        return True


def ib_send(version: int, call: Any) -> bytes:
    """The one frame IB's client writes when ``call(client)`` runs at ``version``."""
    recorder = Recorder()
    client = EClient(recorder)
    client.conn = _Socket()
    client.serverVersion_ = version
    client.setConnState(EClient.CONNECTED)
    call(client)
    assert not recorder.errors, recorder.errors
    (frame,) = client.conn.sent
    assert isinstance(frame, bytes)
    return frame


def ib_decode(version: int, frame: bytes) -> tuple[str, tuple[Any, ...]]:
    """The callback IB's decoder makes for ``frame`` (length-prefixed) at ``version``."""
    fields = frame[4:].split(b"\0")[:-1]
    msg_id = int(fields[0])
    recorder = Recorder()
    Decoder(recorder, version).interpret(tuple(fields[1:]), msg_id)
    assert not recorder.errors, recorder.errors
    (call,) = recorder.calls
    # once more with an iterator we keep, to see that IB's decoder read every field
    rest = iter(fields[1:])
    decoder = Decoder(Recorder(), version)
    decoder.msgId2handleInfo[msg_id].processMeth(decoder, rest)
    assert next(rest, None) is None, f"IB's decoder left fields unread in message {msg_id}"
    return call


def _copy(src: Any, dst: Any, skip: tuple[str, ...] = ()) -> Any:
    for f in dataclasses.fields(src):
        if f.name in skip:
            continue
        name = IB_NAMES.get(f.name, f.name)
        assert hasattr(dst, name), f"ibapi {type(dst).__name__} has no {name}"
        setattr(dst, name, to_ib(getattr(src, f.name)))
    return dst


def to_ib(value: Any) -> Any:
    """The ibapi object equivalent to a twsbridge one (values copied by name)."""
    if isinstance(value, list):
        return [to_ib(v) for v in value]
    if isinstance(value, TagValue):
        return IbTagValue(value.tag, value.value)
    if isinstance(value, SoftDollarTier):
        return IbSoftDollarTier(value.name, value.val, value.displayName)
    if isinstance(value, OrderCondition):
        return _copy(value, ib_conditions.Create(value.condType))
    if isinstance(value, Order):
        # IB's client no longer has faProfile; before 177 it sends it empty
        assert value.faProfile == "", "IB's client cannot send faProfile"
        return _copy(value, IbOrder(), skip=("faProfile",))
    targets: dict[type, type] = {
        Contract: IbContract, ComboLeg: IbComboLeg, DeltaNeutralContract: IbDeltaNeutralContract,
        OrderComboLeg: IbOrderComboLeg, CommissionReport: CommissionAndFeesReport,
    }
    if type(value) in targets:
        return _copy(value, targets[type(value)]())
    return value


# ------------------------------------------------------------------ the orders


AAPL = Contract(conId=265598, symbol="AAPL", secType="STK", exchange="SMART",
                primaryExchange="NASDAQ", currency="USD", localSymbol="AAPL", tradingClass="NMS")
ATS = dataclasses.replace(AAPL, exchange="IBKRATS")
EURUSD = Contract(conId=12087792, symbol="EUR", secType="CASH", exchange="IDEALPRO",
                  currency="USD", localSymbol="EUR.USD", tradingClass="EUR.USD")
SPY_C = Contract(symbol="SPY", secType="OPT", lastTradeDateOrContractMonth="20240119",
                 strike=450.0, right="C", multiplier="100", exchange="SMART", currency="USD",
                 secIdType="ISIN", secId="US78462F1030")
BAG = Contract(symbol="SPY", secType="BAG", exchange="SMART", currency="USD", comboLegs=[
    ComboLeg(43645865, 1, "BUY", "SMART"),
    ComboLeg(43645866, 2, "SELL", "SMART", openClose=1, shortSaleSlot=2,
             designatedLocation="LOC1", exemptCode=3),
])


def tv(*pairs: str) -> list[TagValue]:
    return [TagValue(pairs[k], pairs[k + 1]) for k in range(0, len(pairs), 2)]


@dataclass
class Row:
    """One order to place: its id, contract, order, and the first server version it needs."""

    name: str
    orderId: int
    contract: Contract
    order: Order
    since: int = 157


_ids = itertools.count(1001)


def row(name: str, contract: Contract, since: int = 157, oid: int = 0, **order: Any) -> Row:
    order.setdefault("action", "BUY")
    order.setdefault("totalQuantity", Decimal(100))
    return Row(name, oid or next(_ids), contract, Order(**order), since)


ALL_CONDITIONS = [
    PriceCondition(conId=265598, exchange="SMART", isMore=True, price=170.5, triggerMethod=2),
    TimeCondition(isConjunctionConnection=False, isMore=True,
                  time="20231020 15:00:00 US/Eastern"),
    MarginCondition(isMore=False, percent=30),
    ExecutionCondition(secType="STK", exchange="SMART", symbol="IBM"),
    VolumeCondition(conId=265598, exchange="SMART", isMore=True, volume=100000),
    PercentChangeCondition(isConjunctionConnection=False, conId=265598, exchange="SMART",
                           isMore=False, changePercent=-2.5),
]

ORDERS: list[Row] = [
    row("market", AAPL, orderType="MKT"),
    row("limit", AAPL, action="SELL", orderType="LMT", lmtPrice=171.25, tif="GTC",
        outsideRth=True),
    row("stop", AAPL, action="SELL", orderType="STP", auxPrice=165.0),
    row("stop-limit", AAPL, action="SELL", orderType="STP LMT", lmtPrice=164.5, auxPrice=165.0,
        triggerMethod=2),
    row("trailing-amount", AAPL, action="SELL", orderType="TRAIL", auxPrice=1.5,
        trailStopPrice=169.0),
    row("trailing-percent", AAPL, action="SELL", orderType="TRAIL", trailingPercent=2.0),
    row("trail-limit", AAPL, action="SELL", orderType="TRAIL LIMIT", auxPrice=1.0,
        trailStopPrice=170.0, lmtPriceOffset=0.1),
    row("relative", AAPL, orderType="REL", lmtPrice=172.0, auxPrice=0.02, percentOffset=0.01),
    row("MOC", AAPL, orderType="MOC"),
    row("LOC", AAPL, orderType="LOC", lmtPrice=171.0),
    row("MIDPRICE", AAPL, orderType="MIDPRICE", lmtPrice=172.0),
    row("bracket-parent", AAPL, oid=500, orderType="LMT", lmtPrice=170.0, transmit=False),
    row("bracket-take-profit", AAPL, oid=501, action="SELL", orderType="LMT", lmtPrice=175.0,
        parentId=500, transmit=False),
    row("bracket-stop-loss", AAPL, oid=502, action="SELL", orderType="STP", auxPrice=165.0,
        parentId=500, transmit=True),
    row("oca-1", AAPL, orderType="LMT", lmtPrice=170.0, ocaGroup="oca-7", ocaType=1),
    row("oca-2", AAPL, orderType="STP", auxPrice=175.0, ocaGroup="oca-7", ocaType=1),
    row("adaptive", AAPL, orderType="LMT", lmtPrice=171.0, algoStrategy="Adaptive",
        algoParams=tv("adaptivePriority", "Normal")),
    row("vwap", AAPL, orderType="LMT", lmtPrice=171.0, algoStrategy="Vwap", algoParams=tv(
        "maxPctVol", "0.2", "startTime", "09:00:00 US/Eastern", "endTime",
        "16:00:00 US/Eastern", "allowPastEndTime", "1", "noTakeLiq", "1", "speedUp", "1")),
    row("twap", AAPL, orderType="LMT", lmtPrice=171.0, algoStrategy="Twap", algoParams=tv(
        "strategyType", "Marketable", "startTime", "09:00:00 US/Eastern", "endTime",
        "16:00:00 US/Eastern", "allowPastEndTime", "1")),
    row("bag-combo", BAG, orderType="LMT", lmtPrice=-0.5, totalQuantity=Decimal(1),
        orderComboLegs=[OrderComboLeg(1.25), OrderComboLeg()],
        smartComboRoutingParams=tv("NonGuaranteed", "1")),
    row("bag-delta-neutral", dataclasses.replace(BAG, deltaNeutralContract=DeltaNeutralContract(
        756733, 0.5, 450.25)), orderType="MKT", totalQuantity=Decimal(2)),
    row("conditions-all-kinds", AAPL, orderType="LMT", lmtPrice=170.0,
        conditions=ALL_CONDITIONS, conditionsCancelOrder=True, conditionsIgnoreRth=True),
    row("conditions-or", AAPL, orderType="MKT", conditions=[
        PriceCondition(isConjunctionConnection=False, conId=265598, exchange="SMART",
                       isMore=False, price=160.0, triggerMethod=0),
        VolumeCondition(conId=265598, exchange="SMART", isMore=True, volume=5000)]),
    row("what-if", EURUSD, orderType="MKT", totalQuantity=Decimal(20000), whatIf=True),
    row("adjusted-stop", AAPL, action="SELL", orderType="STP", auxPrice=165.0,
        adjustedOrderType="STP LMT", triggerPrice=175.0, adjustedStopPrice=170.0,
        adjustedStopLimitPrice=169.5),
    row("adjusted-trail", AAPL, action="SELL", orderType="STP", auxPrice=165.0,
        adjustedOrderType="TRAIL", triggerPrice=175.0, adjustedStopPrice=170.0,
        adjustedTrailingAmount=1.5, adjustableTrailingUnit=1, lmtPriceOffset=0.2),
    row("pegged-to-benchmark", SPY_C, orderType="PEG BENCH", startingPrice=5.0,
        referenceContractId=756733, isPeggedChangeAmountDecrease=True, peggedChangeAmount=0.5,
        referenceChangeAmount=0.25, referenceExchangeId="SMART", stockRefPrice=450.0,
        stockRangeLower=440.0, stockRangeUpper=460.0),
    row("cash-qty", EURUSD, orderType="MKT", totalQuantity=Decimal(0), cashQty=5000.0),
    row("soft-dollar-tier", AAPL, orderType="LMT", lmtPrice=171.0,
        softDollarTier=SoftDollarTier("IBKRATS", "1310")),
    row("mifid2", AAPL, orderType="MKT", mifid2DecisionMaker="dm1", mifid2DecisionAlgo="da1",
        mifid2ExecutionTrader="et1", mifid2ExecutionAlgo="ea1"),
    row("volatility-delta-neutral", SPY_C, orderType="VOL", volatility=0.25, volatilityType=2,
        deltaNeutralOrderType="LMT", deltaNeutralAuxPrice=1.5, deltaNeutralConId=756733,
        deltaNeutralSettlingFirm="SF", deltaNeutralClearingAccount="CA",
        deltaNeutralClearingIntent="IB", deltaNeutralOpenClose="O", deltaNeutralShortSale=True,
        deltaNeutralShortSaleSlot=1, deltaNeutralDesignatedLocation="DL",
        continuousUpdate=True, referencePriceType=1),
    row("scale", AAPL, orderType="LMT", lmtPrice=170.0, scaleInitLevelSize=100,
        scaleSubsLevelSize=50, scalePriceIncrement=0.05, scalePriceAdjustValue=0.01,
        scalePriceAdjustInterval=60, scaleProfitOffset=0.5, scaleAutoReset=True,
        scaleInitPosition=0, scaleInitFillQty=0, scaleRandomPercent=True, scaleTable="t1",
        activeStartTime="20231020 09:30:00", activeStopTime="20231020 16:00:00"),
    row("fx-hedge", AAPL, orderType="LMT", lmtPrice=170.0, hedgeType="F", hedgeParam="",
        parentId=111),
    row("pair-hedge", AAPL, orderType="LMT", lmtPrice=170.0, hedgeType="P",
        hedgeParam="ratio=1.5", parentId=111),
    row("box-auction", SPY_C, orderType="LMT", lmtPrice=5.0, auctionStrategy=1,
        startingPrice=5.1, stockRefPrice=450.0, delta=0.5),
    row("everything-else", AAPL, orderType="LMT", lmtPrice=170.0, tif="GTD",
        goodTillDate="20231031 16:00:00 US/Eastern",
        goodAfterTime="20231020 09:45:00 US/Eastern", displaySize=100, hidden=True,
        blockOrder=True, sweepToFill=True, allOrNone=True, minQty=100, notHeld=True,
        solicited=True, randomizeSize=True, randomizePrice=True, optOutSmartRouting=True,
        discretionaryAmt=0.1, algoId="a1", extOperator="op", dontUseAutoPriceForHedge=True,
        isOmsContainer=True, discretionaryUpToLimitPrice=True,
        overridePercentageConstraints=True, openClose="O", origin=1, shortSaleSlot=2,
        designatedLocation="DL", exemptCode=5, rule80A="A", settlingFirm="SF",
        clearingAccount="CA", clearingIntent="Away", account="DU1", faGroup="g1",
        faMethod="EqualQuantity", faPercentage="10", modelCode="m1", orderRef="r1",
        orderMiscOptions=tv("x", "1", "y", "2"), usePriceMgmtAlgo=False),
    row("fractional", AAPL, orderType="MKT", totalQuantity=Decimal("0.5"),
        usePriceMgmtAlgo=True),
    row("duration", AAPL, since=158, orderType="LMT", lmtPrice=170.0, duration=60),
    row("post-to-ats", AAPL, since=160, orderType="LMT", lmtPrice=170.0, postToAts=1),
    row("auto-cancel-parent", AAPL, since=162, orderType="LMT", lmtPrice=170.0, parentId=111,
        autoCancelParent=True),
    row("advanced-error-override", AAPL, since=166, orderType="LMT", lmtPrice=170.0,
        advancedErrorOverride="8229,8230"),
    row("manual-order-time", AAPL, since=169, orderType="MKT",
        manualOrderTime="20231020 10:00:00"),
    row("peg-best", ATS, since=170, orderType="PEG BEST", minTradeQty=100, minCompeteSize=100,
        competeAgainstBestOffset=0.02),
    row("peg-best-up-to-mid", ATS, since=170, orderType="PEG BEST", minTradeQty=100,
        minCompeteSize=100, competeAgainstBestOffset=float("inf"), midOffsetAtWhole=0.01,
        midOffsetAtHalf=0.005),
    row("peg-mid", ATS, since=170, orderType="PEG MID", minTradeQty=100,
        midOffsetAtWhole=0.01, midOffsetAtHalf=0.005),
    row("peg-mid-smart", AAPL, since=170, orderType="PEG MID", midOffsetAtWhole=0.02,
        midOffsetAtHalf=UNSET_DOUBLE),
]


def test_orders_have_distinct_names_and_ids() -> None:
    assert len({r.name for r in ORDERS}) == len({r.orderId for r in ORDERS}) == len(ORDERS)


def test_to_ib_fails_on_a_name_ibapi_does_not_have() -> None:
    @dataclass
    class Odd:
        notAnIbName: int = 1

    with pytest.raises(AssertionError, match="notAnIbName"):
        _copy(Odd(), IbContract())


def test_ib_send_records_the_socket_bytes() -> None:
    frame = ib_send(176, lambda c: c.reqIds(1))
    assert frame == b"\0\0\0\x068\x001\x001\0"
