"""Historical ticks, histograms, market rules and SMART components of a TWSClient.

:class:`HistoricalTicksMethods` is a mixin of
:class:`~twsbridge.client.client.TWSClient` (it uses the client's ``_core``):

* :meth:`~HistoricalTicksMethods.reqHistoricalTicks` - reqHistoricalTicks (96)
  → historicalTicks (96, MIDPOINT), historicalTicksBidAsk (97, BID_ASK) or
  historicalTicksLast (98, TRADES), as typed ticks with aware UTC datetimes
  (:class:`HistoricalMidPoint`, :class:`HistoricalBidAsk`,
  :class:`HistoricalLast`) in a :class:`HistoricalTickList`, whose
  ``to_dataframe()`` gives a pandas DataFrame. TWS counts these requests under
  its historical-data pacing rules (TWS API, "Historical Data Limitations":
  they are historical data requests of the finest granularity), so the client
  queues them like reqHistoricalData of small bars (:mod:`.pacing`; BID_ASK
  counts twice) and retries one 162 pacing violation.
* :meth:`~HistoricalTicksMethods.reqHistogramData` - reqHistogramData (88) →
  histogramData (89); cancelHistogramData (89) when the caller gives up.
* :meth:`~HistoricalTicksMethods.reqMarketRule` - reqMarketRule (91) →
  marketRule (93), the price increments of an id of a contract details'
  ``marketRuleIds``.
* :meth:`~HistoricalTicksMethods.reqSmartComponents` - reqSmartComponents (83)
  → smartComponents (82), the venues behind a tickReqParams' ``bboExchange``.

All are one-shot requests: a connection lost while one waits fails it with
:class:`~twsbridge.client.errors.ConnectionLost` (also with a reconnect
policy; ask again once reconnected). Minimum server versions: 130 (ticks),
119 (histograms), 126 (market rules), 114 (SMART components); the client
speaks 157 and later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from twsbridge.protocol import Contract, Message
from twsbridge.protocol.catalogue import ticks as wire
from twsbridge.protocol.tick_models import HistogramEntry, PriceIncrement, SmartComponent

from .core import ClientCore
from .pacing import PaceKey
from .requests import Request

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "HistoricalBidAsk",
    "HistoricalLast",
    "HistoricalMidPoint",
    "HistoricalTickList",
    "HistoricalTicksMethods",
    "historicalTicksDf",
    "historical_ticks_key",
    "tws_datetime",
]

_WHAT = {"TRADES": wire.HistoricalTicksLast, "BID_ASK": wire.HistoricalTicksBidAsk,
         "MIDPOINT": wire.HistoricalTicks}


@dataclass(frozen=True, slots=True)
class HistoricalMidPoint:
    """A MIDPOINT tick: ``time`` aware UTC datetime (whole seconds),
    ``price`` the midpoint, ``size`` 0 as TWS sends it."""

    time: datetime
    price: float
    size: Decimal


@dataclass(frozen=True, slots=True)
class HistoricalBidAsk:
    """A BID_ASK tick: ``time`` aware UTC datetime; prices in the contract's
    currency, sizes in shares (forex: units); ``bidPastLow`` / ``askPastHigh``
    the bid below the day's low / the ask above its high."""

    time: datetime
    priceBid: float
    priceAsk: float
    sizeBid: Decimal
    sizeAsk: Decimal
    bidPastLow: bool
    askPastHigh: bool


@dataclass(frozen=True, slots=True)
class HistoricalLast:
    """A TRADES tick: ``time`` aware UTC datetime, ``price``, ``size`` in
    shares, ``exchange`` where it printed, ``specialConditions`` TWS's sale
    condition codes (space separated); ``pastLimit`` printed outside the
    bid/ask, ``unreported`` an unreported (off-exchange) print."""

    time: datetime
    price: float
    size: Decimal
    exchange: str
    specialConditions: str
    pastLimit: bool
    unreported: bool


HistoricalTickItem = HistoricalMidPoint | HistoricalBidAsk | HistoricalLast


class HistoricalTickList(list[Any]):
    """The ticks of one reqHistoricalTicks, ascending in time (a list of
    :class:`HistoricalMidPoint`, :class:`HistoricalBidAsk` or
    :class:`HistoricalLast`); ``whatToShow`` as asked."""

    def __init__(self, ticks: Iterable[HistoricalTickItem], whatToShow: str) -> None:
        super().__init__(ticks)
        self.whatToShow = whatToShow

    def to_dataframe(self) -> pd.DataFrame:
        """These ticks as a DataFrame (:func:`historicalTicksDf`)."""
        return historicalTicksDf(self, self.whatToShow)


_COLUMNS = {
    "MIDPOINT": [f.name for f in fields(HistoricalMidPoint)],
    "BID_ASK": [f.name for f in fields(HistoricalBidAsk)],
    "TRADES": [f.name for f in fields(HistoricalLast)],
}


def historicalTicksDf(ticks: Iterable[HistoricalTickItem], whatToShow: str = "") -> pd.DataFrame:
    """A pandas DataFrame of historical ticks, one row a tick, one column a
    field of the tick class (``time`` a UTC datetime column, sizes floats).
    ``whatToShow`` names the columns of an empty list (default: taken from the
    first tick; TRADES when there is none).

    Raises:
        ValueError: ticks of different kinds.
    """
    import pandas as pd

    rows = list(ticks)
    kinds = {type(t) for t in rows}
    if len(kinds) > 1:
        raise ValueError(f"ticks of different kinds: {sorted(k.__name__ for k in kinds)}")
    if rows:
        columns = [f.name for f in fields(rows[0])]
    else:
        columns = _COLUMNS.get(whatToShow.strip().upper(), _COLUMNS["TRADES"])
    data: dict[str, Any] = {}
    for name in columns:
        values = [getattr(t, name) for t in rows]
        if name == "time":
            data[name] = pd.to_datetime(pd.Series(values, dtype=object), utc=True)
        elif name.startswith("size"):
            data[name] = pd.Series([float(v) for v in values], dtype="float64")
        else:
            data[name] = pd.Series(values, dtype=object if not values else None)
    return pd.DataFrame(data, columns=columns)


def tws_datetime(value: str | datetime | None) -> str:
    """A start/end time as reqHistoricalTicks takes it: text as is ('' for
    None); a datetime in UTC as "yyyymmdd-hh:mm:ss" (a naive one is taken as
    UTC)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
        return aware.astimezone(UTC).strftime("%Y%m%d-%H:%M:%S")
    return value


def historical_ticks_key(msg: wire.ReqHistoricalTicks) -> PaceKey:
    """The historical pacing key of a reqHistoricalTicks (its reqId left out):
    identical requests, and the contract/exchange/whatToShow group; BID_ASK
    weighs 2."""
    c = msg.contract
    contract: tuple[object, ...] = (c.conId,) if c.conId else (
        c.symbol, c.secType, c.lastTradeDateOrContractMonth, c.strike, c.right, c.multiplier,
        c.primaryExchange, c.currency, c.localSymbol, c.tradingClass)
    what = msg.whatToShow.upper()
    identical = ("ticks", contract, c.exchange, msg.startDateTime, msg.endDateTime,
                 msg.numberOfTicks, what, msg.useRth, msg.ignoreSize)
    label = (f"reqHistoricalTicks {c.symbol or c.localSymbol or c.conId} "
             f"{msg.numberOfTicks} {what}")
    return PaceKey(identical, (contract, c.exchange, what), 2 if what == "BID_ASK" else 1,
                   label)


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _ticks(msg: Message) -> list[HistoricalTickItem]:
    if isinstance(msg, wire.HistoricalTicksLast):
        return [HistoricalLast(_utc(t.time), t.price, t.size, t.exchange, t.specialConditions,
                               t.pastLimit, t.unreported) for t in msg.ticks]
    if isinstance(msg, wire.HistoricalTicksBidAsk):
        return [HistoricalBidAsk(_utc(t.time), t.priceBid, t.priceAsk, t.sizeBid, t.sizeAsk,
                                 t.bidPastLow, t.askPastHigh) for t in msg.ticks]
    if isinstance(msg, wire.HistoricalTicks):
        return [HistoricalMidPoint(_utc(t.time), t.price, t.size) for t in msg.ticks]
    return []


def _done(msg: Message) -> bool:
    return bool(getattr(msg, "done", False))


class _TicksRequest(Request[HistoricalTickItem]):
    """A reqHistoricalTicks: ends on the answer whose ``done`` is set (TWS
    may split a long answer)."""

    def feed(self, msg: Message) -> None:
        if self.done:
            return
        for item in self.convert(msg):
            self.put(item)
        if _done(msg):
            self.done = True
        self._wake()


def _histogram(msg: Message) -> list[HistogramEntry]:
    return list(msg.data) if isinstance(msg, wire.HistogramData) else []


def _increments(marketRuleId: int) -> Any:
    def convert(msg: Message) -> list[PriceIncrement]:
        if isinstance(msg, wire.MarketRule) and msg.marketRuleId == marketRuleId:
            return list(msg.priceIncrements)
        return []
    return convert


def _components(msg: Message) -> list[SmartComponent]:
    return list(msg.smartComponentMap) if isinstance(msg, wire.SmartComponents) else []


class HistoricalTicksMethods:
    """reqHistoricalTicks, reqHistogramData, reqMarketRule and
    reqSmartComponents of :class:`~twsbridge.client.client.TWSClient`."""

    _core: ClientCore

    async def reqHistoricalTicks(
        self, contract: Contract, startDateTime: str | datetime | None,
        endDateTime: str | datetime | None, numberOfTicks: int, whatToShow: str,
        useRth: bool, ignoreSize: bool = False,
    ) -> HistoricalTickList:
        """Historical ticks: reqHistoricalTicks (96, server version 130+) →
        historicalTicks (96), historicalTicksBidAsk (97) or historicalTicksLast
        (98) until ``done``.

        Args:
            contract: the instrument (not a combo).
            startDateTime, endDateTime: "yyyymmdd hh:mm:ss [zone]", UTC
                "yyyymmdd-hh:mm:ss", or a datetime (sent in UTC; naive is UTC);
                '' or None for none. Start: the first ticks from it; end: the
                last ticks before it; give at least one.
            numberOfTicks: 1..1000; whole seconds come, so a few more may.
            whatToShow: "TRADES", "BID_ASK" or "MIDPOINT".
            useRth: regular trading hours only.
            ignoreSize: BID_ASK only: leave out ticks where only a size changed.

        Returns:
            A :class:`HistoricalTickList` of :class:`HistoricalLast` (TRADES),
            :class:`HistoricalBidAsk` or :class:`HistoricalMidPoint`, ascending
            in time, of one trading session (TWS serves no more); ``to_dataframe()``.

        Raises:
            ValueError: whatToShow is none of the three (nothing is sent).
            TWSError: TWS refused it (200 unknown contract, 321 validation,
                10314 a bad date/time, 162 no data or a pacing violation that
                happened again after the one retry).
            ConnectionLost: the connection ended before the answer.

        Paced by the client under TWS's historical-data rules (see the module doc).
        """
        what = whatToShow.strip().upper()
        if what not in _WHAT:
            raise ValueError(f"whatToShow must be TRADES, BID_ASK or MIDPOINT, not "
                             f"{whatToShow!r}")
        core = self._core
        start, end = tws_datetime(startDateTime), tws_datetime(endDateTime)

        def renew(reqId: int | None) -> tuple[Message, Message | None]:
            assert reqId is not None
            return (wire.ReqHistoricalTicks(
                reqId=reqId, contract=contract, startDateTime=start, endDateTime=end,
                numberOfTicks=numberOfTicks, whatToShow=what, useRth=useRth,
                ignoreSize=ignoreSize), None)

        reqId = core.next_id()
        msg, _ = renew(reqId)
        assert isinstance(msg, wire.ReqHistoricalTicks)
        answer = _WHAT[what]
        req = _TicksRequest("reqHistoricalTicks", reqId, (answer,), (answer,),
                            convert=_ticks, renew=renew)
        if core.pacing.limits is not None:
            req.pace = historical_ticks_key(msg)
        return HistoricalTickList(await core.call(req, msg), what)

    async def reqHistogramData(
        self, contract: Contract, useRTH: bool, timePeriod: str,
    ) -> list[HistogramEntry]:
        """A volume-by-price histogram: reqHistogramData (88, server version
        119+) → histogramData (89); cancelHistogramData (89) is sent if the
        caller stops waiting.

        Args:
            contract: the instrument.
            useRTH: regular trading hours only.
            timePeriod: how far back: "3 days", "1 week", "2 months", "1 year".

        Returns:
            :class:`~twsbridge.protocol.tick_models.HistogramEntry` rows
            (``price``, ``size`` in shares), ascending in price.

        Raises:
            TWSError: TWS refused it (200, 321 a bad time period).
            ConnectionLost: the connection ended before the answer.
        """
        core = self._core
        reqId = core.next_id()
        req = Request("reqHistogramData", reqId, (wire.HistogramData,), (wire.HistogramData,),
                      convert=_histogram, cancel=wire.CancelHistogramData(reqId=reqId))
        return await core.call(req, wire.ReqHistogramData(
            reqId=reqId, contract=contract, useRTH=useRTH, timePeriod=timePeriod))

    async def reqMarketRule(self, marketRuleId: int, timeout: float = 10.0,
                            ) -> list[PriceIncrement]:
        """The price increments of a market rule: reqMarketRule (91, server
        version 126+) → marketRule (93). ``marketRuleId`` is one of a contract
        details' ``marketRuleIds`` (comma separated, one per valid exchange).

        Returns:
            :class:`~twsbridge.protocol.tick_models.PriceIncrement` steps
            (``lowEdge``, ``increment``) ascending in lowEdge: from a step's
            lowEdge up to the next one's, prices move by its increment.

        Raises:
            TimeoutError: no answer within ``timeout`` seconds: TWS answers an
                unknown id with an error that names no request (it goes to
                ``errors``), or not at all.
            ConnectionLost: the connection ended before the answer.
        """
        core = self._core
        req = Request("reqMarketRule", None, (wire.MarketRule,), (wire.MarketRule,),
                      convert=_increments(marketRuleId))
        try:
            return await asyncio.wait_for(
                core.call(req, wire.ReqMarketRule(marketRuleId=marketRuleId)), timeout)
        except TimeoutError:
            raise TimeoutError(f"no marketRule {marketRuleId} within {timeout:g} s") from None

    async def reqSmartComponents(self, bboExchange: str) -> dict[int, tuple[str, str]]:
        """The venues SMART routes to for a BBO exchange code: reqSmartComponents
        (83, server version 114+) → smartComponents (82).

        Args:
            bboExchange: the ``bboExchange`` of a tickReqParams (81), e.g. "9c0001".

        Returns:
            bit number → (exchange, exchange letter), e.g. ``{1: ("NASDAQ", "Q")}``;
            the letters are those of tick data's exchange fields.

        Raises:
            TWSError: TWS refused the code.
            ConnectionLost: the connection ended before the answer.
        """
        core = self._core
        reqId = core.next_id()
        req = Request("reqSmartComponents", reqId, (wire.SmartComponents,),
                      (wire.SmartComponents,), convert=_components)
        rows = await core.call(req, wire.ReqSmartComponents(reqId=reqId, bboExchange=bboExchange))
        return {c.bitNumber: (c.exchange, c.exchangeLetter) for c in rows}
