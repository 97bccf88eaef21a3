"""Resuming subscriptions: after a reconnect, and after TWS lost its connection to IB.

A live subscription (market data, keepUpToDate bars, positions, P&L, P&L of a
position) is a :class:`~twsbridge.client.requests.Subscription` that can be
sent again (:meth:`~twsbridge.client.requests.Request.renew`). The
:class:`Resumer` keeps the async iterator of each one going through:

* **a dropped connection** (with a reconnect policy): the subscription is
  marked stale and kept; once reconnected it is sent again with a new reqId
  and yields a :class:`~twsbridge.client.events.Gap` first;
* **error 1100** "Connectivity between IB and TWS has been lost": every
  subscription is marked stale (the gap starts);
* **error 1101** "… restored - data lost": TWS dropped the subscriptions;
  each is sent again with a new reqId (no reconnect) after a Gap;
* **error 1102** "… restored - data maintained": the subscriptions go on with
  their reqIds; those marked stale yield a Gap for the time TWS sent nothing;
* **error 10197** "No market data during competing live session" for a
  market data subscription: it is not failed but marked stale (the error also
  goes to ``errors``); when TWS sends its data again, a Gap comes first;
* **a passing limit** - error 100 (TWS dropped the message at its rate
  limit), 101 (market data lines exhausted) or a historical pacing violation
  (162, 420) refusing a subscription that had delivered before (typically
  sent again after a reconnect or 1101): it is not failed but marked stale
  and sent again after a back-off (0.5 s doubling to 10 s) with a new reqId.
  A subscription refused on its first request fails as before: the caller
  asked for something TWS will not give now.

A keepUpToDate bar stream sent again is a historical request like any other:
for bars of 30 seconds or less it waits for its pacing slot (TWS counts an
identical request within 15 seconds as a violation; see :mod:`.pacing`).

Hooks registered with :meth:`Resumer.on_resubscribe` run whenever the
subscriptions were sent again (after a reconnect and after 1101): the account
updates subscription is sent again there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from twsbridge.protocol import Message

from .errors import ConnectionLost, TWSError
from .events import utcnow
from .ids import IdAllocator
from .pacing import MESSAGE_RATE_EXCEEDED, is_pacing_violation
from .requests import Request, Router, Subscription

__all__ = ["COMPETING_SESSION", "CONNECTIVITY_LOST", "DATA_LOST", "DATA_MAINTAINED",
           "MAX_TICKERS", "Resumer", "passing_limit"]

log = logging.getLogger("twsbridge.client")

#: "Connectivity between IB and Trader Workstation has been lost."
CONNECTIVITY_LOST = 1100
#: "Connectivity between IB and TWS has been restored - data lost."
DATA_LOST = 1101
#: "Connectivity between IB and TWS has been restored - data maintained."
DATA_MAINTAINED = 1102
#: "No market data during competing live session."
COMPETING_SESSION = 10197
#: "Max number of tickers has been reached."
MAX_TICKERS = 101
#: Back-off of a subscription refused by a passing limit: first and longest wait, s.
RETRY_MIN, RETRY_MAX = 0.5, 10.0


def passing_limit(err: TWSError) -> bool:
    """True for a refusal by one of TWS's limits that pass (100, 101, pacing)."""
    return err.code in (MESSAGE_RATE_EXCEEDED, MAX_TICKERS) or is_pacing_violation(
        err.code, err.message)


class Resumer:
    """The live subscriptions of one client across drops and TWS's 1100-1102.

    Args:
        router: returns the current connection's router.
        ids: the client's id sequence (new reqIds).
        resend: routes a renewed request and sends it (paced when it is).
        state: the client's state: ``'connected'``, ``'reconnecting'`` or
            ``'disconnected'``.
    """

    def __init__(self, router: Callable[[], Router], ids: IdAllocator,
                 resend: Callable[[Request[Any], Message], None],
                 state: Callable[[], str] = lambda: "connected") -> None:
        self._router = router
        self._ids = ids
        self._resend = resend
        self._state = state
        self._suspended: list[Request[Any]] = []
        self._hooks: list[Callable[[], None]] = []
        self._retrying: dict[Subscription[Any], asyncio.TimerHandle] = {}

    @property
    def suspended(self) -> list[Request[Any]]:
        """Subscriptions kept while the client reconnects."""
        return [r for r in self._suspended if not r.done]

    def on_resubscribe(self, hook: Callable[[], None]) -> None:
        """Call ``hook()`` whenever the subscriptions were sent again."""
        self._hooks.append(hook)

    # a dropped connection ---------------------------------------------------------

    def suspend(self, subs: list[Request[Any]], reason: str) -> None:
        """The connection dropped: keep ``subs`` (stale from now) to send again."""
        now = utcnow()
        for sub in subs:
            if isinstance(sub, Subscription):
                sub.mark_stale(now, reason)
            if sub not in self._suspended:
                self._suspended.append(sub)

    def resubscribe_suspended(self, reason: str) -> int:
        """Reconnected: send every kept subscription again (new reqIds), each
        after a Gap; run the hooks. The number sent."""
        subs, self._suspended = self._suspended, []
        count = 0
        for i, sub in enumerate(subs):
            try:
                count += self._renew(sub, reason)
            except BaseException:
                self._suspended.extend(s for s in subs[i:] if s not in self._suspended)
                raise
        self._run_hooks()
        if count:
            log.info("sent %d subscription(s) again after reconnecting", count)
        return count

    def end(self, exc: BaseException | None) -> None:
        """The client stopped for good: kept subscriptions raise ``exc`` (or end)."""
        for timer in self._retrying.values():
            timer.cancel()
        subs, self._suspended = [*self._suspended, *self._retrying], []
        self._retrying = {}
        for sub in subs:
            if exc is None:
                sub.finish()
            else:
                sub.fail(exc)

    # TWS's connectivity to IB ------------------------------------------------------------

    def connectivity(self, err: TWSError) -> bool:
        """React to 1100, 1101 and 1102; True when ``err`` was one of them."""
        if err.code == CONNECTIVITY_LOST:
            now = utcnow()
            for sub in self._router().streams():
                if isinstance(sub, Subscription):
                    sub.mark_stale(now, f"TWS error {err.code}: {err.message}")
            return True
        if err.code == DATA_LOST:
            router = self._router()
            subs = router.streams()
            for sub in subs:
                router.discard(sub)
            reason = f"TWS error {err.code}: {err.message}"
            count = sum(self._renew(sub, reason) for sub in subs)
            self._run_hooks()
            log.warning("TWS lost the market and account data (1101): sent %d "
                        "subscription(s) again", count)
            return True
        if err.code == DATA_MAINTAINED:
            reason = f"TWS error {err.code}: {err.message}"
            for sub in self._router().streams():
                if isinstance(sub, Subscription) and sub.stale_since is not None:
                    sub.gap(reason)
            return True
        return False

    def paused(self, err: TWSError) -> bool:
        """10197 for a live subscription: mark it stale instead of failing it;
        True when it was one."""
        if err.code != COMPETING_SESSION:
            return False
        sub = self._router().get(err.reqId)
        if not isinstance(sub, Subscription) or sub.done:
            return False
        sub.mark_stale(utcnow(), f"TWS error {err.code}: {err.message}")
        log.warning("%r paused: %s", sub, err)
        return True

    def retry_later(self, err: TWSError) -> bool:
        """A passing limit refused a subscription that had delivered: keep it
        (stale) and send it again after a back-off; True when ``err`` was one."""
        router = self._router()
        sub = router.get(err.reqId)
        if (not isinstance(sub, Subscription) or sub.done or not sub.delivered
                or sub.renewer is None or not passing_limit(err)):
            return False
        router.discard(sub)
        reason = f"TWS error {err.code}: {err.message}"
        sub.mark_stale(utcnow(), reason)
        delay = min(RETRY_MAX, RETRY_MIN * 2 ** sub.refusals)
        sub.refusals += 1
        log.warning("%r refused by a passing limit (%s); sending it again in %.1f s",
                    sub, reason, delay)
        self._retrying[sub] = asyncio.get_running_loop().call_later(
            delay, self._retry, sub, reason)
        return True

    def _retry(self, sub: Subscription[Any], reason: str) -> None:
        self._retrying.pop(sub, None)
        if sub.done:
            return
        state = self._state()
        if state == "connected":
            self._renew(sub, reason)
        elif state == "reconnecting":  # sent with the others once reconnected
            if sub not in self._suspended:
                self._suspended.append(sub)
        else:
            sub.fail(ConnectionLost(f"{reason}; the connection to TWS ended before it "
                                    "could be sent again"))

    # -----------------------------------------------------------------------------------

    def _renew(self, sub: Request[Any], reason: str) -> bool:
        if sub.done:
            return False
        reqId = self._ids.next() if sub.reqId is not None else None
        msg = sub.renew(reqId)
        if isinstance(sub, Subscription):
            sub.gap(reason)
        self._resend(sub, msg)
        return True

    def _run_hooks(self) -> None:
        for hook in self._hooks:
            hook()
