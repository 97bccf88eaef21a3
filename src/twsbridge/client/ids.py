"""One id sequence for order ids and request ids.

TWS puts order ids and request ids in the same field of an error frame
(message 4, ``reqId``), so a client must never use one number for both: an
error for request 7 would otherwise also look like an error for order 7. The
:class:`IdAllocator` hands out both kinds from one increasing sequence:

* it starts at TWS's ``nextValidId`` (message 9, sent after startApi and as the
  answer of reqIds) and is raised, never lowered, by every later nextValidId:
  after a reconnect the next id is ``max(local next, new nextValidId)``;
* an order placed with an explicit ``orderId`` raises it past that id;
* no id is handed out twice by one allocator (one per ``TWSClient`` object,
  kept across its reconnects).
"""

from __future__ import annotations

__all__ = ["IdAllocator"]


class IdAllocator:
    """A strictly increasing sequence of ids (ints > 0).

    Args:
        first: the first id handed out unless :meth:`raise_to` raises it.
    """

    __slots__ = ("_next",)

    def __init__(self, first: int = 1) -> None:
        self._next = first

    def __repr__(self) -> str:
        return f"<IdAllocator next={self._next}>"

    @property
    def peek(self) -> int:
        """The id :meth:`next` will hand out (without taking it)."""
        return self._next

    def next(self) -> int:
        """Take the next id."""
        taken = self._next
        self._next += 1
        return taken

    def raise_to(self, first: int) -> None:
        """Make every later id at least ``first`` (a nextValidId, or an explicit
        orderId + 1); lower values are ignored."""
        if first > self._next:
            self._next = first
