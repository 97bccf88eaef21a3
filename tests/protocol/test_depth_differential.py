"""Market depth and tick-by-tick (``catalogue.depth``) against IB's Python client and decoder.

Client to server: at every server version 157..178 our encoder writes the bytes
``ibapi.client.EClient`` writes for the same request (stock, SMART depth, a
future, options; several row counts, tick types and flags), and our decoder
(the simulator's side) reads IB's bytes back into the request. Non-empty
mktDepthOptions, which IB's Python client refuses, are checked against
ib_async's client instead.

Server to client: ``ibapi.decoder.Decoder`` reads every field of the frames we
encode and reports the values our objects hold, at every version, for every
tickByTick variant; random messages too (every field drawn).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twsbridge.protocol import UNSET_INTEGER, UNSET_LONG, encode_message
from twsbridge.protocol.catalogue import depth as D
from twsbridge.protocol.codec import Kind
from twsbridge.protocol.depth_models import DepthMktDataDescription
from twsbridge.protocol.models import Contract, TagValue
from twsbridge.protocol.spec import Message

from .cases import AAPL, BAG, CASES, SPY_C
from .strategies import ascii_values, messages, values
from .test_orders_differential import check, fields
from .test_orders_ibapi_decoder import same
from .test_orders_oracle import Recorder, ib_send, to_ib

pytest.importorskip("ibapi")

from ib_async.client import Client as IbAsyncClient
from ibapi.client import EClient
from ibapi.decoder import Decoder

VERSIONS = tuple(range(157, 179))

ISLAND = dataclasses.replace(AAPL, exchange="ISLAND")  # depth direct-routed to one exchange
ES = Contract(symbol="ES", secType="FUT", lastTradeDateOrContractMonth="202412",
              multiplier="50", exchange="CME", currency="USD", localSymbol="ESZ4",
              tradingClass="ES")
ES_CONID = Contract(conId=495512557, exchange="CME")
SPY_P = Contract(conId=671234567, symbol="SPY", secType="OPT",
                 lastTradeDateOrContractMonth="20240621", strike=430.5, right="P",
                 multiplier="100", exchange="BOX", primaryExchange="", currency="USD",
                 tradingClass="SPY")
CONTRACTS = {"stock": ISLAND, "smart": AAPL, "future": ES, "future-conId": ES_CONID,
             "call": SPY_C, "put": SPY_P}


# ------------------------------------------------------------------ client -> server


def ib_call(msg: Message) -> Callable[[Any], None]:
    """The call of IB's client that sends ``msg`` (IB's client sends no mktDepthOptions)."""
    if isinstance(msg, D.ReqMktDepth):
        assert msg.mktDepthOptions == []
        c = to_ib(msg.contract)
        return lambda cl: cl.reqMktDepth(msg.reqId, c, msg.numRows, msg.isSmartDepth, [])
    if isinstance(msg, D.CancelMktDepth):
        return lambda cl: cl.cancelMktDepth(msg.reqId, msg.isSmartDepth)
    if isinstance(msg, D.ReqMktDepthExchanges):
        return lambda cl: cl.reqMktDepthExchanges()
    if isinstance(msg, D.ReqTickByTickData):
        c = to_ib(msg.contract)
        return lambda cl: cl.reqTickByTickData(msg.reqId, c, msg.tickType, msg.numberOfTicks,
                                               msg.ignoreSize)
    assert isinstance(msg, D.CancelTickByTickData)
    return lambda cl: cl.cancelTickByTickData(msg.reqId)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", CONTRACTS)
def test_req_mkt_depth_is_ibapis(version: int, name: str) -> None:
    contract = CONTRACTS[name]
    for num_rows in (1, 5, 20):
        for smart in (False, True):
            msg = D.ReqMktDepth(reqId=40 + num_rows, contract=contract, numRows=num_rows,
                                isSmartDepth=smart, mktDepthOptions=[])
            check(msg, version, ib_call(msg))


@pytest.mark.parametrize("version", VERSIONS)
def test_cancel_mkt_depth_and_depth_exchanges_are_ibapis(version: int) -> None:
    for smart in (False, True):
        msg = D.CancelMktDepth(reqId=45, isSmartDepth=smart)
        check(msg, version, ib_call(msg))
    check(D.ReqMktDepthExchanges(), version, lambda c: c.reqMktDepthExchanges())


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", CONTRACTS)
def test_req_tick_by_tick_data_is_ibapis(version: int, name: str) -> None:
    contract = CONTRACTS[name]
    for tick_type in ("Last", "AllLast", "BidAsk", "MidPoint"):
        for ticks, ignore in ((0, False), (10, True), (1000, False)):
            msg = D.ReqTickByTickData(reqId=50, contract=contract, tickType=tick_type,
                                      numberOfTicks=ticks, ignoreSize=ignore)
            check(msg, version, ib_call(msg))


@pytest.mark.parametrize("version", VERSIONS)
def test_cancel_tick_by_tick_data_is_ibapis(version: int) -> None:
    check(D.CancelTickByTickData(reqId=50), version, lambda c: c.cancelTickByTickData(50))


@pytest.mark.parametrize("version", VERSIONS)
def test_depth_and_tick_requests_send_no_combo_legs(version: int) -> None:
    """A BAG contract's legs do not travel (IB's client sends none either): the
    request decodes back to the same contract without them."""
    assert BAG.comboLegs
    no_legs = dataclasses.replace(BAG, comboLegs=[])
    for msg in (D.ReqMktDepth(reqId=47, contract=BAG, numRows=3),
                D.ReqTickByTickData(reqId=51, contract=BAG, tickType="MidPoint")):
        ours = encode_message(msg, version)
        assert ours == ib_send(version, ib_call(msg))
        assert ours == encode_message(dataclasses.replace(msg, contract=no_legs), version)


def ib_async_bytes(call: Callable[[Any], None]) -> bytes:
    """The frame ib_async's client writes for ``call(client)`` (its ``send``, which
    formats the fields, runs unmodified; only the socket write is recorded)."""
    sent: list[str] = []
    client = IbAsyncClient(None)  # type: ignore[no-untyped-call]
    client.connState = IbAsyncClient.CONNECTED
    client.sendMsg = sent.append  # type: ignore[method-assign, assignment]
    call(client)
    (payload,) = sent
    data = payload.encode()
    return len(data).to_bytes(4, "big") + data


OPTIONS = [
    [TagValue("XYZ", "1")],
    [TagValue("a", "1"), TagValue("b", ""), TagValue("c", "x=y")],
]


@pytest.mark.parametrize("options", OPTIONS, ids=["one", "three"])
def test_mkt_depth_options_ibapi_refuses_travel_as_ib_async_sends_them(
    options: list[TagValue],
) -> None:
    msg = D.ReqMktDepth(reqId=46, contract=ISLAND, numRows=5, mktDepthOptions=options)
    theirs = ib_async_bytes(lambda c: c.reqMktDepth(46, to_ib(ISLAND), 5, False,
                                                    to_ib(options)))
    assert fields(theirs)[-2] == "".join(f"{t.tag}={t.value};" for t in options)
    for version in VERSIONS:
        assert encode_message(msg, version) == theirs
    # IB's Python client sends nothing and reports 519 (it supports none of these options)
    recorder = Recorder()
    client = EClient(recorder)
    sent: list[bytes] = []
    client.conn = type("S", (), {"sendMsg": lambda s, m: sent.append(m),
                                 "isConnected": lambda s: True})()
    client.serverVersion_ = 178
    client.setConnState(EClient.CONNECTED)
    client.reqMktDepth(46, to_ib(ISLAND), 5, False, to_ib(options))
    assert sent == []
    assert [e[:2] for e in recorder.errors] == [(46, 519)]


def _ascii_pick(kind: Kind, path: str) -> st.SearchStrategy[Any]:
    if path == "contract.conId":  # contract_fields sends an unset conId empty, IB literally
        return st.integers(-(2**31), 2**31 - 2)
    return ascii_values(kind, path)


OUT_CLASSES: list[type[Message]] = [D.ReqMktDepth, D.CancelMktDepth, D.ReqMktDepthExchanges,
                                    D.ReqTickByTickData, D.CancelTickByTickData]


@pytest.mark.parametrize("version", (157, 163, 170, 178))
@pytest.mark.parametrize("cls", OUT_CLASSES, ids=lambda c: c.NAME)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_requests_are_byte_for_byte_ibapis(
    cls: type[Message], version: int, data: st.DataObject
) -> None:
    msg = data.draw(messages(cls, version, _ascii_pick))
    if hasattr(msg, "version"):  # the legacy version: IB's client sends its constant
        msg.version = type(msg)().version  # type: ignore[attr-defined]
    if isinstance(msg, D.ReqMktDepth):
        msg.mktDepthOptions = []  # IB's client refuses any (see the ib_async test)
    check(msg, version, ib_call(msg))


# ------------------------------------------------------------------ server -> client


class DepthRecorder(Recorder):
    """Records the depth and tick-by-tick callbacks, attribute objects as tuples."""

    def updateMktDepth(self, *args: Any) -> None:
        self._record("updateMktDepth", *args)

    def updateMktDepthL2(self, *args: Any) -> None:
        self._record("updateMktDepthL2", *args)

    def mktDepthExchanges(self, descriptions: list[Any]) -> None:
        self._record("mktDepthExchanges", [
            (d.exchange, d.secType, d.listingExch, d.serviceDataType, d.aggGroup)
            for d in descriptions])

    def tickByTickAllLast(self, *args: Any) -> None:
        attrib = args[5]
        self._record("tickByTickAllLast", *args[:5], (attrib.pastLimit, attrib.unreported),
                     *args[6:])

    def tickByTickBidAsk(self, *args: Any) -> None:
        attrib = args[6]
        self._record("tickByTickBidAsk", *args[:6], (attrib.bidPastLow, attrib.askPastHigh))

    def tickByTickMidPoint(self, *args: Any) -> None:
        self._record("tickByTickMidPoint", *args)


def ib_callbacks(version: int, frame: bytes) -> list[tuple[str, tuple[Any, ...]]]:
    """The callbacks IB's decoder makes for ``frame`` at ``version``; it must read
    every field and report no error."""
    parts = frame[4:].split(b"\0")[:-1]
    msg_id = int(parts[0])
    recorder = DepthRecorder()
    Decoder(recorder, version).interpret(tuple(parts[1:]), msg_id)
    assert not recorder.errors, recorder.errors
    rest = iter(parts[1:])
    decoder = Decoder(DepthRecorder(), version)
    decoder.msgId2handleInfo[msg_id].processMeth(decoder, rest)
    assert next(rest, None) is None, f"IB's decoder left fields unread in message {msg_id}"
    return recorder.calls


def expected_callbacks(msg: Message) -> list[tuple[str, tuple[Any, ...]]]:
    """What IB's decoder should report for ``msg``, in its callbacks' argument order."""
    if isinstance(msg, D.UpdateMktDepth):
        return [("updateMktDepth", (msg.reqId, msg.position, msg.operation, msg.side,
                                    msg.price, msg.size))]
    if isinstance(msg, D.UpdateMktDepthL2):
        return [("updateMktDepthL2", (msg.reqId, msg.position, msg.marketMaker, msg.operation,
                                      msg.side, msg.price, msg.size, msg.isSmartDepth))]
    if isinstance(msg, D.MktDepthExchanges):
        return [("mktDepthExchanges", ([
            (d.exchange, d.secType, d.listingExch, d.serviceDataType, d.aggGroup)
            for d in msg.depthMktDataDescriptions],))]
    assert isinstance(msg, D.TickByTick)
    if msg.tickType in (1, 2):
        return [("tickByTickAllLast", (
            msg.reqId, msg.tickType, msg.time, msg.price, msg.size,
            (msg.pastLimit, msg.unreported), msg.exchange, msg.specialConditions))]
    if msg.tickType == 3:
        return [("tickByTickBidAsk", (msg.reqId, msg.time, msg.bidPrice, msg.askPrice,
                                      msg.bidSize, msg.askSize,
                                      (msg.bidPastLow, msg.askPastHigh)))]
    if msg.tickType == 4:
        return [("tickByTickMidPoint", (msg.reqId, msg.time, msg.midPoint))]
    return []  # 0 "None" (and types IB's decoder does not know): no callback


def agree(ours: Any, theirs: Any) -> bool:
    """``same`` (IB reads an empty int or float as 0), element-wise through tuples and lists."""
    if isinstance(ours, (tuple, list)) and isinstance(theirs, (tuple, list)):
        return len(ours) == len(theirs) and all(
            agree(a, b) for a, b in zip(ours, theirs, strict=True))
    return same(ours, theirs) or (ours == UNSET_LONG and theirs == 0)


def check_decoded(msg: Message, version: int) -> list[tuple[str, tuple[Any, ...]]]:
    got = ib_callbacks(version, encode_message(msg, version))
    want = expected_callbacks(msg)
    assert [n for n, _ in got] == [n for n, _ in want]
    for (name, theirs), (_, ours) in zip(got, want, strict=True):
        assert agree(ours, theirs), f"{name}: ours {ours!r}, IB's decoder {theirs!r}"
    return got


DEPTH_IN = [c.msg for c in CASES if c.msg.DIRECTION == "in" and
            type(c.msg).__module__ == D.__name__]


def test_the_samples_cover_every_incoming_message_and_tick_type() -> None:
    assert {type(m) for m in DEPTH_IN} == {D.UpdateMktDepth, D.UpdateMktDepthL2,
                                           D.MktDepthExchanges, D.TickByTick}
    ticks = [m for m in DEPTH_IN if isinstance(m, D.TickByTick)]
    assert sorted(m.tickType for m in ticks) == [0, 1, 2, 3, 4]
    assert any(m.pastLimit and m.unreported for m in ticks)
    assert any(m.askPastHigh for m in ticks)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("msg", DEPTH_IN, ids=lambda m: f"{m.NAME}-{getattr(m, 'tickType', '')}")
def test_samples_as_ibapi_reads_them(msg: Message, version: int) -> None:
    check_decoded(msg, version)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_brief_values_as_ibapi_reads_them(version: int) -> None:
    last = D.TickByTick(reqId=9, tickType=2, time=1697808601, price=171.5,
                        size=Decimal("12.5"), attrMask=1, exchange="ARCA",
                        specialConditions="T I")
    assert check_decoded(last, version) == [("tickByTickAllLast", (
        9, 2, 1697808601, 171.5, Decimal("12.5"), (True, False), "ARCA", "T I"))]
    bid_ask = D.TickByTick(reqId=9, tickType=3, time=1697808602, bidPrice=171.25,
                           askPrice=171.5, bidSize=Decimal(3), askSize=Decimal(400), attrMask=1)
    assert check_decoded(bid_ask, version) == [("tickByTickBidAsk", (
        9, 1697808602, 171.25, 171.5, Decimal(3), Decimal(400), (True, False)))]
    assert check_decoded(D.TickByTick(reqId=9, tickType=4, time=5, midPoint=171.375),
                         version) == [("tickByTickMidPoint", (9, 5, 171.375))]
    l2 = D.UpdateMktDepthL2(reqId=3, position=1, marketMaker="ARCA", operation=1, side=1,
                            price=171.2, size=Decimal(200), isSmartDepth=True)
    assert check_decoded(l2, version) == [("updateMktDepthL2", (
        3, 1, "ARCA", 1, 1, 171.2, Decimal(200), True))]
    exchanges = D.MktDepthExchanges([
        DepthMktDataDescription("NYSE", "STK", "NYSE", "Deep", 7),
        DepthMktDataDescription("BATS", "STK", "", "Deep2", UNSET_INTEGER),
    ])
    assert check_decoded(exchanges, version) == [("mktDepthExchanges", ([
        ("NYSE", "STK", "NYSE", "Deep", 7), ("BATS", "STK", "", "Deep2", 0)],))]


def _pick(kind: Kind, path: str) -> st.SearchStrategy[Any]:
    if path == "tickType":  # the variants often, other ids sometimes
        return st.sampled_from([0, 1, 2, 3, 4]) | st.integers(-5, 100)
    return values(kind, path)


IN_CLASSES: list[type[Message]] = [D.UpdateMktDepth, D.UpdateMktDepthL2, D.MktDepthExchanges,
                                   D.TickByTick]


@pytest.mark.parametrize("version", (157, 163, 170, 176, 178))
@pytest.mark.parametrize("cls", IN_CLASSES, ids=lambda c: c.NAME)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_messages_as_ibapi_reads_them(
    cls: type[Message], version: int, data: st.DataObject
) -> None:
    check_decoded(data.draw(messages(cls, version, _pick)), version)
