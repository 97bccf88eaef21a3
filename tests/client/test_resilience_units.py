"""The pieces of resilience without a connection: backoff, pacing rules, gaps, routing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from twsbridge.client import (
    ConnectionLost,
    Contract,
    Gap,
    HistoricalLimits,
    ReconnectPolicy,
    Subscription,
    TWSClient,
)
from twsbridge.client.pacing import (
    RECOVER_AFTER,
    HistoricalPacer,
    Pacing,
    PacingWait,
    bar_seconds,
    historical_key,
)
from twsbridge.client.requests import Request, Router
from twsbridge.protocol import Message, incoming, outgoing

pytestmark = pytest.mark.timeout(10)

AMD = Contract(conId=4391, exchange="SMART")


def test_backoff_grows_to_the_maximum_with_jitter() -> None:
    policy = ReconnectPolicy(initial=0.5, maximum=30.0, factor=2.0, jitter=0.2)
    for attempt, base in [(1, 0.5), (2, 1.0), (3, 2.0), (7, 30.0), (50, 30.0)]:
        delays = [policy.delay(attempt) for _ in range(200)]
        assert all(base * 0.8 <= d <= base * 1.2 for d in delays)
        assert max(delays) - min(delays) > 0  # jittered
    assert ReconnectPolicy(initial=1, jitter=0).delay(3) == 4.0
    bad: list[dict[str, Any]] = [{"factor": 0.5}, {"jitter": 1.0}, {"max_attempts": 0},
                                 {"initial": -1}]
    for kwargs in bad:
        with pytest.raises(ValueError):
            ReconnectPolicy(**kwargs)


def test_bar_sizes_and_which_requests_are_paced() -> None:
    assert [bar_seconds(b) for b in ("1 secs", "30 secs", "1 min", "2 hours", "1 day", "1W",
                                     "1M", "nonsense")] == [
        1, 30, 60, 7200, 86400, 7 * 86400, 30 * 86400, None]
    limits = HistoricalLimits()
    assert limits.applies("30 secs") and limits.applies("odd") and not limits.applies("1 min")
    assert HistoricalLimits(max_bar_seconds=None).applies("1 day")


def _req(duration: str, what: str = "TRADES", reqId: int = 1) -> outgoing.ReqHistoricalData:
    return outgoing.ReqHistoricalData(
        reqId=reqId, contract=AMD, endDateTime="", durationStr=duration,
        barSizeSetting="5 secs", whatToShow=what, useRTH=True, formatDate=1,
        keepUpToDate=False)


def test_historical_keys() -> None:
    a, b = historical_key(_req("60 S", reqId=1)), historical_key(_req("60 S", reqId=2))
    assert a.identical == b.identical and a.group == b.group  # the reqId does not count
    c = historical_key(_req("120 S"))
    assert c.identical != a.identical and c.group == a.group
    d = historical_key(_req("60 S", "BID_ASK"))
    assert d.group != a.group and d.weight == 2 and a.weight == 1


async def test_pacer_rules() -> None:
    waits: list[PacingWait] = []
    limits = HistoricalLimits(max_requests=3, window=10.0, identical_interval=3.0,
                              same_contract=2, same_contract_window=1.0, margin=0.0)
    pacer = HistoricalPacer(limits, waits.append)
    now = asyncio.get_running_loop().time
    one, two, other = (historical_key(_req(d)) for d in ("60 S", "120 S", "180 S"))
    first, second = await pacer.acquire(one), await pacer.acquire(two)
    assert pacer.delay(other, now())[0] is None  # not written yet: wait until they are
    pacer.sent(first)
    pacer.sent(second)
    t = now()
    seconds, reason = pacer.delay(other, t)  # third of a series within 1 s
    assert seconds is not None and 0.9 < seconds <= 1.0 and "one contract" in reason
    seconds, reason = pacer.delay(one, t + 1.5)  # identical within 3 s
    assert seconds is not None and 1.4 < seconds <= 1.5 and "identical" in reason
    assert pacer.delay(other, t + 1.1) == (0.0, "")
    bid_ask = historical_key(_req("60 S", "BID_ASK"))  # counts twice: 2 + 2 > 3
    seconds, reason = pacer.delay(bid_ask, t + 3.5)
    assert seconds is not None and 6.4 < seconds <= 6.5 and "at most 3" in reason
    start = now()
    pacer.sent(await pacer.acquire(other))  # waits for the series window
    assert now() - start >= 0.9 and len(waits) == 1 and pacer.pending == []
    fresh = HistoricalPacer(HistoricalLimits(), waits.append)
    await fresh.acquire(one)
    assert fresh.delay(one, now())[0] is None  # identical, not written yet
    fresh.forget_unsent()  # the connection ended before it was written
    assert fresh.delay(one, now()) == (0.0, "")


def _sub() -> Subscription[Message]:
    return Subscription("reqPnL", 5, (incoming.PnL,), convert=lambda m: [m],
                        renew=lambda rid: (outgoing.ReqPnL(reqId=rid or 0, account="A",
                                                           modelCode=""), None))


def test_stale_subscription_yields_a_gap_before_its_next_data() -> None:
    sub = _sub()
    stale_at = datetime.now(UTC)
    sub.mark_stale(stale_at, "TWS error 10197: No market data")
    pnl = incoming.PnL(reqId=5, dailyPnL=1.0, unrealizedPnL=2.0, realizedPnL=3.0)
    sub.feed(pnl)
    gap, item = list(sub._items)
    assert isinstance(gap, Gap) and gap.since == stale_at and "data resumed" in gap.reason
    assert gap.reason.startswith("TWS error 10197")
    assert item is pnl and sub.stale_since is None
    msg = sub.renew(9)
    assert sub.reqId == 9 and isinstance(msg, outgoing.ReqPnL) and msg.reqId == 9


def test_router_keeps_resumable_streams_and_broadcasts_unkeyed_ones() -> None:
    router = Router()
    kept, one_shot = _sub(), Request("reqCurrentTime", None, (incoming.CurrentTime,),
                                     (incoming.CurrentTime,), convert=lambda m: [m])
    stream: Subscription[Message] = Subscription(
        "reqPositions", None, (incoming.Position,), convert=lambda m: [m],
        renew=lambda _: (outgoing.ReqPositions(), None))
    snapshot = Request("reqPositions", None, (incoming.Position, incoming.PositionEnd),
                       (incoming.PositionEnd,), convert=lambda m: [m])
    for req in (kept, one_shot, stream, snapshot):
        router.add(req)
    pos = incoming.Position(account="A", contract=AMD, position=Decimal(1),
                             avgCost=1.0)
    assert router.route(pos)
    assert list(stream._items) == [pos] and list(snapshot._items) == [pos]
    assert set(router.streams()) == {kept, stream}
    lost = ConnectionLost("gone")
    assert set(router.close(lost, "here", keep=lambda r: r.resumable)) == {kept, stream}
    assert one_shot.exception is lost and snapshot.exception is lost
    assert not kept.done and len(router) == 0


def test_register_accepts_connection_event_names() -> None:
    ib = TWSClient()
    ib.register(print, "connected", "disconnected", "reconnecting", "error")
    with pytest.raises(ValueError):
        ib.register(print, "conected")
    assert ib.unregister(print, "connected")
    assert ib.state == "disconnected" and not ib.reconnecting


def test_error_100_lowers_the_rate_which_climbs_back_after_quiet() -> None:
    pacing = Pacing(45.0, None)
    for t in (0.0, 1.0, 2.0):  # a burst of 100s (a limit window on TWS's side)
        pacing.slow_down(t)
    assert pacing.max_rate == pytest.approx(45 * 0.8 ** 3)
    assert pacing.recover(2.0 + RECOVER_AFTER - 1) is None  # not quiet long enough
    rates = []
    t = 2.0 + RECOVER_AFTER
    while (rate := pacing.recover(t)) is not None:
        rates.append(rate)
        t += 5
    assert rates == pytest.approx([45 * 0.8 ** 2, 45 * 0.8, 45.0])
    assert pacing.max_rate == 45.0 and pacing.rate_exceeded == 3
    pacing.slow_down(t)  # a new 100 starts the wait again
    assert pacing.recover(t + 1) is None and pacing.max_rate == 36.0


def test_rate_recovery_without_a_local_limit_returns_to_none() -> None:
    pacing = Pacing(0.0, None)  # +PACEAPI: no local limit until TWS says 100
    pacing.slow_down(0.0)
    assert pacing.max_rate == 40.0
    assert pacing.recover(RECOVER_AFTER) == 0.0  # 50: TWS's own limit, so none again
    assert pacing.recover(RECOVER_AFTER + 10) is None
