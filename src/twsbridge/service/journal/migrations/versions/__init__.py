"""Alembic revisions of the journal schema."""
