"""The everyday look-ups of the ``twsbridge`` command (Typer + Rich).

Each asks one of three places:

* ``--service URL`` (or ``TWSBRIDGE_SERVICE_URL``) with ``--api-key KEY`` (or
  ``TWSBRIDGE_API_KEY``): the twsbridge REST service;
* ``--gateway HOST:PORT``: a TWS / IB Gateway, straight (default 127.0.0.1:7497
  when no service is configured);
* ``--sim``: a throw-away embedded simulator.

``--sim`` wins over ``--gateway``, which wins over a service URL. Errors print
one line (with TWS's error code where there is one) and exit with status 1.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from twsbridge.client import TWSError

from . import render
from .backends import Backend, LookupFailed, Target, client_session, service_session
from .chunks import download

__all__ = ["DEFAULT_GATEWAY", "register_lookups"]

DEFAULT_GATEWAY = "127.0.0.1:7497"
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def gateway_option(value: str | None) -> str | None:
    """Typer callback: check a ``HOST:PORT`` gateway option (None passes through)."""
    from twsbridge.service.settings import parse_gateway

    if value is None:
        return None
    try:
        parse_gateway(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    return value


GatewayOpt = Annotated[str | None, typer.Option(
    "--gateway", "-g", callback=gateway_option, show_default=DEFAULT_GATEWAY,
    help="TWS / IB Gateway as HOST:PORT (asked straight, not through the service).")]
SimOpt = Annotated[bool, typer.Option(
    "--sim", help="Ask a throw-away embedded simulator instead of a gateway.")]
ClientIdOpt = Annotated[int | None, typer.Option(
    "--client-id", help="TWS client id (default: derived from the process id).")]
ServiceOpt = Annotated[str | None, typer.Option(
    "--service", envvar="TWSBRIDGE_SERVICE_URL", show_envvar=True,
    help="Ask the twsbridge service at this URL, e.g. http://127.0.0.1:8000.")]
ApiKeyOpt = Annotated[str | None, typer.Option(
    "--api-key", envvar="TWSBRIDGE_API_KEY", show_envvar=True,
    help="API key for --service (twsbridge keys create NAME --scope read).")]
SymbolArg = Annotated[str, typer.Argument(help="Symbol (AAPL, EUR.USD with CASH) or conId.")]
SecTypeOpt = Annotated[str, typer.Option("--sec-type", help="STK, CASH, IND ...")]
ExchangeOpt = Annotated[
    str | None, typer.Option("--exchange", help="SMART (default; IDEALPRO for CASH).")]
CurrencyOpt = Annotated[str, typer.Option("--currency", help="Currency of the contract.")]
PrimaryOpt = Annotated[
    str | None, typer.Option("--primary-exchange", help="Listing exchange, e.g. NASDAQ.")]


@dataclass(frozen=True, slots=True)
class Source:
    """Where a look-up asks (see the module doc)."""

    gateway: str | None = None
    sim: bool = False
    client_id: int | None = None
    service: str | None = None
    api_key: str | None = None

    @property
    def label(self) -> str:
        """Where, for error lines."""
        if self.sim:
            return ""
        if self.gateway is None and self.service:
            return f" (service {self.service})"
        return f" (gateway {self.gateway or DEFAULT_GATEWAY})"


@contextlib.asynccontextmanager
async def _backend(source: Source) -> AsyncIterator[Backend]:
    if not source.sim and source.gateway is None and source.service:
        async with service_session(source.service, source.api_key) as service:
            yield service
        return
    async with client_session(source.gateway or DEFAULT_GATEWAY, source.sim,
                              source.client_id) as client:
        yield client


def _fail(text: str) -> None:
    err.print(" ".join(text.split()), markup=False, soft_wrap=True)


def run(work: Callable[[Backend], Awaitable[None]], source: Source) -> None:
    """Run ``work`` against the backend of ``source``; failures print one line, exit 1."""

    async def main() -> None:
        async with _backend(source) as backend:
            await work(backend)

    try:
        asyncio.run(main())
    except LookupFailed as exc:
        if exc.candidates:
            render.details_table(out, exc.candidates, "several contracts match")
        code = f"TWS error {exc.code}: " if exc.code is not None else ""
        status = f"HTTP {exc.status} " if exc.status is not None and exc.code is None else ""
        _fail(f"error: {status}{code}{exc.message}{source.label}")
        raise typer.Exit(1) from None
    except TWSError as exc:
        message = getattr(exc, "message", None) or str(exc)
        _fail(f"error: TWS error {exc.code}: {message}{source.label}")
        raise typer.Exit(1) from None
    except (ConnectionError, OSError, TimeoutError) as exc:
        _fail(f"error: {type(exc).__name__}: {exc or 'timed out'}{source.label}")
        raise typer.Exit(1) from None


def quote(symbol: SymbolArg, sec_type: SecTypeOpt = "STK", exchange: ExchangeOpt = None,
          currency: CurrencyOpt = "USD", primary_exchange: PrimaryOpt = None,
          gateway: GatewayOpt = None, use_sim: SimOpt = False, client_id: ClientIdOpt = None,
          service: ServiceOpt = None, api_key: ApiKeyOpt = None) -> None:
    """Snapshot quote of one contract."""
    target = Target(symbol, sec_type, exchange, currency, primary_exchange)

    async def work(backend: Backend) -> None:
        render.quote_table(out, await backend.quote(await backend.resolve(target)))

    run(work, Source(gateway, use_sim, client_id, service, api_key))


def contract(symbol: SymbolArg, sec_type: SecTypeOpt = "STK", exchange: ExchangeOpt = None,
             currency: CurrencyOpt = "USD", primary_exchange: PrimaryOpt = None,
             gateway: GatewayOpt = None, use_sim: SimOpt = False,
             client_id: ClientIdOpt = None, service: ServiceOpt = None,
             api_key: ApiKeyOpt = None) -> None:
    """Contract details of every contract matching the description."""
    target = Target(symbol, sec_type, exchange, currency, primary_exchange)

    async def work(backend: Backend) -> None:
        render.details_table(out, await backend.contracts(target), "contract details")

    run(work, Source(gateway, use_sim, client_id, service, api_key))


_TABLE_WITH_CSV = 20
"""Bars also shown as a table when written to a CSV file, up to this many."""


def bars(
    symbol: SymbolArg,
    duration: Annotated[str, typer.Option(
        "--duration", help="TWS durationStr ('1 D', '3 D', '2 W', '1 Y'); longer than one "
        "request allows is fetched in chunks.")] = "1 D",
    bar_size: Annotated[str, typer.Option("--bar-size", help="TWS barSizeSetting.")] = "1 hour",
    what: Annotated[str, typer.Option("--what", help="TWS whatToShow.")] = "TRADES",
    end: Annotated[str, typer.Option("--end", help="TWS endDateTime ('' = now).")] = "",
    rth: Annotated[bool, typer.Option("--rth/--all-hours", help="Regular hours only.")] = True,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the bars as CSV.")] = None,
    sec_type: SecTypeOpt = "STK", exchange: ExchangeOpt = None, currency: CurrencyOpt = "USD",
    primary_exchange: PrimaryOpt = None, gateway: GatewayOpt = None, use_sim: SimOpt = False,
    client_id: ClientIdOpt = None, service: ServiceOpt = None, api_key: ApiKeyOpt = None,
) -> None:
    """Historical bars of one contract, as a table and optionally a CSV file.

    A duration longer than TWS serves in one request for the bar size (1 secs:
    1800 S, 1 min: 1 D, 5 mins: 1 W, 1 hour: 1 M, 1 day: 1 Y ...) is fetched in
    chunks walking endDateTime backwards, overlaps removed, in date order.
    """
    target = Target(symbol, sec_type, exchange, currency, primary_exchange)

    async def work(backend: Backend) -> None:
        c = await backend.resolve(target)

        async def fetch(chunk_end: str, chunk_duration: str) -> list[render.Row]:
            return await backend.bars(c, end=chunk_end, duration=chunk_duration,
                                      bar_size=bar_size, what=what, rth=rth)

        requests = 0
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())
        with Progress(*columns, console=err, transient=True,
                      disable=not err.is_terminal) as progress:
            task = progress.add_task(f"{c['symbol']} {bar_size} bars", total=None)

            def report(done: int, expected: int, count: int) -> None:
                nonlocal requests
                requests = done
                progress.update(task, completed=done, total=expected,
                                description=f"{c['symbol']} {bar_size}: {count} bars")

            got = await download(fetch, duration=duration, bar_size=bar_size, end=end,
                                 progress=report)
        title = f"{c['symbol']} ({c['conId']}) {duration} of {bar_size} {what}"
        if out_file is None or len(got) <= _TABLE_WITH_CSV:
            render.bars_table(out, title, got)
        span = f", {got[0]['date']} .. {got[-1]['date']}" if got else ""
        if out_file is not None:
            render.write_bars_csv(out_file, got)
            out.print(f"wrote {len(got)} bars to {out_file} ({requests} "
                      f"request{'s' if requests != 1 else ''}{span})", markup=False,
                      soft_wrap=True)
        elif requests > 1:
            out.print(f"{len(got)} bars in {requests} requests{span}", markup=False,
                      soft_wrap=True)

    run(work, Source(gateway, use_sim, client_id, service, api_key))


def search(
    pattern: Annotated[str, typer.Argument(help="Start of a symbol or company name.")],
    gateway: GatewayOpt = None, use_sim: SimOpt = False, client_id: ClientIdOpt = None,
    service: ServiceOpt = None, api_key: ApiKeyOpt = None,
) -> None:
    """Symbols matching a pattern (reqMatchingSymbols)."""

    async def work(backend: Backend) -> None:
        render.search_table(out, pattern, await backend.search(pattern))

    run(work, Source(gateway, use_sim, client_id, service, api_key))


def orders(
    status: Annotated[Literal["open", "completed", "all"], typer.Option(
        "--status", help="open: working now; completed: done today; all: both (the "
        "service: everything its journal holds).")] = "open",
    gateway: GatewayOpt = None, use_sim: SimOpt = False, client_id: ClientIdOpt = None,
    service: ServiceOpt = None, api_key: ApiKeyOpt = None,
) -> None:
    """Orders: open ones (every client's), completed ones, or all."""

    async def work(backend: Backend) -> None:
        found = await backend.orders(status)
        render.orders_table(out, f"{status} orders ({len(found)})", found)

    run(work, Source(gateway, use_sim, client_id, service, api_key))


def positions(
    gateway: GatewayOpt = None, use_sim: SimOpt = False, client_id: ClientIdOpt = None,
    service: ServiceOpt = None, api_key: ApiKeyOpt = None,
) -> None:
    """Positions of every account (reqPositions)."""

    async def work(backend: Backend) -> None:
        render.positions_table(out, await backend.positions())

    run(work, Source(gateway, use_sim, client_id, service, api_key))


def account(
    account_code: Annotated[str | None, typer.Option(
        "--account", help="Only this account (default: every account).")] = None,
    gateway: GatewayOpt = None, use_sim: SimOpt = False, client_id: ClientIdOpt = None,
    service: ServiceOpt = None, api_key: ApiKeyOpt = None,
) -> None:
    """Account summary: TWS's tags (NetLiquidation, BuyingPower, cash ...) per account."""

    async def work(backend: Backend) -> None:
        values = await backend.account(account_code)
        render.values_table(out, "account summary", values)

    run(work, Source(gateway, use_sim, client_id, service, api_key))


def register_lookups(app: typer.Typer) -> None:
    """Add quote, contract, bars, search, orders, positions and account to ``app``."""
    for command in (quote, contract, bars, search, orders, positions, account):
        app.command()(command)
