"""Alembic revisions of the state database (hand-written; see gateway.migrations)."""
