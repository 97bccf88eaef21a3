"""reqMktData's genericTickList through a SimSession (Wire, frozen clock)."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from twsbridge.protocol import Contract, incoming, outgoing
from twsbridge.sim.market.clock import REPLAY_START
from twsbridge.sim.market.dividends import DividendSchedule, IBDividends
from twsbridge.sim.market.generic_ticks import (
    GENERIC_INTERVAL,
    LEGAL_STK,
    GenericTickError,
    GenericTickModel,
    parse_generic_tick_list,
)
from twsbridge.sim.reference.calendar import SIM_TZ

from .test_session import AAPL, Wire, frozen_sim

ALL = "165,233,236,293,294,295,318,411,456"
MSFT = Contract(conId=272093, exchange="SMART")
EURUSD = Contract(symbol="EUR", secType="CASH", exchange="IDEALPRO", currency="USD")
# ticks a plain line never sends
GENERIC_TYPES = {15, 16, 17, 18, 19, 20, 21, 46, 48, 54, 55, 56, 57, 58, 59, 89}


def connected() -> Wire:
    w = Wire(frozen_sim())
    w.connect()
    return w


def by_type(events: list[Any], kind: type) -> dict[int, Any]:
    return {e.tickType: e for e in events if isinstance(e, kind)}


def rt_volumes(events: list[Any]) -> list[list[str]]:
    return [e.value.split(";") for e in events
            if isinstance(e, incoming.TickString) and e.tickType == 48]


@pytest.fixture(scope="module")
def aapl_first() -> tuple[Wire, list[Any]]:
    w = connected()
    return w, w.send(outgoing.ReqMktData(reqId=7, contract=AAPL, genericTickList=ALL))


def test_an_empty_list_sends_no_generic_tick() -> None:
    w = connected()
    events = w.send(outgoing.ReqMktData(reqId=3, contract=AAPL, genericTickList=""))
    w.sim.clock.advance(6)
    events += w.poll()
    types = {getattr(e, "tickType", None) for e in events}
    assert types & GENERIC_TYPES == set()
    assert {1, 2, 4, 8, 45, 49} <= types


def test_first_set_has_each_asked_tick_once_with_tws_message_kinds(
        aapl_first: tuple[Wire, list[Any]]) -> None:
    _, events = aapl_first
    prices, sizes = by_type(events, incoming.TickPrice), by_type(events, incoming.TickSize)
    generics, strings = by_type(events, incoming.TickGeneric), by_type(events, incoming.TickString)
    assert {15, 16, 17, 18, 19, 20, 57} <= set(prices)
    assert {21, 89} <= set(sizes)
    assert {46, 54, 55, 56, 58} <= set(generics)
    assert {48, 59} <= set(strings)
    for t in GENERIC_TYPES:
        assert sum(getattr(e, "tickType", None) == t for e in events) == 1, t
    # the top of book still comes first, the generic ticks after it
    kinds = [getattr(e, "tickType", None) for e in events]
    assert kinds.index(49) < kinds.index(15)


def test_misc_stats_agree_with_the_daily_series_and_the_session(
        aapl_first: tuple[Wire, list[Any]]) -> None:
    w, events = aapl_first
    p, s = by_type(events, incoming.TickPrice), by_type(events, incoming.TickSize)
    lows = [p[15].price, p[17].price, p[19].price]
    highs = [p[16].price, p[18].price, p[20].price]
    assert lows == sorted(lows, reverse=True) and highs == sorted(highs)
    assert lows[0] <= p[7].price and highs[0] >= p[6].price  # today's low/high within
    ser = w.sim.prices.series(265598, REPLAY_START.date())
    before = [i for i in range(len(ser)) if ser.date(i) < REPLAY_START.date()]
    year = [i for i in before if ser.date(i) >= REPLAY_START.date() - dt.timedelta(weeks=52)]
    assert highs[2] == max(max(ser.high[i] for i in year), p[6].price)
    assert lows[2] == min(min(ser.low[i] for i in year), p[7].price)
    assert s[21].size == Decimal(round(float(np.mean(ser.volume[before[-90:]]))))


def test_rt_volume_is_the_last_print_and_agrees_with_tick_8(
        aapl_first: tuple[Wire, list[Any]]) -> None:
    _, events = aapl_first
    [(price, size, ms, total, vwap, single)] = rt_volumes(events)
    p, s = by_type(events, incoming.TickPrice), by_type(events, incoming.TickSize)
    assert float(price) == p[4].price
    assert Decimal(total) == s[8].size
    assert int(ms) // 1000 <= int(REPLAY_START.timestamp())
    assert p[7].price <= float(vwap) <= p[6].price * 1.02 and single == "true"
    assert int(size) > 0


def test_other_values_are_consistent(aapl_first: tuple[Wire, list[Any]]) -> None:
    w, events = aapl_first
    p, s = by_type(events, incoming.TickPrice), by_type(events, incoming.TickSize)
    g, strings = by_type(events, incoming.TickGeneric), by_type(events, incoming.TickString)
    shares = s[89].size
    assert g[46].value == (3.0 if shares >= 1000 else 2.0 if shares > 0 else 1.0)
    assert p[57].price == p[4].price  # within the regular session: the last trade
    assert g[54].value >= g[55].value > 0 and g[56].value > 0
    ser = w.sim.prices.series(265598, REPLAY_START.date())
    closes = [ser.close[i] for i in range(len(ser)) if ser.date(i) < REPLAY_START.date()][-30:]
    rets = np.diff(np.log([*closes, p[4].price]))
    assert g[58].value == pytest.approx(float(np.std(rets, ddof=1)) * math.sqrt(252), abs=1e-6)
    div = DividendSchedule(w.sim.prices).ib_dividends(265598, REPLAY_START.date())
    assert strings[59].value == div.text()
    past, nxt12, day, amount = strings[59].value.split(",")
    assert dt.datetime.strptime(day, "%Y%m%d").date() > REPLAY_START.date()
    assert float(amount) > 0 and float(past) > 0 and float(nxt12) >= float(amount)


def test_updates_stream_rt_volume_and_trade_count_agrees_with_it() -> None:
    w = connected()
    first = w.send(outgoing.ReqMktData(reqId=4, contract=AAPL, genericTickList="233,293"))
    count0 = by_type(first, incoming.TickGeneric)[54].value
    prints: list[list[str]] = []
    updates: list[Any] = []
    steps = int(GENERIC_INTERVAL / dt.timedelta(milliseconds=250))
    for _ in range(steps):
        w.sim.clock.advance(0.25)
        got = w.poll()
        updates += got
        prints += rt_volumes(got)
    counts = [e.value for e in updates if isinstance(e, incoming.TickGeneric)
              and e.tickType == 54]
    assert len(prints) > 10 and counts == [count0 + len(prints)]
    totals = [int(x[3]) for x in prints]
    sizes = [int(x[1]) for x in prints]
    first_total = int(rt_volumes(first)[0][3])
    assert totals == [first_total + sum(sizes[:i + 1]) for i in range(len(sizes))]
    last_volume = [e.size for e in updates if isinstance(e, incoming.TickSize)
                   and e.tickType == 8][-1]
    assert Decimal(totals[-1]) == last_volume
    times = [int(x[2]) for x in prints]
    assert times == sorted(times)


def test_mdoff_sends_only_the_generic_ticks() -> None:
    w = connected()
    events = w.send(outgoing.ReqMktData(reqId=5, contract=AAPL, genericTickList="mdoff,165"))
    assert isinstance(events[0], incoming.TickReqParams)
    types = {e.tickType for e in events[1:]}
    assert types == {15, 16, 17, 18, 19, 20, 21}
    w.sim.clock.advance(1)
    assert [e for e in w.poll() if getattr(e, "reqId", None) == 5] == []


@pytest.mark.parametrize("text", ["104", "165,999", "165,abc", "292"])
def test_an_id_tws_refuses_for_a_stock_is_321_and_no_line(text: str) -> None:
    w = connected()
    [err] = w.send(outgoing.ReqMktData(reqId=6, contract=AAPL, genericTickList=text))
    assert isinstance(err, incoming.ErrorMessage)
    assert (err.reqId, err.errorCode) == (6, 321)
    assert err.errorString.startswith(
        f"Error validating request.-'bW' : cause - Incorrect generic tick list of {text}.  "
        "Legal ones for (STK) are: 100(Option Volume),101(Option Open Interest),")
    assert "233(RTVolume),236(inventory)" in err.errorString
    assert 6 not in w.session.mkt
    w.sim.clock.advance(1)
    assert w.poll() == []


def test_a_snapshot_with_generic_ticks_is_321() -> None:
    w = connected()
    [err] = w.send(outgoing.ReqMktData(reqId=8, contract=AAPL, genericTickList="165",
                                       snapshot=True))
    assert (err.errorCode, err.errorString) == (321, "Error validating request.-'bO' : cause"
                                                " - Snapshot market data subscription is not "
                                                "applicable to generic ticks")


def test_parse_tolerates_blanks_and_keeps_legal_silent_ids() -> None:
    req = parse_generic_tick_list(" 165 , ,MDOFF,100,106 ")
    assert req.ids == {165, 100, 106} and req.mdoff
    assert not parse_generic_tick_list("")
    with pytest.raises(GenericTickError):
        parse_generic_tick_list("104")
    assert 104 not in LEGAL_STK and 105 in LEGAL_STK
    w = connected()
    events = w.send(outgoing.ReqMktData(reqId=9, contract=AAPL, genericTickList="100,101,106"))
    assert {getattr(e, "tickType", None) for e in events} & GENERIC_TYPES == set()


def test_forex_gets_price_stats_but_no_trade_ticks() -> None:
    w = connected()
    events = w.send(outgoing.ReqMktData(reqId=10, contract=EURUSD, genericTickList=ALL))
    types = {getattr(e, "tickType", None) for e in events}
    assert {15, 16, 17, 18, 19, 20, 57, 58} <= types
    assert types & {21, 46, 48, 54, 55, 56, 59, 89} == set()


def test_delayed_values_are_15_minutes_old() -> None:
    w = connected()
    w.send(outgoing.ReqMarketDataType(marketDataType=3))
    events = w.send(outgoing.ReqMktData(reqId=11, contract=AAPL, genericTickList="293,318"))
    model = GenericTickModel.of(w.sim.prices)
    then = REPLAY_START - dt.timedelta(minutes=15)
    g, p = by_type(events, incoming.TickGeneric), by_type(events, incoming.TickPrice)
    assert g[54].value == model.trade_stats(265598, then)[0]
    assert p[57].price == model.last_rth_trade(265598, then)


def test_trade_counts_equal_the_tick_models_prints() -> None:
    model = GenericTickModel.of(frozen_sim().prices)
    t = REPLAY_START.astimezone(SIM_TZ).replace(hour=9, minute=30, second=30)
    e = int(t.timestamp())
    count, rate, volume = model.trade_stats(265598, t)
    prints = model.ticks.trades(265598, e - 59, e + 1)
    assert rate == len(prints) and volume == sum(int(x.size) for x in prints)
    day_start = e - (9 * 3600 + 30 * 60 + 30 - 4 * 3600)
    assert count == len(model.ticks.trades(265598, day_start, e + 1))


def test_answers_are_deterministic() -> None:
    a = connected().send(outgoing.ReqMktData(reqId=7, contract=MSFT, genericTickList=ALL))
    b = connected().send(outgoing.ReqMktData(reqId=7, contract=MSFT, genericTickList=ALL))
    assert a == b


def test_dividend_schedule_is_quarterly_and_sums_add_up() -> None:
    sched = DividendSchedule(frozen_sim().prices)
    day = dt.date(2013, 3, 1)
    divs = sched.between(272093, dt.date(2010, 1, 1), dt.date(2016, 1, 1))
    gaps = [(b.exDate - a.exDate).days for a, b in itertools.pairwise(divs)]
    assert all(80 <= g <= 100 for g in gaps)
    assert all(d.exDate.weekday() < 5 for d in divs)
    assert dt.date(2013, 2, 19) in [d.exDate for d in divs]  # MSFT's real ex-date
    amounts = [d.amount for d in divs]
    assert amounts == sorted(amounts)  # raised once a year, never cut
    info = sched.ib_dividends(272093, day)
    past = sched.between(272093, day - dt.timedelta(days=365), day)
    assert info.past12Months == pytest.approx(sum(d.amount for d in past))
    assert info.nextDate == sched.between(272093, day, day + dt.timedelta(days=120))[0].exDate
    assert sched.ib_dividends(4391, day) == IBDividends(0.0, 0.0, None, None)  # AMD
    assert sched.ib_dividends(4391, day).text() == "0,0,,"
    assert sched.between(265598, dt.date(2000, 1, 1), dt.date(2012, 8, 1)) == []  # AAPL


def test_rt_trade_volume_has_the_last_prints_only_and_short_term_volumes_nest() -> None:
    w = connected()
    first = w.send(outgoing.ReqMktData(reqId=12, contract=AAPL,
                                       genericTickList="mdoff,233,375,595"))
    s = by_type(first, incoming.TickSize)
    assert 0 < s[63].size <= s[64].size <= s[65].size
    model = GenericTickModel.of(w.sim.prices)
    e = int(REPLAY_START.timestamp())
    assert s[63].size == sum(int(x.size) for x in model.ticks.trades(265598, e - 179, e + 1))
    w.sim.clock.advance(3)
    got = w.poll()
    trd = [e.value.split(";") for e in got if getattr(e, "tickType", None) == 77]
    all_last = rt_volumes(got)
    assert trd and len(trd) < len(all_last)
    last = model.ticks.trades(265598, e + 1, e + 4, all_last=False)
    assert [(float(x[0]), int(x[1])) for x in trd] == [(t.price, int(t.size)) for t in last]
    assert all(int(x[1]) % 100 == 0 for x in trd)
    totals = [int(x[3]) for x in trd]
    assert all(b - a == int(x[1]) for a, b, x in zip(totals, totals[1:], trd[1:], strict=False))
    assert totals[-1] < int(all_last[-1][3])  # fewer shares than every print


@given(st.lists(st.sampled_from(sorted(LEGAL_STK)), max_size=8), st.booleans())
def test_parse_any_legal_list(ids: list[int], mdoff: bool) -> None:
    items = [str(i) for i in ids] + (["mdoff"] if mdoff else [])
    req = parse_generic_tick_list(",".join(items))
    assert req.ids == set(ids) and req.mdoff == mdoff


@given(st.integers(min_value=0, max_value=10_000).filter(lambda i: i not in LEGAL_STK))
def test_parse_refuses_any_other_id(bad: int) -> None:
    with pytest.raises(GenericTickError, match=f"Incorrect generic tick list of 165,{bad}\\."):
        parse_generic_tick_list(f"165,{bad}")
