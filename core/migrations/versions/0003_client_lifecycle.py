"""Client lifecycle: disable/delete, secret rotation with overlap, per-client limits, change feed.

``revoked_at`` becomes ``disabled_at`` and the status ``revoked`` becomes ``disabled``;
``updated_at`` (indexed) lets other processes poll for changed clients; ``tokens_not_before``
refuses tokens issued before a client was disabled; ``previous_secret_*`` keep a rotated-out
secret working until its stated expiry; ``rate_limits`` replaces the tier's limits;
``jwks_uri`` is where a ``private_key_jwt`` client publishes its keys.

Revision ID: 0003_client_lifecycle
Revises: 0002_idempotency_claim_token
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_client_lifecycle"
down_revision: str | None = "0002_idempotency_claim_token"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.alter_column("revoked_at", new_column_name="disabled_at")
        batch.add_column(sa.Column("updated_at", sa.Float(), nullable=True))
        batch.add_column(sa.Column("tokens_not_before", sa.Float(), nullable=True))
        batch.add_column(sa.Column("previous_secret_hash", sa.String(128), nullable=True))
        batch.add_column(sa.Column("previous_secret_salt", sa.String(64), nullable=True))
        batch.add_column(sa.Column("previous_secret_expires_at", sa.Float(), nullable=True))
        batch.add_column(sa.Column("rate_limits", sa.Text(), nullable=True))
        batch.add_column(sa.Column("jwks_uri", sa.String(500), nullable=True))
    op.execute("UPDATE oauth_clients SET status = 'disabled', tokens_not_before = disabled_at WHERE status = 'revoked'")
    op.execute("UPDATE oauth_clients SET updated_at = COALESCE(disabled_at, created_at)")
    with op.batch_alter_table("oauth_clients") as batch:
        batch.alter_column("updated_at", existing_type=sa.Float(), nullable=False)
    op.create_index("ix_oauth_clients_updated_at", "oauth_clients", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_oauth_clients_updated_at", table_name="oauth_clients")
    op.execute("UPDATE oauth_clients SET status = 'revoked' WHERE status IN ('disabled', 'deleted')")
    with op.batch_alter_table("oauth_clients") as batch:
        for column in (
            "jwks_uri",
            "rate_limits",
            "previous_secret_expires_at",
            "previous_secret_salt",
            "previous_secret_hash",
            "tokens_not_before",
            "updated_at",
        ):
            batch.drop_column(column)
        batch.alter_column("disabled_at", new_column_name="revoked_at")
