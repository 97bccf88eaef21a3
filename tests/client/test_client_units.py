"""The client's pure parts: ticks, bar dates, pacing, error texts, request routing."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from twsbridge.client import (
    TICK_TYPE_NAMES,
    BarData,
    ConnectionLost,
    Contract,
    TokenBucket,
    TWSError,
    bars_to_dataframe,
    is_notice,
    parse_bar_date,
)
from twsbridge.client.requests import Request, Router, identity
from twsbridge.client.ticker import TickBook
from twsbridge.protocol import UNSET_DECIMAL, UNSET_DOUBLE, incoming

pytestmark = pytest.mark.timeout(10)


def test_tick_type_names_match_ibs_client() -> None:
    from ibapi.ticktype import TickTypeEnum

    # where the TWS doc's names are fuller than ibapi's constants
    renamed = {13: "MODEL_OPTION_COMPUTATION", 15: "LOW_13_WEEKS", 16: "HIGH_13_WEEKS",
               17: "LOW_26_WEEKS", 18: "HIGH_26_WEEKS", 19: "LOW_52_WEEKS",
               20: "HIGH_52_WEEKS", 47: "FUNDAMENTAL_RATIOS",
               80: "DELAYED_BID_OPTION_COMPUTATION", 81: "DELAYED_ASK_OPTION_COMPUTATION",
               82: "DELAYED_LAST_OPTION_COMPUTATION", 83: "DELAYED_MODEL_OPTION_COMPUTATION"}
    assert len(TICK_TYPE_NAMES) == 111
    for tick_id, name in TICK_TYPE_NAMES.items():
        ib_name = renamed.get(tick_id, TickTypeEnum.toStr(tick_id))
        assert name.lower() == ib_name.replace("_", "").lower(), (tick_id, name, ib_name)
    assert TICK_TYPE_NAMES[66] == "delayedBid" and TICK_TYPE_NAMES[88] == "delayedLastTimestamp"


def test_tick_price_yields_its_size_tick() -> None:
    book = TickBook(5, Contract(conId=4391))
    ticks = book.update(incoming.TickPrice(reqId=5, tickType=1, price=2.5, size=Decimal(300)))
    assert [(t.name, t.value) for t in ticks] == [("bid", 2.5), ("bidSize", Decimal(300))]
    assert book.ticker.bid == 2.5 and book.ticker.bidSize == 300
    assert ticks[0].time.tzinfo is UTC and book.ticker.time == ticks[0].time
    # high has no size tick
    assert [t.name for t in book.update(incoming.TickPrice(reqId=5, tickType=6, price=3.0))] \
        == ["high"]


def test_delayed_ticks_fill_live_attributes() -> None:
    book = TickBook(1, Contract())
    for tick_type, price in ((66, 1.0), (67, 1.1), (68, 1.05), (72, 1.2), (73, 0.9),
                             (75, 1.01), (76, 0.95)):
        book.update(incoming.TickPrice(reqId=1, tickType=tick_type, price=price,
                                       size=Decimal(1)))
    t = book.ticker
    assert (t.bid, t.ask, t.last, t.high, t.low, t.close, t.open) == \
        (1.0, 1.1, 1.05, 1.2, 0.9, 1.01, 0.95)
    assert t.lastSize == 1
    book.update(incoming.TickSize(reqId=1, tickType=74, size=Decimal(12345)))
    assert t.volume == 12345
    book.update(incoming.TickString(reqId=1, tickType=88, value="1362150000"))
    assert t.lastTimestamp == datetime(2013, 3, 1, 15, 0, tzinfo=UTC)
    book.update(incoming.TickGeneric(reqId=1, tickType=90, value=0.0))
    assert t.halted == 0.0
    book.update(incoming.MarketDataType(reqId=1, marketDataType=3))
    assert t.marketDataType == 3


def test_unavailable_prices_and_sizes() -> None:
    book = TickBook(1, Contract())
    ticks = book.update(incoming.TickPrice(reqId=1, tickType=1, price=-1.0, size=Decimal(0)))
    assert math.isnan(book.ticker.bid) and math.isnan(float(ticks[0].value))
    book.update(incoming.TickPrice(reqId=1, tickType=2, price=UNSET_DOUBLE))
    assert math.isnan(book.ticker.ask)
    assert book.update(incoming.TickSize(reqId=1, tickType=0, size=UNSET_DECIMAL)) == []
    assert book.ticker.bidSize is None
    book.update(incoming.TickString(reqId=1, tickType=32, value="PQZ"))
    assert book.ticker.extra["bidExch"] == "PQZ"


def test_parse_bar_date() -> None:
    assert parse_bar_date("20231020") == date(2023, 10, 20)
    assert parse_bar_date("20231020 09:30:00 US/Eastern") == \
        datetime(2023, 10, 20, 9, 30, tzinfo=ZoneInfo("US/Eastern"))
    assert parse_bar_date("20231020  09:30:00") == datetime(2023, 10, 20, 9, 30)
    assert parse_bar_date("20231020-09:30:00") == datetime(2023, 10, 20, 9, 30)
    assert parse_bar_date("1697808600") == datetime(2023, 10, 20, 13, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="time zone"):
        parse_bar_date("20231020 09:30:00 Mars/Olympus")
    with pytest.raises(ValueError):
        parse_bar_date("yesterday")


def test_dataframe_of_no_bars_and_mixed_zones() -> None:
    empty = bars_to_dataframe([])
    assert list(empty.columns)[:2] == ["date", "open"] and len(empty) == 0
    df = bars_to_dataframe([
        BarData(date="20231020 09:30:00 US/Eastern", open=1, high=2, low=0.5, close=1.5,
                volume=Decimal(10), wap=UNSET_DECIMAL, barCount=3),
        BarData(date="20231020 14:30:00 Europe/London", open=1, high=2, low=0.5, close=1.5,
                volume=Decimal(-1), wap=Decimal("1.25"), barCount=4),
    ])
    assert str(df["date"].dt.tz) == "UTC"
    assert df["date"].iloc[0] == df["date"].iloc[1] - (df["date"].iloc[1] - df["date"].iloc[0])
    assert df["date"].iloc[0].hour == 13 and df["date"].iloc[1].hour == 13
    assert math.isnan(df["wap"].iloc[0]) and df["wap"].iloc[1] == 1.25
    assert df["volume"].tolist() == [10.0, -1.0]
    assert df["barCount"].dtype == "int64"


async def test_token_bucket_limits_any_second() -> None:
    bucket = TokenBucket.per_second(50)
    loop = asyncio.get_running_loop()
    stamps = []
    start = loop.time()
    for _ in range(60):
        await bucket.acquire()
        stamps.append(loop.time() - start)
    assert sum(1 for s in stamps if s < 1.0) <= 50
    assert stamps[4] < 0.05  # a burst goes out at once
    unlimited = TokenBucket.per_second(0)
    start = loop.time()
    for _ in range(1000):
        await unlimited.acquire()
    assert loop.time() - start < 0.5


def test_error_texts_and_notice_codes() -> None:
    err = TWSError(200, "No security definition has been found for the request", 5)
    assert str(err) == ("TWS error 200 (reqId 5): "
                        "No security definition has been found for the request")
    assert str(TWSError(1100, "Connectivity between IB and TWS has been lost.")) == \
        "TWS error 1100: Connectivity between IB and TWS has been lost."
    for code in (2104, 2106, 2107, 2108, 2119, 2158, 2100, 2199, 10167):
        assert is_notice(code), code
    for code in (200, 321, 326, 354, 502, 1100, 162):
        assert not is_notice(code), code


async def test_router_routes_by_reqid_and_in_order() -> None:
    router = Router()
    a, b = router.next_id(), router.next_id()
    assert (a, b) == (1, 2)
    ra = Request("reqContractDetails", a, (incoming.ContractData, incoming.ContractDataEnd),
                 (incoming.ContractDataEnd,), convert=identity)
    rt1 = Request("reqCurrentTime", None, (incoming.CurrentTime,), (incoming.CurrentTime,),
                  convert=identity)
    rt2 = Request("reqCurrentTime", None, (incoming.CurrentTime,), (incoming.CurrentTime,),
                  convert=identity)
    for r in (ra, rt1, rt2):
        router.add(r)
    with pytest.raises(ValueError):
        router.add(ra)
    assert not router.route(incoming.ContractData(reqId=b))  # nobody waits for b
    assert not router.route(incoming.TickSize(reqId=a))  # not an answer of a
    assert router.route(incoming.ContractData(reqId=a))
    assert router.route(incoming.CurrentTime(time=1))
    assert router.route(incoming.CurrentTime(time=2))
    assert router.route(incoming.ContractDataEnd(reqId=a))
    assert [m.time for m in await rt1.wait()] == [1]  # type: ignore[attr-defined]
    assert [m.time for m in await rt2.wait()] == [2]  # type: ignore[attr-defined]
    assert len(await ra.wait()) == 2
    assert len(router) == 0
    rc = Request("x", 3, (incoming.ContractData,), (incoming.ContractDataEnd,),
                 convert=identity)
    router.add(rc)
    assert router.route_error(TWSError(200, "no", 3))
    with pytest.raises(TWSError):
        await rc.wait()
    rd = Request("y", 4, (incoming.ContractData,), (incoming.ContractDataEnd,),
                 convert=identity)
    router.add(rd)
    router.close(ConnectionLost("gone"), "here")
    with pytest.raises(ConnectionLost, match="gone"):
        await rd.wait()
