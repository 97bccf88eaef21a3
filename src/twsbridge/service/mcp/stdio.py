"""The MCP face over stdio: ``twsbridge mcp``, in-process, one agent per process.

The process opens the service's database (the order journal, which also holds
the API keys), authenticates the key it was given, then connects its own
:class:`~twsbridge.service.gateway.GatewayManager` (its own TWS client id, or
an embedded simulator) and serves MCP on stdin / stdout. stdio is not treated
as a trusted face: the tools obey the key's scopes and the guardrails exactly
as over HTTP, so an agent given a ``read`` key cannot trade. Logs go to
standard error (standard output carries the protocol).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.datastructures import State

from ..gateway import GatewayManager
from ..journal import Journal
from ..security import authenticate_key
from ..settings import ServiceSettings
from .runtime import McpRuntime
from .tools import build_server

__all__ = ["run_stdio", "serve_stdio"]

log = logging.getLogger("twsbridge.service")


async def serve_stdio(settings: ServiceSettings, api_key: str | None) -> None:
    """Authenticate ``api_key``, connect, serve MCP on stdio until stdin closes.

    Raises:
        ProblemError: 401 when the key is missing, unknown or revoked (before any
            connection to TWS is made).
    """
    journal = Journal(settings.journal_url)
    await journal.open()
    try:
        state = State()
        state.settings = settings
        state.journal = journal
        principal = await authenticate_key(state, api_key)
        log.info("MCP on stdio for API key %s (%s, scope %s)",
                 principal.key_id, principal.name, principal.scope)
        manager = GatewayManager(settings, journal)
        state.gateway = manager
        await manager.start()
        try:
            runtime = McpRuntime(settings, state, api_key, transport="stdio")
            await build_server(runtime).run_stdio_async()
        finally:
            await manager.stop()
    finally:
        await journal.close()


def run_stdio(settings: ServiceSettings, api_key: str | None) -> None:
    """:func:`serve_stdio` until stdin closes or Ctrl-C (blocking)."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_stdio(settings, api_key))
