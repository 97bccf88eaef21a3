"""The ``twsbridge`` command: serve the REST service, run the simulator, look things up.

``twsbridge serve``            the REST service (embedded simulator unless ``--gateway``)
``twsbridge sim``              a simulated TWS gateway on port 7497
``twsbridge quote AAPL``       snapshot quote
``twsbridge contract AAPL``    contract details
``twsbridge bars AAPL``        historical bars (``--out aapl.csv`` writes CSV; long
                               durations are fetched in chunks TWS accepts)
``twsbridge search intc``      matching symbols
``twsbridge orders``           open (``--status completed|all``) orders
``twsbridge positions``        positions
``twsbridge account``          account summary
``twsbridge keys create NAME``  an API key for the service (also ``keys list|revoke``)
``twsbridge mcp --sim``        the MCP tools on stdio for an AI agent (needs an API key)

Look-ups (:mod:`twsbridge.lookups`) ask the service at ``--service URL`` with
``--api-key KEY`` (or TWSBRIDGE_SERVICE_URL / TWSBRIDGE_API_KEY), the gateway at
``--gateway`` (default 127.0.0.1:7497) or, with ``--sim``, a throw-away embedded
simulator. Errors print one line with TWS's error code and exit with status 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from twsbridge.cli_mcp import mcp_command
from twsbridge.keys_cli import keys_app
from twsbridge.lookups import register_lookups
from twsbridge.lookups.commands import gateway_option as _gateway_option

__all__ = ["app"]

app = typer.Typer(
    name="twsbridge",
    help="The Interactive Brokers TWS API: REST service, simulated gateway and look-ups.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(keys_app, name="keys")
app.command(name="mcp")(mcp_command)
err = Console(stderr=True, highlight=False)


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
        int | None,
        typer.Option(
            "--sim-port",
            help="Let the embedded simulator also listen on 127.0.0.1:PORT (0 = any free port) "
            "for other TWS API clients; they trade without a key or guardrails. Unset: no "
            "listener.",
        ),
    ] = None,
    sim_start: Annotated[
        str | None,
        typer.Option("--sim-start", show_default="the present",
                     help="Start the embedded simulator's clock here (ISO 8601, US/Eastern "
                     "unless an offset is given), e.g. 2013-03-01T10:00 to replay the last "
                     "real data day reproducibly."),
    ] = None,
    sim_speed: Annotated[
        float | None,
        typer.Option("--sim-speed", show_default="1",
                     help="Simulated seconds per real second of the embedded simulator "
                     "(0 = frozen)."),
    ] = None,
    sim_reset: Annotated[
        bool | None,
        typer.Option("--sim-reset", show_default=False,
                     help="Start the embedded simulator with a fresh paper account (the "
                     "previous account file is kept as a timestamped backup; order, perm "
                     "and exec ids go on from it)."),
    ] = None,
    log_level: Annotated[str | None, typer.Option("--log-level", help="info, debug ...")] = None,
    log_format: Annotated[
        str | None,
        typer.Option("--log-format", show_default="text",
                     help="text, or json: one JSON object per line (ts, level, logger, "
                     "message, request_id, route, status, latency_ms ...)."),
    ] = None,
    journal_url: Annotated[
        str | None,
        typer.Option(
            "--journal-url",
            help="Order journal: a SQLite file (path or sqlite:///FILE) or "
            "postgresql://USER@HOST/DB; default journal.sqlite3 in the user's data directory.",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", dir_okay=False,
                     help="TOML file of settings (guardrails ...); default TWSBRIDGE_CONFIG."),
    ] = None,
    enable_trading: Annotated[
        bool | None,
        typer.Option("--enable-trading/--disable-trading", show_default=False,
                     help="Allow orders against a real gateway (the simulator always trades)."),
    ] = None,
    certfile: Annotated[
        Path | None,
        typer.Option("--certfile", dir_okay=False, help="TLS certificate (PEM): serve HTTPS."),
    ] = None,
    keyfile: Annotated[
        Path | None, typer.Option("--keyfile", dir_okay=False, help="TLS private key (PEM).")
    ] = None,
    max_connections: Annotated[
        int | None,
        typer.Option("--max-connections", show_default="1000",
                     help="Open connections; more are answered 503 and closed."),
    ] = None,
    max_body_size: Annotated[
        int | None,
        typer.Option("--max-body-size", show_default="1048576",
                     help="Largest request body in bytes; larger is 413."),
    ] = None,
) -> None:
    """Run the REST service (OpenAPI docs at /docs; every route but /health needs a key).

    Create an API key first: twsbridge keys create NAME --scope read|trade|admin.

    Unset options fall back to TWSBRIDGE_HOST, TWSBRIDGE_PORT, TWSBRIDGE_GATEWAY,
    TWSBRIDGE_CLIENT_ID, TWSBRIDGE_JOURNAL_URL ..., then to the --config file, and
    then to the defaults shown.
    """
    from twsbridge.service import ServiceSettings, run_service
    from twsbridge.service.config_file import using_config_file

    overrides: dict[str, Any] = {
        "host": host,
        "port": port,
        "gateway": gateway,
        "client_id": client_id,
        "sim_port": sim_port,
        "sim_start": None if sim_start is None else _start_option(sim_start, "--sim-start"),
        "sim_speed": sim_speed,
        "sim_reset": sim_reset,
        "log_level": log_level,
        "log_format": log_format,
        "journal_url": journal_url,
        "trading_enabled": enable_trading,
        "ssl_certfile": None if certfile is None else str(certfile),
        "ssl_keyfile": None if keyfile is None else str(keyfile),
        "max_connections": max_connections,
        "max_body_size": max_body_size,
    }
    from pydantic import ValidationError

    try:
        with using_config_file(config):
            settings = ServiceSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        _fail(f"error: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}")
        raise typer.Exit(2) from None
    except ValueError as exc:  # the configuration file
        _fail(f"error: {exc}")
        raise typer.Exit(2) from None
    if settings.sim_port is not None and not settings.simulated:
        _fail("error: --sim-port is the embedded simulator's port: not with --gateway")
        raise typer.Exit(2)
    if (settings.ssl_certfile is None) != (settings.ssl_keyfile is None):
        _fail("error: --certfile and --keyfile go together")
        raise typer.Exit(2)
    run_service(settings)


def _start_option(text: str, hint: str) -> dt.datetime:
    """--start / --sim-start: an ISO 8601 time, US/Eastern unless it has an offset."""
    from twsbridge.sim.market.clock import parse_start

    try:
        return parse_start(text)
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 date or time: {text!r} "
                                 "(e.g. 2013-03-01T10:00)", param_hint=hint) from None


@app.command()
def sim(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TWS API port to serve.")] = 7497,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic prices.")] = 0,
    start: Annotated[
        str | None,
        typer.Option("--start", show_default="the present", envvar="TWSBRIDGE_SIM_START",
                     help="Start the clock here (ISO 8601, US/Eastern unless an offset is "
                     "given), e.g. 2013-03-01T10:00 to replay the last real data day "
                     "reproducibly."),
    ] = None,
    speed: Annotated[
        float, typer.Option(help="Simulated seconds per real second (0 = frozen).")
    ] = 1.0,
    faults: Annotated[
        Path | None,
        typer.Option("--faults", help="Fault script to run (TOML or JSON; format below).",
                     dir_okay=False),
    ] = None,
    fault_seed: Annotated[
        int | None,
        typer.Option("--fault-seed", help="Seed of the script's \\[random] faults "
                     "(default: the file's seed, else 0)."),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option("--state", dir_okay=False,
                     help="File where the paper account persists (orders, executions, "
                     "positions, cash, ids): continued when it exists. Default: none."),
    ] = None,
    reset: Annotated[
        bool,
        typer.Option("--reset", help="With --state: start a fresh account (the previous "
                     "file is kept as a timestamped backup; ids go on from it)."),
    ] = False,
) -> None:
    """Run a simulated TWS gateway (paper account; the clock at the present, or at --start).

    With --state FILE the paper account persists in FILE and a restart continues
    it (orders, executions, positions, cash; no id is handed out twice; the
    clock resumes at the account's last change); --reset starts a fresh one.

    With --faults FILE it injects the file's faults, timed in seconds from the
    start. Kinds: drop_all; stall (seconds); connectivity_loss (seconds,
    data_lost); restart (down_seconds); competing_session (seconds);
    client_id_in_use (client_id, seconds); and windows in which a TWS limit
    bites: message_rate (seconds, limit: error 100), historical_pacing
    (seconds: 162/420), market_data_lines (seconds, lines: 101). Example TOML file:

    \b
    seed = 7
    faults = [
      {at = 1.5, fault = "restart", down_seconds = 2},
      {at = 10, fault = "connectivity_loss", seconds = 5, data_lost = true},
    ]
    \\[random]     # optional: n more faults at seeded random times
    n = 5
    duration = 60
    kinds = ["drop_all", "stall"]
    max_outage = 3
    client_ids = [1]   # for client_id_in_use among the kinds

    A JSON file has the same keys, or is just the list of faults.
    """
    import logging

    from twsbridge.sim import run_sim
    from twsbridge.sim.faults.script import FaultScript

    script = None
    if faults is not None:
        try:
            script = FaultScript.load(faults, seed=fault_seed)
        except (OSError, ValueError) as exc:
            raise typer.BadParameter(str(exc), param_hint="--faults") from None
    elif fault_seed is not None:
        raise typer.BadParameter("needs --faults", param_hint="--fault-seed")
    if reset and state is None:
        raise typer.BadParameter("needs --state", param_hint="--reset")
    start_at = None if start is None else _start_option(start, "--start")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-8s %(message)s")
    err.print(f"simulated TWS gateway on {host}:{port} (Ctrl-C stops it)", markup=False)
    from twsbridge.sim import StateError

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_sim(host, port, seed=seed, start=start_at, speed=speed,
                                faults=script,
                                state=None if state is None else str(state), reset=reset))
    except StateError as exc:
        _fail(f"error: {exc}")
        raise typer.Exit(2) from None


register_lookups(app)  # quote, contract, bars, search, orders, positions, account


def _fail(text: str) -> None:
    """Print ``text`` as one line on standard error."""
    err.print(" ".join(text.split()), markup=False, soft_wrap=True)


if __name__ == "__main__":
    app()
