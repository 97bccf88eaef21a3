"""The simulator's paper account on disk: it survives a restart, as IB's does.

A :class:`SimStore` is one SQLite file holding what the
:class:`~twsbridge.sim.simulator.Simulator`'s broker knows of the account: every
order (open and done, with its Order, Contract and state, so openOrder and
completedOrder are sent again as before), every execution with its commission
report, the positions with their average cost and realized P&L, the cash
balances, the id counters (nextValidId, the last order id of each API client,
permId, execId) and the simulated time of the last change. A Simulator given
a store continues the account it holds (its clock resumes at that time if it
would start earlier) and no orderId, permId or execId is handed out twice;
resting orders go on working. ``SimStore.open(path, reset=True)`` keeps the
old file as a timestamped backup and starts a fresh account (no orders,
executions or positions, the starting cash) whose id sequences go on from the
old one's, as TWS's do when IB resets a paper account: a journal that saw the
old account never sees an id again. One process at a
time holds an account: a second :meth:`SimStore.open` of the same file (from
another service or ``twsbridge sim --state``) is refused while the first is
open (an advisory lock on ``<file>.lock``, released when the process ends,
however it ends).

Durability: the broker writes its changes in one transaction at the end of
each request or step (placeOrder, cancelOrder, reqGlobalCancel, a step of the
working orders ...), before it returns, so before any message reporting them
is written to a socket: a killed process loses nothing a client was told.
SQLite runs in WAL mode with ``synchronous=FULL``. A write touches only what
changed (new orders and executions, the orders and positions an event moved,
one row of counters), so its cost does not grow with the account's history.

Why stdlib ``sqlite3`` and not the service's SQLAlchemy: the simulator sits
below the service (layers: protocol <- sim) and writes synchronously inside
its broker's call path; one small file needs no engine, pool or migrations.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import sqlite3
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from twsbridge.sim.broker.account import Holding
from twsbridge.sim.broker.executions import ExecutionRecord
from twsbridge.sim.broker.orders import (
    BrokerEvent,
    ErrorEvent,
    ExecEvent,
    FillEvent,
    OrderEvent,
    SimOrder,
)
from twsbridge.sim.store.codec import (
    StateError,
    decode,
    dumps,
    encode,
    holding_from_row,
    holding_row,
    loads,
    order_from_row,
    order_row,
    parse_time,
)

if TYPE_CHECKING:
    from twsbridge.sim.broker.account import Account
    from twsbridge.sim.market.clock import SimClock
    from twsbridge.sim.reference.instruments import InstrumentBook


class StoredSimulator(Protocol):
    """What the store reads and restores of a simulator
    (:class:`~twsbridge.sim.simulator.Simulator` is one; typed structurally so that this
    module does not import the server, which imports it)."""

    seed: int
    account: Account
    clock: SimClock

    @property
    def book(self) -> InstrumentBook: ...
    broker: Any  # twsbridge.sim.broker.broker.SimBroker (which imports this module)

    @property
    def next_order_id(self) -> int: ...

    def use_order_id(self, order_id: int) -> None: ...

__all__ = ["SCHEMA_VERSION", "SimStore", "StateError"]

log = logging.getLogger("twsbridge.sim")

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    perm_id INTEGER PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS executions (
    seq INTEGER PRIMARY KEY, exec_id TEXT NOT NULL UNIQUE, perm_id INTEGER NOT NULL,
    data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS positions (
    con_id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, data TEXT NOT NULL);
"""


def _lock(file: Path) -> IO[str] | None:
    """Hold the advisory lock of ``file`` (None where the platform has no flock).

    Raises:
        StateError: another open store holds it.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory lock
        return None
    fh = open(f"{file}.lock", "a+", encoding="ascii")
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.seek(0)
        holder = fh.read().strip() or "?"
        fh.close()
        raise StateError(f"{file} is in use by another simulator (process {holder}): one "
                         "account, one simulator at a time") from None
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()))
    fh.flush()
    return fh


def _read_counters(file: Path) -> dict[str, Any] | None:
    """The id counters of the account at ``file`` (None: no file, or unreadable)."""
    if not file.exists():
        return None
    try:
        with contextlib.closing(sqlite3.connect(file)) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'counters'").fetchone()
        found = loads(row[0]) if row is not None else None
    except (sqlite3.Error, StateError):
        return None
    return found if isinstance(found, dict) else None


class SimStore:
    """One simulator account in a SQLite file (see the module doc).

    Use :meth:`open`, then pass the store to ``Simulator(store=...)``, which
    calls :meth:`bind`; :meth:`close` when done (a store left open loses
    nothing either).

    Attributes:
        path: the file.
        continued: True when :meth:`bind` found an account to continue.
        backup: the previous file's backup when opened with ``reset=True``.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection,
                 lock: IO[str] | None = None) -> None:
        self.path = path
        self._conn = conn
        self._lock = lock
        self.continued = False
        self.backup: Path | None = None
        self._sim: StoredSimulator | None = None
        self._n_orders = 0
        self._n_execs = 0
        self._seq: dict[int, int] = {}  # permId -> row seq
        self._dirty: dict[int, SimOrder] = {}
        self._dirty_positions: set[int] = set()
        self._saved: tuple[Any, ...] | None = None
        self._failing = False
        self._carried: dict[str, Any] | None = None

    # ------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: str | Path, *, reset: bool = False) -> SimStore:
        """Open (or create) the state file at ``path``; ``reset`` first moves an
        existing account to ``<name>.<UTC time>.bak`` (see :attr:`backup`).

        Raises:
            StateError: the file is not a simulator state file, is damaged, or
                another open store (in this or another process) holds it.
            OSError: the folder cannot be created.
        """
        file = Path(path).expanduser()
        file.parent.mkdir(parents=True, exist_ok=True)
        lock = _lock(file)
        try:
            carried = _read_counters(file) if reset else None
            backup = cls.back_up(file) if reset else None
            conn = sqlite3.connect(file, isolation_level=None, check_same_thread=False,
                                   timeout=30)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                conn.executescript(_SCHEMA)
            except sqlite3.DatabaseError as exc:
                conn.close()
                raise StateError(f"{file}: not a simulator state file ({exc})") from None
        except BaseException:
            if lock is not None:
                lock.close()
            raise
        store = cls(file, conn, lock)
        store.backup, store._carried = backup, carried
        return store

    @staticmethod
    def back_up(path: Path) -> Path | None:
        """Move the account at ``path`` (with its WAL) to a timestamped backup
        beside it and return the backup's path (None when there is no file)."""
        if not path.exists():
            return None
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        backup = path.with_name(f"{path.name}.{stamp}.bak")
        try:  # through SQLite: what the WAL holds goes into the backup too
            with contextlib.closing(sqlite3.connect(path)) as src, \
                    contextlib.closing(sqlite3.connect(backup)) as dst:
                src.backup(dst)
        except sqlite3.DatabaseError:  # not SQLite: keep the bytes as they are
            backup.unlink(missing_ok=True)
            path.rename(backup)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return backup

    def close(self) -> None:
        """Write what is pending and close the file; later changes of the
        simulator are no longer recorded."""
        with contextlib.suppress(sqlite3.Error):
            self.flush()
        self._sim = None
        self._conn.close()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # -------------------------------------------------------------- bind
    def bind(self, sim: StoredSimulator) -> None:
        """Continue the account in the file on ``sim`` (a new Simulator), or
        write ``sim``'s fresh account into an empty file; then record ``sim``'s
        changes. Called by ``Simulator(store=...)``.

        Raises:
            StateError: the file holds another account or an unknown instrument,
                or is damaged.
        """
        meta = {k: v for k, v in self._conn.execute("SELECT key, value FROM meta")}
        if "counters" in meta:  # (without: killed before its first write, still empty)
            self._load(sim, meta)  # raises before anything is recorded: the file stays
            self.continued = True
        else:
            self._conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
                ("version", str(SCHEMA_VERSION)), ("account", sim.account.code),
                ("seed", str(sim.seed)),
                ("created", dt.datetime.now(dt.UTC).isoformat())])
            if self._carried is not None:
                self._carry(sim, self._carried)
        self._sim = sim
        self._saved = None
        self.flush()

    def _carry(self, sim: StoredSimulator, counters: dict[str, Any]) -> None:
        """A reset account goes on with the old one's id sequences."""
        try:
            prefix, perm, epoch, n = counters["ledger"]
            sim.broker.ledger.restore((str(prefix), int(perm), int(epoch), int(n)), [])
            sim.broker.restore([], {int(k): int(v) for k, v in counters["last_ids"].items()})
            sim.use_order_id(int(counters["next_order_id"]) - 1)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("the reset account's id sequences start afresh: the old file's "
                        "counters are unreadable (%r)", exc)

    def _load(self, sim: StoredSimulator, meta: dict[str, str]) -> None:
        if meta.get("version") != str(SCHEMA_VERSION):
            raise StateError(f"{self.path}: state version {meta.get('version')!r}, "
                             f"this simulator reads {SCHEMA_VERSION}")
        if meta.get("account") != sim.account.code:
            raise StateError(f"{self.path} holds account {meta.get('account')}, not "
                             f"{sim.account.code}: reset it or use another state file")
        try:
            counters = loads(meta["counters"])
            acct = sim.account
            acct.cash = {str(k): float(v) for k, v in loads(meta["cash"]).items()}
            acct.start_equity = float(meta["start_equity"])
            acct.holdings = {}
            for con_id, data in self._conn.execute(
                    "SELECT con_id, data FROM positions ORDER BY seq"):
                acct.holdings[int(con_id)] = holding_from_row(loads(data))
            orders: list[SimOrder] = []
            by_perm: dict[int, SimOrder] = {}
            for seq, data in self._conn.execute("SELECT seq, data FROM orders ORDER BY seq"):
                rec = order_from_row(loads(data), sim.book, by_perm)
                orders.append(rec)
                by_perm[rec.perm_id] = rec
                self._seq[rec.perm_id] = int(seq)
            records = [self._record(loads(data), by_perm, acct.holdings) for (data,) in
                       self._conn.execute("SELECT data FROM executions ORDER BY seq")]
            prefix, perm, epoch, n = counters["ledger"]
            sim.broker.ledger.restore((str(prefix), int(perm), int(epoch), int(n)), records)
            sim.broker.restore(orders, {int(k): int(v) for k, v in counters["last_ids"].items()})
            sim.broker.worker.filled_oca = {str(g) for g in loads(meta.get("filled_oca", "[]"))}
            sim.use_order_id(int(counters["next_order_id"]) - 1)
            clock = parse_time(meta.get("clock"))
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            if isinstance(exc, StateError):
                raise
            raise StateError(f"{self.path}: damaged simulator state ({exc!r})") from None
        if clock is not None and clock > sim.clock.now():
            sim.clock.set(clock)
        self._n_orders, self._n_execs = len(orders), len(records)
        if meta.get("seed") != str(sim.seed):
            log.warning("simulator account %s continued with seed %d (its file says %s)",
                        acct.code, sim.seed, meta.get("seed"))
        log.info("simulator account %s continued from %s: %d orders (%d open), %d executions, "
                 "%d positions, clock %s", acct.code, self.path, len(orders),
                 sum(1 for r in orders if r.working), len(records), len(acct.holdings),
                 sim.clock.now().isoformat())

    @staticmethod
    def _record(row: dict[str, Any], by_perm: dict[int, SimOrder],
                holdings: dict[int, Holding]) -> ExecutionRecord:
        try:
            order = by_perm[int(row["perm_id"])]
            contract = decode(row["contract"])
            time = parse_time(row["time"])
            assert time is not None
            holding = holdings.get(contract.conId) or Holding(contract)
            return ExecutionRecord(decode(row["execution"]), decode(row["report"]), contract,
                                   order, time, holding)
        except (KeyError, TypeError, ValueError, ArithmeticError, AssertionError) as exc:
            if isinstance(exc, StateError):
                raise
            raise StateError(f"damaged execution record in the simulator's state: {exc!r}") \
                from None

    # ---------------------------------------------------------- changes
    def note(self, event: BrokerEvent) -> None:
        """Remember what ``event`` changed (the broker calls it for each event)."""
        if isinstance(event, (OrderEvent, ExecEvent)):
            self._dirty[id(event.order)] = event.order
        elif isinstance(event, ErrorEvent) and event.order is not None:
            self._dirty[id(event.order)] = event.order
        elif isinstance(event, FillEvent):
            self._dirty_positions.add(event.holding.contract.conId)

    def touch(self, rec: SimOrder) -> None:
        """Remember that ``rec`` changed without an event (a trailing stop moved ...)."""
        self._dirty[id(rec)] = rec

    def _counters(self, sim: StoredSimulator) -> tuple[Any, ...]:
        broker = sim.broker
        return (sim.next_order_id, broker.ledger.counters, broker.last_ids,
                len(broker.worker.filled_oca), dict(sim.account.cash), sim.account.start_equity)

    def flush(self) -> None:
        """Write every change since the last flush in one transaction (nothing
        when nothing changed). A failing write is logged and retried at the
        next flush; the simulator goes on."""
        sim = self._sim
        if sim is None:
            return
        broker = sim.broker
        new_orders = broker.orders_since(self._n_orders)
        n_execs = broker.ledger.count()
        counters = self._counters(sim)
        if not (new_orders or self._dirty or self._dirty_positions or n_execs != self._n_execs
                or counters != self._saved):
            return
        for k, rec in enumerate(new_orders):
            self._seq[rec.perm_id] = self._n_orders + k
            self._dirty[id(rec)] = rec
        records = broker.ledger.records_since(self._n_execs)
        for r in records:
            self._dirty_positions.add(r.contract.conId)
        try:
            self._write(sim, counters, records)
        except sqlite3.Error:
            if not self._failing:
                log.exception("cannot write the simulator's state to %s (retried at the next "
                              "change)", self.path)
            self._failing = True
            return
        if self._failing:
            log.warning("the simulator's state is written to %s again", self.path)
        self._failing = False
        self._n_orders += len(new_orders)
        self._n_execs = n_execs
        self._dirty.clear()
        self._dirty_positions.clear()
        self._saved = counters

    def _write(self, sim: StoredSimulator, counters: tuple[Any, ...],
               records: list[ExecutionRecord]) -> None:
        conn = self._conn
        acct = sim.account
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                "INSERT OR REPLACE INTO orders VALUES (?, ?, ?)",
                [(r.perm_id, self._seq[r.perm_id], dumps(order_row(r)))
                 for r in self._dirty.values() if r.perm_id in self._seq])
            conn.executemany(
                "INSERT INTO executions (exec_id, perm_id, data) VALUES (?, ?, ?)",
                [(r.execution.execId, r.order.perm_id, dumps({
                    "perm_id": r.order.perm_id, "execution": encode(r.execution),
                    "report": encode(r.report), "contract": encode(r.contract),
                    "time": r.time.isoformat()})) for r in records])
            if self._dirty_positions:
                seqs = {con_id: k for k, con_id in enumerate(acct.holdings)}
                conn.executemany(
                    "INSERT OR REPLACE INTO positions VALUES (?, ?, ?)",
                    [(c, seqs[c], dumps(holding_row(acct.holdings[c])))
                     for c in self._dirty_positions if c in acct.holdings])
            next_id, ledger, last_ids, n_oca, cash, start = counters
            rows = [
                ("counters", dumps({"next_order_id": next_id, "ledger": list(ledger),
                                    "last_ids": last_ids})),
                ("cash", dumps(cash)), ("start_equity", repr(start)),
                ("clock", sim.clock.now().isoformat())]
            if self._saved is None or n_oca != self._saved[3]:  # grows only: rarely written
                rows.append(("filled_oca", dumps(sorted(sim.broker.worker.filled_oca))))
            conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
