"""Journal databases for the tests: SQLite files in tmp_path, throw-away PostgreSQL databases.

PostgreSQL is the server at ``TWSBRIDGE_TEST_PG_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``, trust auth); each use creates a
database ``twsbridge_test_<pid>_<random>`` there and drops it afterwards. When
the server is not reachable, the tests that need it skip, saying why.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import pytest
from sqlalchemy.engine import make_url

PG_ADMIN_URL = os.environ.get("TWSBRIDGE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


async def _admin(*statements: str) -> None:
    import asyncpg

    url = make_url(PG_ADMIN_URL)
    conn = await asyncpg.connect(
        host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username or "postgres",
        password=url.password, database=url.database or "postgres", timeout=5,
    )
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@cache
def pg_unavailable() -> str | None:
    """Why PostgreSQL cannot be used here (``None`` when it can)."""
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        return "asyncpg is not installed"
    try:
        asyncio.run(_admin("SELECT 1"))
    except Exception as exc:
        return f"PostgreSQL at {make_url(PG_ADMIN_URL).render_as_string()} unreachable: {exc}"
    return None


@contextmanager
def throwaway_pg_database() -> Iterator[str]:
    """Create a fresh database; yield its URL; drop it (skips the test without PostgreSQL)."""
    reason = pg_unavailable()
    if reason is not None:
        pytest.skip(reason)
    name = f"twsbridge_test_{os.getpid()}_{secrets.token_hex(4)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
