"""Executor leases: which process runs as which workflow executor, and until when.

``workflow_executors`` holds one row per live executor id (``apis.process.executor_leases``): the
process holding it renews ``expires_at`` by heartbeat; once it has passed, a live process deletes
the row and takes that executor's pending workflows over.

Revision ID: 0013_workflow_executors
Revises: 0012_client_grantable_scopes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_workflow_executors"
down_revision: str | None = "0012_client_grantable_scopes"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "workflow_executors",
        sa.Column("executor_id", sa.String(200), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("heartbeat_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("workflow_executors")
