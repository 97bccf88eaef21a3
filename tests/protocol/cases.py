"""ONE table of wire cases for the whole catalogue (both directions).

Each row is a constructed message with non-default values and its payload,
written by hand field by field from TWS's documented layout (EClient /
EDecoder order), at server versions 157 and 178 and, for version-gated
fields, at the versions around the gate. ``decoded`` gives the object that
the payload decodes back to when a gated field is absent at that version
(the encoder drops it; the decoder leaves the default).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from twsbridge.protocol import UNSET_DECIMAL, UNSET_DOUBLE, UNSET_INTEGER
from twsbridge.protocol.catalogue import depth as D
from twsbridge.protocol.catalogue import incoming as I
from twsbridge.protocol.catalogue import options as OPT
from twsbridge.protocol.catalogue import outgoing as O
from twsbridge.protocol.catalogue import schedule as S
from twsbridge.protocol.catalogue import ticks as T
from twsbridge.protocol.depth_models import DepthMktDataDescription
from twsbridge.protocol.models import (
    BarData,
    ComboLeg,
    Contract,
    ContractDescription,
    ContractDetails,
    DeltaNeutralContract,
    ExecutionFilter,
    TagValue,
)
from twsbridge.protocol.order_models import (
    CommissionReport,
    Execution,
    Order,
    OrderState,
    PercentChangeCondition,
    PriceCondition,
    TimeCondition,
)
from twsbridge.protocol.spec import Message
from twsbridge.protocol.tick_models import (
    HistogramEntry,
    HistoricalTick,
    HistoricalTickBidAsk,
    HistoricalTickLast,
    PriceIncrement,
    SmartComponent,
)


def w(*fields: str) -> str:
    """A payload: each field NUL-terminated."""
    return "".join(f + "\0" for f in fields)


@dataclass
class Case:
    msg: Message
    texts: dict[int, str]
    decoded: dict[int, Message] = field(default_factory=dict)
    note: str = ""

    def expected(self, version: int) -> Message:
        return self.decoded.get(version, self.msg)


def both(text: str) -> dict[int, str]:
    return {157: text, 178: text}


def replace(obj: Any, **changes: Any) -> Any:
    return dataclasses.replace(obj, **changes)


# ------------------------------------------------------------ shared values

AAPL = Contract(
    conId=265598, symbol="AAPL", secType="STK", exchange="SMART", primaryExchange="NASDAQ",
    currency="USD", localSymbol="AAPL", tradingClass="NMS",
)
AAPL_F = ["265598", "AAPL", "STK", "", "0.0", "", "", "SMART", "NASDAQ", "USD", "AAPL", "NMS"]
SPY_C = Contract(
    symbol="SPY", secType="OPT", lastTradeDateOrContractMonth="20240119", strike=450.0,
    right="C", multiplier="100", exchange="CBOE", currency="USD",
    localSymbol="SPY   240119C00450000", tradingClass="SPY",
)
SPY_C_F = ["0", "SPY", "OPT", "20240119", "450.0", "C", "100", "CBOE", "", "USD",
           "SPY   240119C00450000", "SPY"]
SPX_P = Contract(
    conId=653318228, symbol="SPX", secType="OPT", lastTradeDateOrContractMonth="20240315",
    strike=4500.0, right="P", multiplier="100", exchange="CBOE", currency="USD",
    localSymbol="SPXW  240315P04500000", tradingClass="SPXW",
)
SPX_P_F = ["653318228", "SPX", "OPT", "20240315", "4500.0", "P", "100", "CBOE", "", "USD",
           "SPXW  240315P04500000", "SPXW"]
ES_FOP = Contract(
    symbol="ES", secType="FOP", lastTradeDateOrContractMonth="20240315", strike=4550.0,
    right="C", multiplier="50", exchange="CME", currency="USD", tradingClass="ES",
)
ES_FOP_F = ["0", "ES", "FOP", "20240315", "4550.0", "C", "50", "CME", "", "USD", "", "ES"]
BAG = Contract(
    symbol="SPY", secType="BAG", exchange="SMART", currency="USD",
    comboLegs=[ComboLeg(43645865, 1, "BUY", "SMART"), ComboLeg(43645866, 2, "SELL", "CBOE")],
)
BAG_F = ["0", "SPY", "BAG", "", "0.0", "", "", "SMART", "", "USD", "", ""]
LEGS_F = ["2", "43645865", "1", "BUY", "SMART", "43645866", "2", "SELL", "CBOE"]

CD = ContractDetails(
    contract=Contract(
        conId=265598, symbol="AAPL", secType="STK", lastTradeDateOrContractMonth="20991231",
        strike=1.5, right="P", multiplier="10", exchange="SMART", primaryExchange="NASDAQ",
        currency="USD", localSymbol="AAPL.L", tradingClass="NMS",
    ),
    marketName="NMS market", minTick=0.01, orderTypes="ACTIVETIM,AD,LMT",
    validExchanges="SMART,AMEX,NYSE", priceMagnifier=2, underConId=5, longName="APPLE INC",
    contractMonth="202312", industry="Technology", category="Computers",
    subcategory="Hardware", timeZoneId="US/Eastern",
    tradingHours="20231023:0400-20231023:2000", liquidHours="20231023:0930-20231023:1600",
    evRule="aapl rule", evMultiplier=7, mdSizeMultiplier=100,
    secIdList=[TagValue("ISIN", "US0378331005"), TagValue("CUSIP", "037833100")],
    aggGroup=1, underSymbol="AAPL.U", underSecType="IND", marketRuleIds="26,26",
    realExpirationDate="20991230", stockType="COMMON", sizeMinTick=Decimal("0.5"),
    minSize=Decimal("0.0001"), sizeIncrement=Decimal("0.01"),
    suggestedSizeIncrement=Decimal("100"),
)
CD_HEAD = ["AAPL", "STK", "20991231", "1.5", "P", "SMART", "USD", "AAPL.L", "NMS market",
           "NMS", "265598", "0.01"]
CD_MID = ["10", "ACTIVETIM,AD,LMT", "SMART,AMEX,NYSE", "2", "5", "APPLE INC", "NASDAQ",
          "202312", "Technology", "Computers", "Hardware", "US/Eastern",
          "20231023:0400-20231023:2000", "20231023:0930-20231023:1600", "aapl rule", "7",
          "2", "ISIN", "US0378331005", "CUSIP", "037833100",
          "1", "AAPL.U", "IND", "26,26", "20991230", "COMMON"]
CD_NO_SIZES = replace(CD, minSize=UNSET_DECIMAL, sizeIncrement=UNSET_DECIMAL,
                      suggestedSizeIncrement=UNSET_DECIMAL)

SAMPLES = I.SymbolSamples(reqId=11, contractDescriptions=[
    ContractDescription(
        Contract(conId=8314, symbol="IBM", secType="STK", primaryExchange="NYSE", currency="USD",
                 description="INTL BUSINESS MACHINES", issuerId="e123"),
        ["OPT", "WAR", "CFD"],
    ),
    ContractDescription(
        Contract(conId=38709539, symbol="IBM", secType="BOND", primaryExchange="",
                 currency="EUR", description="IBM 1 1/4 05/26/23", issuerId="e1234567"),
        [],
    ),
])
SAMPLES_OLD = I.SymbolSamples(reqId=11, contractDescriptions=[
    replace(d, contract=replace(d.contract, description="", issuerId=""))
    for d in SAMPLES.contractDescriptions
])
SAMPLES_PRE = ["79", "11", "2", "8314", "IBM", "STK", "NYSE", "USD", "3", "OPT", "WAR", "CFD"]
SAMPLES_OLD_TEXT = w(*SAMPLES_PRE, "38709539", "IBM", "BOND", "", "EUR", "0")
SAMPLES_NEW_TEXT = w(*SAMPLES_PRE, "INTL BUSINESS MACHINES", "e123",
                     "38709539", "IBM", "BOND", "", "EUR", "0", "IBM 1 1/4 05/26/23", "e1234567")

ERR = I.ErrorMessage(reqId=7, errorCode=201, errorString="Order rejected - reason: Café",
                     advancedOrderRejectJson='{"rejectReason":"x"}')
ERR_OLD_TEXT = w("4", "2", "7", "201", "Order rejected - reason: Caf\\xe9")
ERR_NEW_TEXT = w("4", "2", "7", "201", "Order rejected - reason: Caf\\xe9",
                 '{"rejectReason":"x"}')

RCD = O.ReqContractDetails(reqId=9, contract=Contract(
    symbol="IBM", secType="BOND", exchange="SMART", currency="USD", includeExpired=True,
    secIdType="ISIN", secId="US459200HU86", issuerId="e1234567",
))
RCD_PRE = ["9", "8", "9", "0", "IBM", "BOND", "", "0.0", "", "", "SMART", "", "USD", "", "",
           "1", "ISIN", "US459200HU86"]

HIST = O.ReqHistoricalData(
    reqId=3, contract=replace(AAPL, includeExpired=True),
    endDateTime="20231020 16:00:00 US/Eastern", barSizeSetting="1 hour", durationStr="2 D",
    useRTH=False, whatToShow="MIDPOINT", formatDate=2, keepUpToDate=True, chartOptions="",
)
HIST_BAG = O.ReqHistoricalData(
    reqId=4, contract=BAG, endDateTime="", barSizeSetting="1 day", durationStr="1 M",
    useRTH=True, whatToShow="TRADES", formatDate=1, keepUpToDate=False, chartOptions="",
)

BARS = I.HistoricalData(reqId=3, startDateStr="20231020 09:30:00", endDateStr="20231021 09:30:00",
                        bars=[
    BarData("20231020", 171.5, 172.25, 170.125, 171.75, Decimal("1500.5"), Decimal("171.2345"), 12),
    BarData("1697808600", 1.0, 2.0, 0.5, 1.5, Decimal("-1"), Decimal("-1"), -1),
])
BARS_TEXT = w("17", "3", "20231020 09:30:00", "20231021 09:30:00", "2",
              "20231020", "171.5", "172.25", "170.125", "171.75", "1500.5", "171.2345", "12",
              "1697808600", "1.0", "2.0", "0.5", "1.5", "-1", "-1", "-1")


# ------------------------------------------------------------ orders

JMAX = "1.7976931348623157E308"  # an unset double as TWS (Java) sends it
PYMAX = "1.7976931348623157e+308"  # ... and as IB's Python client sends it

PLACE = O.PlaceOrder(orderId=7, contract=AAPL, order=Order(
    action="BUY", totalQuantity=Decimal(100), orderType="LMT", lmtPrice=171.25, tif="GTC",
    account="DU1", orderRef="ref-1", transmit=False, parentId=41, outsideRth=True,
    faProfile="prof1", algoStrategy="Adaptive",
    algoParams=[TagValue("adaptivePriority", "Normal")], orderMiscOptions=[TagValue("a", "b")],
    conditions=[
        PriceCondition(isMore=True, conId=265598, exchange="SMART", price=170.5, triggerMethod=2),
        TimeCondition(isConjunctionConnection=False, isMore=False,
                      time="20231020 15:00:00 US/Eastern"),
    ],
    conditionsCancelOrder=True, usePriceMgmtAlgo=True, duration=60, postToAts=1,
    autoCancelParent=True, advancedErrorOverride="8229", manualOrderTime="20231020 10:00:00",
))
PLACE_HEAD = ["3", "7", *AAPL_F, "", "", "BUY", "100", "LMT", "171.25", "", "GTC", "", "DU1", "",
              "0", "ref-1", "0", "41", "0", "0", "0", "0", "1", "0",
              "", "0.0", "", "", "", "", ""]  # sharesAllocation, discretionaryAmt ... faPercentage
PLACE_MID = [
    "", "0", "", "-1", "0", "", "", "0", "", "",  # modelCode ... percentOffset
    "0", "0", "", "0", "", "", "", "", "", "0",  # eTradeOnly ... overridePercentageConstraints
    "", "", "", "", "0", "", "", "", "", "", "", "", "", "",  # volatility ... activeStopTime
    "", "0", "", "", "0", "0",  # hedgeType ... deltaNeutralContract flag
    "Adaptive", "1", "adaptivePriority", "Normal", "", "0", "a=b;", "0", "0", "0",
    "2", "1", "a", "1", "170.5", "265598", "SMART", "2",
    "3", "o", "0", "20231020 15:00:00 US/Eastern", "0", "1",  # conditionsIgnoreRth, CancelOrder
    "", PYMAX, PYMAX, PYMAX, PYMAX, PYMAX, "0",  # adjustedOrderType ... adjustableTrailingUnit
    "", "", "", PYMAX, "", "", "", "", "0", "0", "0", "1",  # extOperator ... usePriceMgmtAlgo
]
PLACE_NEW = ["60", "1", "1", "8229", "20231020 10:00:00"]  # duration (158) ... (169)
PLACE_OLD = replace(PLACE, order=replace(
    PLACE.order, duration=UNSET_INTEGER, postToAts=UNSET_INTEGER, autoCancelParent=False,
    advancedErrorOverride="", manualOrderTime=""))

AAPL_OO = ["265598", "AAPL", "STK", "", "0", "", "", "SMART", "USD", "AAPL", "NMS"]
OPEN = I.OpenOrder(orderId=12, contract=replace(AAPL, primaryExchange=""), order=Order(
    action="SELL", totalQuantity=Decimal(50), orderType="LMT", lmtPrice=172.5, tif="DAY",
    ocaGroup="oca1", account="DU1", orderRef="ref", clientId=3, permId=1376327563,
    faProfile="prof1", clearingIntent="IB", algoStrategy="Adaptive",
    algoParams=[TagValue("adaptivePriority", "Urgent")],
    conditions=[PercentChangeCondition(isMore=True, conId=265598, exchange="SMART",
                                       changePercent=5.5)],
    conditionsCancelOrder=True, duration=30, autoCancelParent=True,
), orderState=OrderState(status="Submitted"))
OPEN_HEAD = ["5", "12", *AAPL_OO, "SELL", "50", "LMT", "172.5", "", "DAY", "oca1", "DU1", "",
             "0", "ref", "3", "1376327563", "0", "0", "0", "", "", "", "", ""]
OPEN_MID = [
    "", "", "", "", "", "0", "", "-1", "0",  # modelCode ... auctionStrategy
    "", "", "", "", "", "0", "0", "0", "0", "", "0",  # startingPrice ... ocaType
    "0", "0", "", "0", "0",  # eTradeOnly, firmQuoteOnly, nbboPriceCap, parentId, triggerMethod
    "", "", "", "", "0", "", "", "", "", "",  # volatility ... basisPointsType
    "", "0", "0", "0", "2147483647", "2147483647", "", "", "0",  # combo ... optOutSmartRouting
    "", "IB", "0", "0", "Adaptive", "1", "adaptivePriority", "Urgent", "0",  # ... solicited
    "0", "Submitted", "", "", "", "", "", "", "", "", "", "", "", "", "", "",  # what-if state
    "0", "0", "1", "7", "a", "1", "5.5", "265598", "SMART", "0", "1",  # ... conditions
    "", JMAX, JMAX, JMAX, JMAX, JMAX, JMAX, "0", "", "", "",  # adjusted ... softDollarTier
    "", "0", "0", "0", "",  # cashQty ... usePriceMgmtAlgo
]
OPEN_NEW = ["30", "", "1", "", "", "", "", ""]  # duration, postToAts, autoCancelParent, peg (170)

COMPLETED = I.CompletedOrder(contract=replace(AAPL, primaryExchange=""), order=Order(
    action="BUY", totalQuantity=Decimal(10), orderType="MKT", tif="DAY", account="DU1",
    permId=99, filledQuantity=Decimal(10),
), orderState=OrderState(status="Filled", completedTime="20231020 10:00:01 America/New_York",
                         completedStatus="Filled Size: 10"))
COMPLETED_F = [
    "101", *AAPL_OO, "BUY", "10", "MKT", "", "", "DAY", "", "DU1", "", "0", "", "99",
    "0", "0", "0", "", "", "", "", "", "", "", "", "", "", "0", "", "-1",  # ... exemptCode
    "", "", "", "", "", "0", "0", "0", "", "0", "0",  # startingPrice ... triggerMethod
    "", "", "", "", "0", "", "", "",  # volatility ... trailingPercent
    "", "0", "0", "0", "2147483647", "2147483647", "", "",  # combo, scale, hedge
    "", "", "0", "0", "", "0", "Filled", "0", "0", "0", JMAX, JMAX,  # ... lmtPriceOffset
    "", "0", "0", "", "10", "0", "0", "", "0", "0", "",  # cashQty ... parentPermId
    "20231020 10:00:01 America/New_York", "Filled Size: 10",
]
COMPLETED_NEW = [*COMPLETED_F[:31], *COMPLETED_F[32:]]  # without faProfile (177+)

EXEC = I.ExecDetails(reqId=7, contract=replace(AAPL, exchange="ISLAND", primaryExchange=""),
                     execution=Execution(
    execId="0000e0d5.6576fd38.01.01", time="20231020 10:00:01 US/Eastern", acctNumber="DU1",
    exchange="ISLAND", side="BOT", shares=Decimal(10), price=171.25, permId=1376327563,
    clientId=3, orderId=12, liquidation=0, cumQty=Decimal(10), avgPrice=171.25, orderRef="ref",
    lastLiquidity=2, pendingPriceRevision=True,
))
EXEC_F = ["11", "7", "12", "265598", "AAPL", "STK", "", "0.0", "", "", "ISLAND", "USD", "AAPL",
          "NMS", "0000e0d5.6576fd38.01.01", "20231020 10:00:01 US/Eastern", "DU1", "ISLAND",
          "BOT", "10", "171.25", "1376327563", "3", "0", "10", "171.25", "ref", "", "0.0", "", "2"]

CANCEL = O.CancelOrder(orderId=12, manualOrderCancelTime="20231020 10:00:00")


# ------------------------------------------------------------ the table

CASES: list[Case] = [
    # ---------------------------------------------------------------- incoming
    Case(I.TickPrice(reqId=5, tickType=1, price=101.5, size=Decimal(300), attrMask=0),
         both("1\0" "6\0" "5\0" "1\0" "101.5\0" "300\0" "0\0")),
    Case(I.TickPrice(reqId=6, tickType=9, price=-1.0, size=UNSET_DECIMAL, attrMask=4),
         both(w("1", "6", "6", "9", "-1.0", "", "4")), note="unset size, preOpen"),
    Case(I.TickSize(reqId=5, tickType=8, size=Decimal("12345.5")),
         both(w("2", "6", "5", "8", "12345.5"))),
    Case(ERR, {157: ERR_OLD_TEXT, 165: ERR_OLD_TEXT, 166: ERR_NEW_TEXT, 178: ERR_NEW_TEXT},
         decoded={v: replace(ERR, advancedOrderRejectJson="") for v in (157, 165)}),
    Case(I.UpdateAccountValue(key="NetLiquidation", val="1038472.36", currency="GBP",
                              accountName="DU5509097"),
         both(w("6", "2", "NetLiquidation", "1038472.36", "GBP", "DU5509097"))),
    Case(I.UpdatePortfolio(contract=replace(SPY_C, exchange="", primaryExchange="CBOE"),
                           position=Decimal("-3"), marketPrice=5.25,
                           marketValue=-1575.0, averageCost=520.5, unrealizedPNL=-13.5,
                           realizedPNL=7.25, accountName="DU1"),
         both(w("7", "8", "0", "SPY", "OPT", "20240119", "450.0", "C", "100", "CBOE", "USD",
                "SPY   240119C00450000", "SPY", "-3", "5.25", "-1575.0", "520.5", "-13.5",
                "7.25", "DU1"))),
    Case(I.UpdateAccountTime(timeStamp="13:26"), both(w("8", "1", "13:26"))),
    Case(I.NextValidId(orderId=217), both(w("9", "1", "217"))),
    Case(I.ContractData(reqId=7, contractDetails=CD), {
        157: w("10", "8", "7", *CD_HEAD, "100", *CD_MID),
        163: w("10", "8", "7", *CD_HEAD, "100", *CD_MID, "0.5"),
        164: w("10", "7", *CD_HEAD, *CD_MID, "0.0001", "0.01", "100"),
        178: w("10", "7", *CD_HEAD, *CD_MID, "0.0001", "0.01", "100"),
    }, decoded={
        157: I.ContractData(7, replace(CD_NO_SIZES, sizeMinTick=UNSET_DECIMAL)),
        163: I.ContractData(7, CD_NO_SIZES),
        164: I.ContractData(7, replace(CD, mdSizeMultiplier=1, sizeMinTick=UNSET_DECIMAL)),
        178: I.ContractData(7, replace(CD, mdSizeMultiplier=1, sizeMinTick=UNSET_DECIMAL)),
    }),
    Case(I.ManagedAccounts(accountsList="DU5509097,DU5509098"),
         both(w("15", "1", "DU5509097,DU5509098"))),
    Case(BARS, both(BARS_TEXT)),
    Case(I.HistoricalData(reqId=8, startDateStr="a", endDateStr="b", bars=[]),
         both(w("17", "8", "a", "b", "0")), note="empty group"),
    Case(I.TickGeneric(reqId=5, tickType=49, value=1.0), both(w("45", "6", "5", "49", "1.0"))),
    Case(I.TickString(reqId=5, tickType=45, value="1697900000"),
         both(w("46", "6", "5", "45", "1697900000"))),
    Case(I.CurrentTime(time=1697900000), both(w("49", "1", "1697900000"))),
    Case(I.ContractDataEnd(reqId=9), both(w("52", "1", "9"))),
    Case(I.OpenOrderEnd(), both(w("53", "1"))),
    Case(I.AccountDownloadEnd(accountName="DU5509097"), both(w("54", "1", "DU5509097"))),
    Case(I.ExecDetailsEnd(reqId=218), both(w("55", "1", "218"))),
    Case(I.TickSnapshotEnd(reqId=5), both(w("57", "1", "5"))),
    Case(I.MarketDataType(reqId=5, marketDataType=3), both(w("58", "1", "5", "3"))),
    Case(I.Position(account="DU1", contract=replace(AAPL, multiplier="1", primaryExchange=""),
                    position=Decimal("12.5"), avgCost=150.25),
         both(w("61", "3", "DU1", "265598", "AAPL", "STK", "", "0.0", "", "1", "SMART", "USD",
                "AAPL", "NMS", "12.5", "150.25"))),
    Case(I.PositionEnd(), both(w("62", "1"))),
    Case(I.AccountSummary(reqId=9, account="DU1", tag="NetLiquidation", value="1000.5",
                          currency="USD"),
         both(w("63", "1", "9", "DU1", "NetLiquidation", "1000.5", "USD"))),
    Case(I.AccountSummaryEnd(reqId=221), both(w("64", "1", "221"))),
    Case(I.AccountUpdateMulti(reqId=4, account="DU1", modelCode="M1", key="CashBalance",
                              value="1038472.36", currency="GBP"),
         both(w("73", "1", "4", "DU1", "M1", "CashBalance", "1038472.36", "GBP"))),
    Case(I.AccountUpdateMultiEnd(reqId=4), both(w("74", "1", "4"))),
    Case(SAMPLES, {157: SAMPLES_OLD_TEXT, 175: SAMPLES_OLD_TEXT,
                   176: SAMPLES_NEW_TEXT, 178: SAMPLES_NEW_TEXT},
         decoded={157: SAMPLES_OLD, 175: SAMPLES_OLD}),
    Case(I.TickReqParams(reqId=5, minTick=0.01, bboExchange="9c0001", snapshotPermissions=3),
         both(w("81", "5", "0.01", "9c0001", "3"))),
    Case(I.HeadTimestamp(reqId=4, headTimestamp="19801212 14:30:00"),
         both(w("88", "4", "19801212 14:30:00"))),
    Case(I.HistoricalDataUpdate(reqId=3, bar=BarData("20231020 15:00:00", 1.25, 3.5, 0.75, 2.5,
                                                     Decimal("900"), Decimal("2.125"), 17)),
         both(w("90", "3", "17", "20231020 15:00:00", "1.25", "2.5", "3.5", "0.75", "2.125",
                "900"))),
    Case(I.RealTimeBar(reqId=6, time=1697808600, open=171.5, high=172.25, low=170.125,
                       close=171.75, volume=Decimal("900"), wap=Decimal("171.2345"), count=17),
         both(w("50", "3", "6", "1697808600", "171.5", "172.25", "170.125", "171.75", "900",
                "171.2345", "17"))),
    Case(I.CompletedOrdersEnd(), both(w("102"))),
    Case(OPT.TickOptionComputation(reqId=5, tickType=13, tickAttrib=0, impliedVol=0.1875,
                                   delta=0.5125, optPrice=5.25, pvDividend=1.5, gamma=0.0123,
                                   vega=0.4375, theta=-0.0625, undPrice=451.5),
         both(w("21", "5", "13", "0", "0.1875", "0.5125", "5.25", "1.5", "0.0123", "0.4375",
                "-0.0625", "451.5"))),
    Case(OPT.TickOptionComputation(reqId=5, tickType=10, tickAttrib=1),
         both(w("21", "5", "10", "1", "-1", "-2", "-1", "-1", "-2", "-2", "-2", "-1")),
         note="nothing computed: -1 and -2 are None"),
    Case(OPT.SecurityDefinitionOptionParameter(
        reqId=11, exchange="CBOE", underlyingConId=756733, tradingClass="SPY", multiplier="100",
        expirations=["20240119", "20240216"], strikes=[440.0, 445.5, 450.0]),
         both(w("75", "11", "CBOE", "756733", "SPY", "100", "2", "20240119", "20240216", "3",
                "440.0", "445.5", "450.0"))),
    Case(OPT.SecurityDefinitionOptionParameterEnd(reqId=11), both(w("76", "11"))),
    Case(I.OrderStatus(orderId=12, status="Filled", filled=Decimal(10), remaining=Decimal(0),
                       avgFillPrice=172.0, permId=1376327563, parentId=0, lastFillPrice=171.25,
                       clientId=3, whyHeld="", mktCapPrice=0.0),
         both(w("3", "12", "Filled", "10", "0", "172", "1376327563", "0", "171.25", "3", "",
                "0")), note="whole prices without a fraction, as TWS sends them"),
    Case(OPEN, {157: w(*OPEN_HEAD, "prof1", *OPEN_MID),
                176: w(*OPEN_HEAD, "prof1", *OPEN_MID, *OPEN_NEW),
                178: w(*OPEN_HEAD, *OPEN_MID, *OPEN_NEW)},
         decoded={157: replace(OPEN, order=replace(OPEN.order, duration=UNSET_INTEGER,
                                                   autoCancelParent=False)),
                  178: replace(OPEN, order=replace(OPEN.order, faProfile=""))}),
    Case(EXEC, {157: w(*EXEC_F), 177: w(*EXEC_F), 178: w(*EXEC_F, "1")},
         decoded={v: replace(EXEC, execution=replace(EXEC.execution, pendingPriceRevision=False))
                  for v in (157, 177)}),
    Case(I.CommissionReportMessage(CommissionReport(
        execId="0000e0d5.6576fd38.01.01", commission=1.0, currency="USD",
        realizedPNL=UNSET_DOUBLE, yield_=UNSET_DOUBLE, yieldRedemptionDate=UNSET_INTEGER)),
         both(w("59", "1", "0000e0d5.6576fd38.01.01", "1.0", "USD", JMAX, JMAX, ""))),
    Case(I.PnL(reqId=4, dailyPnL=12.5, unrealizedPnL=-3.25, realizedPnL=UNSET_DOUBLE),
         both(w("94", "4", "12.5", "-3.25", JMAX))),
    Case(I.PnLSingle(reqId=5, pos=Decimal(100), dailyPnL=12.5, unrealizedPnL=-3.25,
                     realizedPnL=UNSET_DOUBLE, value=17150.0),
         both(w("95", "5", "100", "12.5", "-3.25", JMAX, "17150.0"))),
    Case(COMPLETED, {157: w(*COMPLETED_F), 178: w(*COMPLETED_NEW, "", "", "", "", "")}),
    # ---------------------------------------------------------------- outgoing
    Case(O.ReqMktData(reqId=1001, contract=replace(AAPL, deltaNeutralContract=
                      DeltaNeutralContract(76792991, 0.5, 171.25)),
                      genericTickList="233,236", snapshot=False, regulatorySnapshot=True),
         both(w("1", "11", "1001", *AAPL_F, "1", "76792991", "0.5", "171.25", "233,236", "0",
                "1", "")), note="deltaNeutralContract present"),
    Case(O.ReqMktData(reqId=2, contract=SPY_C, genericTickList="100,101", snapshot=True,
                      mktDataOptions="XYZ=1;"),
         both(w("1", "11", "2", *SPY_C_F, "0", "100,101", "1", "0", "XYZ=1;")),
         note="deltaNeutralContract absent"),
    Case(O.ReqMktData(reqId=3, contract=BAG),
         both(w("1", "11", "3", *BAG_F, *LEGS_F, "0", "", "0", "0", "")), note="BAG legs"),
    Case(O.CancelMktData(reqId=1001), both(w("2", "2", "1001"))),
    Case(O.ReqOpenOrders(), both(w("5", "1"))),
    Case(O.ReqAccountUpdates(subscribe=False, acctCode="DU5509097"),
         both(w("6", "2", "0", "DU5509097"))),
    Case(O.ReqExecutions(reqId=3, execFilter=ExecutionFilter(7, "DU1", "20231020 09:30:00",
                                                             "AAPL", "STK", "SMART", "BUY")),
         both(w("7", "3", "3", "7", "DU1", "20231020 09:30:00", "AAPL", "STK", "SMART", "BUY"))),
    Case(O.ReqIds(numIds=-1), both(w("8", "1", "-1"))),
    Case(RCD, {157: w(*RCD_PRE), 175: w(*RCD_PRE), 176: w(*RCD_PRE, "e1234567"),
               178: w(*RCD_PRE, "e1234567")},
         decoded={v: O.ReqContractDetails(9, replace(RCD.contract, issuerId=""))
                  for v in (157, 175)}),
    Case(O.ReqAutoOpenOrders(bAutoBind=False), both(w("15", "1", "0"))),
    Case(O.ReqAllOpenOrders(), both(w("16", "1"))),
    Case(HIST, both(w("20", "3", *AAPL_F, "1", "20231020 16:00:00 US/Eastern", "1 hour", "2 D",
                      "0", "MIDPOINT", "2", "1", ""))),
    Case(HIST_BAG, both(w("20", "4", *BAG_F, "0", "", "1 day", "1 M", "1", "TRADES", "1",
                          *LEGS_F, "0", "")), note="BAG legs"),
    Case(O.CancelHistoricalData(reqId=3), both(w("25", "1", "3"))),
    Case(O.ReqCurrentTime(), both(w("49", "1"))),
    Case(O.ReqRealTimeBars(reqId=6, contract=AAPL, barSize=5, whatToShow="MIDPOINT",
                           useRTH=False, realTimeBarsOptions=""),
         both(w("50", "3", "6", *AAPL_F, "5", "MIDPOINT", "0", ""))),
    Case(O.CancelRealTimeBars(reqId=6), both(w("51", "1", "6"))),
    Case(O.ReqMarketDataType(marketDataType=4), both(w("59", "1", "4"))),
    Case(O.ReqPositions(), both(w("61", "1"))),
    Case(O.ReqAccountSummary(reqId=9, groupName="All", tags="NetLiquidation,BuyingPower"),
         both(w("62", "1", "9", "All", "NetLiquidation,BuyingPower"))),
    Case(O.CancelAccountSummary(reqId=9), both(w("63", "1", "9"))),
    Case(O.CancelPositions(), both(w("64", "1"))),
    Case(O.StartApi(clientId=7, optionalCapabilities="+cap"), both(w("71", "2", "7", "+cap"))),
    Case(O.ReqAccountUpdatesMulti(reqId=4, account="DU1", modelCode="M1", ledgerAndNLV=True),
         both(w("76", "1", "4", "DU1", "M1", "1"))),
    Case(O.CancelAccountUpdatesMulti(reqId=4), both(w("77", "1", "4"))),
    Case(O.ReqMatchingSymbols(reqId=11, pattern="IBM"), both(w("81", "11", "IBM"))),
    Case(O.ReqHeadTimeStamp(reqId=4, contract=SPY_C, useRTH=False, whatToShow="BID",
                            formatDate=2),
         both(w("87", "4", *SPY_C_F, "0", "0", "BID", "2"))),
    Case(O.CancelHeadTimeStamp(reqId=4), both(w("90", "4"))),
    Case(O.ReqCompletedOrders(apiOnly=True), both(w("99", "1"))),
    Case(PLACE, {157: w(*PLACE_HEAD, "prof1", *PLACE_MID),
                 176: w(*PLACE_HEAD, "prof1", *PLACE_MID, *PLACE_NEW),
                 178: w(*PLACE_HEAD, *PLACE_MID, *PLACE_NEW)},
         decoded={157: PLACE_OLD, 178: replace(PLACE, order=replace(PLACE.order, faProfile=""))}),
    Case(CANCEL, {157: w("4", "1", "12"), 168: w("4", "1", "12"),
                  169: w("4", "1", "12", "20231020 10:00:00"),
                  178: w("4", "1", "12", "20231020 10:00:00")},
         decoded={v: O.CancelOrder(orderId=12) for v in (157, 168)}),
    Case(O.ReqGlobalCancel(), both(w("58", "1"))),
    Case(O.ReqPnL(reqId=4, account="DU1", modelCode=""), both(w("92", "4", "DU1", ""))),
    Case(O.CancelPnL(reqId=4), both(w("93", "4"))),
    Case(O.ReqPnLSingle(reqId=5, account="DU1", modelCode="M1", conId=265598),
         both(w("94", "5", "DU1", "M1", "265598"))),
    Case(O.CancelPnLSingle(reqId=5), both(w("95", "5"))),
    # ---------------------------------------------------------------- ticks (both ways)
    Case(T.ReqSmartComponents(reqId=21, bboExchange="9c0001"), both(w("83", "21", "9c0001"))),
    Case(T.ReqHistogramData(reqId=22, contract=replace(SPY_C, includeExpired=True),
                            useRTH=False, timePeriod="3 days"),
         both(w("88", "22", *SPY_C_F, "1", "0", "3 days"))),
    Case(T.CancelHistogramData(reqId=22), both(w("89", "22"))),
    Case(T.ReqMarketRule(marketRuleId=26), both(w("91", "26"))),
    Case(T.ReqHistoricalTicks(reqId=23, contract=AAPL, startDateTime="20231020 09:30:00",
                              endDateTime="", numberOfTicks=1000, whatToShow="BID_ASK",
                              useRth=False, ignoreSize=True, miscOptions="a=1;"),
         both(w("96", "23", *AAPL_F, "0", "20231020 09:30:00", "", "1000", "BID_ASK", "0",
                "1", "a=1;"))),
    Case(T.SmartComponents(reqId=21, smartComponentMap=[
        SmartComponent(1, "NYSE", "N"), SmartComponent(12, "ISLAND", "Q")]),
         both(w("82", "21", "2", "1", "NYSE", "N", "12", "ISLAND", "Q"))),
    Case(T.HistogramData(reqId=22, data=[HistogramEntry(171.25, Decimal(1200)),
                                         HistogramEntry(171.5, Decimal("0.5"))]),
         both(w("89", "22", "2", "171.25", "1200", "171.5", "0.5"))),
    Case(T.MarketRule(marketRuleId=26, priceIncrements=[PriceIncrement(0.0, 0.01),
                                                        PriceIncrement(1000.0, 0.05)]),
         both(w("93", "26", "2", "0.0", "0.01", "1000.0", "0.05"))),
    Case(T.HistoricalTicks(reqId=23, ticks=[HistoricalTick(1697808600, 171.255, Decimal(0))],
                           done=False),
         both(w("96", "23", "1", "1697808600", "0", "171.255", "0", "0"))),
    Case(T.HistoricalTicksBidAsk(reqId=23, ticks=[
        HistoricalTickBidAsk(1697808600, 3, 171.25, 171.26, Decimal(100), Decimal(200)),
        HistoricalTickBidAsk(1697808601, 0, 171.24, 171.27, Decimal(1), Decimal(2))],
        done=True),
         both(w("97", "23", "2", "1697808600", "3", "171.25", "171.26", "100", "200",
                "1697808601", "0", "171.24", "171.27", "1", "2", "1"))),
    Case(S.HistoricalSchedule(reqId=24, startDateTime="20130228-09:30:00",
                              endDateTime="20130301-16:00:00", timeZone="US/Eastern", sessions=[
        S.HistoricalSession("20130228-09:30:00", "20130228-16:00:00", "20130228"),
        S.HistoricalSession("20130301-09:30:00", "20130301-16:00:00", "20130301")]),
         both(w("106", "24", "20130228-09:30:00", "20130301-16:00:00", "US/Eastern", "2",
                "20130228-09:30:00", "20130228-16:00:00", "20130228",
                "20130301-09:30:00", "20130301-16:00:00", "20130301"))),
    Case(T.HistoricalTicksLast(reqId=23, ticks=[
        HistoricalTickLast(1697808600, 2, 171.25, Decimal(10), "ISLAND", "T I")], done=True),
         both(w("98", "23", "1", "1697808600", "2", "171.25", "10", "ISLAND", "T I", "1"))),
    Case(OPT.ReqSecDefOptParams(reqId=11, underlyingSymbol="SPY", futFopExchange="",
                                underlyingSecType="STK", underlyingConId=756733),
         both(w("78", "11", "SPY", "", "STK", "756733"))),
    Case(OPT.CalculateImpliedVolatility(reqId=12, contract=SPY_C, optionPrice=5.25,
                                        underPrice=451.5),
         both(w("54", "3", "12", *SPY_C_F, "5.25", "451.5", ""))),
    Case(OPT.CalculateOptionPrice(reqId=13, contract=SPX_P, volatility=0.18, underPrice=4500.0),
         both(w("55", "3", "13", *SPX_P_F, "0.18", "4500.0", ""))),
    Case(OPT.CancelCalculateImpliedVolatility(reqId=12), both(w("56", "1", "12"))),
    Case(OPT.CancelCalculateOptionPrice(reqId=13), both(w("57", "1", "13"))),
    Case(OPT.ExerciseOptions(reqId=14, contract=ES_FOP, exerciseAction=2, exerciseQuantity=3,
                             account="DU1", override=1),
         both(w("21", "2", "14", *ES_FOP_F[:8], *ES_FOP_F[9:], "2", "3", "DU1", "1")),
         note="no primaryExchange"),
    # ---------------------------------------------------------------- catalogue.depth
    Case(D.UpdateMktDepth(reqId=7, position=0, operation=1, side=1, price=171.25,
                          size=Decimal(300)),
         both(w("12", "1", "7", "0", "1", "1", "171.25", "300"))),
    Case(D.UpdateMktDepthL2(reqId=8, position=2, marketMaker="NSDQ", operation=2, side=0,
                            price=171.3, size=Decimal("0.5"), isSmartDepth=True),
         both(w("13", "1", "8", "2", "NSDQ", "2", "0", "171.3", "0.5", "1"))),
    Case(D.MktDepthExchanges(depthMktDataDescriptions=[
        DepthMktDataDescription("NASDAQ", "STK", "", "Deep2", UNSET_INTEGER),
        DepthMktDataDescription("ISLAND", "STK", "NASDAQ", "Deep", 2),
    ]), both(w("80", "2", "NASDAQ", "STK", "", "Deep2", "", "ISLAND", "STK", "NASDAQ", "Deep",
               "2")), note="aggGroup unset"),
    Case(D.TickByTick(reqId=9, tickType=1, time=1697808600, price=171.25, size=Decimal(100),
                      attrMask=0, exchange="NASDAQ", specialConditions="T"),
         both(w("99", "9", "1", "1697808600", "171.25", "100", "0", "NASDAQ", "T")),
         note="Last"),
    Case(D.TickByTick(reqId=9, tickType=2, time=1697808601, price=171.0, size=Decimal("0.25"),
                      attrMask=3, exchange="ARCA", specialConditions=""),
         both(w("99", "9", "2", "1697808601", "171.0", "0.25", "3", "ARCA", "")),
         note="AllLast, pastLimit and unreported"),
    Case(D.TickByTick(reqId=10, tickType=3, time=1697808602, bidPrice=171.2, askPrice=171.3,
                      bidSize=Decimal(300), askSize=Decimal(200), attrMask=2),
         both(w("99", "10", "3", "1697808602", "171.2", "171.3", "300", "200", "2")),
         note="BidAsk, askPastHigh"),
    Case(D.TickByTick(reqId=11, tickType=4, time=1697808603, midPoint=171.25),
         both(w("99", "11", "4", "1697808603", "171.25")), note="MidPoint"),
    Case(D.TickByTick(reqId=12, tickType=0, time=1697808604),
         both(w("99", "12", "0", "1697808604")), note="None: no more fields"),
    Case(D.ReqMktDepth(reqId=20, contract=replace(AAPL, exchange="ISLAND"), numRows=5),
         both(w("10", "5", "20", *AAPL_F[:7], "ISLAND", *AAPL_F[8:], "5", "0", ""))),
    Case(D.ReqMktDepth(reqId=21, contract=AAPL, numRows=10, isSmartDepth=True,
                       mktDepthOptions=[TagValue("a", "1"), TagValue("b", "")]),
         both(w("10", "5", "21", *AAPL_F, "10", "1", "a=1;b=;")),
         note="SMART depth, options as one tag=value; text"),
    Case(D.CancelMktDepth(reqId=21, isSmartDepth=True), both(w("11", "1", "21", "1"))),
    Case(D.ReqMktDepthExchanges(), both(w("82"))),
    Case(D.ReqTickByTickData(reqId=22, contract=SPY_C, tickType="BidAsk", numberOfTicks=10,
                             ignoreSize=True),
         both(w("97", "22", *SPY_C_F, "BidAsk", "10", "1"))),
    Case(D.CancelTickByTickData(reqId=22), both(w("98", "22"))),
]
