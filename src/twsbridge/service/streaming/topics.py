"""Topics of the streaming hub: what a subscriber asks for, and one upstream's fan-out.

A :class:`Topic` runs one upstream (see :mod:`.hub`) and turns what it emits
into batches: every ``emit`` of one event-loop step is one batch, encoded to
JSON once and offered to every subscriber's sink. It keeps the latest item per
conflation key as the snapshot a new subscriber gets first.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

__all__ = [
    "Emit",
    "Frame",
    "Item",
    "StreamError",
    "Topic",
    "TopicKey",
    "TopicKind",
    "TopicSpec",
    "Upstream",
    "UpstreamFactory",
    "dumps",
]

log = logging.getLogger("twsbridge.service.streaming")

Item = dict[str, Any]
"""One JSON-ready update (a tick, a bar, an order event ...)."""
Emit = Callable[[Iterable[Item]], None]
"""What an upstream calls with its updates (never blocks)."""
Upstream = Callable[[Emit], Awaitable[None]]
"""Runs one upstream subscription, emitting updates, until cancelled."""
TopicKey = tuple[Hashable, ...]


def dumps(value: Any) -> str:
    """Compact JSON (NaN is never emitted: items carry ``null`` instead)."""
    return json.dumps(value, separators=(",", ":"))


class StreamError(Exception):
    """An upstream failed for good (TWS said no): every subscriber gets an error."""

    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True, eq=False)
class TopicSpec:
    """What a subscriber asks for.

    ``kind`` and ``params`` identify the topic (``("quotes", 265598, "")``);
    ``header`` are the fields of every message (``conId``, ``symbol``);
    ``context`` is what the factory needs (the resolved contract ...).
    """

    kind: str
    params: tuple[Hashable, ...]
    header: Mapping[str, Any] = field(default_factory=dict)
    context: Any = None

    @property
    def key(self) -> TopicKey:
        """The topic's identity: ``(kind, *params)``."""
        return (self.kind, *self.params)


UpstreamFactory = Callable[[TopicSpec], Upstream]


def _by_name(item: Item) -> Hashable:
    key: Hashable = item["name"]
    return key


@dataclass(frozen=True, slots=True)
class TopicKind:
    """A kind of topic: how to start its upstream and how its messages look.

    ``message`` is the ``type`` of update messages and ``field`` the name of
    their item array (``{"type": "ticks", …, "ticks": [...]}``); ``key`` gives
    an item's conflation key; ``max_state`` bounds the snapshot (oldest keys go);
    ``conflate`` False: a subscriber ``max_queue`` batches behind is dropped, never conflated.
    """

    name: str
    factory: UpstreamFactory
    message: str = "ticks"
    field: str = "ticks"
    key: Callable[[Item], Hashable] = _by_name
    max_state: int = 10_000
    conflate: bool = True


class Frame(NamedTuple):
    """One message for a sink: its ``type`` and JSON text; ``code`` for errors."""

    type: str
    text: str
    code: int | None = None
    topic: TopicKey | None = None


@dataclass(slots=True)
class _Batch:
    items: list[Item]
    t_hub: int  # time.time_ns() when the hub received the first item
    inner: str  # the items as JSON, without the brackets


@dataclass(slots=True, eq=False)
class _Feed:
    """One sink's subscription to one topic."""

    topic: Topic
    batches: deque[_Batch] = field(default_factory=deque)
    merged: dict[Hashable, Item] | None = None
    merged_items: int = 0
    merged_t_hub: int = 0
    snapshot_due: bool = True


class Subscriber(Protocol):
    """What a topic needs of a subscriber (:class:`~.hub.Sink`): take a batch, never block."""

    def _offer(self, feed: _Feed, batch: _Batch) -> None: ...


class TopicOwner(Protocol):
    """What a topic needs of its hub (:class:`~.hub.StreamHub`)."""

    def _fail(self, topic: Topic, error: StreamError) -> None: ...


class Topic:
    """One upstream and its subscribers (created by the hub)."""

    def __init__(self, hub: TopicOwner, kind: TopicKind, spec: TopicSpec) -> None:
        self.hub = hub
        self.kind = kind
        self.spec = spec
        self.key = spec.key
        self.state: dict[Hashable, Item] = {}
        self.ready = False
        self.feeds: dict[Subscriber, _Feed] = {}
        self.batches = 0
        self.items = 0
        self.task: asyncio.Task[None] | None = None
        self._pending: list[Item] = []
        self._t_first = 0
        self._flush_scheduled = False
        head = dumps({"type": kind.message, **spec.header})[:-1]
        self._update_head = head + ',"t_hub":'
        self._snapshot_head = dumps({"type": "snapshot", **spec.header})[:-1] + ',"t_hub":'
        self._field = f',"{kind.field}":['

    def __repr__(self) -> str:
        return f"<Topic {self.key} subscribers={len(self.feeds)}>"

    def emit(self, items: Iterable[Item]) -> None:
        """Take updates from the upstream; they go out as one batch per loop step."""
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._t_first = time.time_ns()
            asyncio.get_running_loop().call_soon(self._flush)
        self._pending.extend(items)

    def _flush(self) -> None:
        self._flush_scheduled = False
        items, self._pending = self._pending, []
        first = not self.ready
        self.ready = True
        if not items and not first:
            return
        key, state = self.kind.key, self.state
        for item in items:
            state[key(item)] = item
        while len(state) > self.kind.max_state:
            del state[next(iter(state))]
        self.batches += 1
        self.items += len(items)
        batch = _Batch(items, self._t_first, dumps(items)[1:-1])
        for sink, feed in list(self.feeds.items()):
            sink._offer(feed, batch)

    def frame(self, items: Iterable[str], t_hub: int, *, snapshot: bool = False,
              conflated: int = 0) -> Frame:
        """A message of this topic from encoded items."""
        head = self._snapshot_head if snapshot else self._update_head
        extra = f',"conflated":{conflated}' if conflated else ""
        text = f"{head}{t_hub}{extra}{self._field}{','.join(items)}]}}"
        return Frame("snapshot" if snapshot else self.kind.message, text, topic=self.key)

    async def run(self, upstream: Upstream) -> None:
        """Run the upstream; on failure tell every subscriber and let them go."""
        try:
            await upstream(self.emit)
            error = StreamError(None, "the upstream subscription ended")
        except asyncio.CancelledError:
            raise
        except StreamError as exc:
            error = exc
        except Exception as exc:
            log.exception("upstream %s failed", self.key)
            error = StreamError(None, f"upstream failed: {type(exc).__name__}: {exc}")
        self.hub._fail(self, error)
