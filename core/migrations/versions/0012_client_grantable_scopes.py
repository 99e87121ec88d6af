"""Grantable scopes: the most a client that manages clients may grant others.

``grantable_scopes`` (a JSON list, null for "its own scopes") is a ceiling for clients that
grant through the management API what they do not use themselves (see
``gateway.management.grants``). Existing clients get null: they grant their own scopes.

Revision ID: 0012_client_grantable_scopes
Revises: 0011_transactions_completed
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_client_grantable_scopes"
down_revision: str | None = "0011_transactions_completed"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.add_column(sa.Column("grantable_scopes", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("grantable_scopes")
