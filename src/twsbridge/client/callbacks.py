"""IbPy-style message handlers: ``register(handler, 'tickPrice')``, ``registerAll``.

A handler is any callable taking one message. It receives each ``Message``
(and each ``Unknown`` frame) whose ``NAME`` it was registered for, in the
order TWS sent them and after the client has updated its own state (so a
``nextValidId`` handler already sees ``ib.next_order_id``). Handlers of one
message run in registration order. Plain handlers run inside the reader, so
they must return quickly (they may call ``send``, ``reqMktData`` and other
non-async methods). A handler may be a coroutine function: its coroutine is
scheduled as a task and not awaited by the reader; it may await requests.

Handlers may also be registered for the connection events ``'connected'``,
``'disconnected'`` and ``'reconnecting'``: they receive the
:class:`~twsbridge.client.events.ConnectionEvent` (``registerAll`` handlers
do not).

A handler that raises does not stop the reader or the other handlers: the
exception is logged (``twsbridge.client``, ERROR, with traceback) and kept; the
client raises it as :class:`~twsbridge.client.errors.HandlerError` from its
next API call (see :meth:`Dispatcher.pop_failure`).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import Any

from twsbridge.protocol import IN, Message, Unknown, registry

from .errors import HandlerError
from .events import CONNECTION_EVENTS, ConnectionEvent

__all__ = ["Dispatcher", "Handler", "Name", "known_names", "message_name"]

log = logging.getLogger("twsbridge.client")

#: A handler: called with a catalogued message or an uncatalogued frame
#: (``Message | Unknown``), or with a ``ConnectionEvent`` for the names of
#: the connection events.
Handler = Callable[[Any], Any]
#: A message name (``'tickPrice'``) or a message class (``incoming.TickPrice``).
Name = str | type[Message]


def known_names() -> frozenset[str]:
    """Names handlers can be registered for: every incoming message's ``NAME``
    in the catalogue, and ``'unknown'`` for uncatalogued frames."""
    return frozenset(cls.NAME for cls in registry(IN).values()) | {Unknown.NAME}


def message_name(name: Name) -> str:
    """The ``NAME`` of a message name or class.

    Raises:
        ValueError: no incoming message carries it.
    """
    text = name if isinstance(name, str) else getattr(name, "NAME", None)
    if not isinstance(text, str) or text not in known_names():
        raise ValueError(
            f"{name!r} is not a message TWS sends in this catalogue; uncatalogued "
            f"messages arrive as 'unknown' (known: {', '.join(sorted(known_names()))})"
        )
    return text


def _handler_name(name: Name) -> str:
    """A message name, or the name of a connection event."""
    if isinstance(name, str) and name in CONNECTION_EVENTS:
        return name
    return message_name(name)


class Dispatcher:
    """Handlers by message name; one per client, kept across reconnections."""

    def __init__(self) -> None:
        # (handler, name) in registration order; name None means every message.
        self._entries: list[tuple[Handler, str | None]] = []
        self._cache: dict[str, list[Handler]] = {}
        self._failures: list[HandlerError] = []
        self._tasks: set[asyncio.Future[Any]] = set()

    # registration ---------------------------------------------------------

    def register(self, handler: Handler, *names: Name) -> None:
        """Call ``handler(msg)`` for every message whose ``NAME`` is in ``names``.

        Registering the same handler for the same name twice has no effect.

        Raises:
            ValueError: a name no incoming message carries (a typo such as
                ``'tickprice'``), or no name at all.
        """
        if not names:
            raise ValueError("register() needs at least one message name; see registerAll()")
        for text in [_handler_name(n) for n in names]:
            if (handler, text) not in self._entries:
                self._entries.append((handler, text))
        self._cache.clear()

    def unregister(self, handler: Handler, *names: Name) -> bool:
        """Stop calling ``handler`` for ``names`` (for every name when none given).

        Returns True when something was unregistered. ``registerAll``
        registrations are left alone (see :meth:`unregisterAll`).
        """
        texts = {_handler_name(n) for n in names}
        before = len(self._entries)
        self._entries = [
            (h, n) for h, n in self._entries
            if not (h == handler and n is not None and (not texts or n in texts))
        ]
        self._cache.clear()
        return len(self._entries) != before

    def registerAll(self, handler: Handler) -> None:
        """Call ``handler(msg)`` for every message and every ``Unknown`` frame."""
        if (handler, None) not in self._entries:
            self._entries.append((handler, None))
            self._cache.clear()

    def unregisterAll(self, handler: Handler) -> bool:
        """Undo :meth:`registerAll`; True when ``handler`` was registered for all."""
        if (handler, None) in self._entries:
            self._entries.remove((handler, None))
            self._cache.clear()
            return True
        return False

    # dispatch -------------------------------------------------------------

    def handlers(self, name: str) -> list[Handler]:
        """The handlers that receive messages named ``name``, in call order."""
        found = self._cache.get(name)
        if found is None:
            found = [h for h, n in self._entries if n is None or n == name]
            self._cache[name] = found
        return found

    def dispatch(self, msg: Message | Unknown) -> None:
        """Give ``msg`` to its handlers; never raises (failures are kept)."""
        for handler in self.handlers(msg.NAME):
            try:
                result = handler(msg)
                if inspect.isawaitable(result):
                    self._watch(handler, msg, asyncio.ensure_future(result))
            except Exception as exc:
                self._fail(handler, msg, exc)

    def dispatch_event(self, event: ConnectionEvent) -> None:
        """Give a connection event to the handlers registered for its kind."""
        for handler, name in list(self._entries):
            if name != event.kind:
                continue
            try:
                result = handler(event)
                if inspect.isawaitable(result):
                    self._watch(handler, event, asyncio.ensure_future(result))
            except Exception as exc:
                self._fail(handler, event, exc)

    def _watch(self, handler: Handler, msg: Message | Unknown | ConnectionEvent,
               task: asyncio.Future[Any]) -> None:
        self._tasks.add(task)

        def done(t: asyncio.Future[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and (exc := t.exception()) is not None:
                self._fail(handler, msg, exc)

        task.add_done_callback(done)

    def _fail(self, handler: Handler, msg: Message | Unknown | ConnectionEvent,
              exc: BaseException) -> None:
        log.error("handler %r raised on %r", handler, msg, exc_info=exc)
        err = HandlerError(handler, msg)
        err.__cause__ = exc
        self._failures.append(err)

    def pop_failure(self) -> HandlerError | None:
        """The oldest kept handler failure (its count of later ones in ``more``),
        clearing them all; None when every handler behaved."""
        if not self._failures:
            return None
        first, rest = self._failures[0], len(self._failures) - 1
        self._failures.clear()
        if rest:
            err = HandlerError(first.handler, first.msg, rest)
            err.__cause__ = first.__cause__
            return err
        return first

    def cancel_tasks(self) -> None:
        """Cancel coroutine handlers still running (on disconnect)."""
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:  # a coroutine handler may itself call disconnect()
                task.cancel()
