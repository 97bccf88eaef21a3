"""Faults on demand and TWS's limits (message rate, historical pacing, market data lines)."""
