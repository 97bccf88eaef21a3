"""SimSession wired to our ClientConnection in-process (no socket)."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
from importlib import resources
from typing import Any

import pytest

from twsbridge.protocol import (
    ClientConnection,
    Contract,
    ServerHello,
    encode_frame,
    incoming,
    outgoing,
)
from twsbridge.protocol.catalogue.generic import Unknown
from twsbridge.protocol.spec import Message
from twsbridge.sim import SimSession, Simulator
from twsbridge.sim.market.clock import REPLAY_START, SimClock
from twsbridge.sim.reference.calendar import SIM_TZ

AAPL = Contract(symbol="AAPL", secType="STK", exchange="SMART", currency="USD")


class Wire:
    """A ClientConnection and a SimSession joined by function calls."""

    def __init__(self, sim: Simulator, session: SimSession | None = None,
                 client: ClientConnection | None = None) -> None:
        self.sim = sim
        self.session = session or SimSession(sim)
        self.client = client or ClientConnection()

    def feed(self, data: bytes) -> list[Any]:
        answer = self.session.receive_data(data)
        if answer:
            self.client.receive_data(answer)
        return list(self.client.events())

    def send(self, msg: Message | Unknown) -> list[Any]:
        return self.feed(self.client.send(msg))

    def poll(self) -> list[Any]:
        data = self.session.poll()
        if data:
            self.client.receive_data(data)
        return list(self.client.events())

    def connect(self, client_id: int = 1) -> list[Any]:
        hello = self.feed(self.client.hello())
        assert isinstance(hello[0], ServerHello)
        return self.feed(self.client.start_api(client_id))


def frozen_sim(start: dt.datetime | None = None) -> Simulator:
    return Simulator(clock=SimClock(start or REPLAY_START, speed=0))


@pytest.fixture
def wire() -> Wire:
    w = Wire(frozen_sim())
    w.connect()
    return w


def test_handshake_answers_version_and_sim_time() -> None:
    w = Wire(frozen_sim())
    events = w.feed(w.client.hello())
    assert events == [ServerHello(178, "20130301 10:00:00 EST")]
    assert w.session.server_version == 178
    assert not w.session.closed


def test_start_api_answers_in_tws_order() -> None:
    w = Wire(frozen_sim())
    events = w.connect(client_id=7)
    assert [type(e) for e in events[:2]] == [incoming.ManagedAccounts, incoming.NextValidId]
    assert events[0].accountsList == "DU1234567"
    assert events[1].orderId >= 1
    notices = events[2:]
    assert [(e.reqId, e.errorCode) for e in notices] == [(-1, 2104), (-1, 2106), (-1, 2158)]
    assert notices[2].errorString == "Sec-def data farm connection is OK:secdefnj"
    assert w.session.client_id == 7
    assert w.sim.client_ids == {7}


def test_contract_details_amd_is_exactly_one(wire: Wire) -> None:
    amd = Contract(symbol="AMD", secType="STK", exchange="SMART", currency="USD")
    events = wire.send(outgoing.ReqContractDetails(reqId=3, contract=amd))
    details = [e for e in events if isinstance(e, incoming.ContractData)]
    assert [d.contractDetails.contract.conId for d in details] == [4391]
    assert details[0].reqId == 3
    assert details[0].contractDetails.longName == "ADVANCED MICRO DEVICES"
    assert isinstance(events[-1], incoming.ContractDataEnd) and events[-1].reqId == 3


def test_contract_details_by_conid_and_isin(wire: Wire) -> None:
    events = wire.send(outgoing.ReqContractDetails(reqId=4, contract=Contract(conId=8314)))
    assert events[0].contractDetails.contract.symbol == "IBM"
    isin = Contract(secIdType="ISIN", secId="US5949181045")
    events = wire.send(outgoing.ReqContractDetails(reqId=5, contract=isin))
    assert events[0].contractDetails.contract.conId == 272093


def test_unknown_symbol_is_error_200(wire: Wire) -> None:
    xxx = Contract(symbol="XXX", secType="STK", exchange="SMART", currency="USD")
    events = wire.send(outgoing.ReqContractDetails(reqId=11, contract=xxx))
    assert len(events) == 1
    err = events[0]
    assert isinstance(err, incoming.ErrorMessage)
    assert (err.reqId, err.errorCode) == (11, 200)
    assert err.errorString == "No security definition has been found for the request"


def test_snapshot_has_bid_below_ask_and_ends(wire: Wire) -> None:
    events = wire.send(outgoing.ReqMktData(reqId=21, contract=AAPL, snapshot=True))
    assert isinstance(events[0], incoming.TickReqParams)
    prices = {e.tickType: e.price for e in events if isinstance(e, incoming.TickPrice)}
    assert prices[1] < prices[2]
    assert prices[4] > 0
    sizes = {e.tickType for e in events if isinstance(e, incoming.TickSize)}
    assert {0, 3, 5, 8} <= sizes
    assert isinstance(events[-1], incoming.TickSnapshotEnd) and events[-1].reqId == 21
    # a snapshot is no subscription: the same reqId can be used again
    again = wire.send(outgoing.ReqMktData(reqId=21, contract=AAPL, snapshot=True))
    assert isinstance(again[-1], incoming.TickSnapshotEnd)


def test_streaming_sends_changes_until_cancelled(wire: Wire) -> None:
    first = wire.send(outgoing.ReqMktData(reqId=5, contract=AAPL))
    assert not any(isinstance(e, incoming.TickSnapshotEnd) for e in first)
    assert not any(isinstance(e, incoming.MarketDataType) for e in first)
    updates: list[Any] = []
    for _ in range(20):
        wire.sim.clock.advance(0.25)
        updates += wire.poll()
    assert updates, "no tick in 5 simulated seconds of a regular session"
    assert all(getattr(e, "reqId", None) == 5 for e in updates)
    assert any(isinstance(e, incoming.TickSize) and e.tickType == 8 for e in updates)
    dup = wire.send(outgoing.ReqMktData(reqId=5, contract=AAPL))
    assert [(e.errorCode, e.reqId) for e in dup] == [(322, 5)]
    wire.send(outgoing.CancelMktData(reqId=5))
    wire.sim.clock.advance(5)
    assert wire.poll() == []


def test_delayed_market_data_uses_delayed_ids(wire: Wire) -> None:
    wire.send(outgoing.ReqMarketDataType(marketDataType=3))
    events = wire.send(outgoing.ReqMktData(reqId=6, contract=AAPL, snapshot=True))
    assert isinstance(events[1], incoming.MarketDataType) and events[1].marketDataType == 3
    price_ids = {e.tickType for e in events if isinstance(e, incoming.TickPrice)}
    assert price_ids == {66, 67, 68, 72, 73, 75, 76}
    assert any(isinstance(e, incoming.TickString) and e.tickType == 88 for e in events)


def test_unknown_market_data_contract_is_error_200(wire: Wire) -> None:
    xxx = Contract(symbol="XXX", secType="STK", exchange="SMART", currency="USD")
    events = wire.send(outgoing.ReqMktData(reqId=8, contract=xxx))
    assert [(e.reqId, e.errorCode) for e in events] == [(8, 200)]


def _dataset_closes(ticker: str) -> dict[str, float]:
    raw = resources.files("bokeh_sampledata").joinpath("_data/stocks.csv.gz").read_bytes()
    rows = csv.DictReader(gzip.decompress(raw).decode().splitlines())
    return {r["Date"].replace("-", ""): float(r["Close"]) for r in rows if r["Ticker"] == ticker}


def test_historical_daily_aapl_closes_are_the_data_set() -> None:
    w = Wire(frozen_sim(dt.datetime(2013, 3, 1, 17, 0, tzinfo=SIM_TZ)))
    w.connect()
    req = outgoing.ReqHistoricalData(reqId=9, contract=AAPL, durationStr="60 D",
                                     barSizeSetting="1 day", whatToShow="TRADES",
                                     useRTH=True, formatDate=1)
    (hist,) = w.send(req)
    assert isinstance(hist, incoming.HistoricalData) and hist.reqId == 9
    assert len(hist.bars) == 60
    assert hist.bars[-1].date == "20130301"
    real = _dataset_closes("AAPL")
    assert [b.close for b in hist.bars] == [real[b.date] for b in hist.bars]


def test_historical_errors_carry_the_request_id(wire: Wire) -> None:
    bad = outgoing.ReqHistoricalData(reqId=12, contract=AAPL, durationStr="1 D",
                                     barSizeSetting="7 mins", whatToShow="TRADES")
    (err,) = wire.send(bad)
    assert (err.reqId, err.errorCode) == (12, 321)


def test_keep_up_to_date_streams_bar_updates(wire: Wire) -> None:
    req = outgoing.ReqHistoricalData(reqId=13, contract=AAPL, durationStr="600 S",
                                     barSizeSetting="1 min", whatToShow="TRADES",
                                     keepUpToDate=True, formatDate=2)
    (hist,) = wire.send(req)
    assert hist.bars
    wire.sim.clock.advance(6)
    updates = wire.poll()
    assert [type(e) for e in updates] == [incoming.HistoricalDataUpdate]
    assert int(updates[0].bar.date) == int(hist.bars[-1].date)
    wire.send(outgoing.CancelHistoricalData(reqId=13))
    wire.sim.clock.advance(6)
    assert wire.poll() == []


def test_head_timestamp_formats(wire: Wire) -> None:
    req = outgoing.ReqHeadTimeStamp(reqId=14, contract=AAPL, whatToShow="TRADES",
                                    useRTH=True, formatDate=1)
    (text,) = wire.send(req)
    assert text.headTimestamp == "20000301-14:30:00"
    req.formatDate = 2
    (epoch,) = wire.send(req)
    expected = dt.datetime(2000, 3, 1, 14, 30, tzinfo=dt.UTC).timestamp()
    assert int(epoch.headTimestamp) == expected


def test_current_time_and_matching_symbols(wire: Wire) -> None:
    (now,) = wire.send(outgoing.ReqCurrentTime())
    assert now.time == wire.sim.clock.epoch()
    (samples,) = wire.send(outgoing.ReqMatchingSymbols(reqId=15, pattern="intc"))
    symbols = [d.contract.symbol for d in samples.contractDescriptions]
    assert "INTC" in symbols and len(symbols) <= 16


def test_account_requests_end_with_their_markers(wire: Wire) -> None:
    events = wire.send(outgoing.ReqAccountUpdates(subscribe=True, acctCode="DU1234567"))
    assert isinstance(events[-1], incoming.AccountDownloadEnd)
    assert isinstance(events[-2], incoming.UpdateAccountTime)
    values = {(e.key, e.currency): e.val for e in events
              if isinstance(e, incoming.UpdateAccountValue)}
    assert values[("NetLiquidation", "USD")] == "1000000.00"
    assert values[("TotalCashValue", "USD")] == "1000000.00"
    assert values[("CashBalance", "BASE")] == "1000000.00"
    events = wire.send(outgoing.ReqPositions())
    assert [type(e) for e in events] == [incoming.PositionEnd]
    events = wire.send(outgoing.ReqAccountSummary(reqId=16, groupName="All",
                                                  tags="NetLiquidation,BuyingPower"))
    assert [(e.tag, e.value) for e in events[:-1]] == [("BuyingPower", "4000000.00"),
                                                        ("NetLiquidation", "1000000.00")]
    assert isinstance(events[-1], incoming.AccountSummaryEnd)
    events = wire.send(outgoing.ReqAccountUpdatesMulti(reqId=17, account="DU1234567"))
    assert isinstance(events[-1], incoming.AccountUpdateMultiEnd) and events[-1].reqId == 17
    assert len(events) > 100
    for req, end in ((outgoing.ReqOpenOrders(), incoming.OpenOrderEnd),
                     (outgoing.ReqAllOpenOrders(), incoming.OpenOrderEnd),
                     (outgoing.ReqCompletedOrders(), incoming.CompletedOrdersEnd),
                     (outgoing.ReqExecutions(reqId=18), incoming.ExecDetailsEnd)):
        assert [type(e) for e in wire.send(req)] == [end]


def test_periodic_account_update_time(wire: Wire) -> None:
    wire.send(outgoing.ReqAccountUpdates(subscribe=True))
    wire.sim.clock.advance(181)
    assert [type(e) for e in wire.poll()] == [incoming.UpdateAccountTime]
    wire.send(outgoing.ReqAccountUpdates(subscribe=False))
    wire.sim.clock.advance(181)
    assert wire.poll() == []


def test_auto_open_orders_needs_client_zero(wire: Wire) -> None:
    (err,) = wire.send(outgoing.ReqAutoOpenOrders(bAutoBind=True))
    assert err.errorCode == 321
    w0 = Wire(frozen_sim())
    w0.connect(client_id=0)
    assert w0.send(outgoing.ReqAutoOpenOrders(bAutoBind=True)) == []


def test_real_time_bars_every_5_seconds_until_cancelled(wire: Wire) -> None:
    assert wire.send(outgoing.ReqRealTimeBars(reqId=21, contract=AAPL, whatToShow="TRADES",
                                              useRTH=False)) == []
    wire.sim.clock.advance(16)  # bars start on the next multiple of 5 s
    bars = wire.poll()
    assert len(bars) == 2 and all(isinstance(b, incoming.RealTimeBar) for b in bars)
    assert bars[0].reqId == 21 and bars[0].time % 5 == 0
    assert bars[1].time - bars[0].time == 5
    assert all(b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high for b in bars)
    assert all(b.volume >= 0 and b.count >= 0 for b in bars)
    wire.send(outgoing.CancelRealTimeBars(reqId=21))
    wire.sim.clock.advance(11)
    assert wire.poll() == []


def test_real_time_bars_mid_and_errors(wire: Wire) -> None:
    wire.send(outgoing.ReqRealTimeBars(reqId=22, contract=AAPL, whatToShow="MIDPOINT"))
    wire.sim.clock.advance(10)
    (bar,) = wire.poll()
    assert (bar.volume, bar.wap, bar.count) == (-1, -1, -1)
    (err,) = wire.send(outgoing.ReqRealTimeBars(reqId=23, contract=AAPL, barSize=10))
    assert (err.reqId, err.errorCode) == (23, 321)
    (err,) = wire.send(outgoing.ReqRealTimeBars(reqId=24, contract=Contract(
        symbol="NOSUCH", secType="STK", exchange="SMART", currency="USD")))
    assert (err.reqId, err.errorCode) == (24, 200)


def test_unimplemented_request_gets_a_named_error(wire: Wire) -> None:
    (err,) = wire.send(Unknown("52", ["2", "42", "8314"], "out"))  # reqFundamentalData
    assert (err.reqId, err.errorCode) == (42, 503)
    assert "reqFundamentalData" in err.errorString
    assert not wire.session.closed


def test_malformed_request_closes_after_an_error(wire: Wire) -> None:
    events = wire.feed(encode_frame(b"9\x002\x00notanint\x00"))
    assert [(e.reqId, e.errorCode) for e in events] == [(-1, 320)]
    assert wire.session.closed
    assert wire.sim.client_ids == frozenset()
    assert wire.session.receive_data(b"more") == b""


@pytest.mark.parametrize("payload", ["ab\0", "\u00b2\0", "\0"])
def test_bad_message_id_closes_after_an_error(wire: Wire, payload: str) -> None:
    events = wire.feed(encode_frame(payload.encode()))
    assert [(e.reqId, e.errorCode) for e in events] == [(-1, 320)]
    assert wire.session.closed


def test_duplicate_client_id_is_refused_with_326() -> None:
    sim = frozen_sim()
    first = Wire(sim)
    first.connect(client_id=3)
    second = Wire(sim)
    events = second.connect(client_id=3)
    assert [(e.reqId, e.errorCode) for e in events] == [(-1, 326)]
    assert second.session.closed and not first.session.closed
    first.session.close()
    third = Wire(sim)
    assert isinstance(third.connect(client_id=3)[0], incoming.ManagedAccounts)


def test_unservable_version_range_is_refused_by_closing() -> None:
    session = SimSession(frozen_sim())
    assert session.receive_data(b"API\0" + encode_frame(b"v100..150")) == b""
    assert session.closed and "v100..150" in (session.close_reason or "")
    narrow = Wire(frozen_sim(), SimSession(frozen_sim(), min_version=170),
                  ClientConnection(157, 165))
    assert narrow.feed(narrow.client.hello()) == []
    assert narrow.session.closed


def test_peer_close_frees_the_client_id(wire: Wire) -> None:
    assert wire.session.receive_data(b"") == b""
    assert wire.session.closed
    assert wire.sim.client_ids == frozenset()
