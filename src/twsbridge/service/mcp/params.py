"""The parameter types and annotations the MCP tools share (one contract vocabulary)."""

from __future__ import annotations

from typing import Annotated

from mcp.types import ToolAnnotations
from pydantic import Field

__all__ = ["READ", "ConId", "Currency", "Exchange", "Primary", "SecType", "Symbol"]

Symbol = Annotated[str | None, Field(
    description="Ticker symbol, e.g. 'AAPL' ('EUR.USD' with secType CASH). Give symbol or conId.")]
ConId = Annotated[int | None, Field(
    description="IB contract id, e.g. 265598 for AAPL; identifies the contract on its own.")]
SecType = Annotated[str | None, Field(
    description="Security type: STK (default), CASH (forex), IND, FUT, OPT ...")]
Exchange = Annotated[str | None, Field(
    description="Routing exchange: SMART (default; IDEALPRO for CASH), ISLAND, ARCA ...")]
Currency = Annotated[str | None, Field(
    description="Currency of the contract: USD (default; any for CASH), EUR ...")]
Primary = Annotated[str | None, Field(
    description="Listing exchange, e.g. NASDAQ or NYSE, to pick one of several matches.")]

READ = ToolAnnotations(read_only_hint=True, open_world_hint=True)
"""A tool that only reads."""
