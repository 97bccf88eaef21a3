"""Daily series (real and synthetic), intraday paths and quotes."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import gzip
import io
import os
import subprocess
import sys
import time
from decimal import Decimal
from importlib import resources
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twsbridge.sim.market.prices import DATA_END, EXTENDED_VOLUME_PCT, PriceModel, Quote
from twsbridge.sim.market.quoting import QUOTE_CACHE_SIZE, bid_ask_one, mix64_one
from twsbridge.sim.reference.calendar import SIM_TZ, session_bounds, trading_days
from twsbridge.sim.reference.instruments import INSTRUMENTS, Instrument, InstrumentBook

AAPL, AMD, IBM, MSFT, GOOG, SPY, EURUSD, USDJPY = (
    265598, 4391, 8314, 272093, 208813720, 756733, 12087792, 15016059)
MODEL = PriceModel()


def _csv_rows(ticker: str) -> list[dict[str, str]]:
    raw = resources.files("bokeh_sampledata").joinpath("_data/stocks.csv.gz").read_bytes()
    rows = csv.DictReader(io.StringIO(gzip.decompress(raw).decode()))
    return sorted((r for r in rows if r["Ticker"] == ticker), key=lambda r: r["Date"])


def _et(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, s, tzinfo=SIM_TZ)


def test_aapl_close_on_last_day_is_the_data_sets() -> None:
    last = _csv_rows("AAPL")[-1]
    assert last["Date"] == "2013-03-01"
    bar = MODEL.daily(AAPL)[-1]
    assert bar.date == DATA_END
    assert bar.close == float(last["Close"]) == 430.47
    assert bar.real


@pytest.mark.parametrize(("conid", "ticker"), [(AAPL, "AAPL"), (GOOG, "GOOG"), (IBM, "IBM"),
                                               (MSFT, "MSFT")])
def test_every_real_bar_is_exactly_the_data_sets(conid: int, ticker: str) -> None:
    rows = _csv_rows(ticker)
    bars = MODEL.daily(conid)
    assert len(bars) == len(rows)
    for bar, row in zip(bars, rows, strict=True):
        assert bar.date.isoformat() == row["Date"]
        assert (bar.open, bar.high, bar.low, bar.close) == tuple(
            float(row[k]) for k in ("Open", "High", "Low", "Close"))
        assert bar.volume == int(float(row["Volume"]))
        assert bar.real


@pytest.mark.parametrize("conid", [i.conId for i in INSTRUMENTS])
def test_series_consistency(conid: int) -> None:
    inst = MODEL.instrument(conid)
    bars = MODEL.daily(conid)
    assert bars[0].date >= inst.firstDate
    assert bars[-1].date == DATA_END
    assert [b.date for b in bars] == trading_days(inst, bars[0].date, DATA_END)
    o, h, lo, c = (np.array([getattr(b, k) for b in bars])
                   for k in ("open", "high", "low", "close"))
    assert np.all(lo <= np.minimum(o, c)) and np.all(h >= np.maximum(o, c))
    assert np.all(lo > 0)
    if not bars[0].real:
        for arr in (o, h, lo, c):
            ticks = arr / inst.minTick
            assert np.allclose(ticks, np.round(ticks), atol=1e-6)


@pytest.mark.parametrize(("conid", "close"), [(AMD, 2.49), (270639, 21.03), (SPY, 152.11),
                                              (76792991, 34.87), (EURUSD, 1.3018)])
def test_synthetic_series_end_at_realistic_close(conid: int, close: float) -> None:
    bar = MODEL.daily(conid)[-1]
    assert not bar.real
    assert bar.close == pytest.approx(close, rel=0.01)


def test_determinism_and_seeds() -> None:
    a, b = PriceModel(seed=7), PriceModel(seed=7)
    assert a.daily(AMD) == b.daily(AMD)
    assert a.daily(EURUSD) == b.daily(EURUSD)
    day = dt.date(2013, 2, 27)
    pa, pb = a.path(AMD, day), b.path(AMD, day)
    assert pa is not None and pb is not None
    assert np.array_equal(pa.prices, pb.prices) and np.array_equal(pa.volumes, pb.volumes)
    t = _et(2013, 2, 27, 11, 12, 13)
    assert a.quote(SPY, t) == b.quote(SPY, t)
    other = PriceModel(seed=8)
    assert other.daily(AMD) != a.daily(AMD)
    assert other.daily(AAPL) == a.daily(AAPL)  # real data does not depend on the seed
    assert other.daily(AMD)[-1].close == pytest.approx(a.daily(AMD)[-1].close, rel=0.01)


_DIGEST = """
import datetime as dt, hashlib
from twsbridge.sim.market.prices import PriceModel
from twsbridge.sim.reference.calendar import SIM_TZ
m = PriceModel(seed=5)
h = hashlib.sha256()
h.update(repr(m.daily(4391, dt.date(2014, 1, 10))).encode())
h.update(m.path(12087792, dt.date(2013, 2, 26)).prices.tobytes())
h.update(repr(m.quote(756733, dt.datetime(2013, 2, 26, 15, 0, 7, tzinfo=SIM_TZ))).encode())
print(h.hexdigest())
"""


def test_determinism_across_processes() -> None:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(_DIGEST, {})
    env = {**os.environ, "PYTHONHASHSEED": "123", "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", _DIGEST], capture_output=True, text=True,
                         check=True, env=env)
    assert out.stdout.strip() == buf.getvalue().strip()
    assert len(out.stdout.strip()) == 64


def test_continuation_after_data_end_is_seeded_and_prefix_stable() -> None:
    near, far = PriceModel(seed=3), PriceModel(seed=3)
    short = near.daily(AAPL, dt.date(2013, 6, 28))
    long = far.daily(AAPL, dt.date(2016, 1, 4))
    assert long[: len(short)] == short
    ext = [b for b in long if b.date > DATA_END]
    assert ext and not any(b.real for b in ext)
    assert ext[0].date == dt.date(2013, 3, 4)
    assert abs(ext[0].open / 430.47 - 1) < 0.1
    assert PriceModel(seed=4).daily(AAPL, dt.date(2013, 6, 28))[-1] != short[-1]
    for b in ext:
        assert b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high
    assert near.daily_bar(AAPL, dt.date(2013, 3, 9)) is None  # Saturday


def _check_path(model: PriceModel, conid: int, day: dt.date) -> None:
    bar = model.daily_bar(conid, day)
    path = model.path(conid, day)
    assert bar is not None and path is not None
    rth = path.prices[path.rth_start: path.rth_end]
    assert rth[0] == bar.open
    assert rth[-1] == bar.close
    assert rth.max() == bar.high
    assert rth.min() == bar.low
    assert int(path.volumes[path.rth_start: path.rth_end].sum()) == bar.volume
    assert np.all(path.volumes >= 0)
    assert np.all(path.prices > 0)
    inst = model.instrument(conid)
    if inst.is_forex:
        assert len(path.prices) == 23 * 3600 + 45 * 60
    else:
        assert (path.rth_start, path.rth_end, len(path.prices)) == (19800, 43200, 57600)
        assert dt.datetime.fromtimestamp(path.start, SIM_TZ).time() == dt.time(4, 0)


_DAYS = [d for d in trading_days(INSTRUMENTS[0], dt.date(2012, 6, 1), dt.date(2014, 6, 1))]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=st.sampled_from(INSTRUMENTS), day=st.sampled_from(_DAYS),
       seed=st.integers(min_value=0, max_value=2**31))
def test_intraday_path_invariants(inst: Instrument, day: dt.date, seed: int) -> None:
    model = PriceModel(seed=seed, path_cache_size=4)
    if model.daily_bar(inst.conId, day) is None:  # before firstDate / forex holiday
        return
    _check_path(model, inst.conId, day)


def test_real_day_path_invariants() -> None:
    for day in (dt.date(2013, 3, 1), dt.date(2008, 10, 10), dt.date(2000, 3, 1)):
        _check_path(MODEL, AAPL, day)


def test_path_builds_fast_and_is_cached() -> None:
    model = PriceModel(seed=11)
    model.series(AAPL)
    timings = []
    for day in (dt.date(2012, 5, 1), dt.date(2012, 5, 2), dt.date(2012, 5, 3)):
        t0 = time.perf_counter()
        model.path(AAPL, day)
        timings.append(time.perf_counter() - t0)
    assert min(timings) < 0.05
    assert model.path(AAPL, dt.date(2012, 5, 1)) is model.path(AAPL, dt.date(2012, 5, 1))
    small = PriceModel(path_cache_size=2)
    first = small.path(AMD, dt.date(2012, 5, 1))
    small.path(AMD, dt.date(2012, 5, 2))
    small.path(AMD, dt.date(2012, 5, 3))
    assert small.path(AMD, dt.date(2012, 5, 1)) is not first  # evicted, rebuilt identically
    assert np.array_equal(small.path(AMD, dt.date(2012, 5, 1)).prices, first.prices)  # type: ignore[union-attr]


def test_price_at_session_edges() -> None:
    feb28 = MODEL.daily_bar(AAPL, dt.date(2013, 2, 28))
    mar1 = MODEL.daily_bar(AAPL, DATA_END)
    assert feb28 is not None and mar1 is not None
    assert MODEL.price_at(AAPL, _et(2013, 3, 1, 9, 30)) == mar1.open
    assert MODEL.price_at(AAPL, _et(2013, 3, 1, 15, 59, 59)) == mar1.close
    assert MODEL.price_at(AAPL, _et(2013, 3, 1, 16, 0)) == mar1.close
    assert MODEL.price_at(AAPL, _et(2013, 3, 1, 21, 0)) == mar1.close
    assert MODEL.price_at(AAPL, _et(2013, 3, 2, 12, 0)) == mar1.close  # Saturday
    assert MODEL.price_at(AAPL, _et(2013, 3, 1, 3, 0)) == feb28.close
    assert MODEL.price_at(AAPL, _et(2013, 3, 1, 4, 0)) == feb28.close  # pre-market start
    assert MODEL.price_at(AAPL, _et(1999, 1, 4, 12, 0)) == MODEL.daily(AAPL)[0].open
    pre = MODEL.price_at(AAPL, _et(2013, 3, 1, 8, 0))
    assert abs(pre / feb28.close - 1) < 0.05
    eur = MODEL.daily_bar(EURUSD, DATA_END)
    assert eur is not None
    assert MODEL.price_at(EURUSD, _et(2013, 3, 2, 12, 0)) == eur.close
    assert MODEL.price_at(EURUSD, _et(2013, 3, 1, 17, 5)) == eur.close
    assert MODEL.price_at(EURUSD, _et(2013, 2, 28, 17, 15)) == eur.open


@settings(max_examples=60, deadline=None)
@given(conid=st.sampled_from([AAPL, AMD, SPY, GOOG, EURUSD, USDJPY]),
       offset=st.integers(min_value=0, max_value=40 * 86400))
def test_quote_invariants(conid: int, offset: int) -> None:
    t = _et(2013, 2, 1) + dt.timedelta(seconds=offset)
    q = MODEL.quote(conid, t)
    tick = MODEL.instrument(conid).minTick
    assert 0 < q.bid < q.ask
    assert q.bid <= q.last <= q.ask
    spread = (q.ask - q.bid) / tick
    assert abs(spread - round(spread)) < 1e-6 and 1 <= round(spread) <= 5
    assert q.low <= q.high
    assert q.bidSize > 0 and q.askSize > 0 and q.volume >= 0
    assert q.time == t
    assert MODEL.quote(conid, t) == q
    assert q.last == MODEL.price_at(conid, t)


def test_quote_in_session() -> None:
    t = _et(2013, 3, 1, 10, 0)
    q = MODEL.quote(AAPL, t)
    feb28 = MODEL.daily_bar(AAPL, dt.date(2013, 2, 28))
    assert feb28 is not None
    assert q.close == feb28.close
    assert q.open == 438.0
    assert 429.98 <= q.low <= q.last <= q.high <= 438.1799
    path = MODEL.path(AAPL, DATA_END)
    assert path is not None
    pos = int(t.timestamp()) - path.start
    assert q.volume == int(path.volumes[: pos + 1].sum())
    weekend = MODEL.quote(AAPL, _et(2013, 3, 2, 12, 0))
    assert (weekend.open, weekend.high, weekend.low) == (438.0, 438.1799, 429.98)
    assert weekend.last == 430.47
    assert weekend.close == feb28.close


def test_unknown_conid_and_bad_seed() -> None:
    with pytest.raises(KeyError):
        MODEL.daily(1)
    with pytest.raises(ValueError):
        PriceModel(seed=-1)
    assert PriceModel(book=InstrumentBook(INSTRUMENTS[:1])).daily(AAPL)[-1].close == 430.47


# ------------------------------------------------- quote: bit for bit as before
# The quote is memoised per (conId, second) and answered from per-day running
# figures and scalar bid/ask arithmetic. _ref_quote is the algorithm it
# replaced (numpy reductions over the path up to the second, numpy bid_ask on
# one-element arrays), kept here verbatim as the reference.


def _ref_mix64(seed: int, conId: int, epochs: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = epochs.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        x = x + np.uint64((seed * 1_000_003 + conId * 7919 + 1) & ((1 << 64) - 1))
        x ^= x >> np.uint64(30)
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x = x * np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def _ref_bid_ask(model: PriceModel, conId: int, epochs: np.ndarray, prices: np.ndarray,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    inst = model.instrument(conId)
    tick = inst.minTick
    h = _ref_mix64(model.seed, conId, epochs)
    k = np.maximum(1, np.rint(prices * 4e-5 / tick)).astype(np.uint64)
    n = (np.uint64(1) + h % k).astype(np.int64)
    j = ((h >> np.uint64(20)) % n.astype(np.uint64)).astype(np.int64)
    raw = np.floor((prices - j * tick) / tick + 1e-7) * tick
    bid = np.round(np.maximum(raw, tick), 10).astype(np.float64)
    ask = np.round(bid + n * tick, 10).astype(np.float64)
    lots = 100 if not inst.is_forex else 100_000
    bsize = ((h >> np.uint64(33)) % np.uint64(25) + np.uint64(1)).astype(np.int64) * lots
    asize = ((h >> np.uint64(45)) % np.uint64(25) + np.uint64(1)).astype(np.int64) * lots
    return bid, ask, bsize, asize


def _ref_locate(model: PriceModel, inst: Instrument, epoch: int) -> tuple[Any, int, Any]:
    local = dt.datetime.fromtimestamp(epoch, SIM_TZ)
    key = local.date()
    if inst.is_forex and local.hour >= 17:
        key += dt.timedelta(days=1)
    ser = model.series(inst.conId, max(key, DATA_END))
    i = ser.index_le(key)
    if i < 0:
        return ser, -1, None
    day = ser.date(i)
    s, e = session_bounds(inst, day, inst.is_forex)
    if epoch < int(s.timestamp()):
        return ser, i - 1, None
    if epoch >= int(e.timestamp()):
        return ser, i, None
    return ser, i, model.path(inst.conId, day)


def _ref_quote(model: PriceModel, conId: int, t: dt.datetime) -> Quote:
    inst = model.instrument(conId)
    epoch = int(np.floor(t.timestamp()))
    ser, i, path = _ref_locate(model, inst, epoch)
    prev = float(ser.close[i - 1]) if i >= 1 else float(ser.open[max(i, 0)])
    if path is not None:
        pos = epoch - path.start
        last = float(path.prices[pos])
        if pos < path.rth_start:
            seg = path.prices[: pos + 1]
            open_ = float(path.prices[0])
        else:
            seg = path.prices[path.rth_start: min(pos + 1, path.rth_end)]
            open_ = float(path.prices[path.rth_start])
        high, low = float(seg.max()), float(seg.min())
        volume = int(path.volumes[: pos + 1].sum())
        last_size = int(path.volumes[pos])
    elif i >= 0:
        last = float(ser.close[i])
        open_, high, low = float(ser.open[i]), float(ser.high[i]), float(ser.low[i])
        v = int(ser.volume[i])
        volume = v if inst.is_forex else v + v * EXTENDED_VOLUME_PCT // 100
        last_size = 0
    else:
        last = open_ = high = low = prev = float(ser.open[0])
        volume = last_size = 0
    e = np.array([epoch], dtype=np.int64)
    bid, ask, bs, asz = _ref_bid_ask(model, conId, e, np.array([last]))
    if not inst.is_forex:
        last_size = max(100, min(last_size, 10_000) // 100 * 100)
    return Quote(
        bid=float(bid[0]), ask=float(ask[0]), last=last,
        bidSize=Decimal(int(bs[0])), askSize=Decimal(int(asz[0])),
        lastSize=Decimal(last_size), volume=Decimal(volume),
        high=high, low=low, open=open_, close=prev, time=t,
    )


def _bits(q: Quote) -> list[tuple[str, str]]:
    """Every field as (type, exact text): floats by float.hex (tells -0.0 from 0.0)."""
    out = []
    for f in dataclasses.fields(q):
        v = getattr(q, f.name)
        out.append((type(v).__name__, v.hex() if type(v) is float else repr(v)))
    return out


def _assert_same(model: PriceModel, conId: int, t: dt.datetime) -> None:
    got, want = model.quote(conId, t), _ref_quote(model, conId, t)
    assert _bits(got) == _bits(want), (conId, t)


# session edges of stocks (04:00, 09:30, 16:00, 20:00) and forex (17:00, 17:15),
# midnight, sub-second times
_EDGE_TIMES = [dt.time(0, 0), dt.time(3, 59, 59), dt.time(4, 0), dt.time(4, 0, 0, 400_000),
               dt.time(4, 0, 1), dt.time(9, 29, 59, 999_999), dt.time(9, 30), dt.time(9, 30, 1),
               dt.time(12, 0, 0, 500_000), dt.time(15, 59, 59), dt.time(16, 0),
               dt.time(16, 59, 59), dt.time(17, 0), dt.time(17, 14, 59), dt.time(17, 15),
               dt.time(17, 15, 0, 250_000), dt.time(17, 15, 1), dt.time(19, 59, 59),
               dt.time(20, 0), dt.time(23, 59, 59, 750_000)]
# the real data's last days and the first synthetic ones, a weekend, a holiday,
# both DST changes, first bars (2000-03-01; TSLA 2010-06-29, META 2012-05-18)
# and days before them, a day far after the data
_EDGE_DAYS = [dt.date(1999, 6, 1), dt.date(2000, 2, 29), dt.date(2000, 3, 1),
              dt.date(2010, 6, 29), dt.date(2012, 5, 17), dt.date(2012, 5, 18),
              dt.date(2012, 12, 31), dt.date(2013, 1, 1), dt.date(2013, 1, 2),
              dt.date(2013, 2, 28), DATA_END, dt.date(2013, 3, 2), dt.date(2013, 3, 3),
              dt.date(2013, 3, 4), dt.date(2013, 3, 10), dt.date(2013, 3, 11),
              dt.date(2013, 11, 3), dt.date(2013, 11, 4), dt.date(2019, 7, 5)]


@pytest.mark.parametrize("seed", [0, 5])
def test_quote_is_bit_identical_to_the_previous_algorithm_at_edges(seed: int) -> None:
    model = PriceModel(seed=seed)
    conids = [i.conId for i in INSTRUMENTS] if seed == 0 else [AAPL, SPY, EURUSD, USDJPY]
    for conid in conids:
        for day in _EDGE_DAYS:
            for tod in _EDGE_TIMES:
                _assert_same(model, conid, dt.datetime.combine(day, tod, SIM_TZ))
        # the quote in UTC and US/Eastern of the same instant: same fields, its own time
        t = _et(2013, 3, 1, 9, 30)
        assert _bits(model.quote(conid, t.astimezone(dt.UTC))) == _bits(
            _ref_quote(model, conid, t.astimezone(dt.UTC)))


def test_quote_is_bit_identical_over_random_and_consecutive_times() -> None:
    model = PriceModel(seed=0)
    rng = np.random.default_rng(42)
    conids = [i.conId for i in INSTRUMENTS]
    lo, hi = _et(2013, 2, 28).timestamp(), _et(2013, 3, 5).timestamp()
    # random (conId, time) pairs over five days, in random order: the memo and
    # the per-day figures are filled and left in any order
    for c, x in zip(rng.choice(conids, 3000), rng.uniform(lo, hi, 3000), strict=True):
        _assert_same(model, int(c), dt.datetime.fromtimestamp(float(x), SIM_TZ))
    # random days over 13 years
    for c, x in zip(rng.choice(conids, 60), rng.uniform(_et(2000, 1, 1).timestamp(),
                                                        _et(2013, 12, 31).timestamp(), 60),
                    strict=True):
        _assert_same(model, int(c), dt.datetime.fromtimestamp(float(x), SIM_TZ))
    # consecutive quarter seconds, as a streaming line asks, through the open of
    # the pre-market, the regular session, the close and the forex session's roll
    for conid in (AAPL, SPY, EURUSD, USDJPY):
        for start in (_et(2013, 3, 1, 3, 59, 50), _et(2013, 3, 1, 9, 29, 50),
                      _et(2013, 3, 1, 15, 59, 50), _et(2013, 3, 1, 16, 59, 50),
                      _et(2013, 2, 28, 17, 14, 50)):
            for k in range(120):
                _assert_same(model, conid, start + dt.timedelta(milliseconds=250 * k))
    # every 37 s through four days (Thursday to the open of Monday)
    for conid in (AAPL, AMD, EURUSD):
        t0 = _et(2013, 2, 28)
        for k in range(0, 4 * 86400, 37):
            _assert_same(model, conid, t0 + dt.timedelta(seconds=k))


def test_bid_ask_one_second_equals_the_vector_bid_ask() -> None:
    rng = np.random.default_rng(7)
    for conid in (AAPL, SPY, EURUSD, USDJPY):
        inst = MODEL.instrument(conid)
        tick = inst.minTick
        n = 20_000
        epochs = rng.integers(946_684_800, 2_000_000_000, n, dtype=np.int64)
        # on the tick grid (as the paths are), off it, and near the tick
        prices = np.concatenate((
            np.round(np.round(rng.uniform(tick, 2000 * tick * 100, n // 2) / tick) * tick, 10),
            rng.uniform(tick / 2, 5000 * tick * 100, n // 4),
            rng.uniform(tick / 2, 3 * tick, n - n // 2 - n // 4)))
        bid, ask, bs, asz = MODEL.bid_ask(conid, epochs, prices)
        lots = 100 if not inst.is_forex else 100_000
        for k in range(n):
            got = bid_ask_one(mix64_one(MODEL.seed, conid, int(epochs[k])), float(prices[k]),
                              tick, lots)
            assert got == (float(bid[k]), float(ask[k]), int(bs[k]), int(asz[k])), (
                conid, int(epochs[k]), float(prices[k]))
            assert got[0].hex() == float(bid[k]).hex() and got[1].hex() == float(ask[k]).hex()


def test_quote_memo_is_per_second_and_bounded() -> None:
    model = PriceModel(seed=1)
    t = _et(2013, 3, 1, 11, 0, 0)
    a = model.quote(SPY, t)
    b = model.quote(SPY, t + dt.timedelta(milliseconds=600))
    assert (a.time, b.time) == (t, t + dt.timedelta(milliseconds=600))
    assert dataclasses.replace(b, time=t) == a
    assert model.quote(SPY, t + dt.timedelta(seconds=1)) == _ref_quote(
        model, SPY, t + dt.timedelta(seconds=1))
    for k in range(QUOTE_CACHE_SIZE + 10):
        model.quote(SPY, t + dt.timedelta(seconds=k))
    assert len(model._quotes) <= QUOTE_CACHE_SIZE
    _assert_same(model, SPY, t + dt.timedelta(seconds=5))
