"""The guardrail settings (mixed into :class:`~twsbridge.service.settings.ServiceSettings`).

Set them in the environment (``TWSBRIDGE_TRADING_ENABLED=true``,
``TWSBRIDGE_MAX_ORDER_QUANTITY=100``, ``TWSBRIDGE_SYMBOL_DENYLIST=GME,AMC``), in
a TOML file named by ``TWSBRIDGE_CONFIG`` or ``twsbridge serve --config FILE``
(the same names, without the prefix: ``max_order_quantity = 100``), or on the
command line (``--enable-trading``). Lists are comma-separated or JSON in the
environment, arrays in TOML.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import NoDecode

__all__ = ["GuardrailSettings", "SymbolList"]


def _symbols(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            value = json.loads(text)
        else:
            value = [part for part in text.split(",")]
    if isinstance(value, (list, tuple, set, frozenset)):
        return sorted({str(v).strip().upper() for v in value if str(v).strip()})
    return value


SymbolList = Annotated[list[str], NoDecode]


class GuardrailSettings(BaseModel):
    """What orders the service lets through (every face: REST, GraphQL, MCP), and how
    soon a key revoked elsewhere stops working on open sockets."""

    trading_enabled: bool = Field(
        default=False,
        description=(
            "Allow placing and modifying orders against a gateway that is not the embedded "
            "simulator (a real TWS / IB Gateway). Off by default; the simulator always trades."
        ),
    )
    max_order_quantity: Decimal | None = Field(
        default=None, gt=0, description="Largest totalQuantity of one order (unset: no limit)."
    )
    max_order_notional: float | None = Field(
        default=None,
        gt=0,
        description=(
            "Largest quantity x price (x multiplier) of one order, in the contract's currency; "
            "the price is lmtPrice, else the current quote (unset: no limit)."
        ),
    )
    symbol_allowlist: SymbolList | None = Field(
        default=None, description="Only these symbols may be traded (unset: any symbol)."
    )
    symbol_denylist: SymbolList = Field(
        default_factory=list, description="These symbols may never be traded."
    )
    orders_per_minute: int | None = Field(
        default=None,
        gt=0,
        description="Most orders placed or modified per API key in any 60 s (unset: no limit).",
    )
    require_preview: bool = Field(
        default=False,
        description=(
            "Refuse an order (or modification) unless the same key previewed the same order "
            "(POST /orders/preview) within preview_valid_minutes."
        ),
    )
    preview_valid_minutes: float = Field(
        default=5.0, gt=0, description="How long a preview allows placing that order."
    )
    key_poll_interval: float = Field(
        default=1.0, gt=0, le=60,
        description=(
            "Seconds between two looks at the database for API keys revoked by another "
            "process (twsbridge keys revoke): their open sockets, streams and MCP sessions "
            "then end. One query, for the keys with open sessions only; a revocation through "
            "this service (DELETE /keys/{id}) takes effect at once."
        ),
    )

    @field_validator("symbol_allowlist", "symbol_denylist", mode="before")
    @classmethod
    def _symbol_list(cls, value: Any) -> Any:
        return _symbols(value)
