"""Process transactions: one row per business transaction, and its lineage.

``process_transactions`` is the business view of a workflow run (DBOS keeps the execution
view): its state (``accepted`` → … → ``completed``, or ``needs_attention`` / ``failed`` /
``compensated`` / ``dismissed``), the customer it is about, why it stopped and which system
owns the fix. ``(workflow, business_key)`` is unique: the same opportunity submitted again
finds its transaction instead of starting a second one.

``process_lineage`` lists what a transaction did, in order: each vendor record a step created
or matched (system, object, vendor id) and each operator action (replay, compensate,
dismiss, with who did it). ``dedupe_key`` is unique, so a step re-run after a crash records
its vendor record once.

Revision ID: 0006_process_transactions
Revises: 0005_vendor_event_inbox
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_process_transactions"
down_revision: str | None = "0005_vendor_event_inbox"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "process_transactions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workflow", sa.String(64), nullable=False),
        sa.Column("business_key", sa.String(200), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=True),
        sa.Column("correlation_id", sa.String(64), nullable=False),
        sa.Column("input", sa.Text, nullable=False),
        sa.Column("overrides", sa.Text, nullable=True),
        sa.Column("reason_code", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(1000), nullable=True),
        sa.Column("owner_system", sa.String(40), nullable=True),
        sa.Column("failed_step", sa.String(64), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("attention_since", sa.Float, nullable=True),
        sa.Column("completed_at", sa.Float, nullable=True),
        sa.UniqueConstraint("workflow", "business_key", name="ux_process_transactions_key"),
    )
    op.create_index("ix_process_transactions_created", "process_transactions", ["created_at", "id"])
    op.create_index("ix_process_transactions_state", "process_transactions", ["state", "workflow"])
    op.create_index("ix_process_transactions_customer", "process_transactions", ["customer_id"])
    op.create_table(
        "process_lineage",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("transaction_id", sa.String(40), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("step", sa.String(64), nullable=True),
        sa.Column("system", sa.String(40), nullable=True),
        sa.Column("object", sa.String(40), nullable=True),
        sa.Column("vendor_id", sa.String(128), nullable=True),
        sa.Column("actor", sa.String(64), nullable=True),
        sa.Column("detail", sa.String(1000), nullable=True),
        sa.Column("dedupe_key", sa.String(200), nullable=True, unique=True),
    )
    op.create_index("ix_process_lineage_transaction", "process_lineage", ["transaction_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_process_lineage_transaction", table_name="process_lineage")
    op.drop_table("process_lineage")
    op.drop_index("ix_process_transactions_customer", table_name="process_transactions")
    op.drop_index("ix_process_transactions_state", table_name="process_transactions")
    op.drop_index("ix_process_transactions_created", table_name="process_transactions")
    op.drop_table("process_transactions")
