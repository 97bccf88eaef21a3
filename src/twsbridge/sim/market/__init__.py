"""The simulated market: clock, prices, quotes, historical bars and market data streams."""
