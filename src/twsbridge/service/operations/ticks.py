"""Historical ticks, histograms, market rules and SMART components: the operations REST,
GraphQL and MCP share.

* :func:`historical_ticks`: reqHistoricalTicks (96) → historicalTicks (96) /
  historicalTicksBidAsk (97) / historicalTicksLast (98). ``numberOfTicks`` (1..1000) and
  ``whatToShow`` (TRADES, BID_ASK, MIDPOINT) are checked before anything is sent (422);
  the rest goes to TWS as given, and what TWS refuses is its error with its code (321
  validation → 400, 200 unknown contract → 404, 162 → 400, or 429 for a pacing
  violation, as ``/bars``). Paced by the client under TWS's historical-data rules
  (:mod:`twsbridge.client.pacing`); an identical request while one runs, or within
  :data:`IDENTICAL_WINDOW` (15 s: TWS refuses an identical historical request sooner, so
  the client would hold it back that long anyway) or ``bars_ttl`` s if longer, is answered
  once (nothing is kept when the
  :class:`~twsbridge.service.market_cache.MarketCacheSettings` ``bars_ttl`` is 0).
* :func:`histogram`: reqHistogramData (88) → histogramData (89); identical concurrent
  requests share one.
* :func:`market_rule`: reqMarketRule (91) → marketRule (93), kept ``contract_ttl`` s (a
  rule changes as rarely as contract details). TWS answers an unknown id with an error
  naming no request (321, id -1): it is taken from the client's ``errors`` and raised
  (400 keeping the code) instead of waiting for the client's timeout.
* :func:`smart_components`: reqSmartComponents (83) → smartComponents (82), kept
  ``contract_ttl`` s.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import weakref
from collections.abc import Hashable
from typing import Any

from cachetools import TTLCache

from twsbridge.client import Contract, TWSClient, TWSError
from twsbridge.client.historical_ticks import HistoricalTickList, tws_datetime

from ..market_cache import contract_key, market_cache
from ..problems import ProblemError
from ..routes.common import market_contract, resolve_contract
from ..schemas import ContractPublic
from ..tick_schemas import (
    TICKS_MAX,
    WHAT_TO_SHOW_TICKS,
    HistogramEntryPublic,
    HistogramPublic,
    HistoricalTickPublic,
    HistoricalTicksPublic,
    MarketRulePublic,
    PriceIncrementPublic,
    SmartComponentPublic,
    SmartComponentsPublic,
)

__all__ = [
    "DEFAULT_PERIOD",
    "IDENTICAL_WINDOW",
    "check_ticks_request",
    "histogram",
    "historical_ticks",
    "market_rule",
    "smart_components",
    "tws_time",
]

DEFAULT_PERIOD = "3 days"
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
IDENTICAL_WINDOW = 15.0
"""Seconds within which TWS refuses an identical historical request (error 162)."""
_RULE_TIMEOUT = 10.0  # seconds for a marketRule when TWS says nothing at all


class _Caches:
    """The answers this module keeps for one client."""

    def __init__(self, ib: TWSClient) -> None:
        s = market_cache(ib).settings
        self.ticks: TTLCache[Hashable, HistoricalTickList] = TTLCache(
            64, max(s.bars_ttl, IDENTICAL_WINDOW) if s.bars_ttl > 0 else 1e-9)
        self.rules: TTLCache[int, list[PriceIncrementPublic]] = TTLCache(
            1024, s.contract_ttl or 1e-9)
        self.components: TTLCache[str, list[SmartComponentPublic]] = TTLCache(
            256, s.contract_ttl or 1e-9)
        self.keep_ticks = s.bars_ttl > 0
        self.keep_rules = s.contract_ttl > 0


_CACHES: weakref.WeakKeyDictionary[TWSClient, _Caches] = weakref.WeakKeyDictionary()


def _caches(ib: TWSClient) -> _Caches:
    found = _CACHES.get(ib)
    if found is None:
        found = _CACHES[ib] = _Caches(ib)
    return found


def tws_time(value: str | None) -> str:
    """A start/end time as reqHistoricalTicks takes it: an ISO 8601 date-time
    ("2013-03-01T15:00:00Z"; no zone: UTC) becomes TWS's UTC "yyyymmdd-hh:mm:ss"; any
    other text goes as is ("20130301 10:00:00 US/Eastern"); None is ''."""
    text = (value or "").strip()
    if _ISO.match(text):
        try:
            when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text
        return tws_datetime(when)
    return text


def check_ticks_request(numberOfTicks: int, whatToShow: str) -> str:
    """``whatToShow`` upper-cased, after checking the request's limits (nothing sent).

    Raises:
        ProblemError: ``validation-error`` (422): numberOfTicks outside 1..1000, or a
            whatToShow other than TRADES, BID_ASK, MIDPOINT.
    """
    if not 1 <= numberOfTicks <= TICKS_MAX:
        raise ProblemError("validation-error",
                           f"count: between 1 and {TICKS_MAX} (not {numberOfTicks})")
    what = whatToShow.strip().upper()
    if what not in WHAT_TO_SHOW_TICKS:
        raise ProblemError("validation-error", "whatToShow: give one of "
                           f"{', '.join(WHAT_TO_SHOW_TICKS)} (not {whatToShow!r})")
    return what


async def historical_ticks(
    ib: TWSClient, contract: Contract, *, startDateTime: str | None = None,
    endDateTime: str | None = None, numberOfTicks: int = TICKS_MAX,
    whatToShow: str = "TRADES", useRth: bool = True, ignoreSize: bool = False,
) -> HistoricalTicksPublic:
    """``reqHistoricalTicks`` (96) for the one contract matching ``contract`` (see the
    module's doc: checks, pacing, caching, errors).

    Raises:
        ProblemError: 422 (limits), 404 / 409 (the contract).
        TWSError: TWS refused it (its code).
    """
    what = check_ticks_request(numberOfTicks, whatToShow)
    start, end = tws_time(startDateTime), tws_time(endDateTime)
    details = await resolve_contract(ib, contract)
    target = market_contract(details)
    caches = _caches(ib)
    key = ("reqHistoricalTicks", contract_key(target), start, end, numberOfTicks, what,
           useRth, ignoreSize)
    ticks = caches.ticks.get(key)
    if ticks is None:
        async def ask() -> HistoricalTickList:
            got = await ib.reqHistoricalTicks(target, start, end, numberOfTicks, what, useRth,
                                              ignoreSize)
            if caches.keep_ticks:
                caches.ticks[key] = got
            return got

        ticks = await market_cache(ib).coalesced(key, ask)
    return HistoricalTicksPublic(
        contract=ContractPublic.from_tws(target),
        startDateTime=start,
        endDateTime=end,
        numberOfTicks=numberOfTicks,
        whatToShow=what,
        useRth=useRth,
        ignoreSize=ignoreSize,
        count=len(ticks),
        ticks=[HistoricalTickPublic.from_client(t) for t in ticks],
    )


async def histogram(ib: TWSClient, contract: Contract, *, period: str = DEFAULT_PERIOD,
                    useRTH: bool = True) -> HistogramPublic:
    """``reqHistogramData`` (88 → histogramData 89) for the one contract matching
    ``contract``; ``period`` is TWS's timePeriod ("3 days", "1 week", "2 months") as
    given (TWS refuses others: 321 → 400). Identical concurrent requests share one."""
    details = await resolve_contract(ib, contract)
    target = market_contract(details)

    async def ask() -> Any:
        return await ib.reqHistogramData(target, useRTH, period)

    rows = await market_cache(ib).coalesced(
        ("reqHistogramData", contract_key(target), period, useRTH), ask)
    entries = sorted((HistogramEntryPublic.from_tws(r) for r in rows),
                     key=lambda e: (e.price is None, e.price or 0.0))
    return HistogramPublic(contract=ContractPublic.from_tws(target), period=period,
                           useRTH=useRTH, count=len(entries), entries=entries)


def _names_rule(err: TWSError, marketRuleId: int) -> bool:
    """An error naming no request about market rule ``marketRuleId`` (or about a market
    rule without naming any id)."""
    text = str(getattr(err, "message", "") or err).lower()
    if err.reqId not in (-1, None) or "market rule" not in text:
        return False
    numbers = re.findall(r"-?\d+", text.split("market rule", 1)[1])
    return str(marketRuleId) in numbers if numbers else err.code == 321


async def _rule_refusal(ib: TWSClient, marketRuleId: int, reader: Any) -> TWSError:
    async for err in reader:
        if isinstance(err, TWSError) and _names_rule(err, marketRuleId):
            return err
    raise ConnectionError("the client stopped")


async def market_rule(ib: TWSClient, marketRuleId: int) -> MarketRulePublic:
    """``reqMarketRule`` (91 → marketRule 93): the price increments of ``marketRuleId``
    (one of a contract details' ``marketRuleIds``), ascending in lowEdge; cached.

    Raises:
        TWSError: TWS refused the id (321 in the simulator; an error naming no request).
        TimeoutError: TWS said nothing within 10 s (504).
    """
    caches = _caches(ib)
    found = caches.rules.get(marketRuleId)
    if found is None:
        async def ask() -> list[PriceIncrementPublic]:
            reader = aiter(ib.errors)  # listening before the request goes
            refusal = asyncio.ensure_future(_rule_refusal(ib, marketRuleId, reader))
            answer = asyncio.ensure_future(ib.reqMarketRule(marketRuleId, _RULE_TIMEOUT))
            try:
                done, _ = await asyncio.wait({refusal, answer},
                                             return_when=asyncio.FIRST_COMPLETED)
                if answer in done:
                    steps = [PriceIncrementPublic.from_tws(s) for s in answer.result()]
                    if caches.keep_rules:
                        caches.rules[marketRuleId] = steps
                    return steps
                raise refusal.result()
            finally:
                for task in (refusal, answer):
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task

        found = await market_cache(ib).coalesced(("reqMarketRule", marketRuleId), ask)
    return MarketRulePublic(marketRuleId=marketRuleId,
                            priceIncrements=sorted(found, key=lambda s: s.lowEdge))


async def smart_components(ib: TWSClient, bboExchange: str) -> SmartComponentsPublic:
    """``reqSmartComponents`` (83 → smartComponents 82): the venues behind the
    ``bboExchange`` of a tickReqParams (81), ascending in bit number; cached.

    Raises:
        TWSError: TWS refused the code (321 → 400).
    """
    code = bboExchange.strip()
    if not code:
        raise ProblemError("validation-error", "bboExchange: give a code such as 9c0001")
    caches = _caches(ib)
    found = caches.components.get(code)
    if found is None:
        async def ask() -> list[SmartComponentPublic]:
            rows = await ib.reqSmartComponents(code)
            got = [SmartComponentPublic(bitNumber=bit, exchange=name, exchangeLetter=letter)
                   for bit, (name, letter) in sorted(rows.items())]
            if caches.keep_rules:
                caches.components[code] = got
            return got

        found = await market_cache(ib).coalesced(("reqSmartComponents", code), ask)
    return SmartComponentsPublic(bboExchange=code, components=list(found))
