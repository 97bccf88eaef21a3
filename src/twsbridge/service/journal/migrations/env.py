"""Alembic environment of the journal.

The service runs the migrations itself (:func:`twsbridge.service.journal.database.
upgrade`), handing over an open connection in ``config.attributes["connection"]``.
Run by hand (``alembic -x url=sqlite:///journal.sqlite3 upgrade head`` with a
config whose ``script_location`` is this folder), it connects to the ``url`` given.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from twsbridge.service.journal.database import async_url
from twsbridge.service.journal.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_async_engine(async_url(url))
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure)
            await connection.commit()
    finally:
        await engine.dispose()


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("give the journal URL: alembic -x url=... upgrade head")
    return url


if context.is_offline_mode():
    context.configure(url=async_url(_url()), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    shared = config.attributes.get("connection")
    if shared is not None:
        _configure(shared)
    else:
        asyncio.run(_run_async(_url()))
