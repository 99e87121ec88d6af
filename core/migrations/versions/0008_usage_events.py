"""Usage events already billed: the memory that drops a duplicate usage event by its id.

``usage_events`` holds one row per usage event id a usage-to-billing transaction claimed, per
billing subscription (``(subscription_id, event_id)`` is the primary key): a second delivery of
the event — in the same batch, another batch, or a week later — finds the row and is dropped.
``transaction_id`` is the transaction that claimed it (a step re-run of that transaction keeps
its own events); ``period`` the billing period it was billed in.

Revision ID: 0008_usage_events
Revises: 0007_reconciliation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_usage_events"
down_revision: str | None = "0007_reconciliation"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "usage_events",
        sa.Column("subscription_id", sa.String(64), primary_key=True),
        sa.Column("event_id", sa.String(200), primary_key=True),
        sa.Column("transaction_id", sa.String(40), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("seen_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("usage_events")
