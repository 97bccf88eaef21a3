"""Fan-out hub: one upstream per topic, shared by every downstream subscriber.

A *topic* is one upstream stream of TWS data: market data of one conId, live
bars of one (conId, bar size, whatToShow, useRTH) ... Topics of a *kind*
(``"quotes"``, ``"bars"``; later ``"orders"``, ``"account"``) are started by
the :class:`TopicKind` registered for it (:meth:`StreamHub.register`): its
factory turns a :class:`TopicSpec` into an :data:`Upstream` coroutine that
calls ``emit(items)`` for every update until it is cancelled.

The first subscriber of a topic starts its upstream; the last one leaving
cancels it (:meth:`StreamHub.upstream_count` tells how many run). Items are
JSON-ready dicts; every emit of one event-loop step forms one *batch*,
encoded to JSON once and shared by all subscribers. The hub keeps the latest
item per conflation key (tick name, bar date) as the topic's state: a new
subscriber's first message is that snapshot.

A downstream connection is a :class:`Sink` (one WebSocket or SSE response,
possibly subscribed to several topics). Offering a batch never blocks: each
subscription queues at most ``max_queue`` batches; past that it is
*conflated* (only the latest item per key is kept, sent as one merged message
with ``"conflated": n`` superseded updates when the writer catches up). A sink
that stays behind for more than ``drop_after`` seconds is *dropped*: it leaves
every topic and its ``on_drop`` callback gets the reason, ``"slow consumer: …"``.
A kind registered with ``conflate=False`` (tick-by-tick: every item matters) is
never conflated: a subscription ``max_queue`` batches behind drops its sink at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from .topics import (
    Emit,
    Frame,
    Item,
    StreamError,
    Topic,
    TopicKey,
    TopicKind,
    TopicSpec,
    Upstream,
    UpstreamFactory,
    _Batch,
    _Feed,
    dumps,
)

__all__ = [
    "Emit",
    "Frame",
    "Item",
    "Sink",
    "SinkDropped",
    "StreamError",
    "StreamHub",
    "TopicKey",
    "TopicKind",
    "TopicSpec",
    "Upstream",
    "UpstreamFactory",
    "dumps",
]

log = logging.getLogger("twsbridge.service.streaming")


class SinkDropped(Exception):
    """The sink was dropped (slow consumer, shutdown); ``str(exc)`` is the reason."""

    def __init__(self, reason: str, code: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class Sink:
    """One downstream connection (a WebSocket, an SSE response)."""

    def __init__(self, hub: StreamHub, name: str) -> None:
        self.hub = hub
        self.name = name
        self.feeds: dict[TopicKey, _Feed] = {}
        self.on_drop: Callable[[SinkDropped], None] | None = None
        self.dropped: SinkDropped | None = None
        self.behind_since: float | None = None
        self.conflated = 0  # updates superseded by conflation, in total
        self.frames = 0
        self._control: deque[Frame] = deque()
        self._wake = asyncio.Event()

    def __repr__(self) -> str:
        return f"<Sink {self.name} topics={len(self.feeds)}>"

    @property
    def conflated_total(self) -> int:
        """Updates superseded by conflation: sent merged, and pending merged now."""
        return self.conflated + sum(f.merged_items - len(f.merged)
                                    for f in self.feeds.values() if f.merged is not None)

    @property
    def conflating(self) -> bool:
        """True while some subscription of this sink is conflated."""
        return any(f.merged is not None for f in self.feeds.values())

    def control(self, type_: str, **fields: Any) -> None:
        """Queue a control message (subscribed, unsubscribed, error) for the sink."""
        self._push(Frame(type_, dumps({"type": type_, **fields}), fields.get("code")))

    def _push(self, frame: Frame) -> None:
        if self.dropped is not None:
            return
        if len(self._control) >= self.hub.max_queue:
            self.hub.drop(self, f"slow consumer: {len(self._control)} control messages unread")
            return
        self._control.append(frame)
        self._wake.set()

    def _offer(self, feed: _Feed, batch: _Batch) -> None:
        """Take a batch of a topic (called by the topic; never blocks)."""
        if self.dropped is not None:
            return
        if feed.snapshot_due:  # the snapshot, built when the writer is ready, includes it
            self._wake.set()
            return
        if feed.merged is None and len(feed.batches) >= self.hub.max_queue:
            if not feed.topic.kind.conflate:  # every item matters (tick-by-tick): drop
                self.hub.drop(self, f"slow consumer: {len(feed.batches)} messages unsent "
                                    f"(limit {self.hub.max_queue}, not conflated)")
                return
            feed.merged, feed.merged_items = {}, 0
            feed.merged_t_hub = feed.batches[0].t_hub
            while feed.batches:
                self._merge(feed, feed.batches.popleft())
            if self.behind_since is None:
                self.behind_since = time.monotonic()
        if feed.merged is not None:
            self._merge(feed, batch)
            behind = time.monotonic() - (self.behind_since or time.monotonic())
            if behind > self.hub.drop_after:
                self.hub.drop(self, f"slow consumer: {behind:.1f} s behind (limit "
                                    f"{self.hub.drop_after:g} s), {self.conflated_total} "
                                    "updates conflated")
                return
        else:
            feed.batches.append(batch)
        self._wake.set()

    def _merge(self, feed: _Feed, batch: _Batch) -> None:
        merged = feed.merged
        assert merged is not None
        key = feed.topic.kind.key
        for item in batch.items:
            merged[key(item)] = item
        feed.merged_items += len(batch.items)

    async def next_frames(self) -> list[Frame]:
        """Wait for what is pending and take it all (frames to send, in order).

        Raises:
            SinkDropped: the sink was dropped (its reason and close code).
        """
        while True:
            if self.dropped is not None:
                raise self.dropped
            if not self._wake.is_set():  # every change of the sink sets it
                await self._wake.wait()
                continue
            self._wake.clear()
            frames = self._collect()
            if frames:
                self.frames += len(frames)
                return frames

    def _collect(self) -> list[Frame]:
        frames = list(self._control)
        self._control.clear()
        for feed in self.feeds.values():
            topic = feed.topic
            if feed.snapshot_due:
                if topic.ready:
                    feed.snapshot_due = False
                    items = [dumps(i) for i in topic.state.values()]
                    frames.append(topic.frame(items, time.time_ns(), snapshot=True))
            elif feed.merged is not None:
                merged, feed.merged = feed.merged, None
                superseded = feed.merged_items - len(merged)
                self.conflated += superseded
                items = [dumps(i) for i in merged.values()]
                frames.append(topic.frame(items, feed.merged_t_hub, conflated=superseded))
            elif feed.batches:
                batches = feed.batches
                t_hub = batches[0].t_hub
                inner = [b.inner for b in batches if b.inner]
                batches.clear()
                if inner:
                    frames.append(topic.frame(inner, t_hub))
        self.behind_since = None
        return frames


class StreamHub:
    """Topics by key, the kinds that start them, and the sinks subscribed.

    Args:
        max_queue: batches a subscription may have unsent before it is conflated.
        drop_after: seconds a conflated sink may stay behind before it is dropped.
    """

    def __init__(self, *, max_queue: int = 256, drop_after: float = 5.0) -> None:
        self.max_queue = max_queue
        self.drop_after = drop_after
        self.kinds: dict[str, TopicKind] = {}
        self.topics: dict[TopicKey, Topic] = {}
        self.sinks: set[Sink] = set()
        self.dropped = 0
        self._closing: set[asyncio.Task[None]] = set()
        self._stopped = False

    def register(self, kind: TopicKind) -> None:
        """Make topics of ``kind.name`` available (replaces an earlier registration)."""
        self.kinds[kind.name] = kind

    def upstream_count(self, key: TopicKey | None = None, kind: str | None = None,
                       conId: int | None = None) -> int:
        """Upstream subscriptions running: all, 0/1 for a ``key``, or those of one
        ``kind`` and/or one ``conId`` (the first parameter of market topics)."""
        if key is not None:
            return int(key in self.topics)
        return sum(1 for k in self.topics
                   if (kind is None or k[0] == kind)
                   and (conId is None or (len(k) > 1 and k[1] == conId)))

    def stats(self) -> dict[str, Any]:
        """Upstreams (key, subscribers, batches, items), sinks and slow consumers dropped."""
        return {
            "upstreams": [{"topic": list(t.key), "subscribers": len(t.feeds),
                           "batches": t.batches, "items": t.items}
                          for t in self.topics.values()],
            "sinks": len(self.sinks),
            "conflating": sum(1 for s in self.sinks if s.conflating),
            "dropped": self.dropped,
        }

    def latest(self, key: TopicKey) -> list[Item] | None:
        """The latest item per conflation key of topic ``key`` (what a new subscriber's
        snapshot holds), oldest first; None unless its upstream runs and has delivered.
        Read-only use: the items are the topic's own."""
        topic = self.topics.get(key)
        if topic is None or not topic.ready or not topic.state:
            return None
        return list(topic.state.values())

    def subscriber_count(self, key: TopicKey) -> int:
        """Subscribers of topic ``key`` (0 when it does not run)."""
        topic = self.topics.get(key)
        return 0 if topic is None else len(topic.feeds)

    def sink(self, name: str) -> Sink:
        """A new downstream connection."""
        if self._stopped:
            raise SinkDropped("the service is shutting down", 1001)
        sink = Sink(self, name)
        self.sinks.add(sink)
        return sink

    def subscribe(self, sink: Sink, spec: TopicSpec) -> bool:
        """Subscribe ``sink`` to the topic of ``spec`` (its upstream starts if it is the
        first); False when it already was. The snapshot comes first.

        Raises:
            KeyError: no kind ``spec.kind`` is registered.
        """
        if sink.dropped is not None:
            raise sink.dropped
        key = spec.key
        if key in sink.feeds:
            return False
        topic = self.topics.get(key)
        if topic is None:
            kind = self.kinds[spec.kind]
            topic = Topic(self, kind, spec)
            upstream = kind.factory(spec)
            topic.task = asyncio.create_task(topic.run(upstream), name=f"upstream {key}")
            self.topics[key] = topic
            log.debug("upstream %s started", key)
        feed = _Feed(topic)
        topic.feeds[sink] = feed
        sink.feeds[key] = feed
        sink._wake.set()
        return True

    def unsubscribe(self, sink: Sink, key: TopicKey) -> bool:
        """End ``sink``'s subscription to ``key``; the last one cancels the upstream."""
        feed = sink.feeds.pop(key, None)
        if feed is None:
            return False
        topic = feed.topic
        topic.feeds.pop(sink, None)
        if not topic.feeds:
            self._release(topic)
        return True

    def close(self, sink: Sink) -> None:
        """The connection ended: leave every topic."""
        for key in list(sink.feeds):
            self.unsubscribe(sink, key)
        self.sinks.discard(sink)

    def drop(self, sink: Sink, reason: str, code: int = 1008) -> None:
        """Drop ``sink`` (it leaves every topic); its ``on_drop`` gets the reason."""
        if sink.dropped is not None:
            return
        sink.dropped = SinkDropped(reason, code)
        if reason.startswith("slow consumer"):
            self.dropped += 1
            log.warning("dropping %s: %s", sink.name, reason)
        self.close(sink)
        sink._wake.set()
        if sink.on_drop is not None:
            sink.on_drop(sink.dropped)

    def _release(self, topic: Topic) -> None:
        if self.topics.get(topic.key) is topic:
            del self.topics[topic.key]
        task = topic.task
        if task is not None and not task.done():
            task.cancel()
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        log.debug("upstream %s released", topic.key)

    def _fail(self, topic: Topic, error: StreamError) -> None:
        """The upstream of ``topic`` failed: each subscriber gets the error and leaves."""
        if self.topics.get(topic.key) is topic:
            del self.topics[topic.key]
        for sink in list(topic.feeds):
            assert isinstance(sink, Sink)  # the hub subscribes only its own sinks
            sink.feeds.pop(topic.key, None)
            sink._push(Frame("error", dumps({
                "type": "error", **topic.spec.header, "code": error.code,
                "message": error.message}), error.code, topic.key))
        topic.feeds.clear()

    async def wait_released(self, timeout: float = 5.0) -> None:
        """Wait until cancelled upstreams have finished cancelling (tests, shutdown)."""
        if self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait(set(self._closing), timeout=timeout)

    async def stop(self) -> None:
        """Drop every sink (``going away``) and cancel every upstream."""
        self._stopped = True
        for sink in list(self.sinks):
            self.drop(sink, "the service is shutting down", 1001)
        for topic in list(self.topics.values()):
            self._release(topic)
        await self.wait_released()
