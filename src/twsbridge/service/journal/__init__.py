"""The order journal: every order message TWS sends, durably, before anyone sees it.

* :class:`Journal` (:mod:`.recorder`): opened by the service's lifespan, which
  migrates the database (Alembic, :mod:`.database`), and registered on every
  client with ``ib.intercept(journal.record, *JOURNALED)``.
* :func:`reconcile` (:mod:`.reconcile`): run after every connect and reconnect;
  it records the gateway session (:mod:`.sessions`: epochs, so a gateway that
  reuses ids gets new rows) and settles the open orders TWS no longer reports
  (:mod:`.settle`).
* :mod:`.queries`: what the routes read; :mod:`.models`: the tables.
"""

from . import queries
from .database import async_url, default_journal_path, head_revision
from .models import (
    Base,
    CommissionRecord,
    ExecutionRecord,
    GatewaySession,
    OrderEvent,
    OrderRecord,
)
from .reconcile import reconcile
from .recorder import JOURNALED, Journal, JournalWriteError
from .stats import JournalStats, ReconcileSummary

__all__ = [
    "JOURNALED",
    "Base",
    "CommissionRecord",
    "ExecutionRecord",
    "GatewaySession",
    "Journal",
    "JournalStats",
    "JournalWriteError",
    "OrderEvent",
    "OrderRecord",
    "ReconcileSummary",
    "async_url",
    "default_journal_path",
    "head_revision",
    "queries",
    "reconcile",
]
