"""HTTP routes of the service: health, contracts, market data."""

from __future__ import annotations

from . import contracts, health, market_data

__all__ = ["contracts", "health", "market_data"]
