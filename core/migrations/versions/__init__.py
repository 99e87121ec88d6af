"""Alembic revisions of the state database (hand-written; see core.migrations)."""
