"""``twsbridge keys create|list|revoke``: API keys in the service's database.

The database is the journal's (``--journal-url`` / ``TWSBRIDGE_JOURNAL_URL``,
default ``journal.sqlite3`` in the user's data directory), so keys made here
are the keys ``twsbridge serve`` accepts, at once, also while it runs.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich import box
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # the service (FastAPI, SQLAlchemy ...) is imported when a command runs
    from twsbridge.service.security.keys import ApiKeyInfo, KeyStore

SCOPES = ("read", "trade", "admin")

__all__ = ["keys_app"]

T = TypeVar("T")

keys_app = typer.Typer(
    name="keys",
    help="API keys of the service: create (shown once), list, revoke.",
    no_args_is_help=True,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

JournalUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--journal-url",
        help="The service's database (as for serve); default TWSBRIDGE_JOURNAL_URL, "
        "else journal.sqlite3 in the user's data directory.",
    ),
]


def _scope(value: str) -> str:
    text = value.strip().lower()
    if text not in SCOPES:
        raise typer.BadParameter(f"use one of {', '.join(SCOPES)}")
    return text


def _run(journal_url: str | None, work: Callable[[KeyStore], Awaitable[T]]) -> T:
    from twsbridge.service.security.keys import open_key_store

    url = journal_url or os.environ.get("TWSBRIDGE_JOURNAL_URL") or None

    async def main() -> T:
        async with open_key_store(url) as store:
            return await work(store)

    try:
        return asyncio.run(main())
    except (RuntimeError, ValueError) as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None


def _when(value: object) -> str:
    return "" if value is None else str(value)[:19].replace("T", " ")


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="What the key is for (shown in lists, logs).")],
    scope: Annotated[
        str,
        typer.Option("--scope", "-s", callback=_scope,
                     help="read (look-ups, streams), trade (also orders) or admin (also keys)."),
    ] = "read",
    journal_url: JournalUrlOpt = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the key (for scripts).")
    ] = False,
) -> None:
    """Create a key and print it ONCE (only its SHA-256 is stored)."""
    created = _run(journal_url, lambda store: store.create(name, scope))
    if quiet:
        print(created.key)
        return
    info = created.info
    print(f"created API key {info.id} ({info.name!r}, scope {info.scope}):")
    print(created.key, flush=True)
    err.print("store it now: it is not shown again. Send it as 'X-API-Key: <key>' or "
              "'Authorization: Bearer <key>'.", markup=False, soft_wrap=True)


@keys_app.command("list")
def list_keys(journal_url: JournalUrlOpt = None) -> None:
    """List the keys (never the keys themselves): id, name, scope, dates."""
    infos: list[ApiKeyInfo] = _run(journal_url, lambda store: store.list())
    if not infos:
        err.print("no API keys yet: twsbridge keys create NAME --scope read|trade|admin",
                  markup=False)
        return
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("id", "name", "scope", "created", "last used", "revoked"):
        table.add_column(column)
    for info in infos:
        table.add_row(info.id, info.name, info.scope, _when(info.created_at),
                      _when(info.last_used_at), _when(info.revoked_at))
    out.print(table)


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (see twsbridge keys list).")],
    journal_url: JournalUrlOpt = None,
) -> None:
    """Revoke a key: every face refuses it from now on, and a running service on the same
    database ends the key's open WebSockets, streams and MCP sessions within about a
    second."""
    info = _run(journal_url, lambda store: store.revoke(key_id))
    if info is None:
        err.print(f"error: no API key {key_id}", markup=False)
        raise typer.Exit(1)
    out.print(f"revoked API key {info.id} ({info.name!r}) at {_when(info.revoked_at)}; "
              "a running service ends its open sockets and streams within about a second",
              markup=False, soft_wrap=True)
