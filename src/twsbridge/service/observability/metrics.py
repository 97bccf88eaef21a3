"""Prometheus metrics of one service instance, in a registry of its own.

:class:`ServiceMetrics` holds a :class:`~prometheus_client.CollectorRegistry`
per application (two apps in one process, as in the tests, never share a
figure). What it measures:

* TWS messages by ``name``, counted on the service's client: received through
  ``registerAll`` (every incoming message, ``unknown`` frames included), sent
  by observing the client's transport (see :func:`_observe_sends`);
* orders: placed (a ``placeOrder`` for an order id not sent before), modified
  (again with the same id), what-if previews, cancel requests, and rejections
  (an error frame for a placed order id with a rejecting code, by ``code``);
* HTTP requests: a latency histogram by method, route template and status
  (observed by :class:`~.http.RequestMiddleware`);
* read at scrape time from the application's state (:class:`StateCollector`):
  the TWS connection (state, server version, an info metric), the streaming
  hub (upstreams by kind, downstream subscribers by topic, sinks, slow
  consumers dropped) and the journal (receipt-to-commit lag as a summary with
  quantiles, its maximum and the failed writes).
"""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from twsbridge.client import TWSClient
from twsbridge.client.orders import is_rejection

from .state import StateCollector

__all__ = ["CONTENT_TYPE", "HTTP_BUCKETS", "ServiceMetrics"]

log = logging.getLogger("twsbridge.service.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""Content type of the Prometheus text exposition format."""

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Buckets (seconds) of the HTTP latency histogram: TWS calls take 10 ms to 30 s."""

_CONNECTION_EVENTS = ("connected", "disconnected", "reconnecting")


class ServiceMetrics:
    """Every metric of one application instance (``app.state.metrics``)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self.received = Counter(
            "twsbridge_tws_messages_received", "TWS messages received, by message name.",
            ["name"], registry=reg)
        self.sent = Counter(
            "twsbridge_tws_messages_sent", "TWS messages sent, by message name.",
            ["name"], registry=reg)
        self.http = Histogram(
            "twsbridge_http_request_duration_seconds",
            "HTTP request latency (until the response ended), by method, route template "
            "and status.", ["method", "route", "status"], buckets=HTTP_BUCKETS, registry=reg)
        self.orders_placed = Counter(
            "twsbridge_orders_placed", "Orders placed (placeOrder with a new orderId).",
            registry=reg)
        self.orders_modified = Counter(
            "twsbridge_orders_modified", "Order modifications sent (placeOrder again).",
            registry=reg)
        self.orders_previewed = Counter(
            "twsbridge_orders_previewed", "What-if order previews sent.", registry=reg)
        self.orders_cancel_requests = Counter(
            "twsbridge_orders_cancel_requests", "cancelOrder messages sent.", registry=reg)
        self.orders_rejected = Counter(
            "twsbridge_orders_rejected",
            "Orders (or modifications) TWS rejected, by TWS's error code.", ["code"],
            registry=reg)
        self.connection_events = Counter(
            "twsbridge_tws_connection_events",
            "Connection events of the service's TWS client (connected, disconnected, "
            "reconnecting).", ["event"], registry=reg)
        self.state = StateCollector()
        reg.register(self.state)
        for extra in (ProcessCollector, PlatformCollector, GCCollector):
            _register_quietly(reg, extra)
        self._placed: set[int] = set()
        self._clients: list[TWSClient] = []

    def render(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)

    # the TWS client -------------------------------------------------------------------

    def attach(self, client: TWSClient) -> None:
        """Count the messages of ``client`` (call it before the client connects)."""
        if any(c is client for c in self._clients):
            return
        self._clients.append(client)
        observer = _SendObserver(client, self.on_sent)
        client.registerAll(observer.wrap_on_message(self.on_received))
        try:
            client.register(self._on_event, *_CONNECTION_EVENTS)
        except ValueError:  # a client without connection events: nothing to count
            log.debug("this client publishes no connection events")

    def _on_event(self, event: Any) -> None:
        self.connection_events.labels(getattr(event, "kind", str(event))).inc()

    def on_received(self, msg: Any) -> None:
        """Count one incoming message (a ``registerAll`` handler: never raises)."""
        name = getattr(msg, "NAME", "unknown")
        self.received.labels(name).inc()
        if name == "error":
            order_id = getattr(msg, "reqId", -1)
            code = int(getattr(msg, "errorCode", 0))
            if order_id in self._placed and is_rejection(code):
                self.orders_rejected.labels(str(code)).inc()

    def on_sent(self, msg: Any) -> None:
        """Count one outgoing message (and orders placed, modified, cancelled)."""
        name = getattr(msg, "NAME", "unknown")
        self.sent.labels(name).inc()
        if name == "placeOrder":
            order = getattr(msg, "order", None)
            order_id = int(getattr(msg, "orderId", 0))
            if order is not None and getattr(order, "whatIf", False):
                self.orders_previewed.inc()
            elif order_id in self._placed:
                self.orders_modified.inc()
            else:
                self._placed.add(order_id)
                self.orders_placed.inc()
        elif name == "cancelOrder":
            self.orders_cancel_requests.inc()


class _SendObserver:
    """Counts what ``client`` sends.

    The client has no public hook for outgoing messages (yet): every send goes
    through the current connection's ``Transport.send``, so the observer wraps
    that method on each new transport, checked on every incoming message, which
    is before the client sends anything on a new connection but its startApi
    (the handshake writes it directly; it is not counted). A client with a
    public ``on_send(listener)`` hook is observed through that instead.
    """

    def __init__(self, client: TWSClient, on_sent: Any) -> None:
        self.client = client
        self.on_sent = on_sent
        self._wrapped: Any = None
        hook = getattr(client, "on_send", None)
        self.public = callable(hook)
        if self.public:
            hook(on_sent)  # type: ignore[misc]

    def wrap_on_message(self, on_received: Any) -> Any:
        """``on_received`` preceded by the check for a new transport."""

        def handler(msg: Any) -> None:
            if not self.public:
                self._observe_transport()
            try:
                on_received(msg)
            except Exception:  # metrics must never break the client
                log.exception("counting an incoming message failed")

        return handler

    def _observe_transport(self) -> None:
        transport = getattr(getattr(self.client, "_core", None), "_transport", None)
        if transport is None or transport is self._wrapped:
            return
        self._wrapped = transport
        original = getattr(transport, "send", None)
        if original is None:
            return
        on_sent = self.on_sent

        def send(msg: Any, *args: Any, **kwargs: Any) -> Any:
            result = original(msg, *args, **kwargs)
            try:
                on_sent(msg)
            except Exception:
                log.exception("counting an outgoing message failed")
            return result

        transport.send = send


def _register_quietly(registry: CollectorRegistry, factory: Any) -> None:
    """Add a standard collector (process, platform, GC) to ``registry``, if it can be."""
    try:
        factory(registry=registry)
    except (ValueError, TypeError) as exc:  # pragma: no cover - platform without /proc ...
        log.debug("collector %s not registered: %s", factory.__name__, exc)

