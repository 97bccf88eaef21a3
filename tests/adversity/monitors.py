"""Watchers of the adversity run: live streams of a direct client and of the service.

A :class:`StreamWatch` consumes one async iterator in the background and keeps
what the suite asserts on: items, gaps, the time of the last item (monotonic),
and how it ended if it did (a subscription must never end during the run).
:class:`WebSocketWatch` does the same for one WebSocket of the service and
reconnects it when the service closes it (a closed WebSocket is counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from twsbridge.client import Gap

#: WebSocket messages that are not fresh data (a snapshot repeats the last state)
_NOT_DATA = frozenset({"snapshot", "error", "subscribed", "unsubscribed", "keepalive"})


@dataclass
class _Watch:
    """What every watcher keeps: items, gaps, the last item's time, how it ended."""

    name: str
    items: int = 0
    gaps: int = 0
    last_item: float = 0.0
    ended: str | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def live_since(self, t: float) -> bool:
        """True when an item came after monotonic time ``t``."""
        return self.last_item > t

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task


@dataclass
class StreamWatch(_Watch):
    """One live stream, consumed in the background."""

    def start(self, stream: AsyncIterator[Any]) -> StreamWatch:
        self.task = asyncio.get_running_loop().create_task(self._run(stream), name=self.name)
        return self

    async def _run(self, stream: AsyncIterator[Any]) -> None:
        try:
            async for item in stream:
                if isinstance(item, Gap):
                    self.gaps += 1
                else:
                    self.items += 1
                    self.last_item = time.monotonic()
            self.ended = "the stream ended"
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # what ended it is the finding
            self.ended = f"{type(exc).__name__}: {exc}"


@dataclass
class CallbackWatch(_Watch):
    """Messages of one kind seen by a client's callback layer (``register``)."""

    def __call__(self, msg: object) -> None:
        self.items += 1
        self.last_item = time.monotonic()


@dataclass
class WebSocketWatch(_Watch):
    """One WebSocket of the service (``/ws/quotes?symbol=AMD`` ...), reconnected
    whenever the service closes it; ``closes`` counts those closes."""

    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    counts: Callable[[dict[str, Any]], bool] = lambda m: m.get("type") not in _NOT_DATA
    closes: int = 0
    refused: int = 0
    errors: list[str] = field(default_factory=list)

    def start(self) -> WebSocketWatch:
        self.task = asyncio.get_running_loop().create_task(self._run(), name=self.name)
        return self

    async def _run(self) -> None:
        while True:
            try:
                async with ws_connect(self.url, additional_headers=self.headers,
                                      open_timeout=10) as ws:
                    async for raw in ws:
                        message = json.loads(raw)
                        if message.get("type") == "error":
                            self.errors.append(str(message)[:200])
                        elif self.counts(message):
                            self.items += 1
                            self.last_item = time.monotonic()
                self.closes += 1
            except asyncio.CancelledError:
                raise
            except (ConnectionClosed, OSError, TimeoutError) as exc:
                self.closes += 1
                self.errors.append(f"{type(exc).__name__}: {exc}"[:200])
            except InvalidStatus as exc:  # the service refused the upgrade (e.g. 503)
                self.refused += 1
                self.errors.append(f"refused: {exc}"[:200])
            await asyncio.sleep(0.5)
