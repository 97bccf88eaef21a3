"""Metrics read from the application's state when Prometheus scrapes.

The gateway manager (``app.state.gateway``), the streaming hub
(``app.state.stream_hub``) and the order journal (``app.state.journal``)
keep their own figures; :class:`StateCollector` turns them into metric
families at scrape time, so none of them needs a hook, and a figure is never
stale.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

__all__ = ["JOURNAL_QUANTILES", "StateCollector", "topic_label"]

JOURNAL_QUANTILES = (0.5, 0.9, 0.99)
"""Quantiles of the journal lag summary (over the journal's last 1024 lags)."""

_STATES = ("connected", "reconnecting", "disconnected")


def topic_label(key: tuple[Any, ...]) -> str:
    """A topic key as one label value: ``("quotes", 265598, "")`` -> ``quotes/265598/``."""
    return "/".join(str(part) for part in key)


class StateCollector(Collector):
    """Connection, streaming and journal figures of ``state`` (an ``app.state``)."""

    def __init__(self) -> None:
        self.state: Any = None

    def bind(self, state: Any) -> None:
        """Read from ``state`` (the application's ``app.state``) from now on."""
        self.state = state

    def describe(self) -> list[Metric]:
        """Nothing up front: the families depend on what runs (no auto-describe)."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Every figure as it is now."""
        state = self.state
        if state is None:
            return
        yield from _connection(getattr(state, "gateway", None))
        yield from _streaming(getattr(state, "stream_hub", None))
        yield from _journal(getattr(state, "journal", None))


def _connection(gateway: Any) -> Iterator[Metric]:
    client = None if gateway is None else gateway.current
    connected = bool(gateway is not None and gateway.connected)
    yield GaugeMetricFamily("twsbridge_tws_connected",
                            "1 while the service's TWS connection is up, else 0.",
                            value=1.0 if connected else 0.0)
    state = "connected" if connected else str(getattr(client, "state", "disconnected"))
    states = GaugeMetricFamily("twsbridge_tws_connection_state",
                               "The TWS connection's state (1 for the current one).",
                               labels=["state"])
    for name in _STATES:
        states.add_metric([name], 1.0 if state == name else 0.0)
    yield states
    version = int(getattr(client, "server_version", 0) or 0) if connected else 0
    yield GaugeMetricFamily("twsbridge_tws_server_version",
                            "TWS's server version of the connection (0 while down).",
                            value=float(version))
    if gateway is None:
        return
    info = InfoMetricFamily("twsbridge_tws_connection",
                            "The TWS connection: mode, gateway, client id, server version.",
                            labels=[])
    info.add_metric([], {
        "mode": str(gateway.mode), "gateway": str(gateway.address),
        "client_id": str(gateway.settings.client_id), "server_version": str(version),
        "connection_time": str(getattr(client, "connection_time", "") or "")
        if connected else "",
    })
    yield info


def _streaming(hub: Any) -> Iterator[Metric]:
    upstreams = GaugeMetricFamily("twsbridge_stream_upstreams",
                                  "Upstream TWS subscriptions the streaming hub runs, by kind.",
                                  labels=["kind"])
    subscribers = GaugeMetricFamily(
        "twsbridge_stream_subscribers",
        "Downstream subscribers (WebSocket/SSE connections) of each running topic.",
        labels=["kind", "topic"])
    if hub is None:
        yield upstreams
        yield subscribers
        return
    kinds = Tally(str(key[0]) for key in hub.topics)
    for kind in sorted(set(hub.kinds) | set(kinds)):
        upstreams.add_metric([kind], float(kinds.get(kind, 0)))
    for key, topic in list(hub.topics.items()):
        subscribers.add_metric([str(key[0]), topic_label(key)], float(len(topic.feeds)))
    yield upstreams
    yield subscribers
    yield GaugeMetricFamily("twsbridge_stream_sinks",
                            "Downstream streaming connections open (WebSocket and SSE).",
                            value=float(len(hub.sinks)))
    yield GaugeMetricFamily("twsbridge_stream_conflating_sinks",
                            "Downstream connections that are behind (updates conflated).",
                            value=float(sum(1 for s in list(hub.sinks) if s.conflating)))
    yield CounterMetricFamily("twsbridge_stream_slow_consumers_dropped",
                              "Downstream connections dropped as slow consumers.",
                              value=float(hub.dropped))


def _journal(journal: Any) -> Iterator[Metric]:
    stats = getattr(journal, "stats", None)
    if stats is None:
        return
    lag = Metric("twsbridge_journal_lag_seconds",
                 "Seconds from an order message's receipt to its commit in the journal "
                 "(quantiles over the last 1024 messages).", "summary")
    for q in JOURNAL_QUANTILES:
        value = stats.percentile(q)
        lag.add_sample("twsbridge_journal_lag_seconds", {"quantile": str(q)},
                       float("nan") if value is None else float(value))
    lag.add_sample("twsbridge_journal_lag_seconds_count", {}, float(stats.messages))
    lag.add_sample("twsbridge_journal_lag_seconds_sum", {}, float(stats.total_lag))
    yield lag
    yield GaugeMetricFamily("twsbridge_journal_lag_max_seconds",
                            "Longest receipt-to-commit lag of the journal so far.",
                            value=float(stats.max_lag))
    yield GaugeMetricFamily("twsbridge_journal_last_lag_seconds",
                            "Receipt-to-commit lag of the latest journaled message.",
                            value=float(stats.last_lag or 0.0))
    yield CounterMetricFamily("twsbridge_journal_write_failures",
                              "Order messages the journal could not write (after retries).",
                              value=float(stats.failures))
    yield GaugeMetricFamily("twsbridge_journal_needs_reconcile",
                            "1 when a failed write asks for another reconciliation.",
                            value=1.0 if getattr(journal, "needs_reconcile", False) else 0.0)
