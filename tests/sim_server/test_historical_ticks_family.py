"""The historical ticks and rules families of the simulator: reqHistoricalTicks (96),
reqHistogramData (88/89), reqMarketRule (91) and reqSmartComponents (83), through
``Wire`` (no socket) and once over a real socket."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from twsbridge.protocol import Contract, incoming, outgoing
from twsbridge.protocol.catalogue import ticks as wire
from twsbridge.sim import SimServer, Simulator
from twsbridge.sim.market.clock import REPLAY_START, SimClock
from twsbridge.sim.market.ticks import TickModel
from twsbridge.sim.reference.calendar import SIM_TZ

from .raw_client import Client
from .test_session import AAPL, Wire, frozen_sim

EURUSD = Contract(symbol="EUR", secType="CASH", exchange="IDEALPRO", currency="USD")
AAPL_ID = 265598


@pytest.fixture
def w() -> Wire:
    x = Wire(frozen_sim())
    x.connect()
    return x


def ticks(w: Wire, reqId: int = 7, **kw: object) -> list[object]:
    kw.setdefault("contract", AAPL)
    kw.setdefault("numberOfTicks", 100)
    kw.setdefault("useRth", False)
    return w.send(wire.ReqHistoricalTicks(reqId=reqId, **kw))  # type: ignore[arg-type]


def only(events: list[object], cls: type) -> object:
    [ev] = events
    assert isinstance(ev, cls), ev
    return ev


def errors(events: list[object]) -> list[tuple[int, int]]:
    return [(e.reqId, e.errorCode) for e in events if isinstance(e, incoming.ErrorMessage)]


NOW = int(REPLAY_START.timestamp())


def test_trades_before_end_are_the_tick_models_last_seconds(w: Wire) -> None:
    msg = only(ticks(w, endDateTime="20130301 09:50:00 US/Eastern", numberOfTicks=30,
                     whatToShow="TRADES"), wire.HistoricalTicksLast)
    assert msg.reqId == 7 and msg.done
    end = int(dt.datetime(2013, 3, 1, 9, 50, tzinfo=SIM_TZ).timestamp())
    times = [t.time for t in msg.ticks]
    assert times == sorted(times) and times[-1] < end and len(times) >= 30
    first = times[0]
    model = TickModel(w.sim.prices).trades(AAPL_ID, first, end)
    assert [(t.time, t.price, t.size, t.exchange, t.specialConditions) for t in msg.ticks] == [
        (t.time, t.price, t.size, t.exchange, t.specialConditions) for t in model]
    # whole seconds: fewer ticks than asked only by dropping the first second entirely
    assert len([t for t in model if t.time > first]) < 30
    assert {t.mask for t in msg.ticks} <= {0, 1, 2, 3}
    unreported = [t for t in msg.ticks if t.unreported]
    assert all(t.exchange == "FINRA" for t in unreported)


def test_bid_ask_ticks_equal_the_quotes_of_their_seconds(w: Wire) -> None:
    msg = only(ticks(w, endDateTime="20130301 09:45:00", numberOfTicks=20,
                     whatToShow="BID_ASK"), wire.HistoricalTicksBidAsk)
    assert len(msg.ticks) == 20
    for t in msg.ticks:
        q = w.sim.prices.quote(AAPL_ID, dt.datetime.fromtimestamp(t.time + 0.5, dt.UTC))
        assert (t.priceBid, t.priceAsk, t.sizeBid, t.sizeAsk) == (
            q.bid, q.ask, q.bidSize, q.askSize)
        assert t.priceBid < t.priceAsk


def test_midpoints_change_at_every_tick_and_have_no_size(w: Wire) -> None:
    msg = only(ticks(w, endDateTime="20130301 09:45:00", numberOfTicks=50,
                     whatToShow="MIDPOINT"), wire.HistoricalTicks)
    prices = [t.price for t in msg.ticks]
    assert len(prices) == 50 and all(a != b for a, b in itertools.pairwise(prices))
    assert {t.size for t in msg.ticks} == {Decimal(0)}


def test_ignore_size_leaves_only_price_changes(w: Wire) -> None:
    kw = dict(endDateTime="20130301 09:45:00", numberOfTicks=200, whatToShow="BID_ASK")
    full = only(ticks(w, **kw), wire.HistoricalTicksBidAsk)
    lean = only(ticks(w, ignoreSize=True, **kw), wire.HistoricalTicksBidAsk)
    pairs = [(t.priceBid, t.priceAsk) for t in lean.ticks]
    assert all(a != b for a, b in itertools.pairwise(pairs))
    full_pairs = [(t.priceBid, t.priceAsk) for t in full.ticks]
    assert any(a == b for a, b in itertools.pairwise(full_pairs))


def test_start_serves_nothing_after_now(w: Wire) -> None:
    msg = only(ticks(w, startDateTime="20130301 09:59:30", numberOfTicks=1000,
                     whatToShow="BID_ASK"), wire.HistoricalTicksBidAsk)
    times = [t.time for t in msg.ticks]
    assert times and times[0] >= NOW - 30 and times[-1] < NOW
    assert only(ticks(w, startDateTime="20130301 10:05:00", whatToShow="TRADES"),
                wire.HistoricalTicksLast).ticks == []


def test_start_and_end_bound_the_ticks(w: Wire) -> None:
    msg = only(ticks(w, startDateTime="20130301 09:40:00", endDateTime="20130301 09:40:05",
                     numberOfTicks=1000, whatToShow="TRADES"), wire.HistoricalTicksLast)
    lo = int(dt.datetime(2013, 3, 1, 9, 40, tzinfo=SIM_TZ).timestamp())
    assert msg.ticks and all(lo <= t.time < lo + 5 for t in msg.ticks)


def test_utc_and_zoned_times_are_the_same_instant(w: Wire) -> None:
    a = only(ticks(w, endDateTime="20130301-14:45:00", whatToShow="TRADES"),
             wire.HistoricalTicksLast)
    b = only(ticks(w, 8, endDateTime="20130301 09:45:00 US/Eastern", whatToShow="TRADES"),
             wire.HistoricalTicksLast)
    assert a.ticks == b.ticks and a.ticks


def test_use_rth_keeps_regular_hours(w: Wire) -> None:
    open_ = int(dt.datetime(2013, 3, 1, 9, 30, tzinfo=SIM_TZ).timestamp())
    kw = dict(endDateTime="20130301 09:30:20", numberOfTicks=1000, whatToShow="TRADES")
    rth = only(ticks(w, useRth=True, **kw), wire.HistoricalTicksLast)
    allh = only(ticks(w, useRth=False, **kw), wire.HistoricalTicksLast)
    assert rth.ticks and min(t.time for t in rth.ticks) >= open_
    assert min(t.time for t in allh.ticks) < open_
    assert any("T" in t.specialConditions.split() for t in allh.ticks)


def test_forex_has_no_trades_but_quotes(w: Wire) -> None:
    assert only(ticks(w, contract=EURUSD, endDateTime="20130301 09:45:00",
                      whatToShow="TRADES"), wire.HistoricalTicksLast).ticks == []
    assert only(ticks(w, contract=EURUSD, endDateTime="20130301 09:45:00",
                      whatToShow="MIDPOINT"), wire.HistoricalTicks).ticks


@pytest.mark.parametrize(("kw", "code"), [
    (dict(endDateTime="20130301 09:45:00", whatToShow="BID"), 321),
    (dict(endDateTime="20130301 09:45:00", whatToShow="TRADES", numberOfTicks=1001), 321),
    (dict(endDateTime="20130301 09:45:00", whatToShow="TRADES", numberOfTicks=0), 321),
    (dict(whatToShow="TRADES"), 321),
    (dict(endDateTime="2013-03-01 09:45", whatToShow="TRADES"), 10314),
    (dict(startDateTime="20130301 09:45:00 Mars/Olympus", whatToShow="TRADES"), 10314),
])
def test_refusals(w: Wire, kw: dict[str, object], code: int) -> None:
    assert errors(ticks(w, **kw)) == [(7, code)]


def test_unknown_contract_is_200(w: Wire) -> None:
    bad = Contract(symbol="NOPE", secType="STK", exchange="SMART", currency="USD")
    assert errors(ticks(w, contract=bad, endDateTime="20130301 09:45:00",
                        whatToShow="TRADES")) == [(7, 200)]
    assert errors(w.send(wire.ReqHistogramData(reqId=3, contract=bad, timePeriod="1 day"))) \
        == [(3, 200)]


def test_histogram_totals_the_trades_of_the_period(w: Wire) -> None:
    msg = only(w.send(wire.ReqHistogramData(reqId=4, contract=AAPL, useRTH=True,
                                            timePeriod="1 day")), wire.HistogramData)
    prices = [e.price for e in msg.data]
    assert prices == sorted(prices) and all(e.size > 0 for e in msg.data)
    open_ = int(dt.datetime(2013, 3, 1, 9, 30, tzinfo=SIM_TZ).timestamp())
    trades = TickModel(w.sim.prices).trades(AAPL_ID, open_, NOW)
    assert sum(e.size for e in msg.data) == sum(t.size for t in trades)
    week = only(w.send(wire.ReqHistogramData(reqId=5, contract=AAPL, useRTH=True,
                                             timePeriod="1 week")), wire.HistogramData)
    assert sum(e.size for e in week.data) > sum(e.size for e in msg.data)
    assert w.send(wire.CancelHistogramData(reqId=5)) == []


def test_bad_time_period_is_321(w: Wire) -> None:
    assert errors(w.send(wire.ReqHistogramData(reqId=4, contract=AAPL,
                                               timePeriod="3 fortnights"))) == [(4, 321)]


def test_every_market_rule_of_the_contract_details_is_served(w: Wire) -> None:
    ids: set[int] = set()
    for contract in (AAPL, EURUSD):
        events = w.send(outgoing.ReqContractDetails(reqId=11, contract=contract))
        for ev in events:
            if isinstance(ev, incoming.ContractData):
                ids |= {int(x) for x in ev.contractDetails.marketRuleIds.split(",")}
    assert ids == {26, 239}
    for rule in ids:
        msg = only(w.send(wire.ReqMarketRule(marketRuleId=rule)), wire.MarketRule)
        assert msg.marketRuleId == rule and msg.priceIncrements
        assert msg.priceIncrements[0].lowEdge == 0
    aapl = only(w.send(wire.ReqMarketRule(marketRuleId=26)), wire.MarketRule)
    assert [(p.lowEdge, p.increment) for p in aapl.priceIncrements] == [(0.0, 0.01)]
    assert errors(w.send(wire.ReqMarketRule(marketRuleId=999))) == [(-1, 321)]


def test_smart_components_of_the_quotes_bbo_exchange(w: Wire) -> None:
    events = w.send(outgoing.ReqMktData(reqId=12, contract=AAPL, snapshot=True))
    [params] = [e for e in events if isinstance(e, incoming.TickReqParams)]
    msg = only(w.send(wire.ReqSmartComponents(reqId=13, bboExchange=params.bboExchange)),
               wire.SmartComponents)
    assert msg.reqId == 13
    exchanges = {c.exchange for c in msg.smartComponentMap}
    letters = [c.exchangeLetter for c in msg.smartComponentMap]
    assert len(set(letters)) == len(letters) and all(len(x) == 1 for x in letters)
    assert len({c.bitNumber for c in msg.smartComponentMap}) == len(letters)
    trades = only(ticks(w, endDateTime="20130301 09:45:00", numberOfTicks=1000,
                        whatToShow="TRADES"), wire.HistoricalTicksLast)
    assert {t.exchange for t in trades.ticks if not t.unreported} <= exchanges
    assert errors(w.send(wire.ReqSmartComponents(reqId=14, bboExchange="zz9999"))) \
        == [(14, 321)]


async def test_over_a_real_socket() -> None:
    sim = Simulator(clock=SimClock(REPLAY_START, speed=0))
    async with SimServer(sim, port=0) as server:
        client = await Client.open(server.port)
        try:
            await client.connect(3)
            client.writer.write(client.conn.send(wire.ReqHistoricalTicks(
                reqId=21, contract=AAPL, endDateTime="20130301 09:45:00", numberOfTicks=1000,
                whatToShow="BID_ASK", useRth=True)))
            client.writer.write(client.conn.send(wire.ReqMarketRule(marketRuleId=239)))
            events = await client.until(lambda ev: any(
                isinstance(e, wire.MarketRule) for e in ev))
            [answer] = [e for e in events if isinstance(e, wire.HistoricalTicksBidAsk)]
            open_ = int(dt.datetime(2013, 3, 1, 9, 30, tzinfo=SIM_TZ).timestamp())
            # one session's regular hours only: fewer than 1000 ticks from 09:30 on
            assert answer.done and 0 < len(answer.ticks) < 1000
            assert answer.ticks[0].time == open_
        finally:
            await client.close()


def test_every_rule_id_of_the_reference_data_has_a_table(w: Wire) -> None:
    from twsbridge.sim.reference.option_classes import OPTION_CLASSES
    from twsbridge.sim.reference.universe import universe

    ticks_of: dict[int, set[tuple[str, float]]] = {}
    for inst in universe(REPLAY_START.date()):
        for rule in set(inst.marketRuleIds.split(",")):
            ticks_of.setdefault(int(rule), set()).add((inst.localSymbol, inst.minTick))
    for cls in OPTION_CLASSES.values():
        ticks_of.setdefault(int(cls.marketRuleIds), set())
    for rule, insts in sorted(ticks_of.items()):
        msg = only(w.send(wire.ReqMarketRule(marketRuleId=rule)), wire.MarketRule)
        edges = [p.lowEdge for p in msg.priceIncrements]
        assert edges[0] == 0 and edges == sorted(set(edges)), rule
        assert all(p.increment > 0 for p in msg.priceIncrements)
        if rule in (26, 31, 67, 2046, 230, 46, 1630, 1631, 1549, 1595, 1561):
            # listed stocks, indices and futures quote on their rule's grid
            smallest = min(p.increment for p in msg.priceIncrements)
            stocks = {t for s, t in insts if " " not in s and "." not in s}
            assert smallest in stocks or not stocks, (rule, insts)
