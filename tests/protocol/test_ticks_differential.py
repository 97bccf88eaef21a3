"""The ticks family (historical ticks, histograms, market rules, SMART components)
against IB's own client and decoder, at every server version 157-178.

Client to server: the bytes our encoder writes are ``ibapi.client.EClient``'s,
byte for byte, and read back to the request (``check`` of
:mod:`.test_orders_differential`). Server to client: ``ibapi.decoder.Decoder``
reads every field of our frames and reports the values our objects hold, for
empty lists, 1000-tick lists and every bit of the tick attribute masks.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from twsbridge.protocol import (
    OUT,
    UNSET_DECIMAL,
    UNSET_DOUBLE,
    UNSET_INTEGER,
    encode_message,
    registry,
)
from twsbridge.protocol.catalogue import ticks as T
from twsbridge.protocol.catalogue._order_wire import TAGS
from twsbridge.protocol.codec import FLOAT, INT, LONG, Kind
from twsbridge.protocol.models import Contract
from twsbridge.protocol.spec import Message
from twsbridge.protocol.tick_models import (
    HistogramEntry,
    HistoricalTick,
    HistoricalTickBidAsk,
    HistoricalTickLast,
    PriceIncrement,
    SmartComponent,
)

from .cases import SPY_C
from .strategies import ascii_values, messages
from .test_orders_differential import check
from .test_orders_oracle import AAPL, EURUSD, Recorder, _Socket, to_ib

pytest.importorskip("ibapi")

from ibapi.client import EClient
from ibapi.decoder import Decoder
from ibapi.tag_value import TagValue as IbTagValue
from ibapi.wrapper import EWrapper

VERSIONS = tuple(range(157, 179))

ES = Contract(conId=495512557, symbol="ES", secType="FUT", lastTradeDateOrContractMonth="20231215",
              multiplier="50", exchange="CME", currency="USD", localSymbol="ESZ3",
              tradingClass="ES", includeExpired=True)
CONTRACTS = {"AAPL": AAPL, "EURUSD": EURUSD, "ES-future": ES, "SPY-option": SPY_C}


# ------------------------------------------------------------------ client to server


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", CONTRACTS)
@pytest.mark.parametrize(("what", "start", "end", "n", "rth", "ignore", "misc"), [
    ("TRADES", "20231020 09:30:00 US/Eastern", "", 1000, True, False, []),
    ("BID_ASK", "", "20231020 16:00:00 US/Eastern", 10, False, True, [("a", "1")]),
    ("MIDPOINT", "20231020-13:30:00", "", 0, True, True, [("a", "1"), ("b", "x y")]),
], ids=["TRADES", "BID_ASK", "MIDPOINT"])
def test_req_historical_ticks_is_ibapis(version: int, name: str, what: str, start: str,
                                        end: str, n: int, rth: bool, ignore: bool,
                                        misc: list[tuple[str, str]]) -> None:
    contract = CONTRACTS[name]
    msg = T.ReqHistoricalTicks(reqId=31, contract=contract, startDateTime=start,
                               endDateTime=end, numberOfTicks=n, whatToShow=what, useRth=rth,
                               ignoreSize=ignore, miscOptions="".join(f"{t}={v};" for t, v in misc))
    options = [IbTagValue(t, v) for t, v in misc]
    check(msg, version, lambda c: c.reqHistoricalTicks(
        31, to_ib(contract), start, end, n, what, int(rth), ignore, options))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", CONTRACTS)
@pytest.mark.parametrize(("rth", "period"), [(True, "3 days"), (False, "2 weeks")])
def test_req_histogram_data_is_ibapis(version: int, name: str, rth: bool, period: str) -> None:
    contract = CONTRACTS[name]
    msg = T.ReqHistogramData(reqId=32, contract=contract, useRTH=rth, timePeriod=period)
    check(msg, version, lambda c: c.reqHistogramData(32, to_ib(contract), rth, period))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("req_id", "rule", "bbo"), [(32, 26, "9c0001"), (0, 239, "a6"),
                                                     (-1, 0, "")])
def test_cancels_market_rules_and_smart_components_are_ibapis(
    version: int, req_id: int, rule: int, bbo: str
) -> None:
    check(T.CancelHistogramData(reqId=req_id), version,
          lambda c: c.cancelHistogramData(req_id))
    check(T.ReqMarketRule(marketRuleId=rule), version, lambda c: c.reqMarketRule(rule))
    check(T.ReqSmartComponents(reqId=req_id, bboExchange=bbo), version,
          lambda c: c.reqSmartComponents(req_id, bbo))


def test_unset_request_ints_travel_as_ibapi_sends_them() -> None:
    """IB's client writes an unset reqId as the sentinel itself: so do we (INT_MAX)."""
    check(T.ReqMarketRule(marketRuleId=UNSET_INTEGER), 178,
          lambda c: c.reqMarketRule(UNSET_INTEGER))
    check(T.CancelHistogramData(reqId=UNSET_INTEGER), 178,
          lambda c: c.cancelHistogramData(UNSET_INTEGER))


def test_ibapi_has_no_text_cancel_historical_ticks_up_to_178() -> None:
    """cancelHistoricalTicks (107) is protobuf only, from server version 215: IB's client
    refuses it at 178 (error 503), and our catalogue has no message 107 to send."""
    recorder = Recorder()
    client = EClient(recorder)
    client.conn = _Socket()
    client.serverVersion_ = 178
    client.setConnState(EClient.CONNECTED)
    client.cancelHistoricalTicks(31)
    assert [e[1] for e in recorder.errors] == [503]
    assert client.conn.sent == []
    assert 107 not in registry(OUT)


OUT_CLASSES = [T.ReqHistoricalTicks, T.ReqHistogramData, T.CancelHistogramData,
               T.ReqMarketRule, T.ReqSmartComponents]


def _ib_call(msg: Message, options: list[Any]) -> Any:
    if isinstance(msg, T.ReqHistoricalTicks):
        return lambda c: c.reqHistoricalTicks(
            msg.reqId, to_ib(msg.contract), msg.startDateTime, msg.endDateTime,
            msg.numberOfTicks, msg.whatToShow, int(msg.useRth), msg.ignoreSize, options)
    if isinstance(msg, T.ReqHistogramData):
        return lambda c: c.reqHistogramData(msg.reqId, to_ib(msg.contract), msg.useRTH,
                                            msg.timePeriod)
    if isinstance(msg, T.CancelHistogramData):
        return lambda c: c.cancelHistogramData(msg.reqId)
    if isinstance(msg, T.ReqMarketRule):
        return lambda c: c.reqMarketRule(msg.marketRuleId)
    assert isinstance(msg, T.ReqSmartComponents)
    return lambda c: c.reqSmartComponents(msg.reqId, msg.bboExchange)


@pytest.mark.parametrize("version", (157, 167, 178))
@pytest.mark.parametrize("cls", OUT_CLASSES, ids=lambda c: c.NAME)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_requests_are_ibapis(cls: type[Message], version: int,
                                    data: st.DataObject) -> None:
    msg = data.draw(messages(cls, version, ascii_values))
    options = []
    if isinstance(msg, T.ReqHistoricalTicks):
        tags = data.draw(ascii_values(TAGS))
        msg.miscOptions = TAGS.encode(tags)
        options = [IbTagValue(t.tag, t.value) for t in tags]
    contract = getattr(msg, "contract", None)
    # a conId of 2**31-1 (unset) travels empty in every request of the catalogue, as IB's
    # client sends it for placeOrder only; IB's other requests write it as the number
    assume(contract is None or contract.conId != UNSET_INTEGER)
    check(msg, version, _ib_call(msg, options))


# ------------------------------------------------------------------ server to client


class TickRecorder(EWrapper):  # type: ignore[misc]
    """An EWrapper that records the callbacks of the ticks family, and errors."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.errors: list[tuple[Any, ...]] = []

    def error(self, *args: Any) -> None:
        self.errors.append(args)

    def smartComponents(self, *args: Any) -> None:
        self.calls.append(("smartComponents", args))

    def histogramData(self, *args: Any) -> None:
        self.calls.append(("histogramData", args))

    def marketRule(self, *args: Any) -> None:
        self.calls.append(("marketRule", args))

    def historicalTicks(self, *args: Any) -> None:
        self.calls.append(("historicalTicks", args))

    def historicalTicksBidAsk(self, *args: Any) -> None:
        self.calls.append(("historicalTicksBidAsk", args))

    def historicalTicksLast(self, *args: Any) -> None:
        self.calls.append(("historicalTicksLast", args))


def ib_read(version: int, frame: bytes) -> tuple[str, tuple[Any, ...]]:
    """The one callback IB's decoder makes for ``frame``; it must read every field."""
    fields = frame[4:].split(b"\0")
    assert fields[-1] == b""
    fields = fields[:-1]
    msg_id = int(fields[0])
    recorder = TickRecorder()
    rest = iter(fields[1:])
    decoder = Decoder(recorder, version)
    decoder.msgId2handleInfo[msg_id].processMeth(decoder, rest)
    assert next(rest, None) is None, f"IB's decoder left fields unread in message {msg_id}"
    assert not recorder.errors, recorder.errors
    (call,) = recorder.calls
    return call


def sent(value: Any, kind: Kind) -> Any:
    """What IB's decoder reads for ``value``: an unset value travels empty, read as 0."""
    return 0 if kind.encode(value) == "" else value


def ours(msg: Message) -> tuple[Any, ...]:
    """Our message in the shape of IB's callback, each value as IB's decoder reads it."""
    if isinstance(msg, T.SmartComponents):
        return sent(msg.reqId, INT), [
            (sent(c.bitNumber, INT), c.exchange, c.exchangeLetter)
            for c in msg.smartComponentMap]
    if isinstance(msg, T.HistogramData):
        return sent(msg.reqId, INT), [(sent(e.price, FLOAT), e.size) for e in msg.data]
    if isinstance(msg, T.MarketRule):
        return sent(msg.marketRuleId, INT), [
            (sent(p.lowEdge, FLOAT), sent(p.increment, FLOAT)) for p in msg.priceIncrements]
    if isinstance(msg, T.HistoricalTicks):
        return sent(msg.reqId, INT), [
            (sent(t.time, LONG), sent(t.price, FLOAT), t.size) for t in msg.ticks], msg.done
    if isinstance(msg, T.HistoricalTicksBidAsk):
        return sent(msg.reqId, INT), [
            (sent(t.time, LONG), t.askPastHigh, t.bidPastLow, sent(t.priceBid, FLOAT),
             sent(t.priceAsk, FLOAT), t.sizeBid, t.sizeAsk) for t in msg.ticks], msg.done
    assert isinstance(msg, T.HistoricalTicksLast)
    return sent(msg.reqId, INT), [
        (sent(t.time, LONG), t.pastLimit, t.unreported, sent(t.price, FLOAT), t.size,
         t.exchange, t.specialConditions) for t in msg.ticks], msg.done


def theirs(name: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """IB's callback arguments, its objects flattened to the same shape."""
    if name == "smartComponents":
        req_id, items = args
        return req_id, [(c.bitNumber, c.exchange, c.exchangeLetter) for c in items]
    if name == "histogramData":
        req_id, items = args
        return req_id, [(e.price, e.size) for e in items]
    if name == "marketRule":
        rule_id, items = args
        return rule_id, [(p.lowEdge, p.increment) for p in items]
    req_id, ticks, done = args
    if name == "historicalTicks":
        return req_id, [(t.time, t.price, t.size) for t in ticks], done
    if name == "historicalTicksBidAsk":
        return req_id, [
            (t.time, t.tickAttribBidAsk.askPastHigh, t.tickAttribBidAsk.bidPastLow, t.priceBid,
             t.priceAsk, t.sizeBid, t.sizeAsk) for t in ticks], done
    assert name == "historicalTicksLast"
    return req_id, [
        (t.time, t.tickAttribLast.pastLimit, t.tickAttribLast.unreported, t.price, t.size,
         t.exchange, t.specialConditions) for t in ticks], done


def read_back(msg: Message, version: int) -> None:
    """IB's decoder reads our frame of ``msg`` to the values ``msg`` holds."""
    name, args = ib_read(version, encode_message(msg, version))
    assert name == msg.NAME
    assert theirs(name, args) == ours(msg)


T0 = 1697808600  # 2023-10-20 13:30:00 UTC
BID_ASK = [HistoricalTickBidAsk(T0 + k, mask, 171.25 + k / 100, 171.26 + k / 100,
                                Decimal(100 * k), Decimal("0.5")) for k, mask in
           enumerate((0, 1, 2, 3))]
LAST = [HistoricalTickLast(T0 + k, mask, 171.25, Decimal(k + 1), exchange, conditions)
        for k, (mask, exchange, conditions) in
        enumerate(((0, "ISLAND", ""), (1, "NYSE", "T"), (2, "ARCA", "I"), (3, "FINRA", "T I")))]
MIDPOINT_1000 = [HistoricalTick(T0 + k // 10, 171.0 + (k % 50) / 1000, Decimal(0))
                 for k in range(1000)]
BID_ASK_1000 = [dataclasses.replace(BID_ASK[k % 4], time=T0 + k) for k in range(1000)]
LAST_1000 = [dataclasses.replace(LAST[k % 4], time=T0 + k, size=Decimal(k)) for k in range(1000)]

SAMPLES: dict[str, Message] = {
    "midpoint-empty": T.HistoricalTicks(reqId=31, ticks=[], done=True),
    "midpoint-one": T.HistoricalTicks(reqId=31, ticks=[HistoricalTick(T0, 171.255, Decimal(0))]),
    "midpoint-1000": T.HistoricalTicks(reqId=31, ticks=MIDPOINT_1000, done=True),
    "bid-ask-empty": T.HistoricalTicksBidAsk(reqId=32, ticks=[], done=True),
    "bid-ask-every-mask": T.HistoricalTicksBidAsk(reqId=32, ticks=BID_ASK, done=False),
    "bid-ask-1000": T.HistoricalTicksBidAsk(reqId=32, ticks=BID_ASK_1000, done=True),
    "last-empty": T.HistoricalTicksLast(reqId=33, ticks=[], done=True),
    "last-every-mask": T.HistoricalTicksLast(reqId=33, ticks=LAST, done=False),
    "last-1000": T.HistoricalTicksLast(reqId=33, ticks=LAST_1000, done=True),
    "last-unset-values": T.HistoricalTicksLast(reqId=33, ticks=[HistoricalTickLast(
        T0, 0, UNSET_DOUBLE, UNSET_DECIMAL, "", "")], done=True),
    "histogram-empty": T.HistogramData(reqId=34, data=[]),
    "histogram": T.HistogramData(reqId=34, data=[
        HistogramEntry(171.25, Decimal(1200)), HistogramEntry(171.5, Decimal("0.5")),
        HistogramEntry(172.0, UNSET_DECIMAL)]),
    "market-rule-empty": T.MarketRule(marketRuleId=26, priceIncrements=[]),
    "market-rule": T.MarketRule(marketRuleId=239, priceIncrements=[
        PriceIncrement(0.0, 0.0001), PriceIncrement(1.0, 0.01), PriceIncrement(1000.0, 0.05)]),
    "smart-empty": T.SmartComponents(reqId=35, smartComponentMap=[]),
    "smart": T.SmartComponents(reqId=35, smartComponentMap=[
        SmartComponent(1, "NYSE", "N"), SmartComponent(12, "ISLAND", "Q"),
        SmartComponent(29, "IEX", "V")]),
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", SAMPLES)
def test_samples_as_ibapi_reads_them(name: str, version: int) -> None:
    read_back(SAMPLES[name], version)


def test_every_mask_bit_as_ibapi_reads_it() -> None:
    """Bit 1 and bit 2 of each mask, apart and together, as IB's attribute objects."""
    _, (_, ticks, done) = ib_read(178, encode_message(SAMPLES["bid-ask-every-mask"], 178))
    assert [(t.tickAttribBidAsk.askPastHigh, t.tickAttribBidAsk.bidPastLow) for t in ticks] == [
        (False, False), (True, False), (False, True), (True, True)]
    assert done is False
    _, (_, ticks, done) = ib_read(157, encode_message(SAMPLES["last-every-mask"], 157))
    assert [(t.tickAttribLast.pastLimit, t.tickAttribLast.unreported) for t in ticks] == [
        (False, False), (True, False), (False, True), (True, True)]
    assert [t.specialConditions for t in ticks] == ["", "T", "I", "T I"]


def test_a_thousand_ticks_as_ibapi_reads_them() -> None:
    _, (req_id, ticks, done) = ib_read(176, encode_message(SAMPLES["last-1000"], 176))
    assert (req_id, len(ticks), done) == (33, 1000, True)
    assert (ticks[999].time, ticks[999].size, ticks[999].exchange) == (
        T0 + 999, Decimal(999), "FINRA")
    _, (_, ticks, _) = ib_read(176, encode_message(SAMPLES["midpoint-1000"], 176))
    assert [t.price for t in ticks[:3]] == [171.0, 171.001, 171.002]


IN_CLASSES = [T.HistoricalTicks, T.HistoricalTicksBidAsk, T.HistoricalTicksLast,
              T.HistogramData, T.MarketRule, T.SmartComponents]


@pytest.mark.parametrize("version", (157, 167, 178))
@pytest.mark.parametrize("cls", IN_CLASSES, ids=lambda c: c.NAME)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_messages_as_ibapi_reads_them(cls: type[Message], version: int,
                                             data: st.DataObject) -> None:
    read_back(data.draw(messages(cls, version)), version)
