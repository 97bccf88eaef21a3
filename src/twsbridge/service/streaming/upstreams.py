"""The upstreams of the hub: TWS market data (``quotes``), live bars (``bars``)
and real-time 5-second bars (``realtime_bars``, reqRealTimeBars).

Each upstream holds one TWS subscription of the service's client
(``reqMktData``; ``reqHistoricalData`` with keepUpToDate) and emits JSON-ready
items: a tick ``{"name": "bid", "value": 441.5, "time": "…Z"}``, a bar as
``GET /bars`` serves it. When the connection to TWS drops, the upstream
subscribes again once the gateway manager has reconnected (TWS then sends the
full set again); an error TWS gives for the request itself (354 not subscribed
…) ends the topic with that code - unless the topic was live before and the
error is one of TWS's passing limits (100 message rate, 101
market data lines, 162/420 pacing): then it is subscribed again after a pause,
as after a reconnect.

Register them with :func:`register_market_upstreams`; topics ``orders`` and
``account`` are added the same way: a :class:`~.hub.TopicKind` whose factory
returns an upstream coroutine.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

from twsbridge.client import (
    Contract,
    Gap,
    HistoricalDataStream,
    MarketDataSubscription,
    Subscription,
    Tick,
    TWSClient,
    TWSError,
)
from twsbridge.client.resume import passing_limit
from twsbridge.protocol import incoming

from ..gateway import GatewayManager
from ..gateway_clock import GatewayClock, gateway_clock
from ..problems import ProblemError
from ..schemas import BarPublic
from .hub import (
    Emit,
    Item,
    StreamError,
    StreamHub,
    TopicKind,
    TopicSpec,
    Upstream,
    UpstreamFactory,
)

__all__ = [
    "BARS",
    "QUOTES",
    "REALTIME_BARS",
    "bar_item",
    "bars_spec",
    "quotes_spec",
    "realtime_bar_item",
    "realtime_bars_spec",
    "register_market_upstreams",
    "tick_item",
]

log = logging.getLogger("twsbridge.service.streaming")

QUOTES = "quotes"
BARS = "bars"
REALTIME_BARS = "realtime_bars"
_RETRY_MIN = 0.5
_RETRY_MAX = 10.0


def tick_item(tick: Tick, clock: GatewayClock | None = None) -> Item:
    """A client :class:`Tick` as a JSON-ready item (sizes as numbers, NaN as null);
    ``time`` its arrival on the gateway's clock when ``clock`` is given."""
    value: Any = tick.value
    if isinstance(value, float):
        value = value if math.isfinite(value) else None
    elif isinstance(value, Decimal):
        value = int(value) if value == value.to_integral_value() else float(value)
    at = tick.time if clock is None else clock.at(tick.time)
    return {"name": tick.name, "value": value,
            "time": at.isoformat(timespec="milliseconds").replace("+00:00", "Z")}


def bar_item(bar: Any) -> Item:
    """A protocol ``BarData`` as ``GET /bars`` serves it."""
    item: Item = BarPublic.from_tws(bar).model_dump(mode="json")
    return item


def _number(value: Decimal) -> int | float | None:
    if not value.is_finite():
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def realtime_bar_item(bar: incoming.RealTimeBar) -> Item:
    """A realtimeBar as a JSON-ready item: ``time`` its start (ISO, UTC); volume,
    wap and count -1 unless TRADES."""
    start = dt.datetime.fromtimestamp(bar.time, dt.UTC)
    return {"time": start.isoformat().replace("+00:00", "Z"), "open": bar.open,
            "high": bar.high, "low": bar.low, "close": bar.close,
            "volume": _number(bar.volume), "wap": _number(bar.wap), "count": bar.count}


def _by_time(item: Item) -> str:
    time: str = item["time"]
    return time


def _by_date(item: Item) -> str:
    date: str = item["date"]
    return date


def quotes_spec(contract: Contract, genericTickList: str = "") -> TopicSpec:
    """The market data topic of a resolved ``contract`` (shared per conId and tick list)."""
    return TopicSpec(QUOTES, (contract.conId, genericTickList),
                     {"conId": contract.conId, "symbol": contract.symbol},
                     (contract, genericTickList))


def bars_spec(contract: Contract, barSizeSetting: str, whatToShow: str, useRTH: bool,
              durationStr: str) -> TopicSpec:
    """The live bars topic (shared per conId, bar size, whatToShow and useRTH; the history
    of the snapshot is that of the first subscriber's ``durationStr``)."""
    header = {"conId": contract.conId, "symbol": contract.symbol,
              "barSizeSetting": barSizeSetting, "whatToShow": whatToShow}
    return TopicSpec(BARS, (contract.conId, barSizeSetting, whatToShow, useRTH), header,
                     (contract, barSizeSetting, whatToShow, useRTH, durationStr))


def realtime_bars_spec(contract: Contract, whatToShow: str, useRTH: bool) -> TopicSpec:
    """The real-time bars topic (shared per conId, whatToShow and useRTH)."""
    header = {"conId": contract.conId, "symbol": contract.symbol, "whatToShow": whatToShow}
    return TopicSpec(REALTIME_BARS, (contract.conId, whatToShow, useRTH), header,
                     (contract, whatToShow, useRTH))


async def _resilient(
    gateway: GatewayManager,
    start: Callable[[TWSClient], Subscription[Any]],
    consume: Callable[[AsyncIterator[Any]], Awaitable[None]],
) -> None:
    """Start a subscription on the gateway's client and consume it; again after every
    reconnect. An error TWS gives for the request ends it with :class:`StreamError`
    (one of TWS's passing limits, :func:`~twsbridge.client.resume.passing_limit`,
    only before the topic delivered anything)."""
    delay = _RETRY_MIN
    live = False  # the topic delivered something: a refusal by a passing limit is retried
    while True:
        try:
            ib = await gateway.client()
            sub = start(ib)
        except (ProblemError, ConnectionError) as exc:
            log.debug("upstream waits for TWS: %s", exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RETRY_MAX)
            continue

        async def items(sub: Subscription[Any] = sub) -> AsyncIterator[Any]:
            nonlocal live, delay
            async for item in sub:
                live, delay = True, _RETRY_MIN  # it worked: the next retry starts fast
                yield item

        try:
            await consume(items())
            log.info("upstream %r ended (disconnected); subscribing again", sub)
        except TWSError as exc:
            if not isinstance(exc, ConnectionError) and not (live and passing_limit(exc)):
                raise StreamError(exc.code, exc.message) from exc
            log.warning("upstream %r: %s; subscribing again", sub, exc)
        except Exception as exc:
            log.warning("upstream %r lost its TWS connection (%r); subscribing again", sub, exc)
        finally:
            with contextlib.suppress(Exception):
                await sub.cancel()
        await asyncio.sleep(delay)
        delay = min(delay * 2, _RETRY_MAX)


def _quotes_factory(gateway: GatewayManager) -> UpstreamFactory:
    def factory(spec: TopicSpec) -> Upstream:
        contract, generic = spec.context

        clock: GatewayClock | None = None

        def start(ib: TWSClient) -> MarketDataSubscription:
            nonlocal clock
            clock = gateway_clock(ib)  # tick times on the gateway's clock
            return ib.reqMktData(contract, generic)

        async def run(emit: Emit) -> None:
            async def consume(sub: AsyncIterator[Any]) -> None:
                async for tick in sub:
                    if isinstance(tick, Gap):
                        continue  # the next ticks carry the current values again
                    emit((tick_item(tick, clock),))
            await _resilient(gateway, start, consume)
        return run
    return factory


def _bars_factory(gateway: GatewayManager) -> UpstreamFactory:
    def factory(spec: TopicSpec) -> Upstream:
        contract, bar_size, what, rth, duration = spec.context

        def start(ib: TWSClient) -> HistoricalDataStream:
            return ib.reqHistoricalDataStream(contract, duration, bar_size, what, rth, 1)

        async def run(emit: Emit) -> None:
            async def consume(sub: AsyncIterator[Any]) -> None:
                async for bar in sub:
                    if isinstance(bar, Gap):
                        continue  # after a gap the stream yields its history window again
                    emit((bar_item(bar),))
            await _resilient(gateway, start, consume)
        return run
    return factory


def _realtime_bars_factory(gateway: GatewayManager) -> UpstreamFactory:
    def factory(spec: TopicSpec) -> Upstream:
        contract, what, rth = spec.context

        def start(ib: TWSClient) -> Subscription[incoming.RealTimeBar]:
            return ib.reqRealTimeBars(contract, 5, what, rth)

        async def run(emit: Emit) -> None:
            async def consume(sub: AsyncIterator[Any]) -> None:
                async for bar in sub:
                    if isinstance(bar, incoming.RealTimeBar):
                        emit((realtime_bar_item(bar),))
            await _resilient(gateway, start, consume)
        return run
    return factory


def register_market_upstreams(hub: StreamHub, gateway: GatewayManager) -> None:
    """Register the ``quotes``, ``bars`` and ``realtime_bars`` kinds on ``hub``, fed by
    ``gateway``'s client."""
    hub.register(TopicKind(QUOTES, _quotes_factory(gateway), message="ticks", field="ticks"))
    hub.register(TopicKind(BARS, _bars_factory(gateway), message="bars", field="bars",
                           key=_by_date, max_state=5_000))
    hub.register(TopicKind(REALTIME_BARS, _realtime_bars_factory(gateway),
                           message="realtimeBars", field="bars", key=_by_time, max_state=720))
