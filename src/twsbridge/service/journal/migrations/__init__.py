"""Alembic migrations of the journal, shipped with the package and run at startup."""
