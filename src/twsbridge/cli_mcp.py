"""``twsbridge mcp``: the MCP server on stdio (registered on the CLI in :mod:`twsbridge.cli`).

Kept apart from :mod:`twsbridge.cli` so that ``twsbridge quote`` does not import
the MCP SDK; everything heavy is imported when the command runs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["DEFAULT_MCP_CLIENT_ID", "mcp_command"]

DEFAULT_GATEWAY = "127.0.0.1:7497"
DEFAULT_MCP_CLIENT_ID = 18
"""TWS client id of ``twsbridge mcp`` (the service uses 17, so both can share one TWS)."""
KEY_HINT = "create one with: twsbridge keys create NAME --scope read (or trade)"


def _fail(text: str, status: int) -> typer.Exit:
    print(" ".join(text.split()), file=sys.stderr)
    return typer.Exit(status)


def mcp_command(
    gateway: Annotated[
        str | None,
        typer.Option("--gateway", "-g", help="TWS / IB Gateway as HOST:PORT (default: "
                     "TWSBRIDGE_GATEWAY, else 127.0.0.1:7497)."),
    ] = None,
    use_sim: Annotated[
        bool, typer.Option("--sim", help="Serve an embedded simulated gateway (paper account, "
                           "fake money) instead of a real TWS.")
    ] = False,
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", envvar="TWSBRIDGE_API_KEY", show_envvar=True,
                     help="API key of the service (its scope decides which tools work)."),
    ] = None,
    client_id: Annotated[
        int, typer.Option("--client-id", help="TWS client id of this connection.")
    ] = DEFAULT_MCP_CLIENT_ID,
    journal_url: Annotated[
        str | None,
        typer.Option("--journal-url", help="The service's database (order journal and API "
                     "keys); default: TWSBRIDGE_JOURNAL_URL, else the service's default."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", dir_okay=False, help="TOML configuration file (guardrails "
                     "...), as for twsbridge serve."),
    ] = None,
    enable_trading: Annotated[
        bool, typer.Option("--enable-trading", help="Allow orders against a real gateway "
                           "(the simulator always trades).")
    ] = False,
    log_level: Annotated[str, typer.Option("--log-level", help="Log level (on stderr).")]
    = "warning",
) -> None:
    """Serve the MCP tools on stdin/stdout for an AI agent (Claude Desktop, an IDE ...).

    The agent launches this command; it connects to TWS with its own client id
    (or starts a simulator with --sim) and offers the tools search_contracts,
    get_contract, get_quote, get_bars, get_positions, get_orders, get_account,
    preview_order, place_order and cancel_order. An API key is required: the
    tools obey its scope ('read' for look-ups, 'trade' to preview, place and
    cancel) and the service's guardrails, exactly as over HTTP.
    """
    if use_sim and gateway is not None:
        raise _fail("error: give --gateway or --sim, not both", 2)
    if api_key is None or not api_key.strip():
        raise _fail(f"error: an API key is required: --api-key KEY or TWSBRIDGE_API_KEY "
                    f"({KEY_HINT})", 2)
    import logging

    from pydantic import ValidationError

    from twsbridge.service.config_file import using_config_file
    from twsbridge.service.problems import ProblemError
    from twsbridge.service.settings import ServiceSettings

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)-8s %(name)s: %(message)s")
    logging.getLogger("twsbridge").setLevel(log_level.upper())
    values: dict[str, Any] = {"client_id": client_id, "log_level": log_level}
    if journal_url is not None:
        values["journal_url"] = journal_url
    if enable_trading:
        values["trading_enabled"] = True
    with using_config_file(config):
        try:
            if use_sim:
                values["gateway"] = None
            elif gateway is not None:
                values["gateway"] = gateway
            settings = ServiceSettings(**values)
            if not use_sim and settings.gateway is None:  # nothing configured: TWS's port
                settings = ServiceSettings(**{**values, "gateway": DEFAULT_GATEWAY})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "settings"
            raise _fail(f"error: {where}: {first['msg']}", 2) from None
    from twsbridge.service.mcp import run_stdio

    try:
        run_stdio(settings, api_key)
    except ProblemError as exc:
        hint = f" ({KEY_HINT})" if exc.status == 401 else ""
        raise _fail(f"error: {exc.detail or exc.title}{hint}", 1) from None
    except Exception as exc:  # the database or the simulator could not start
        raise _fail(f"error: {type(exc).__name__}: {exc}", 1) from None
