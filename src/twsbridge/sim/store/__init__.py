"""Where the simulator's paper account persists (SQLite)."""
