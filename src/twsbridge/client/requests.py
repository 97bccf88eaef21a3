"""Request patterns: one small mechanism for every way TWS answers a request.

A :class:`Request` collects the answers of one request. It knows

* the message types that answer it (``answers``), converted to items by
  ``convert``;
* the types that end it (``end``): the end marker of a list
  (contractDetailsEnd), or the answer itself for a single reply
  (headTimestamp, symbolSamples); none for a subscription, which runs until
  cancelled;
* the message that cancels it at TWS (cancelMktData …), if any.

The :class:`Router` hands each incoming message to its request: by ``reqId``
when the message carries one, otherwise to the oldest pending request of that
answer type (TWS answers reqCurrentTime in order, without an id). Error frames
whose ``reqId`` is pending fail that request (:meth:`Router.route_error`).

Items are read with ``await request.wait()`` (all of them, once it ended) or
``async for item in request`` (as they come). A request that fails raises its
exception from both; a dropped connection fails every request at once
(:meth:`Router.close`), except the subscriptions a reconnecting client keeps
to send again (:meth:`Request.renew`, :class:`~twsbridge.client.events.Gap`).
Fire-and-forget requests (reqMarketDataType) need no Request at all.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from twsbridge.protocol import BarData, Contract, Message, incoming

from .errors import ConnectionLost, TWSError
from .events import Gap, utcnow
from .ids import IdAllocator
from .ticker import Tick, TickBook, Ticker

if TYPE_CHECKING:
    from .pacing import PaceKey, PaceRecord

__all__ = [
    "MARKET_DATA",
    "HistoricalDataStream",
    "MarketDataSubscription",
    "Renew",
    "Request",
    "Router",
    "Subscription",
]

log = logging.getLogger("twsbridge.client")

T = TypeVar("T")

#: Every message type that answers reqMktData.
MARKET_DATA: tuple[type[Message], ...] = (
    incoming.TickPrice, incoming.TickSize, incoming.TickGeneric, incoming.TickString,
    incoming.MarketDataType, incoming.TickReqParams,
)


#: How a request is sent again: ``renew(reqId)`` → (the request, its cancel
#: message or None); reqId is None for requests TWS answers without one.
Renew = Callable[[int | None], tuple[Message, Message | None]]


def identity(msg: Message) -> tuple[Message]:
    """The default ``convert``: the message itself is the item."""
    return (msg,)


class Request(Generic[T]):
    """The answers of one request, as items of type ``T``.

    Args:
        name: the TWS request name (``'reqContractDetails'``), for messages.
        reqId: the request id, or None for requests TWS answers without one.
        answers: message types that answer it.
        end: message types that end it (empty for a subscription).
        convert: message → items (``identity`` keeps the messages).
        cancel: the message that cancels it at TWS, sent when a waiting
            caller is cancelled or a subscription is cancelled.
        maxlen: most items kept unread (subscriptions); older ones are dropped
            and counted in ``dropped``, with one WARNING log.
        renew: how to send the request again with a new reqId (subscriptions
            that survive reconnects and 1101, historical requests retried after
            a pacing violation); None when it cannot be.

    Attributes:
        sent: True once the request was handed to the transport (a request
            still waiting for its pacing slot is not cancelled at TWS).
        pace: the historical-data pacing key of a paced request, else None.
    """

    def __init__(
        self,
        name: str,
        reqId: int | None,
        answers: tuple[type[Message], ...],
        end: tuple[type[Message], ...] = (),
        *,
        convert: Callable[[Message], Iterable[T]],
        cancel: Message | None = None,
        maxlen: int | None = None,
        renew: Renew | None = None,
    ) -> None:
        self.name = name
        self.reqId = reqId
        self.answers = answers
        self.end = end
        self.convert = convert
        self.cancel_msg = cancel
        self.maxlen = maxlen
        self.dropped = 0
        self.done = False
        self.exception: BaseException | None = None
        self.renewer = renew
        self.sent = False
        self.pace: PaceKey | None = None
        self.pace_record: PaceRecord | None = None
        self.retried = False
        self._items: deque[T] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._send: Callable[[Message], None] | None = None
        self._detach: Callable[[Request[Any]], None] | None = None

    def __repr__(self) -> str:
        state = "failed" if self.exception else "done" if self.done else "pending"
        return f"<{self.name} reqId={self.reqId} {state}>"

    @property
    def streaming(self) -> bool:
        """True for a subscription (no end marker)."""
        return not self.end

    @property
    def resumable(self) -> bool:
        """True for a live subscription that can be sent again (:meth:`renew`)."""
        return self.streaming and self.renewer is not None and not self.done

    def bind(self, send: Callable[[Message], None], detach: Callable[[Request[Any]], None]) -> None:
        """Attach the transport's send and the router's removal (done by the client)."""
        self._send = send
        self._detach = detach

    def renew(self, reqId: int | None) -> Message:
        """Take ``reqId`` (None for requests without one) and the matching
        cancel message; the request to send again. Only when :attr:`renewer`.

        Raises:
            RuntimeError: the request cannot be sent again.
        """
        if self.renewer is None:
            raise RuntimeError(f"{self!r} cannot be sent again")
        msg, self.cancel_msg = self.renewer(reqId)
        self.reqId = reqId
        self.sent = False
        return msg

    # fed by the router ------------------------------------------------------

    def feed(self, msg: Message) -> None:
        """Take one answer; ends the request when ``msg`` is an end marker."""
        if self.done:
            return
        for item in self.convert(msg):
            self.put(item)
        if isinstance(msg, self.end):
            self.done = True
        self._wake()

    def put(self, item: T) -> None:
        """Queue one item for the reader (``maxlen`` applies)."""
        if self.maxlen is not None and len(self._items) >= self.maxlen:
            self._items.popleft()
            self.dropped += 1
            if self.dropped == 1:
                log.warning("%r: unread items beyond %d are dropped", self, self.maxlen)
        self._items.append(item)
        self._wake()

    def fail(self, exc: BaseException) -> None:
        """End the request with ``exc``; items already read stay read."""
        if not self.done:
            self.done = True
            self.exception = exc
            self._wake()

    def finish(self) -> None:
        """End the request normally (a cancelled subscription)."""
        if not self.done:
            self.done = True
            self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _next_change(self) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    # read by the caller -------------------------------------------------------

    async def wait(self) -> list[T]:
        """Every item, once the request ended.

        Raises:
            TWSError: TWS answered the request with an error.
            ConnectionLost: the connection ended first.
            ProtocolError: TWS sent a frame the client could not decode.
        """
        try:
            while not self.done:
                await self._next_change()
        except asyncio.CancelledError:
            self._abandon()
            raise
        finally:
            if self._detach is not None and self.done:
                self._detach(self)
        if self.exception is not None:
            raise self.exception
        items = list(self._items)
        self._items.clear()
        return items

    def _abandon(self) -> None:
        """The caller stopped waiting: forget the request, cancel it at TWS, end it."""
        if self.done:
            return
        if self._detach is not None:
            self._detach(self)
        if self.cancel_msg is not None and self._send is not None and self.sent:
            try:
                self._send(self.cancel_msg)
            except ConnectionError:
                pass  # the connection is gone: nothing to cancel at TWS
        self._items.clear()
        self.finish()

    def __aiter__(self) -> Request[T]:
        return self

    async def __anext__(self) -> T:
        while True:
            if self.exception is not None:
                raise self.exception
            if self._items:
                return self._items.popleft()
            if self.done:
                raise StopAsyncIteration
            await self._next_change()


class Subscription(Request[T | Gap]):
    """A request that streams until cancelled: ``async with``, ``async for``,
    ``await cancel()``. Leaving ``async with`` cancels it.

    The stream yields the subscription's items and, where data may have been
    missed (a reconnect, TWS errors 1100-1102), a :class:`Gap` (see
    :mod:`twsbridge.client.events`): consumers receive it in the stream, so
    ``async for item in sub: if isinstance(item, Gap): …``.

    Attributes:
        stale_since: when the data stopped (a drop, error 1100), None while live.
    """

    stale_since: datetime | None = None
    stale_reason = ""
    #: True once it delivered an item (a refusal by a passing limit is then retried)
    delivered = False
    #: refusals by a passing limit in a row (the retry backs off)
    refusals = 0

    def mark_stale(self, since: datetime, reason: str) -> None:
        """Data stopped at ``since`` for ``reason`` (kept when already stale)."""
        if self.stale_since is None:
            self.stale_since = since
            self.stale_reason = reason

    def gap(self, reason: str | None = None) -> Gap | None:
        """Queue a :class:`Gap` from :attr:`stale_since` (now when not stale)
        until now, and mark the stream live again; the Gap (None when done)."""
        if self.done:
            return None
        now = utcnow()
        gap = Gap(self.stale_since or now, now, reason or self.stale_reason or "data resumed")
        self.stale_since, self.stale_reason = None, ""
        self.put(gap)
        return gap

    def feed(self, msg: Message) -> None:
        """As :meth:`Request.feed`; data of a stale subscription (TWS sends
        again, e.g. after error 10197) comes after a :class:`Gap`."""
        if self.stale_since is not None and not self.done:
            self.gap(f"{self.stale_reason}; data resumed" if self.stale_reason else None)
        super().feed(msg)
        self.delivered, self.refusals = True, 0

    async def cancel(self) -> None:
        """Stop the subscription: send its cancel message (when still connected),
        drop unread items and end iteration. Calling it again does nothing."""
        self._abandon()

    async def __aenter__(self) -> Subscription[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.cancel()


class MarketDataSubscription(Subscription[Tick]):
    """A streaming reqMktData (message 1): ``async for tick in sub`` yields
    :class:`~twsbridge.client.ticker.Tick` objects (and a :class:`Gap` before
    the ticks of a resumed subscription); ``sub.ticker`` is the latest
    :class:`~twsbridge.client.ticker.Ticker` (updated even when nobody iterates);
    ``await sub.cancel()`` sends cancelMktData (message 2)."""

    def __init__(self, reqId: int, contract: Contract, msg: Message, cancel: Message,
                 maxlen: int | None = 100_000, renew: Renew | None = None) -> None:
        self.book = TickBook(reqId, contract)
        super().__init__("reqMktData", reqId, MARKET_DATA, (), convert=self.book.update,
                         cancel=cancel, maxlen=maxlen, renew=renew)
        self.request = msg

    def renew(self, reqId: int | None) -> Message:
        """As :meth:`Request.renew`; ticks then carry the new reqId."""
        msg = super().renew(reqId)
        if reqId is not None:
            self.book.reqId = reqId
        self.request = msg
        return msg

    @property
    def ticker(self) -> Ticker:
        """The latest Ticker of this subscription."""
        return self.book.ticker

    async def __aenter__(self) -> MarketDataSubscription:
        return self


class HistoricalDataStream(Subscription[BarData]):
    """A keepUpToDate reqHistoricalData (message 20): ``async for bar in stream``
    yields the history's ``BarData`` (historicalData, 17), then each update of
    the current bar (historicalDataUpdate, 90); ``await stream.cancel()`` sends
    cancelHistoricalData (message 25). After a :class:`Gap` the history window
    comes again (bars repeat: key them by ``bar.date``), then the updates."""

    async def __aenter__(self) -> HistoricalDataStream:
        return self


def bars_of(msg: Message) -> list[BarData]:
    """``convert`` of historical data: the bars of message 17 or the bar of 90."""
    if isinstance(msg, incoming.HistoricalData):
        return list(msg.bars)
    if isinstance(msg, incoming.HistoricalDataUpdate):
        return [msg.bar]
    return []


class Router:
    """Pending requests of one connection, and where their ids come from.

    Answers without a reqId go to the oldest pending one-shot request of that
    answer type, and to every subscription without a reqId (a positions
    stream) as well.

    Args:
        ids: the id sequence shared with order ids (see :mod:`.ids`); a fresh
            one starting at 1 when not given.
    """

    def __init__(self, ids: IdAllocator | None = None) -> None:
        self._by_id: dict[int, Request[Any]] = {}
        self._fifo: dict[type[Message], deque[Request[Any]]] = {}
        self._broadcast: dict[type[Message], list[Request[Any]]] = {}
        self.ids = ids if ids is not None else IdAllocator()

    def next_id(self) -> int:
        """A request id never used by this router's allocator."""
        return self.ids.next()

    def __len__(self) -> int:
        return len(self.pending())

    def pending(self) -> list[Request[Any]]:
        """Every pending request, each once."""
        reqs = list(self._by_id.values())
        for group in (*self._fifo.values(), *self._broadcast.values()):
            reqs += [r for r in group if r not in reqs]
        return reqs

    def streams(self) -> list[Request[Any]]:
        """The pending subscriptions that can be sent again (:attr:`Request.resumable`)."""
        return [r for r in self.pending() if r.resumable]

    def add(self, req: Request[Any]) -> None:
        """Route answers to ``req`` from now on.

        Raises:
            ValueError: ``req.reqId`` is already pending.
        """
        if req.reqId is None:
            table: dict[type[Message], Any] = self._broadcast if req.streaming else self._fifo
            for cls in req.answers:
                group = table.setdefault(cls, [] if req.streaming else deque())
                if req not in group:
                    group.append(req)
        elif req.reqId in self._by_id:
            raise ValueError(f"reqId {req.reqId} is already pending")
        else:
            self._by_id[req.reqId] = req

    def discard(self, req: Request[Any]) -> None:
        """Stop routing to ``req`` (no error when it is not pending)."""
        if req.reqId is None:
            for table in (self._fifo, self._broadcast):
                for cls in req.answers:
                    group = table.get(cls)
                    if group is not None and req in group:
                        group.remove(req)
        elif self._by_id.get(req.reqId) is req:
            del self._by_id[req.reqId]

    def route(self, msg: Message) -> bool:
        """Give ``msg`` to its request(s); True when one took it."""
        reqId = getattr(msg, "reqId", None)
        if isinstance(reqId, int) and reqId in self._by_id:
            req = self._by_id[reqId]
            if not isinstance(msg, req.answers):
                return False
            self._feed(req, msg)
            return True
        took = False
        for sub in list(self._broadcast.get(type(msg), ())):
            sub.feed(msg)
            took = True
        q = self._fifo.get(type(msg))
        if q:
            self._feed(q[0], msg)
            took = True
        return took

    def _feed(self, req: Request[Any], msg: Message) -> None:
        req.feed(msg)
        if req.done:
            self.discard(req)

    def route_error(self, err: TWSError) -> bool:
        """Fail the request ``err.reqId`` names; True when it was pending."""
        req = self._by_id.get(err.reqId)
        if req is None:
            return False
        req.fail(err)
        self.discard(req)
        return True

    def get(self, reqId: int) -> Request[Any] | None:
        """The pending request ``reqId``."""
        return self._by_id.get(reqId)

    def close(self, exc: BaseException | None, where: str,
              keep: Callable[[Request[Any]], bool] | None = None) -> list[Request[Any]]:
        """End every request: with ``exc`` when the connection failed; after a
        local ``disconnect()`` (``exc`` None) waiting requests fail with
        :class:`ConnectionLost` and subscriptions simply end. Requests for
        which ``keep`` returns True are left alone and returned (unrouted)."""
        reqs = self.pending()
        self._by_id.clear()
        self._fifo.clear()
        self._broadcast.clear()
        kept: list[Request[Any]] = []
        for req in reqs:
            if keep is not None and keep(req):
                kept.append(req)
            elif exc is not None:
                req.fail(exc)
            elif req.streaming:
                req.finish()
            else:
                req.fail(ConnectionLost(f"disconnect() from TWS at {where} while {req.name} "
                                        f"(reqId {req.reqId}) waited for its answer"))
        return kept


def nothing(msg: Message) -> tuple[()]:
    """The ``convert`` of readers fed with :meth:`Request.put` only."""
    return ()
