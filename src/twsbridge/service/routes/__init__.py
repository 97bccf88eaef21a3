"""HTTP routes of the service: health, contracts, market data, orders, account."""

from __future__ import annotations

from . import account, contracts, health, market_data, orders

__all__ = ["account", "contracts", "health", "market_data", "orders"]
