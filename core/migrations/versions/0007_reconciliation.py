"""Reconciliation runs and the mismatches each run found.

``reconciliation_runs`` holds one row per run of the reconciliation process API: the period
(``YYYY-MM``), how it was started (``api`` or ``schedule``), its status (``running`` →
``completed`` or ``failed``), the workflow that ran it, and once completed the number of
mismatches by kind and a summary of what was compared. ``active_period`` carries the period
while the run is in flight and is unique, so one period has at most one run in flight across
every process; it is cleared when the run ends, and the period can be run again.

``reconciliation_mismatches`` lists a run's mismatches in report order; ``detail`` is the JSON
of one mismatch (ids on each side, amounts, explanation).

Revision ID: 0007_reconciliation
Revises: 0006_process_transactions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_reconciliation"
down_revision: str | None = "0006_process_transactions"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "reconciliation_runs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workflow_id", sa.String(80), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("active_period", sa.String(7), nullable=True, unique=True),
        sa.Column("requested_by", sa.String(64), nullable=True),
        sa.Column("correlation_id", sa.String(64), nullable=True),
        sa.Column("mismatch_count", sa.Integer, nullable=True),
        sa.Column("by_kind", sa.Text, nullable=True),
        sa.Column("summary", sa.Text, nullable=True),
        sa.Column("error", sa.String(1000), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("completed_at", sa.Float, nullable=True),
    )
    op.create_index("ix_reconciliation_runs_created", "reconciliation_runs", ["created_at", "id"])
    op.create_table(
        "reconciliation_mismatches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(48), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=True),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_reconciliation_mismatches_run", "reconciliation_mismatches", ["run_id", "position"])


def downgrade() -> None:
    op.drop_index("ix_reconciliation_mismatches_run", table_name="reconciliation_mismatches")
    op.drop_table("reconciliation_mismatches")
    op.drop_index("ix_reconciliation_runs_created", table_name="reconciliation_runs")
    op.drop_table("reconciliation_runs")
