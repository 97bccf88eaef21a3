"""The ``twsbridge`` command: serve the REST service, run the simulator, look things up.

``twsbridge serve``            the REST service (embedded simulator unless ``--gateway``)
``twsbridge sim``              a simulated TWS gateway on port 7497
``twsbridge quote AAPL``       snapshot quote
``twsbridge contract AAPL``    contract details
``twsbridge bars AAPL``        historical bars (``--out aapl.csv`` writes CSV)
``twsbridge search intc``      matching symbols

Look-ups talk to the gateway at ``--gateway`` (default 127.0.0.1:7497) or, with
``--sim``, to a throw-away embedded simulator. Errors print one line with TWS's
error code and exit with status 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from twsbridge.client import TWSClient, TWSError
from twsbridge.protocol import BarData, Contract, ContractDetails

__all__ = ["app"]

app = typer.Typer(
    name="twsbridge",
    help="The Interactive Brokers TWS API: REST service, simulated gateway and look-ups.",
    no_args_is_help=True,
    add_completion=False,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

DEFAULT_GATEWAY = "127.0.0.1:7497"


def _gateway_option(value: str | None) -> str | None:
    from twsbridge.service.settings import parse_gateway

    if value is None:
        return None
    try:
        parse_gateway(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    return value


GatewayOpt = Annotated[
    str,
    typer.Option(
        "--gateway", "-g", help="TWS / IB Gateway as HOST:PORT.", callback=_gateway_option
    ),
]
SimOpt = Annotated[
    bool, typer.Option("--sim", help="Ask a throw-away embedded simulator instead of a gateway.")
]
ClientIdOpt = Annotated[
    int | None,
    typer.Option("--client-id", help="TWS client id (default: derived from the process id)."),
]
SecTypeOpt = Annotated[str, typer.Option("--sec-type", help="STK, CASH, IND ...")]
ExchangeOpt = Annotated[
    str | None, typer.Option("--exchange", help="SMART (default; IDEALPRO for CASH).")
]
CurrencyOpt = Annotated[str, typer.Option("--currency", help="Currency of the contract.")]
PrimaryOpt = Annotated[
    str | None, typer.Option("--primary-exchange", help="Listing exchange, e.g. NASDAQ.")
]


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind.", show_default="127.0.0.1")
    ] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port.", show_default="8000")] = None,
    gateway: Annotated[
        str | None,
        typer.Option(
            "--gateway",
            "-g",
            help="TWS / IB Gateway as HOST:PORT; without it the embedded simulator is served.",
            callback=_gateway_option,
        ),
    ] = None,
    client_id: Annotated[
        int | None, typer.Option("--client-id", help="TWS client id of the service (17).")
    ] = None,
    sim_port: Annotated[
        int | None, typer.Option("--sim-port", help="Port of the embedded simulator (0 = any).")
    ] = None,
    log_level: Annotated[str | None, typer.Option("--log-level", help="info, debug ...")] = None,
    journal_url: Annotated[
        str | None,
        typer.Option(
            "--journal-url",
            help="Order journal: a SQLite file (path or sqlite:///FILE) or "
            "postgresql://USER@HOST/DB; default journal.sqlite3 in the user's data directory.",
        ),
    ] = None,
) -> None:
    """Run the REST service (OpenAPI docs at /docs).

    Unset options fall back to TWSBRIDGE_HOST, TWSBRIDGE_PORT, TWSBRIDGE_GATEWAY,
    TWSBRIDGE_CLIENT_ID, TWSBRIDGE_JOURNAL_URL ... and then to the defaults shown.
    """
    from twsbridge.service import ServiceSettings, run_service

    overrides: dict[str, Any] = {
        "host": host,
        "port": port,
        "gateway": gateway,
        "client_id": client_id,
        "sim_port": sim_port,
        "log_level": log_level,
        "journal_url": journal_url,
    }
    from pydantic import ValidationError

    try:
        settings = ServiceSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        _fail(f"error: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}")
        raise typer.Exit(2) from None
    run_service(settings)


@app.command()
def sim(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TWS API port to serve.")] = 7497,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic prices.")] = 0,
    speed: Annotated[
        float, typer.Option(help="Simulated seconds per real second (0 = frozen).")
    ] = 1.0,
) -> None:
    """Run a simulated TWS gateway (paper account, clock from 2013-03-01 10:00 US/Eastern)."""
    import logging

    from twsbridge.sim import run_sim

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-8s %(message)s")
    err.print(f"simulated TWS gateway on {host}:{port} (Ctrl-C stops it)", markup=False)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_sim(host, port, seed=seed, speed=speed))


@app.command()
def quote(
    symbol: Annotated[str, typer.Argument(help="Symbol (AAPL, EUR.USD with CASH) or conId.")],
    sec_type: SecTypeOpt = "STK",
    exchange: ExchangeOpt = None,
    currency: CurrencyOpt = "USD",
    primary_exchange: PrimaryOpt = None,
    gateway: GatewayOpt = DEFAULT_GATEWAY,
    use_sim: SimOpt = False,
    client_id: ClientIdOpt = None,
) -> None:
    """Snapshot quote of one contract."""
    target = _contract(symbol, sec_type, exchange, currency, primary_exchange)

    async def work(ib: TWSClient) -> None:
        contract = await _one(ib, target)
        t = await ib.reqMktDataSnapshot(contract)
        from twsbridge.service.schemas import QuotePublic

        q = QuotePublic.from_ticker(t, contract).model_dump(mode="json")
        table = _table(f"{contract.symbol} ({contract.conId}) {contract.exchange}")
        table.add_column("field")
        table.add_column("value", justify="right")
        for name in ("bid", "ask", "last", "bidSize", "askSize", "lastSize", "volume",
                     "open", "high", "low", "close", "lastTimestamp", "marketDataType"):
            table.add_row(name, _text(q[name]))
        out.print(table)

    _run(work, gateway, use_sim, client_id)


@app.command()
def contract(
    symbol: Annotated[str, typer.Argument(help="Symbol (AAPL, EUR.USD with CASH) or conId.")],
    sec_type: SecTypeOpt = "STK",
    exchange: ExchangeOpt = None,
    currency: CurrencyOpt = "USD",
    primary_exchange: PrimaryOpt = None,
    gateway: GatewayOpt = DEFAULT_GATEWAY,
    use_sim: SimOpt = False,
    client_id: ClientIdOpt = None,
) -> None:
    """Contract details of every contract matching the description."""
    target = _contract(symbol, sec_type, exchange, currency, primary_exchange)

    async def work(ib: TWSClient) -> None:
        _details_table(await ib.reqContractDetails(target), "contract details")

    _run(work, gateway, use_sim, client_id)


@app.command()
def bars(
    symbol: Annotated[str, typer.Argument(help="Symbol (AAPL, EUR.USD with CASH) or conId.")],
    duration: Annotated[str, typer.Option("--duration", help="TWS durationStr.")] = "1 D",
    bar_size: Annotated[str, typer.Option("--bar-size", help="TWS barSizeSetting.")] = "1 hour",
    what: Annotated[str, typer.Option("--what", help="TWS whatToShow.")] = "TRADES",
    end: Annotated[str, typer.Option("--end", help="TWS endDateTime ('' = now).")] = "",
    rth: Annotated[bool, typer.Option("--rth/--all-hours", help="Regular hours only.")] = True,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the bars as CSV.")] = None,
    sec_type: SecTypeOpt = "STK",
    exchange: ExchangeOpt = None,
    currency: CurrencyOpt = "USD",
    primary_exchange: PrimaryOpt = None,
    gateway: GatewayOpt = DEFAULT_GATEWAY,
    use_sim: SimOpt = False,
    client_id: ClientIdOpt = None,
) -> None:
    """Historical bars of one contract, as a table and optionally a CSV file."""
    target = _contract(symbol, sec_type, exchange, currency, primary_exchange)

    async def work(ib: TWSClient) -> None:
        c = await _one(ib, target)
        got = await ib.reqHistoricalData(
            c, endDateTime=end, durationStr=duration, barSizeSetting=bar_size,
            whatToShow=what, useRTH=rth,
        )
        table = _table(f"{c.symbol} ({c.conId}) {duration} of {bar_size} {what}")
        for name in _BAR_FIELDS:
            table.add_column(name, justify="left" if name == "date" else "right")
        for row in _bar_rows(got):
            table.add_row(*(_text(v) for v in row))
        out.print(table)
        if out_file is not None:
            with out_file.open("w", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(_BAR_FIELDS)
                writer.writerows(_bar_rows(got))
            out.print(f"wrote {len(got)} bars to {out_file}")

    _run(work, gateway, use_sim, client_id)


@app.command()
def search(
    pattern: Annotated[str, typer.Argument(help="Start of a symbol or company name.")],
    gateway: GatewayOpt = DEFAULT_GATEWAY,
    use_sim: SimOpt = False,
    client_id: ClientIdOpt = None,
) -> None:
    """Symbols matching a pattern (reqMatchingSymbols)."""

    async def work(ib: TWSClient) -> None:
        found = await ib.reqMatchingSymbols(pattern)
        table = _table(f"matching {pattern!r}")
        for name in ("conId", "symbol", "secType", "primaryExchange", "currency", "derivatives"):
            table.add_column(name, overflow="fold")
        for d in found:
            c = d.contract
            table.add_row(str(c.conId), c.symbol, c.secType, c.primaryExchange, c.currency,
                          ",".join(d.derivativeSecTypes))
        out.print(table)

    _run(work, gateway, use_sim, client_id)


_BAR_FIELDS = ("date", "open", "high", "low", "close", "volume", "wap", "barCount")


def _bar_rows(got: list[BarData]) -> list[tuple[object, ...]]:
    from twsbridge.service.schemas import BarPublic

    rows = []
    for b in got:
        p = BarPublic.from_tws(b).model_dump(mode="json")
        rows.append(tuple("" if p[k] is None else p[k] for k in _BAR_FIELDS))
    return rows


def _text(value: object) -> str:
    if isinstance(value, float):
        return str(round(value, 6 if abs(value) < 10 else 4))
    return "" if value is None else str(value)


def _contract(
    symbol: str, sec_type: str, exchange: str | None, currency: str, primary: str | None
) -> Contract:
    from twsbridge.service.routes.common import ContractQuery

    if symbol.isdigit():
        return ContractQuery(conId=int(symbol)).to_contract()
    query = ContractQuery(
        symbol=symbol, secType=sec_type, exchange=exchange, currency=currency,
        primaryExchange=primary,
    )
    return query.to_contract()


async def _one(ib: TWSClient, target: Contract) -> Contract:
    """Resolve to exactly one contract; several print a table and fail."""
    from twsbridge.service.routes.common import market_contract

    details = await ib.reqContractDetails(target)
    if len({d.contract.conId for d in details}) > 1:
        _details_table(details, "several contracts match; narrow down with --exchange/--currency")
        raise typer.Exit(1)
    if not details:
        raise TWSError(200, "No security definition has been found for the request")
    return market_contract(details[0])


def _table(title: str) -> Table:
    return Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)


def _details_table(details: list[ContractDetails], title: str) -> None:
    if len(details) == 1:
        d = details[0]
        c = d.contract
        table = _table(f"{c.symbol} ({c.conId}) {d.longName}")
        table.add_column("field")
        table.add_column("value", overflow="fold")
        rows = {
            "conId": str(c.conId), "symbol": c.symbol, "secType": c.secType,
            "exchange": c.exchange, "primaryExchange": c.primaryExchange,
            "currency": c.currency, "localSymbol": c.localSymbol,
            "tradingClass": c.tradingClass, "longName": d.longName,
            "minTick": f"{d.minTick:g}", "timeZoneId": d.timeZoneId, "industry": d.industry,
            "category": d.category, "stockType": d.stockType,
            "secIdList": ", ".join(f"{t.tag}={t.value}" for t in d.secIdList),
        }
        for name, value in rows.items():
            table.add_row(name, value)
        out.print(table)
        return
    table = _table(title)
    cols = ("conId", "symbol", "secType", "exchange", "primaryExchange", "currency", "longName")
    for name in cols:
        table.add_column(name, overflow="fold")
    for d in details:
        c = d.contract
        table.add_row(str(c.conId), c.symbol, c.secType, c.exchange, c.primaryExchange,
                      c.currency, d.longName)
    out.print(table)


@contextlib.asynccontextmanager
async def _session(gateway: str, use_sim: bool, client_id: int | None) -> AsyncIterator[TWSClient]:
    from twsbridge.service.settings import parse_gateway

    cid = client_id if client_id is not None else 1000 + os.getpid() % 30000
    if not use_sim:
        host, port = parse_gateway(gateway)
        async with TWSClient(host, port, cid) as ib:
            yield ib
        return
    from twsbridge.sim import SimServer, Simulator

    srv = SimServer(Simulator(seed=0), host="127.0.0.1", port=0)
    await srv.start()
    try:
        async with TWSClient("127.0.0.1", srv.port, cid) as ib:
            yield ib
    finally:
        await srv.stop()


def _run(
    work: Callable[[TWSClient], Awaitable[None]], gateway: str, use_sim: bool,
    client_id: int | None,
) -> None:
    async def main() -> None:
        async with _session(gateway, use_sim, client_id) as ib:
            await work(ib)

    try:
        asyncio.run(main())
    except TWSError as exc:
        code = getattr(exc, "code", None)
        message = getattr(exc, "message", None) or str(exc)
        where = "" if use_sim else f" (gateway {gateway})"
        _fail(f"error: TWS error {code}: {message}{where}")
        raise typer.Exit(1) from None
    except (ConnectionError, OSError, TimeoutError) as exc:
        _fail(f"error: {type(exc).__name__}: {exc or 'timed out'}")
        raise typer.Exit(1) from None


def _fail(text: str) -> None:
    """Print ``text`` as one line on standard error."""
    err.print(" ".join(text.split()), markup=False, soft_wrap=True)


if __name__ == "__main__":
    app()
