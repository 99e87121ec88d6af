"""Operator sessions of the web console (``/console``).

``console_sessions`` holds one row per signed-in operator. ``id`` is the SHA-256 of the
session cookie's value (the cookie itself is never stored); ``client_id`` is the operations
client the operator signed in as; ``sealed`` is the client's secret and current access token,
encrypted with the master key (JWE, like the signing keys), so that the session can renew the
token server-side and nothing secret reaches the browser; ``csrf_token`` is the token every
state-changing form and call must echo. ``token_expires_at`` is when the access token ends,
``expires_at`` when the session itself ends (idle timeout, pushed on by each request).

Revision ID: 0009_console_sessions
Revises: 0008_usage_events
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_console_sessions"
down_revision: str | None = "0008_usage_events"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("sealed", sa.Text, nullable=False),
        sa.Column("token_expires_at", sa.Float, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_console_sessions_expires", "console_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_console_sessions_expires", table_name="console_sessions")
    op.drop_table("console_sessions")
