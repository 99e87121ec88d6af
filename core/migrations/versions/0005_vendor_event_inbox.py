"""Vendor event inbox: verified webhook events (Stripe's first), one row per vendor event id.

The primary key ``(vendor, event_id)`` is the de-duplication: a redelivered event finds its
row and is not stored (nor processed) again. ``processed_at`` is set by the consumer; the
index on ``(processed_at, received_at)`` serves "what is still to do, oldest first".

Revision ID: 0005_vendor_event_inbox
Revises: 0004_process_state
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_vendor_event_inbox"
down_revision: str | None = "0004_process_state"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "vendor_event_inbox",
        sa.Column("vendor", sa.String(32), primary_key=True),
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("event_type", sa.String(120), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("processed_at", sa.Float, nullable=True),
    )
    op.create_index("ix_vendor_event_inbox_pending", "vendor_event_inbox", ["processed_at", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_vendor_event_inbox_pending", table_name="vendor_event_inbox")
    op.drop_table("vendor_event_inbox")
