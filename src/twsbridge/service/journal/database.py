"""Journal URLs, the async engine, and running the migrations.

``journal_url`` forms accepted (``--journal-url`` / ``TWSBRIDGE_JOURNAL_URL``):

* unset: SQLite file ``journal.sqlite3`` in the user's data directory
  (``~/.local/share/twsbridge`` on Linux; see :func:`default_journal_path`);
* ``/path/to/journal.sqlite3`` or ``sqlite:///relative.db`` / ``sqlite:////abs.db``;
* ``postgresql://user:pass@host:5432/db`` (also ``postgres://``), driven by asyncpg;
* an explicit async SQLAlchemy URL (``sqlite+aiosqlite://…``,
  ``postgresql+asyncpg://…``, ``postgresql+psycopg://…``).

SQLite runs in WAL mode with ``synchronous=FULL``: a committed journal row
survives a killed process and a power cut.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = [
    "async_url",
    "create_engine",
    "current_revision",
    "default_journal_path",
    "head_revision",
    "redact",
    "upgrade",
]

MIGRATIONS = "twsbridge.service.journal:migrations"
_SYNC_TO_ASYNC = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
}
_ASYNC = frozenset(
    {"sqlite+aiosqlite", "postgresql+asyncpg", "postgresql+psycopg", "postgresql+psycopg_async"}
)


def default_journal_path() -> Path:
    """``journal.sqlite3`` in the user's data directory for twsbridge."""
    from platformdirs import user_data_path

    return user_data_path("twsbridge", appauthor=False) / "journal.sqlite3"


def async_url(url: str | None) -> str:
    """The async SQLAlchemy URL for a journal URL or file path (see the module doc).

    Raises:
        ValueError: a scheme the journal does not support.
    """
    text = (url or "").strip()
    if not text:
        return f"sqlite+aiosqlite:///{default_journal_path()}"
    if "://" not in text:
        return f"sqlite+aiosqlite:///{Path(text).expanduser().resolve()}"
    scheme, rest = text.split("://", 1)
    scheme = scheme.lower()
    if scheme in _ASYNC:
        return f"{scheme}://{rest}"
    if scheme in _SYNC_TO_ASYNC:
        return f"{_SYNC_TO_ASYNC[scheme]}://{rest}"
    raise ValueError(
        f"unsupported journal URL scheme {scheme!r}: use a SQLite file path, "
        "sqlite:///FILE or postgresql://USER@HOST/DB"
    )


def redact(url: str) -> str:
    """``url`` with its password hidden, for logs and /health."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
    finally:
        cursor.close()


def create_engine(url: str) -> AsyncEngine:
    """An async engine for the (async) ``url``; creates a SQLite file's folder."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str | None:
    """The newest migration shipped with this version of twsbridge."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at (``None`` for an empty database)."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (Alembic ``upgrade``), in one transaction.

    On SQLite the foreign keys are off meanwhile (a migration that changes a
    constraint copies the table, dropping the old one, which the rows that
    reference it would forbid) and checked afterwards (``PRAGMA
    foreign_key_check``): a violation raises ``RuntimeError`` and nothing is
    committed.
    """

    def run(connection: Connection) -> None:
        command.upgrade(_config(connection), revision)

    if engine.dialect.name != "sqlite":
        async with engine.begin() as conn:
            await conn.run_sync(run)
        return
    async with engine.connect() as conn:
        await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # only outside a transaction
        await conn.commit()
        try:
            await conn.run_sync(run)
            broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
            if broken:
                await conn.rollback()
                raise RuntimeError(f"the migration to {revision} broke foreign keys: "
                                   f"{broken[:5]}")
            await conn.commit()
        finally:
            await conn.rollback()
            await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            await conn.commit()
