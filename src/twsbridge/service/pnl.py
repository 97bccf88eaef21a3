"""The service's account P&L: one reqPnL subscription per connection, its latest value kept.

:class:`PnLWatch` is restarted by the gateway manager after every (re)connect
for the first managed account; ``GET /pnl`` reads :meth:`PnLWatch.latest`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Any

from twsbridge.client import Gap

from .gateway_clock import gateway_clock

__all__ = ["PnLWatch"]

log = logging.getLogger("twsbridge.service")


class PnLWatch:
    """Holds a reqPnL subscription and its latest ``incoming.PnL``."""

    def __init__(self) -> None:
        self.account: str | None = None
        self.pnl: Any | None = None
        self.time: dt.datetime | None = None
        self.subscription: Any | None = None  # the reqPnL Subscription of the connection
        self._task: asyncio.Task[None] | None = None
        self._updated = asyncio.Event()

    async def start(self, ib: Any) -> None:
        """Subscribe on ``ib`` (connected) for its first account, replacing any old one."""
        await self.stop()
        accounts = list(getattr(ib, "accounts", []))
        if not accounts:
            return
        if accounts[0] != self.account:
            self.pnl, self.time = None, None
        self.account = accounts[0]
        self._updated = asyncio.Event()
        self._task = asyncio.create_task(self._run(ib, accounts[0]), name="twsbridge-pnl")

    async def stop(self) -> None:
        """Cancel the subscription's task."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _run(self, ib: Any, account: str) -> None:
        clock = gateway_clock(ib)
        await clock.ensure()  # the gateway's time before the first figures
        sub = self.subscription = ib.reqPnL(account, "")
        try:
            async for pnl in sub:
                if isinstance(pnl, Gap):  # TWS resent it (1101): the figures follow
                    continue
                self.pnl = pnl
                self.time = clock.now()  # arrival, on the gateway's clock
                self._updated.set()
        except Exception as exc:  # the connection ended; the next connect restarts it
            log.debug("reqPnL for %s ended: %s", account, exc)
        finally:
            with contextlib.suppress(Exception):
                await sub.cancel()

    async def latest(self, wait: float) -> tuple[Any | None, dt.datetime | None]:
        """The latest P&L and when it arrived (UTC, the gateway's clock:
        :mod:`.gateway_clock`); waits up to ``wait`` s for a first one."""
        if self.pnl is None and self._task is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._updated.wait()
        return self.pnl, self.time
