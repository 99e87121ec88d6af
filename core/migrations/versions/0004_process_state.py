"""State of the process layer: the cross-reference store and the event outbox.

``xrefs``: one canonical id per business object, one vendor id per system. ``outbox_events``:
business events written in the same transaction as the state they describe;
``outbox_cursors``: how far each subscriber has received them; ``outbox_dead_letters``: events
a subscriber refused too often.

Revision ID: 0004_process_state
Revises: 0003_client_lifecycle
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_process_state"
down_revision: str | None = "0003_client_lifecycle"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "xrefs",
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("canonical_id", sa.String(40), primary_key=True),
        sa.Column("system", sa.String(40), primary_key=True),
        sa.Column("vendor_id", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ux_xrefs_vendor", "xrefs", ["kind", "system", "vendor_id"], unique=True)
    op.create_table(
        "outbox_events",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("type", sa.String(120), nullable=False),
        sa.Column("subject", sa.String(200), nullable=True),
        sa.Column("correlation_id", sa.String(64), nullable=True),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_outbox_events_created_at", "outbox_events", ["created_at"])
    op.create_table(
        "outbox_cursors",
        sa.Column("subscriber", sa.String(64), primary_key=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("leased_by", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "outbox_dead_letters",
        sa.Column("subscriber", sa.String(64), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(500), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("outbox_dead_letters")
    op.drop_table("outbox_cursors")
    op.drop_index("ix_outbox_events_created_at", table_name="outbox_events")
    op.drop_table("outbox_events")
    op.drop_index("ux_xrefs_vendor", table_name="xrefs")
    op.drop_table("xrefs")
