"""The MCP face of twsbridge (Model Context Protocol, the official ``mcp`` SDK).

Tools (:mod:`.tools`): search_contracts, get_contract, get_quote, market_depth,
get_bars, get_positions, get_orders, get_account, historical_ticks, market_rule
(:mod:`.tick_tools`) (scope ``read``); preview_order,
place_order, cancel_order (scope ``trade``; orders pass the service's guardrails).
Resources (:mod:`.resources`, scope ``read``): ``quote://{symbol}`` and
``orders://recent``, with ``resources/subscribe`` fed by the StreamHub.

* Streamable HTTP at ``/mcp`` inside the service (:class:`McpHttp`), with the
  service's API keys (``Authorization: Bearer`` / ``X-API-Key``).
* stdio: ``twsbridge mcp`` (:func:`run_stdio`), its own TWS connection (or
  embedded simulator), scopes from the API key given with ``--api-key`` /
  ``TWSBRIDGE_API_KEY``.
"""

from __future__ import annotations

from .http import MCP_PATH, McpHttp
from .runtime import McpRuntime
from .stdio import run_stdio
from .tools import build_server

__all__ = ["MCP_PATH", "McpHttp", "McpRuntime", "build_server", "run_stdio"]
