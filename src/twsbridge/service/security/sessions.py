"""Revocation of open sessions: every socket, stream and MCP request of a key ends
when the key is revoked.

A face that keeps a connection open after authenticating it (a streaming
WebSocket, an SSE response, a GraphQL WebSocket or subscription, an MCP request
or session) *tracks* it in the application's :class:`LiveSessions` with a
*closer*: a plain callable taking the reason, which must not block (it drops a
hub sink, schedules a close ...). A revocation ends every tracked session of the
key:

* one made through this process's :class:`~.keys.KeyStore` (``DELETE /keys/{id}``)
  at once (:attr:`KeyStore.on_revoke <.keys.KeyStore.on_revoke>`);
* one made elsewhere (``twsbridge keys revoke``, another service on the same
  database) within :data:`POLL_INTERVAL`: :func:`watch_revocations` asks the
  database, in one query, which of the key ids with open sessions are revoked
  (or deleted) - and asks nothing while no session is open.

WebSockets close with 4401 (:data:`~.auth.WS_UNAUTHORIZED`), SSE streams end
with an ``event: error`` (status 401). Besides, :func:`recheck` reads the key's
row again before each action on an open socket (subscribe, placeOrder ...), so
an action between a foreign revocation and the next poll is refused too.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from .auth import app_state, forbidden, key_store, unauthorized
from .keys import KeyStore
from .principal import Principal

__all__ = [
    "POLL_INTERVAL",
    "Closer",
    "LiveSessions",
    "live_sessions",
    "recheck",
    "revoked_reason",
    "watch_revocations",
]

log = logging.getLogger("twsbridge.service.security")

POLL_INTERVAL = 1.0
"""Seconds between two looks at the database for keys revoked by another process."""

Closer = Callable[[str], None]
"""Ends one session; gets the reason (for the close frame / error event)."""


def revoked_reason(key_id: str) -> str:
    """The close reason of a session whose key was revoked (fits a close frame)."""
    return f"API key {key_id} was revoked"


class LiveSessions:
    """The open authenticated sessions of one application, by key id."""

    def __init__(self) -> None:
        self._by_key: dict[str, dict[int, Closer]] = {}
        self._ids = itertools.count()

    def __len__(self) -> int:
        return sum(len(closers) for closers in self._by_key.values())

    def key_ids(self) -> frozenset[str]:
        """The keys with at least one open session."""
        return frozenset(self._by_key)

    def count(self, key_id: str) -> int:
        """Open sessions of ``key_id``."""
        return len(self._by_key.get(key_id, ()))

    def add(self, key_id: str, closer: Closer) -> Callable[[], None]:
        """Track one session of ``key_id`` until the returned callable is called."""
        handle = next(self._ids)
        self._by_key.setdefault(key_id, {})[handle] = closer

        def remove() -> None:
            closers = self._by_key.get(key_id)
            if closers is not None:
                closers.pop(handle, None)
                if not closers:
                    del self._by_key[key_id]

        return remove

    @contextlib.contextmanager
    def track(self, key_id: str, closer: Closer) -> Iterator[None]:
        """Track one session of ``key_id`` while the block runs; ``closer`` ends it."""
        remove = self.add(key_id, closer)
        try:
            yield
        finally:
            remove()

    def end(self, key_id: str, reason: str | None = None) -> int:
        """Call every closer of ``key_id`` (each once: the sessions are no longer
        tracked); how many sessions were told to end."""
        closers = list(self._by_key.pop(key_id, {}).values())
        if not closers:
            return 0
        text = reason or revoked_reason(key_id)
        for closer in closers:
            try:
                closer(text)
            except Exception:  # one face's failure must not spare the others
                log.exception("ending a session of revoked key %s failed", key_id)
        log.warning("API key %s revoked: ended %d open session(s)", key_id, len(closers),
                    extra={"keyId": key_id, "sessions": len(closers)})
        return len(closers)


def live_sessions(source: Any) -> LiveSessions:
    """The application's :class:`LiveSessions` (made on first use)."""
    state = app_state(source)
    sessions: LiveSessions | None = getattr(state, "live_sessions", None)
    if sessions is None:
        sessions = LiveSessions()
        state.live_sessions = sessions
    return sessions


async def recheck(source: Any, principal: Principal, scope: str) -> Principal:
    """The key of ``principal`` read again from the database, which must still be
    active and hold ``scope``: what every action on an open socket calls first.

    Raises:
        ProblemError: 401 when the key was revoked (or deleted), 403 without ``scope``.
    """
    info = await key_store(source).get(principal.key_id)
    if info is None or not info.active:
        raise unauthorized(revoked_reason(principal.key_id))
    fresh = info.principal()
    if not fresh.allows(scope):
        raise forbidden(fresh, scope)
    return fresh


async def _poll(store: KeyStore, sessions: LiveSessions, interval: float) -> None:
    failing = False
    while True:
        await asyncio.sleep(interval)
        ids = sessions.key_ids()
        if not ids:
            continue
        try:
            revoked = await store.revoked_among(ids)
        except Exception as exc:  # the database is away: try again, say so once
            if not failing:
                log.warning("cannot check the API keys of open sessions: %s", exc)
            failing = True
            continue
        failing = False
        for key_id in revoked:
            store.forget(key_id)
            sessions.end(key_id)


@contextlib.asynccontextmanager
async def watch_revocations(app: Any, interval: float = POLL_INTERVAL
                            ) -> AsyncIterator[LiveSessions]:
    """Within the application's lifespan (after the journal opened): end the open
    sessions of a key as soon as it is revoked (see the module doc)."""
    sessions = live_sessions(app)
    store = key_store(app)
    store.on_revoke.append(sessions.end)
    task = asyncio.create_task(_poll(store, sessions, interval), name="key revocation watch")
    try:
        yield sessions
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(ValueError):
            store.on_revoke.remove(sessions.end)

