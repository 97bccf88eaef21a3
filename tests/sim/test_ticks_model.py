"""Tick-by-tick events, historical ticks and histograms against the paths and quotes."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twsbridge.sim.market.depth import STOCK_VENUES
from twsbridge.sim.market.prices import EXTENDED_VOLUME_PCT, PriceModel
from twsbridge.sim.market.ticks import (
    HISTORICAL_TICKS_MAX,
    OFF_EXCHANGE,
    BidAskTick,
    MidPointTick,
    TickModel,
    TradeTick,
    parse_time_period,
)
from twsbridge.sim.reference.calendar import SIM_TZ, session_bounds
from twsbridge.sim.reference.instruments import InstrumentBook

AAPL, AMD, IBM, SPY, EURUSD, USDJPY = 265598, 4391, 8314, 756733, 12087792, 15016059
STOCKS = [AAPL, AMD, IBM, SPY]
PRICES = PriceModel(0, InstrumentBook())
TICKS = TickModel(PRICES)
DAY = dt.date(2013, 3, 1)


def _et(d: dt.date, h: int, mi: int = 0, s: int = 0) -> int:
    return int(dt.datetime(d.year, d.month, d.day, h, mi, s, tzinfo=SIM_TZ).timestamp())


def _utc(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


E0 = _et(DAY, 10)
# seconds of 2013-03-01 from 04:00 to 20:00: pre-market, the open, regular, post-market
_SECONDS = st.integers(_et(DAY, 4), _et(DAY, 20) - 60)
_SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _by_second(trades: list[TradeTick]) -> dict[int, list[TradeTick]]:
    return {k: list(g) for k, g in itertools.groupby(trades, key=lambda x: x.time)}


@_SLOW
@given(conid=st.sampled_from(STOCKS), a=_SECONDS, n=st.integers(1, 40))
def test_trades_sum_to_the_paths_volume_and_end_at_its_price(conid: int, a: int, n: int) -> None:
    path = PRICES.path(conid, DAY)
    assert path is not None
    tick = PRICES.instrument(conid).minTick
    trades = TICKS.trades(conid, a, a + n)
    groups = _by_second(trades)
    assert [t.time for t in trades] == sorted(t.time for t in trades)
    for k in range(a, a + n):
        pos = k - path.start
        v, p = int(path.volumes[pos]), float(path.prices[pos])
        got = groups.get(k, [])
        assert sum(t.size for t in got) == v
        q = PRICES.quote(conid, _utc(k))
        if v:
            assert got[-1].price == p == q.last
        # the real data set has sub-penny prints (AAPL's 2013-03-01 high is 438.1799, MSFT
        # prints 27.875): a trade is on the tick grid, or at a price the path itself took
        taken = {float(x) for x in path.prices[max(0, pos - 1):pos + 1]}
        for t in got:
            assert t.price == pytest.approx(round(t.price / tick) * tick, abs=1e-9) or (
                t.price in taken)
            assert t.pastLimit == (not q.bid <= t.price <= q.ask)
            assert t.unreported == (t.exchange == OFF_EXCHANGE)
            assert t.exchange in (*STOCK_VENUES, OFF_EXCHANGE)
            codes = t.specialConditions.split()
            assert ("I" in codes) == (t.size < 100)
            assert ("T" in codes) == (not path.rth_start <= pos < path.rth_end)
            assert t.size % 100 == 0 or t.size < 100


@_SLOW
@given(conid=st.sampled_from(STOCKS), a=_SECONDS, n=st.integers(1, 40))
def test_last_is_allast_without_odd_lots_and_off_exchange_prints(conid: int, a: int,
                                                                 n: int) -> None:
    path = PRICES.path(conid, DAY)
    assert path is not None
    every = TICKS.trades(conid, a, a + n)
    last = TICKS.trades(conid, a, a + n, all_last=False)
    assert last == [t for t in every if t.size >= 100 and t.exchange != OFF_EXCHANGE]
    for k, got in _by_second(last).items():
        assert got[-1].price == float(path.prices[k - path.start])
    for k in range(a, a + n):
        if path.volumes[k - path.start] >= 100:
            assert k in _by_second(last)


def test_alllast_has_what_last_omits() -> None:
    every = TICKS.trades(SPY, E0, E0 + 300)
    assert any(t.exchange == OFF_EXCHANGE for t in every)
    assert any(t.size < 100 and t.specialConditions == "I" for t in every)
    assert any(t.pastLimit for t in TICKS.trades(SPY, _et(DAY, 9, 30), _et(DAY, 9, 45)))
    pre = TICKS.trades(AAPL, _et(DAY, 8), _et(DAY, 8, 10))
    assert pre and all("T" in t.specialConditions.split() for t in pre)


def _live(conid: int, k: int) -> bool:
    """Whether second k is within a session."""
    path = TICKS.session_after(conid, k)
    return path is not None and path.start <= k


def _opens(conid: int, k: int) -> bool:
    """Whether a session opens at second k."""
    path = TICKS.session_after(conid, k)
    return path is not None and path.start == k


@_SLOW
@given(conid=st.sampled_from([*STOCKS, EURUSD, USDJPY]), a=_SECONDS, n=st.integers(1, 40),
       ignore=st.booleans())
def test_bid_ask_events_are_the_quotes_where_they_change(conid: int, a: int, n: int,
                                                         ignore: bool) -> None:
    events = {e.time: e for e in TICKS.bid_asks(conid, a, a + n, ignoreSize=ignore)}
    assert len(events) == len(TICKS.bid_asks(conid, a, a + n, ignoreSize=ignore))
    prev = PRICES.quote(conid, _utc(a - 1))
    for k in range(a, a + n):
        q = PRICES.quote(conid, _utc(k))
        key = (q.bid, q.ask) if ignore else (q.bid, q.ask, q.bidSize, q.askSize)
        pkey = (prev.bid, prev.ask) if ignore else (prev.bid, prev.ask, prev.bidSize,
                                                    prev.askSize)
        if k in events:
            e = events[k]
            assert (e.bidPrice, e.askPrice, e.bidSize, e.askSize) == (
                q.bid, q.ask, q.bidSize, q.askSize)
            assert e.bidPastLow == (q.bid < q.low)
            assert e.askPastHigh == (q.ask > q.high)
        assert (k in events) == (_live(conid, k) and (key != pkey or _opens(conid, k)))
        prev = q


@_SLOW
@given(conid=st.sampled_from([*STOCKS, EURUSD]), a=_SECONDS, n=st.integers(1, 40))
def test_midpoints_are_the_quotes_midpoints_where_they_change(conid: int, a: int,
                                                              n: int) -> None:
    events = {e.time: e.midPoint for e in TICKS.midpoints(conid, a, a + n)}
    prev = PRICES.quote(conid, _utc(a - 1))
    for k in range(a, a + n):
        q = PRICES.quote(conid, _utc(k))
        mid = (q.bid + q.ask) / 2
        if k in events:
            assert events[k] == pytest.approx(mid, abs=1e-9)
        moved = abs(mid - (prev.bid + prev.ask) / 2) > 1e-9
        assert (k in events) == (_live(conid, k) and (moved or _opens(conid, k)))
        prev = q


def test_past_low_and_high_flags_occur() -> None:
    day_events = TICKS.bid_asks(AAPL, _et(DAY, 9, 30), _et(DAY, 16))
    assert any(e.bidPastLow for e in day_events)
    assert any(e.askPastHigh for e in day_events)
    assert not all(e.bidPastLow for e in day_events)


@_SLOW
@given(conid=st.sampled_from([AAPL, SPY, EURUSD]), a=_SECONDS, cut=st.integers(0, 30),
       n=st.integers(1, 30))
def test_ranges_add_up(conid: int, a: int, cut: int, n: int) -> None:
    b, c = a + cut, a + cut + n
    assert TICKS.trades(conid, a, c) == TICKS.trades(conid, a, b) + TICKS.trades(conid, b, c)
    assert TICKS.bid_asks(conid, a, c) == (TICKS.bid_asks(conid, a, b)
                                           + TICKS.bid_asks(conid, b, c))
    assert TICKS.midpoints(conid, a, c) == (TICKS.midpoints(conid, a, b)
                                            + TICKS.midpoints(conid, b, c))


def test_fractional_bounds_take_the_whole_seconds_within() -> None:
    start, end = _utc(E0) + dt.timedelta(seconds=0.5), _utc(E0) + dt.timedelta(seconds=2.5)
    assert TICKS.trades(AAPL, start, end) == TICKS.trades(AAPL, E0 + 1, E0 + 3)
    assert TICKS.bid_asks(AAPL, start, end) == TICKS.bid_asks(AAPL, E0 + 1, E0 + 3)
    assert TICKS.midpoints(AAPL, _utc(E0), end) == TICKS.midpoints(AAPL, E0, E0 + 3)


def test_a_session_opens_with_a_bid_ask_and_the_range_may_span_sessions() -> None:
    path = PRICES.path(AAPL, DAY)
    prev_day = PRICES.path(AAPL, dt.date(2013, 2, 28))
    assert path is not None and prev_day is not None
    events = TICKS.bid_asks(AAPL, prev_day.end - 5, path.start + 5)
    assert [e.time for e in events][:5] == list(range(prev_day.end - 5, prev_day.end))
    assert events[5].time == path.start  # the first second of a session always has one
    assert all(e.time < prev_day.end or e.time >= path.start for e in events)


def test_no_events_between_sessions_and_no_forex_trades() -> None:
    sat = _et(dt.date(2013, 3, 2), 12)
    night = _et(DAY, 21)
    for a in (sat, night):
        assert TICKS.trades(AAPL, a, a + 600) == []
        assert TICKS.bid_asks(AAPL, a, a + 600) == []
        assert TICKS.midpoints(AAPL, a, a + 600) == []
    assert TICKS.trades(EURUSD, E0, E0 + 600) == []
    assert TICKS.bid_asks(EURUSD, E0, E0 + 60)
    assert TICKS.bid_asks(EURUSD, _et(DAY, 17, 1), _et(DAY, 17, 14)) == []


def test_ticks_are_deterministic_per_seed() -> None:
    again = TickModel(PriceModel(0, InstrumentBook()))
    other = TickModel(PriceModel(4, InstrumentBook()))
    assert again.trades(AMD, E0, E0 + 60) == TICKS.trades(AMD, E0, E0 + 60)
    assert again.bid_asks(AMD, E0, E0 + 60) == TICKS.bid_asks(AMD, E0, E0 + 60)
    assert other.trades(AMD, E0, E0 + 60) != TICKS.trades(AMD, E0, E0 + 60)
    assert other.bid_asks(AMD, E0, E0 + 60) != TICKS.bid_asks(AMD, E0, E0 + 60)
    # AAPL's daily bars are real whatever the seed; its ticks still follow the seed
    assert other.trades(AAPL, E0, E0 + 60) != TICKS.trades(AAPL, E0, E0 + 60)


# ------------------------------------------------------------------ historical

def _seconds(ticks: list[TradeTick] | list[BidAskTick] | list[MidPointTick]) -> list[int]:
    return sorted({t.time for t in ticks})


@pytest.mark.parametrize("what", ["TRADES", "BID_ASK", "MIDPOINT"])
@pytest.mark.parametrize("conid", [AAPL, SPY, AMD])
@pytest.mark.parametrize("n", [1, 10, 999, 1000, 5000])
def test_historical_ticks_ending_at_end_are_whole_seconds_up_to_1000(conid: int, what: str,
                                                                      n: int) -> None:
    got = TICKS.historical_ticks(conid, what, n, end=_utc(E0))
    want = min(n, HISTORICAL_TICKS_MAX)
    secs = _seconds(got)
    assert all(t.time < E0 for t in got)
    assert [t.time for t in got] == sorted(t.time for t in got)
    first = [t for t in got if t.time != secs[0]]
    path = PRICES.path(conid, DAY)
    assert path is not None
    if secs[0] > path.start:  # else the session has fewer before E0
        assert len(got) >= want
    assert want > len(first)  # the earliest second completes the count
    assert got == TICKS._events(conid, what, secs[0], E0, False)  # whole seconds


@pytest.mark.parametrize("what", ["TRADES", "BID_ASK", "MIDPOINT"])
@pytest.mark.parametrize("n", [1, 10, 1000])
def test_historical_ticks_from_start(what: str, n: int) -> None:
    got = TICKS.historical_ticks(SPY, what, n, start=_utc(E0))
    secs = _seconds(got)
    assert secs[0] >= E0
    assert len(got) >= n > len([t for t in got if t.time != secs[-1]])
    assert got == TICKS._events(SPY, what, E0, secs[-1] + 1, False)
    bounded = TICKS.historical_ticks(SPY, what, n, start=_utc(E0), end=_utc(E0 + 3))
    assert bounded == [t for t in got if t.time < E0 + 3]


def test_historical_ticks_use_rth_and_one_session() -> None:
    rth_start, rth_end = (int(x.timestamp()) for x in session_bounds(
        PRICES.instrument(AAPL), DAY, True))
    early = _et(DAY, 8)
    pre = TICKS.historical_ticks(AAPL, "BID_ASK", 100, end=_utc(early))
    assert pre and all(_et(DAY, 4) <= t.time < early for t in pre)
    # regular hours only: the session before 08:00 is the previous day's
    prev = TICKS.historical_ticks(AAPL, "BID_ASK", 100, end=_utc(early), useRth=True)
    assert prev and all(
        _et(dt.date(2013, 2, 28), 9, 30) <= t.time < _et(dt.date(2013, 2, 28), 16)
        for t in prev)
    assert prev[-1].time == _et(dt.date(2013, 2, 28), 16) - 1
    fwd = TICKS.historical_ticks(AAPL, "TRADES", 1000, start=_utc(early), useRth=True)
    assert fwd and fwd[0].time == rth_start
    late = TICKS.historical_ticks(AAPL, "MIDPOINT", 1000, end=_utc(_et(DAY, 19)), useRth=True)
    assert late[-1].time == rth_end - 1
    # one session: from 19:59:50 only ten seconds come, not the next day's
    tail = TICKS.historical_ticks(AAPL, "BID_ASK", 1000, start=_utc(_et(DAY, 19, 59, 50)))
    assert tail and all(t.time < _et(DAY, 20) for t in tail)
    # between sessions, forward: the next session (Monday 04:00)
    monday = TICKS.historical_ticks(AAPL, "BID_ASK", 5, start=_utc(_et(dt.date(2013, 3, 2), 12)))
    assert monday[0].time == _et(dt.date(2013, 3, 4), 4)
    # between sessions, backward: the last session (Friday until 20:00)
    friday = TICKS.historical_ticks(AAPL, "TRADES", 5, end=_utc(_et(dt.date(2013, 3, 2), 12)))
    assert friday[-1].time < _et(DAY, 20) and friday[0].time >= _et(DAY, 19)
    fx = TICKS.historical_ticks(EURUSD, "BID_ASK", 50, end=_utc(E0), useRth=True)
    assert fx and fx[-1].time == E0 - 1
    assert TICKS.historical_ticks(EURUSD, "TRADES", 50, end=_utc(E0)) == []


def test_historical_bid_ask_ignoring_sizes_changes_a_price_at_each_tick() -> None:
    got = TICKS.historical_ticks(AMD, "BID_ASK", 200, end=_utc(E0), ignoreSize=True)
    assert isinstance(got[0], BidAskTick)
    assert len(got) >= 200
    for a, b in itertools.pairwise(got):
        assert isinstance(a, BidAskTick) and isinstance(b, BidAskTick)
        assert (a.bidPrice, a.askPrice) != (b.bidPrice, b.askPrice)
    assert got == TICKS.bid_asks(AMD, got[0].time, E0, ignoreSize=True)
    mids = TICKS.historical_ticks(AMD, "MIDPOINT", 5, end=_utc(E0))
    assert all(isinstance(m, MidPointTick) for m in mids)


def test_historical_ticks_bad_requests() -> None:
    with pytest.raises(ValueError, match="whatToShow"):
        TICKS.historical_ticks(AAPL, "BID", 10, end=E0)
    with pytest.raises(ValueError, match="numberOfTicks"):
        TICKS.historical_ticks(AAPL, "TRADES", 0, end=E0)
    with pytest.raises(ValueError, match="start or end"):
        TICKS.historical_ticks(AAPL, "TRADES", 10)
    with pytest.raises(KeyError):
        TICKS.historical_ticks(1, "TRADES", 10, end=E0)
    assert TICKS.historical_ticks(AAPL, "trades", 10, end=E0)  # case-insensitive
    before = _et(dt.date(1990, 1, 2), 10)  # no data then
    assert TICKS.historical_ticks(AAPL, "TRADES", 10, end=before) == []


# ------------------------------------------------------------------- histogram

def test_histogram_totals_are_the_paths_volumes() -> None:
    days = [dt.date(2013, 2, 27), dt.date(2013, 2, 28), DAY]
    end = _et(DAY, 12)
    hist = TICKS.histogram(AAPL, "3 days", _utc(end))
    prices = [p for p, _ in hist]
    assert prices == sorted(prices) and len(set(prices)) == len(prices)
    assert all(s > 0 for _, s in hist)
    total = 0
    for d in days:
        path = PRICES.path(AAPL, d)
        assert path is not None
        total += int(path.volumes[: min(end, path.end) - path.start].sum())
    assert sum(s for _, s in hist) == total
    path = PRICES.path(AAPL, DAY)
    assert path is not None
    assert min(prices) <= float(path.prices[: end - path.start].min())
    for p in prices:
        assert p == pytest.approx(round(p / 0.01) * 0.01, abs=1e-9)


def test_histogram_of_whole_regular_sessions_is_the_daily_volume() -> None:
    end = _utc(_et(DAY, 16))
    bars = PRICES.daily(SPY)[-5:]
    rth = TICKS.histogram(SPY, "5 days", end, useRth=True)
    assert sum(s for _, s in rth) == sum(b.volume for b in bars)
    one = TICKS.histogram(SPY, "1 day", _utc(_et(DAY, 20)), useRth=False)
    ext = bars[-1].volume * EXTENDED_VOLUME_PCT // 100
    assert sum(s for _, s in one) == bars[-1].volume + ext
    assert TICKS.histogram(SPY, "1 week", end, useRth=True) == rth  # Mon..Fri
    assert TICKS.histogram(SPY, "1 weeks", end, useRth=True) == rth
    month = TICKS.histogram(SPY, "1 month", end, useRth=True)
    assert sum(s for _, s in month) == sum(b.volume for b in PRICES.daily(SPY)[-19:])
    assert TICKS.histogram(EURUSD, "1 day", end) == []


def test_histogram_months_end_on_the_last_day_of_a_shorter_month() -> None:
    end = _utc(_et(dt.date(2013, 5, 31), 16))  # one month back: 2013-04-30 16:00
    month = TICKS.histogram(AMD, "1 month", end, useRth=True)
    bars = [b for b in PRICES.daily(AMD, dt.date(2013, 5, 31)) if b.date >= dt.date(2013, 5, 1)]
    assert len(bars) == 22  # May 2013 less Memorial Day
    assert sum(s for _, s in month) == sum(b.volume for b in bars)


@pytest.mark.parametrize(("text", "parsed"), [("3 days", (3, "D")), ("1 week", (1, "W")),
                                              ("1 weeks", (1, "W")), ("2 MONTHS", (2, "M")),
                                              ("1 year", (1, "Y")), ("1 day", (1, "D"))])
def test_time_periods(text: str, parsed: tuple[int, str]) -> None:
    assert parse_time_period(text) == parsed


@pytest.mark.parametrize("text", ["", "3", "days", "0 days", "3 fortnights", "-1 day"])
def test_bad_time_periods(text: str) -> None:
    with pytest.raises(ValueError, match="time period"):
        parse_time_period(text)
    with pytest.raises(ValueError, match="time period"):
        TICKS.histogram(AAPL, text, E0)


def test_sizes_are_decimals() -> None:
    t = TICKS.trades(AAPL, E0, E0 + 1)[0]
    b = TICKS.bid_asks(AAPL, E0, E0 + 1)[0]
    assert isinstance(t.size, Decimal) and isinstance(b.bidSize, Decimal)
    assert isinstance(TICKS.histogram(AAPL, "1 day", E0)[0][1], Decimal)
