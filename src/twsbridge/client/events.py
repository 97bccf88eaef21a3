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

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    pass

__all__ = ["CONNECTION_EVENTS", "ConnectionEvent", "EventKind", "Gap", "utcnow"]

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
