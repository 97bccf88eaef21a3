"""In-memory figures of the journal: write lag and the last reconciliation."""

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from dataclasses import dataclass, field

__all__ = ["JournalStats", "ReconcileSummary"]


@dataclass(slots=True)
class JournalStats:
    """Journal lag: seconds from a message's receipt (the intercept call) to its commit.

    ``recent`` keeps the last 1024 lags for percentiles; ``failures`` counts
    messages that could not be written (after retries).
    """

    messages: int = 0
    failures: int = 0
    last_lag: float | None = None
    max_lag: float = 0.0
    total_lag: float = 0.0
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=1024))

    def observe(self, lag: float) -> None:
        """Count one committed message that took ``lag`` seconds."""
        self.messages += 1
        self.last_lag = lag
        self.max_lag = max(self.max_lag, lag)
        self.total_lag += lag
        self.recent.append(lag)

    @property
    def mean_lag(self) -> float | None:
        """Mean lag over every committed message."""
        return self.total_lag / self.messages if self.messages else None

    def percentile(self, q: float) -> float | None:
        """The ``q`` quantile (0..1) of the recent lags (nearest rank)."""
        if not self.recent:
            return None
        ordered = sorted(self.recent)
        rank = max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))
        return ordered[rank]


@dataclass(slots=True)
class ReconcileSummary:
    """What one reconciliation asked TWS and what the journal had missed."""

    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    executions_reported: int = 0
    executions_missing: int = 0
    commissions_missing: int = 0
    completed_orders_reported: int = 0
    open_orders_reported: int = 0
    orders_new: int = 0
    orders_lost: int = 0
    orders_settled: int = 0
    epoch: int | None = None
    error: str | None = None
    exec_ids: set[str] = field(default_factory=set, repr=False)
    #: the journal rows (ids) of the orders TWS reported during the window
    reported: set[int] = field(default_factory=set, repr=False)

    @property
    def done(self) -> bool:
        """True once the reconciliation finished (successfully or not)."""
        return self.finished_at is not None

    def text(self) -> str:
        """The one-line log summary."""
        head = (
            f"reconciled: {self.executions_missing} executions, {self.commissions_missing} "
            f"commissions were missing ({self.executions_reported} executions, "
            f"{self.completed_orders_reported} completed and {self.open_orders_reported} open "
            f"orders reported by TWS; {self.orders_new} orders new to the journal, "
            f"{self.orders_lost} sent but never received by TWS; {self.orders_settled} open "
            f"orders TWS did not report settled)"
        )
        return head if self.error is None else f"{head}; FAILED: {self.error}"
