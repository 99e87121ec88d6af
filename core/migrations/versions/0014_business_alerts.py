"""Business alerts: each alert's state, the evaluation periods done, the vendor circuits reported.

``business_alerts`` holds one row per alert (pending, firing or resolved; resolved rows stay as
history); ``active_key`` (``<rule>|<subject>``) is set while the alert is pending or firing and
unique, so two evaluations can never open the same alert twice. ``alert_evaluations`` has one
row per evaluation period: the evaluation that inserts it is the one that runs.
``vendor_circuit_reports`` is what each process last saw of its circuit breakers (they live in
process memory; see ``apis.process.alerts.circuits``).

Revision ID: 0014_business_alerts
Revises: 0013_workflow_executors
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_business_alerts"
down_revision: str | None = "0013_workflow_executors"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "business_alerts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("active_key", sa.String(270), nullable=True, unique=True),
        sa.Column("summary", sa.String(500), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("since", sa.Float, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("fired_at", sa.Float, nullable=True),
        sa.Column("last_notified_at", sa.Float, nullable=True),
        sa.Column("notifications", sa.Integer, nullable=False),
        sa.Column("resolved_at", sa.Float, nullable=True),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_business_alerts_created", "business_alerts", ["created_at", "id"])
    op.create_table(
        "alert_evaluations",
        sa.Column("period", sa.String(40), primary_key=True),
        sa.Column("evaluated_at", sa.Float, nullable=False),
        sa.Column("evaluated_by", sa.String(200), nullable=True),
    )
    op.create_table(
        "vendor_circuit_reports",
        sa.Column("reporter", sa.String(200), primary_key=True),
        sa.Column("vendor", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("not_closed_since", sa.Float, nullable=True),
        sa.Column("reported_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("vendor_circuit_reports")
    op.drop_table("alert_evaluations")
    op.drop_index("ix_business_alerts_created", table_name="business_alerts")
    op.drop_table("business_alerts")
