"""Reconnecting: when the connection to TWS drops, connect again with backoff.

With a :class:`ReconnectPolicy` (``TWSClient(..., reconnect=ReconnectPolicy())``)
a client whose connection is lost (TWS closed the socket, the network failed:
a :class:`~twsbridge.client.errors.ConnectionLost`) does this:

1. at once: every waiting one-shot request fails with ``ConnectionLost``
   (nothing hangs), and so does every API call until the client is back;
   live subscriptions are kept, marked stale from that moment; ``Trade.done()``
   and ``Trade.updates()`` keep waiting; a ``'disconnected'`` event
   (``will_reconnect=True``) is published;
2. it tries to connect again: before attempt *n* it waits
   ``min(maximum, initial * factor ** (n - 1))`` seconds, ±``jitter`` of it,
   and publishes a ``'reconnecting'`` event. A refused port (TWS's daily
   restart), a handshake cut short, a timeout, or error 326 (the old session
   still holds the client id for a moment) only lead to the next attempt;
3. once connected: every live subscription is sent again with a new reqId
   and yields a :class:`~twsbridge.client.events.Gap` first, the account
   updates subscription is sent again, and trades not complete are brought up
   to date (reqOpenOrders, reqCompletedOrders, reqExecutions: statuses, fills
   and commissions missed during the outage); then a ``'connected'`` event.

Order and request ids go on from ``max(local next id, TWS's nextValidId)``
(:mod:`.ids`), so no id is used twice across reconnects.

After ``max_attempts`` failed attempts the client gives up: subscriptions,
``Trade.done()`` waiters and ``errors`` loops raise a ``ConnectionLost`` that
says so (the last attempt's error chained), and a final ``'disconnected'``
event is published. A connection that ends for another reason (a
:class:`~twsbridge.protocol.ProtocolError`, a failed intercept hook) or by
``disconnect()`` is not reconnected. The first ``connect()`` is not retried:
it raises as without a policy.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .errors import ConnectionLost, TWSError
from .events import ConnectionEvent, utcnow

__all__ = ["ReconnectPolicy", "Reconnector"]

log = logging.getLogger("twsbridge.client")


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """How a client reconnects after its connection dropped (see the module doc).

    Attributes:
        initial: seconds before the first attempt.
        maximum: the longest wait between attempts.
        factor: each wait is ``factor`` times the previous one.
        jitter: each wait varies by up to this fraction of it, at random
            (clients of one TWS do not all come back at once).
        max_attempts: attempts before giving up; None never gives up.
    """

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.2
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if self.initial < 0 or self.maximum < 0 or self.factor < 1:
            raise ValueError("ReconnectPolicy needs initial >= 0, maximum >= 0, factor >= 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("ReconnectPolicy.jitter must be in [0, 1)")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("ReconnectPolicy.max_attempts must be >= 1 or None")

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt`` (1, 2, …), jitter applied."""
        base = min(self.maximum, self.initial * self.factor ** max(0, attempt - 1))
        if self.jitter:
            base *= 1 + random.uniform(-self.jitter, self.jitter)
        return max(0.0, base)


#: Errors of one attempt after which the next attempt is made.
RETRIED = (ConnectionError, TWSError, TimeoutError)


class Reconnector:
    """The reconnect loop of one client (run by its :class:`~.core.ClientCore`).

    Args:
        where: ``host:port``, for messages.
        open_session: connects and waits for the ready state (raises on failure).
        resume_session: sends the subscriptions again and recovers trades.
        announce: publishes a connection event.
        give_up: ends the client's state for good with the given error.
    """

    def __init__(self, where: Callable[[], str], open_session: Callable[[], Awaitable[None]],
                 resume_session: Callable[[], Awaitable[None]],
                 announce: Callable[[ConnectionEvent], None],
                 give_up: Callable[[BaseException], None]) -> None:
        self._where = where
        self._open = open_session
        self._resume = resume_session
        self._announce = announce
        self._give_up = give_up
        self._task: asyncio.Task[None] | None = None
        #: Attempts made since the connection dropped (0 while connected).
        self.attempts = 0

    @property
    def running(self) -> bool:
        """True while the loop runs (between a drop and the reconnect or give-up)."""
        return self._task is not None and not self._task.done()

    def start(self, policy: ReconnectPolicy, reason: BaseException) -> None:
        """Start the loop after the connection dropped with ``reason``."""
        if self.running:
            return
        self.attempts = 0
        self._task = asyncio.get_running_loop().create_task(
            self._run(policy, reason), name=f"twsbridge-reconnect-{self._where()}")

    async def cancel(self) -> None:
        """Stop the loop (``disconnect()``); returns once it stopped."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise

    async def _run(self, policy: ReconnectPolicy, reason: BaseException) -> None:
        error: BaseException = reason
        while policy.max_attempts is None or self.attempts < policy.max_attempts:
            self.attempts += 1
            delay = policy.delay(self.attempts)
            self._announce(ConnectionEvent("reconnecting", utcnow(), self.attempts, delay, error))
            log.info("reconnecting to TWS at %s in %.2f s (attempt %d): %s", self._where(), delay,
                     self.attempts, error)
            await asyncio.sleep(delay)
            try:
                await self._open()
                await self._resume()
            except RETRIED as exc:
                error = exc
                log.info("reconnect attempt %d to TWS at %s failed: %s", self.attempts,
                         self._where(), exc)
                continue
            except Exception as exc:  # a ProtocolError, a failed intercept hook: stop
                log.error("reconnecting to TWS at %s stopped: %r", self._where(), exc)
                self._task = None
                self._give_up(exc)
                return
            log.warning("reconnected to TWS at %s after %d attempt(s)", self._where(),
                        self.attempts)
            self._announce(ConnectionEvent("connected", utcnow(), self.attempts))
            return
        lost = ConnectionLost(f"gave up reconnecting to TWS at {self._where()} after "
                              f"{self.attempts} attempt(s): {error}")
        lost.__cause__ = error
        log.error("%s", lost)
        self._task = None
        self._give_up(lost)
