"""Caches of the service's TWS look-ups: contract resolutions, identical bar requests,
and single-flight (identical concurrent requests share one TWS request).

Every request of ``/quotes``, ``/bars`` (and of orders, streams, GraphQL and MCP) resolves
its contract with ``reqContractDetails`` (message 9), and every TWS message waits its turn
in the client's 45 messages/s pacing (:mod:`twsbridge.client.pacing`). What TWS answers
here changes rarely, so :class:`MarketCache` keeps:

* **contract resolutions**: the ``contractDetails`` (message 10) TWS gave for one contract
  description, for ``contract_ttl`` seconds (at most ``contract_max`` descriptions, the
  least recently used go first). A description TWS knows nothing of (error 200 "No security
  definition", or no contractDetails at all) is remembered for ``negative_ttl`` seconds only,
  as that answer: never as a success. Any other error is not kept at all.
* **bars**: the answer to one ``reqHistoricalData`` (message 20) for ``bars_ttl`` seconds;
  TWS itself refuses an identical historical request within
  15 s (error 162), so identical ones within seconds are answered once (at most ``bars_max``
  bars in all: an answer weighs its bars). Errors are not kept.
* **single-flight**: while a request is on its way to TWS, an identical one waits for its
  answer instead of sending another (snapshot quotes, contract details, bars, head
  timestamps). The request is cancelled only when every caller waiting for it has gone.

Entries are keyed by every field of the TWS contract (:func:`contract_key`) and of the
request, so two different contracts or requests never share an entry. A cache belongs to
one :class:`~twsbridge.client.TWSClient` (:func:`market_cache`), so the service's REST,
GraphQL and MCP faces share it. Limits come from :class:`MarketCacheSettings`
(environment, prefix ``TWSBRIDGE_CACHE_``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from cachetools import TTLCache
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from twsbridge.client import TWSClient, TWSError
from twsbridge.protocol import BarData, Contract, ContractDetails

__all__ = [
    "NO_SECURITY_DEFINITION",
    "MarketCache",
    "MarketCacheSettings",
    "SingleFlight",
    "contract_key",
    "market_cache",
]

T = TypeVar("T")

log = logging.getLogger("twsbridge.service")

#: TWS's error code for a contract it does not know ("No security definition has been found").
NO_SECURITY_DEFINITION = 200


class MarketCacheSettings(BaseSettings):
    """Limits of :class:`MarketCache` (env prefix ``TWSBRIDGE_CACHE_``; seconds, entries)."""

    model_config = SettingsConfigDict(env_prefix="TWSBRIDGE_CACHE_", extra="ignore")

    contract_ttl: float = Field(
        default=900.0, ge=0, le=86_400,
        description="Seconds a contract resolution (reqContractDetails) is reused; 0 = never.")
    contract_max: int = Field(
        default=10_000, ge=1, le=1_000_000, description="Contract descriptions kept at most.")
    negative_ttl: float = Field(
        default=5.0, ge=0, le=3_600,
        description="Seconds 'no such contract' (TWS error 200) is remembered; 0 = never.")
    bars_ttl: float = Field(
        default=3.0, ge=0, le=3_600,
        description="Seconds the answer to an identical reqHistoricalData is reused; 0 = never.")
    bars_max: int = Field(
        default=100_000, ge=1, le=10_000_000,
        description="Bars kept at most, all requests together (an answer weighs its bars).")


_SCALARS = frozenset({int, str, bool, type(None)})


def _freeze(value: Any) -> Hashable:
    kind = type(value)
    if kind in _SCALARS:
        scalar: Hashable = value
        return scalar
    if kind is float:
        return "nan" if value != value else value  # NaN never equals itself
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (kind.__name__,
                tuple(_freeze(getattr(value, f.name)) for f in dataclasses.fields(value)))
    hashable: Hashable = value
    return hashable


def contract_key(contract: Contract) -> Hashable:
    """A hashable key of every field of ``contract`` (combo legs and delta-neutral part
    included): two contracts share a key only when TWS would be asked the same thing."""
    return _freeze(contract)


def _copies(details: list[ContractDetails]) -> list[ContractDetails]:
    """A copy of each ContractDetails and of its Contract (their lists are shared)."""
    return [dataclasses.replace(d, contract=dataclasses.replace(d.contract)) for d in details]


class SingleFlight:
    """Identical concurrent calls run once: callers of :meth:`run` with one ``key`` while a
    call of that key runs get its result (or its exception)."""

    def __init__(self) -> None:
        self._running: dict[Hashable, tuple[asyncio.Task[Any], list[int]]] = {}

    def __len__(self) -> int:
        return len(self._running)

    async def run(self, key: Hashable, call: Callable[[], Awaitable[T]]) -> T:
        """The result of ``call()``, shared with every caller of ``key`` meanwhile.

        The call runs as a task of its own: a caller that is cancelled leaves it to the
        others; the last one leaving cancels it.
        """
        entry = self._running.get(key)
        if entry is None:
            async def body() -> T:
                return await call()

            task: asyncio.Task[Any] = asyncio.ensure_future(body())
            entry = (task, [0])
            self._running[key] = entry
            task.add_done_callback(functools.partial(self._done, key))
        task, waiters = entry
        waiters[0] += 1
        try:
            result: T = await asyncio.shield(task)
            return result
        except asyncio.CancelledError:
            if not task.done() and waiters[0] == 1:
                task.cancel()
            raise
        finally:
            waiters[0] -= 1

    def _done(self, key: Hashable, task: asyncio.Task[Any]) -> None:
        entry = self._running.get(key)
        if entry is not None and entry[0] is task:
            del self._running[key]
        if not task.cancelled():
            task.exception()  # retrieved: no "exception never retrieved" if nobody waits


class MarketCache:
    """The look-up caches of one client (see the module's doc)."""

    def __init__(self, settings: MarketCacheSettings | None = None) -> None:
        self.settings = s = settings if settings is not None else MarketCacheSettings()
        self._contracts: TTLCache[Hashable, list[ContractDetails]] = TTLCache(
            s.contract_max, s.contract_ttl or 1e-9)
        self._unknown: TTLCache[Hashable, TWSError | None] = TTLCache(
            s.contract_max, s.negative_ttl or 1e-9)
        self._bars: TTLCache[Hashable, list[BarData]] = TTLCache(
            s.bars_max, s.bars_ttl or 1e-9, getsizeof=lambda bars: max(1, len(bars)))
        self.flights = SingleFlight()

    def clear(self) -> None:
        """Forget every cached answer (running requests go on)."""
        self._contracts.clear()
        self._unknown.clear()
        self._bars.clear()

    async def contract_details(self, ib: TWSClient, contract: Contract
                               ) -> list[ContractDetails]:
        """``reqContractDetails`` (9) → contractDetails (10) of ``contract``: cached,
        coalesced; copies of the cached objects (their fields may be set; their lists are
        shared and must not be changed).

        Returns:
            Every ``ContractDetails`` TWS has for ``contract`` (``[]`` for none).

        Raises:
            TWSError: TWS refused the request (code 200 for an unknown contract; that one
                again for ``negative_ttl`` s without asking TWS).
        """
        key = contract_key(contract)
        found = self._contracts.get(key)
        if found is not None:
            return _copies(found)
        if key in self._unknown:
            error = self._unknown[key]
            if error is not None:
                raise TWSError(error.code, error.message, error.reqId)
            return []

        async def ask() -> list[ContractDetails]:
            try:
                details = await ib.reqContractDetails(contract)
            except TWSError as exc:
                if exc.code == NO_SECURITY_DEFINITION and self.settings.negative_ttl > 0:
                    self._unknown[key] = exc
                raise
            if not details:
                if self.settings.negative_ttl > 0:
                    self._unknown[key] = None
            elif self.settings.contract_ttl > 0:
                self._contracts[key] = details
            return details

        details = await self.flights.run(("reqContractDetails", key), ask)
        return _copies(details)

    async def historical_data(self, ib: TWSClient, contract: Contract, *, endDateTime: str,
                              durationStr: str, barSizeSetting: str, whatToShow: str,
                              useRTH: bool, formatDate: int) -> list[BarData]:
        """``reqHistoricalData`` (20) → historicalData (17), paced by the client; an
        identical request within ``bars_ttl`` s (or while one runs) is answered once."""
        key = ("reqHistoricalData", contract_key(contract), endDateTime, durationStr,
               barSizeSetting, whatToShow, useRTH, formatDate)
        found = self._bars.get(key)
        if found is not None:
            return list(found)

        async def ask() -> list[BarData]:
            bars = await ib.reqHistoricalData(contract, endDateTime, durationStr,
                                              barSizeSetting, whatToShow, useRTH, formatDate)
            if self.settings.bars_ttl > 0 and len(bars) <= self.settings.bars_max:
                self._bars[key] = bars  # the oldest answers go to make room
            return bars

        return list(await self.flights.run(key, ask))

    async def coalesced(self, key: Hashable, call: Callable[[], Awaitable[T]]) -> T:
        """``call()`` once for identical concurrent ``key`` s (not cached afterwards)."""
        return await self.flights.run(key, call)


_CACHES: weakref.WeakKeyDictionary[TWSClient, MarketCache] = weakref.WeakKeyDictionary()


def market_cache(ib: TWSClient) -> MarketCache:
    """The :class:`MarketCache` of client ``ib`` (made on first use, settings from the
    environment); it lives as long as the client."""
    cache = _CACHES.get(ib)
    if cache is None:
        try:
            settings = MarketCacheSettings()
        except ValidationError as exc:  # never a 500 for every request: say it once
            log.error("TWSBRIDGE_CACHE_* settings refused, the defaults apply: %s", exc)
            settings = MarketCacheSettings.model_construct()
        cache = _CACHES[ib] = MarketCache(settings)
    return cache
