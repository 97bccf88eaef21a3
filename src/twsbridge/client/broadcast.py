"""Broadcasts to ``async for`` loops: connection events and unsolicited TWS errors.

Each loop reads its own :class:`~twsbridge.client.requests.Request`, so a slow
loop never holds up another.
"""

from __future__ import annotations

import weakref
from collections import deque
from typing import TYPE_CHECKING

from .events import ConnectionEvent
from .requests import Request, nothing

if TYPE_CHECKING:
    from .errors import TWSError

__all__ = ["ConnectionEventStream", "ErrorStream"]


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
