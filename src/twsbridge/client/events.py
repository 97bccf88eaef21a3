"""What a client reports about its connection: gaps in streams, connection events.

:class:`Gap` is an item of a subscription's stream (``async for item in sub``):
the client puts one in front of the first item after data may have been
missed, so a consumer always sees where a stream was interrupted:

* the connection to TWS dropped and the client reconnected (the subscription
  was sent again with a new reqId; see :class:`~twsbridge.client.ReconnectPolicy`);
* TWS lost its connection to IB (error 1100) and restored it with the data
  lost (1101: the client sent the subscription again with a new reqId) or
  maintained (1102: same reqId; the Gap spans the time TWS sent nothing).

After a Gap a market data stream goes on with fresh ticks, a keepUpToDate bar
stream yields its whole history window again (bars you already have repeat:
key them by ``bar.date``), a positions stream yields every position again.

:class:`ConnectionEvent` is what ``TWSClient.connection_events()`` yields and
what handlers registered for ``'connected'``, ``'disconnected'`` or
``'reconnecting'`` receive.
"""

from __future__ import annotations

import weakref
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .errors import TWSError
    from .requests import Request

__all__ = ["CONNECTION_EVENTS", "ConnectionEvent", "ConnectionEventStream", "ErrorStream",
           "EventKind", "Gap", "utcnow"]

#: The kinds of :class:`ConnectionEvent` (also names handlers may register for).
EventKind = Literal["connected", "disconnected", "reconnecting"]
CONNECTION_EVENTS: frozenset[str] = frozenset({"connected", "disconnected", "reconnecting"})


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Gap:
    """A stream item: data between ``since`` and ``until`` (aware, UTC) may be
    missing; ``reason`` says why (``"connection to TWS lost: …"``, ``"TWS error
    1101: … data lost"`` …). The items that follow come from the resumed
    subscription (see the module doc)."""

    since: datetime
    until: datetime
    reason: str

    @property
    def seconds(self) -> float:
        """The length of the gap."""
        return (self.until - self.since).total_seconds()


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    """A change of the client's connection state.

    Attributes:
        kind: ``'connected'`` (ready: first connect or a reconnect, after
            subscriptions were sent again and trades recovered),
            ``'disconnected'`` (the connection ended), ``'reconnecting'`` (an
            attempt to reconnect is about to be made).
        time: when it happened (aware, UTC).
        attempt: ``'reconnecting'``: this attempt's number (1, 2, …);
            ``'connected'``: the attempts the reconnect took (0 for connect()).
        delay: ``'reconnecting'``: seconds waited before this attempt.
        error: ``'disconnected'``: why (None after ``disconnect()``);
            ``'reconnecting'``: why the previous attempt failed (the drop's
            reason for attempt 1).
        will_reconnect: ``'disconnected'``: True when the client reconnects
            by itself (a :class:`~twsbridge.client.ReconnectPolicy` is set).
    """

    kind: EventKind
    time: datetime
    attempt: int = 0
    delay: float = 0.0
    error: BaseException | None = None
    will_reconnect: bool = False


class ConnectionEventStream:
    """Broadcast of :class:`ConnectionEvent` to ``connection_events()`` loops.

    Each loop gets every event from the moment it was created; loops end after
    ``disconnect()`` (:meth:`close`) or when the client gives up reconnecting.
    ``recent`` keeps the last 100 events.
    """

    def __init__(self) -> None:
        self.recent: list[ConnectionEvent] = []
        self._readers: weakref.WeakSet[Request[ConnectionEvent]] = weakref.WeakSet()

    def reader(self) -> Request[ConnectionEvent]:
        """A new loop's reader."""
        from .requests import Request, nothing

        reader: Request[ConnectionEvent] = Request("connection_events", None, (),
                                                   convert=nothing, maxlen=10_000)
        self._readers.add(reader)
        return reader

    def publish(self, event: ConnectionEvent) -> None:
        """Hand ``event`` to every loop."""
        self.recent = [*self.recent[-99:], event]
        for reader in list(self._readers):
            reader.put(event)

    def close(self) -> None:
        """End every loop."""
        for reader in list(self._readers):
            reader.finish()
        self._readers = weakref.WeakSet()


class ErrorStream:
    """Unsolicited TWS errors of a client (``TWSClient.errors``).

    ``async for err in ib.errors`` yields every :class:`TWSError` that fails no
    request and is not a notice (reqId -1 errors such as 1100, errors of ids
    nobody waits for) from the moment the loop starts; each loop gets every
    error. Iteration ends after ``disconnect()`` and raises the reason when the
    connection is lost for good (a client that reconnects by itself keeps its
    loops running). ``recent`` keeps the last ``maxlen`` errors for those who
    only look.
    """

    def __init__(self, maxlen: int = 100) -> None:
        self.recent: deque[TWSError] = deque(maxlen=maxlen)
        self._readers: weakref.WeakSet[Request[TWSError]] = weakref.WeakSet()

    def __aiter__(self) -> Request[TWSError]:
        from .requests import Request, nothing

        reader: Request[TWSError] = Request("errors", None, (), convert=nothing, maxlen=10_000)
        self._readers.add(reader)
        return reader

    def publish(self, err: TWSError) -> None:
        """Hand ``err`` to every running loop and to ``recent``."""
        self.recent.append(err)
        for reader in list(self._readers):
            reader.put(err)

    def close(self, exc: BaseException | None) -> None:
        """End every running loop: raise ``exc``, or stop when it is None."""
        for reader in list(self._readers):
            if exc is None:
                reader.finish()
            else:
                reader.fail(exc)
        self._readers = weakref.WeakSet()
