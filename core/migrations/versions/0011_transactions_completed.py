"""An index on when transactions completed, for the operations dashboard.

The dashboard's throughput (completions per bucket) and SLA (p95 of the window's completions per
workflow) select by ``completed_at``, which had no index: every dashboard read scanned the whole
table. ``(completed_at, workflow, created_at)`` covers both queries (the duration is
``completed_at - created_at``); ``bench/dashboard.py`` measures what it changes.

Revision ID: 0011_transactions_completed
Revises: 0010_partner_webhooks
"""

from __future__ import annotations

from alembic import op

revision = "0011_transactions_completed"
down_revision: str | None = "0010_partner_webhooks"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index(
        "ix_process_transactions_completed", "process_transactions", ["completed_at", "workflow", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_process_transactions_completed", table_name="process_transactions")
