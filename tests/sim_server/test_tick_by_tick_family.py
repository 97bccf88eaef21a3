"""The tick-by-tick family (reqTickByTickData 97 / cancelTickByTickData 98 →
tickByTick 99) through a Wire: the TickModel's events, TWS's errors and limits."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from typing import Any

import pytest

from twsbridge.protocol import Contract, incoming
from twsbridge.protocol.catalogue import depth
from twsbridge.sim.gateway.families.tick_by_tick import (
    TICK_BY_TICK_LIMIT,
    tick_model,
)
from twsbridge.sim.market.clock import REPLAY_START

from .test_session import AAPL, Wire, frozen_sim

AAPL_ID = 265598
EURUSD = Contract(symbol="EUR", secType="CASH", exchange="IDEALPRO", currency="USD")
T0 = int(REPLAY_START.timestamp())


def req(reqId: int, tickType: str, contract: Contract = AAPL, n: int = 0,
        ignoreSize: bool = False) -> depth.ReqTickByTickData:
    return depth.ReqTickByTickData(reqId=reqId, contract=contract, tickType=tickType,
                                   numberOfTicks=n, ignoreSize=ignoreSize)


def at(seconds: float) -> dt.datetime:
    return REPLAY_START + dt.timedelta(seconds=seconds)


def poll(w: Wire, seconds: float) -> list[Any]:
    data = w.session.poll(at(seconds))
    if data:
        w.client.receive_data(data)
    return list(w.client.events())


def errors(events: list[Any]) -> list[tuple[int, int]]:
    return [(e.reqId, e.errorCode) for e in events if isinstance(e, incoming.ErrorMessage)]


@pytest.fixture
def wire() -> Wire:
    w = Wire(frozen_sim())
    w.connect()
    return w


def test_all_last_history_is_the_last_n_trades_of_the_model(wire: Wire) -> None:
    got = wire.send(req(1, "AllLast", n=40))
    want = tick_model(wire.sim).trades(AAPL_ID, T0 - 600, T0)[-40:]
    assert len(got) == 40
    assert [(m.tickType, m.time, m.price, m.size, m.exchange, m.specialConditions)
            for m in got] == [(2, t.time, t.price, t.size, t.exchange, t.specialConditions)
                              for t in want]
    assert [(m.pastLimit, m.unreported) for m in got] == [(t.pastLimit, t.unreported)
                                                          for t in want]
    assert all(m.time < T0 for m in got)


def test_streaming_sends_every_event_since_the_last_poll_once(wire: Wire) -> None:
    assert wire.send(req(2, "AllLast")) == []
    first, second = poll(wire, 10), poll(wire, 20)
    assert poll(wire, 20) == []
    model = tick_model(wire.sim)
    assert [(m.time, m.price, m.size) for m in first] == [
        (t.time, t.price, t.size) for t in model.trades(AAPL_ID, T0, T0 + 10)]
    assert [(m.time, m.price, m.size) for m in second] == [
        (t.time, t.price, t.size) for t in model.trades(AAPL_ID, T0 + 10, T0 + 20)]
    assert first and {m.reqId for m in first + second} == {2}
    times = [m.time for m in first + second]
    assert times == sorted(times) and T0 <= times[0] and times[-1] < T0 + 20


def test_last_omits_odd_lots_and_off_exchange_prints(wire: Wire) -> None:
    wire.send(req(3, "Last"))
    wire.send(req(4, "AllLast"))
    events = poll(wire, 30)
    last = [m for m in events if m.reqId == 3]
    all_last = [m for m in events if m.reqId == 4]
    assert last and len(last) < len(all_last)
    assert all(m.tickType == 1 and m.size >= 100 and not m.unreported for m in last)
    assert any(m.size < 100 or m.unreported for m in all_last)
    key = [(m.time, m.price, m.size, m.exchange) for m in last]
    assert key == [(m.time, m.price, m.size, m.exchange) for m in all_last
                   if m.size >= 100 and not m.unreported]
    # two subscriptions are interleaved in time order
    assert [m.time for m in events] == sorted(m.time for m in events)


def test_bid_ask_ticks_are_the_quotes_and_ignore_size_keeps_price_changes(wire: Wire) -> None:
    wire.send(req(5, "BidAsk"))
    wire.send(req(6, "BidAsk", ignoreSize=True))
    events = poll(wire, 60)
    full = [m for m in events if m.reqId == 5]
    prices_only = [m for m in events if m.reqId == 6]
    assert full and prices_only and len(prices_only) < len(full)
    for m in full:
        q = wire.sim.prices.quote(AAPL_ID, dt.datetime.fromtimestamp(m.time, dt.UTC))
        assert (m.bidPrice, m.askPrice, m.bidSize, m.askSize) == (
            q.bid, q.ask, q.bidSize, q.askSize)
        assert (m.bidPastLow, m.askPastHigh) == (m.bidPrice < q.low, m.askPrice > q.high)
    pairs = [(m.bidPrice, m.askPrice) for m in prices_only]
    assert all(a != b for a, b in itertools.pairwise(pairs))


def test_midpoint_ticks_are_changes_of_the_quote_midpoint(wire: Wire) -> None:
    history = wire.send(req(7, "MidPoint", n=5))
    assert len(history) == 5
    events = history + poll(wire, 60)
    mids = [m for m in events if m.reqId == 7]
    assert len(mids) > 5 and all(m.tickType == 4 for m in mids)
    for m in mids:
        q = wire.sim.prices.quote(AAPL_ID, dt.datetime.fromtimestamp(m.time, dt.UTC))
        assert m.midPoint == pytest.approx((q.bid + q.ask) / 2, abs=1e-9)
    values = [m.midPoint for m in mids]
    assert all(a != b for a, b in itertools.pairwise(values))


def test_history_then_stream_has_no_overlap(wire: Wire) -> None:
    history = wire.send(req(8, "BidAsk", n=10))
    stream = poll(wire, 5)
    assert len(history) == 10
    assert max(m.time for m in history) < T0 <= min(m.time for m in stream)


def test_cancel_stops_the_stream(wire: Wire) -> None:
    wire.send(req(9, "AllLast"))
    assert poll(wire, 5)
    wire.send(depth.CancelTickByTickData(reqId=9))
    assert poll(wire, 30) == []


def test_duplicate_unknown_and_invalid_requests_are_tws_errors(wire: Wire) -> None:
    wire.send(req(10, "Last"))
    assert errors(wire.send(req(10, "BidAsk"))) == [(10, 322)]
    unknown = Contract(symbol="XXX", secType="STK", exchange="SMART", currency="USD")
    assert errors(wire.send(req(11, "Last", unknown))) == [(11, 200)]
    bad = wire.send(req(12, "Trades"))
    assert errors(bad) == [(12, 10189)] and "Trades" in bad[0].errorString
    assert errors(wire.send(req(13, "AllLast", EURUSD))) == [(13, 10189)]
    assert errors(wire.send(req(14, "BidAsk", EURUSD, n=3))) == []
    assert {m.reqId for m in poll(wire, 5)} == {10, 14}


def test_the_limit_is_per_user_and_a_cancel_frees_a_slot() -> None:
    sim = frozen_sim()
    a, b = Wire(sim), Wire(sim)
    a.connect(1)
    b.connect(2)
    for i in range(TICK_BY_TICK_LIMIT - 1):
        assert errors(a.send(req(20 + i, "MidPoint"))) == []
    assert errors(b.send(req(30, "MidPoint"))) == []
    refused = b.send(req(31, "MidPoint"))
    assert errors(refused) == [(31, 10190)]
    assert refused[0].errorString == "Max number of tick-by-tick requests has been reached."
    a.send(depth.CancelTickByTickData(reqId=20))
    assert errors(b.send(req(31, "MidPoint"))) == []


def test_data_lost_drops_the_subscriptions_and_frees_the_slots(wire: Wire) -> None:
    for i in range(TICK_BY_TICK_LIMIT):
        wire.send(req(40 + i, "BidAsk"))
    wire.session.guard.connectivity_restored(data_lost=True)
    assert errors(poll(wire, 10)) == [(-1, 1101)]
    assert errors(wire.send(req(40, "BidAsk"))) == []  # the same id is free again
    assert {m.reqId for m in poll(wire, 20)} == {40}


def test_session_close_frees_the_slots() -> None:
    sim = frozen_sim()
    a, b = Wire(sim), Wire(sim)
    a.connect(1)
    b.connect(2)
    for i in range(TICK_BY_TICK_LIMIT):
        a.send(req(50 + i, "Last"))
    a.session.close()
    assert errors(b.send(req(60, "Last"))) == []


async def test_nothing_streams_while_connectivity_is_lost(wire: Wire) -> None:
    wire.send(req(70, "AllLast"))
    loss = asyncio.create_task(wire.sim.faults.connectivity_loss(0.2, data_lost=False))
    await asyncio.sleep(0.05)
    assert wire.sim.faults.connectivity_lost
    assert [m for m in poll(wire, 30) if isinstance(m, depth.TickByTick)] == []
    await loss  # (the Wire's session is not attached to the faults: no 1100/1102 here)
    assert not wire.sim.faults.connectivity_lost
    resumed = poll(wire, 40)  # the events of the loss are not sent late
    assert resumed and min(m.time for m in resumed) >= T0 + 30
