"""Partner webhook subscriptions, their deliveries and every delivery attempt.

``partner_webhook_subscriptions``: one row per URL a partner registered, with the event types
it receives; the signing secret (Standard Webhooks, ``whsec_…``) is stored encrypted with the
master key (JWE, like the signing keys), because signing needs its plaintext; after a rotation
the replaced secret is kept, encrypted, until ``previous_secret_expires_at``.

``partner_webhook_deliveries``: one row per (subscription, event) — unique, so an event the
outbox relays twice is enqueued once — with its state (``pending``, ``delivered``, ``failed``
with a retry due at ``next_attempt_at``, ``dead``), the attempt count and the last outcome.
``claimed_by`` / ``claimed_until`` is the lease of the worker attempting it now.

``partner_webhook_attempts``: the delivery log, one row per attempt (status code, error,
duration).

Revision ID: 0010_partner_webhooks
Revises: 0009_console_sessions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_partner_webhooks"
down_revision: str | None = "0009_console_sessions"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "partner_webhook_subscriptions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("event_types", sa.Text, nullable=False),
        sa.Column("description", sa.String(500), nullable=True),
        sa.Column("secret_sealed", sa.Text, nullable=False),
        sa.Column("previous_secret_sealed", sa.Text, nullable=True),
        sa.Column("previous_secret_expires_at", sa.Float, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_partner_webhook_subscriptions_partner", "partner_webhook_subscriptions", ["partner_id"])
    op.create_table(
        "partner_webhook_deliveries",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("subscription_id", sa.String(40), nullable=False),
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(80), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_until", sa.Float, nullable=True),
        sa.Column("last_status_code", sa.Integer, nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("last_attempt_at", sa.Float, nullable=True),
        sa.Column("delivered_at", sa.Float, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("subscription_id", "event_id", name="ux_partner_webhook_deliveries_event"),
    )
    op.create_index("ix_partner_webhook_deliveries_due", "partner_webhook_deliveries", ["status", "next_attempt_at"])
    op.create_index(
        "ix_partner_webhook_deliveries_subscription", "partner_webhook_deliveries", ["subscription_id", "id"]
    )
    op.create_table(
        "partner_webhook_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("delivery_id", sa.String(40), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("duration_ms", sa.Integer, nullable=False),
    )
    op.create_index("ix_partner_webhook_attempts_delivery", "partner_webhook_attempts", ["delivery_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_partner_webhook_attempts_delivery", table_name="partner_webhook_attempts")
    op.drop_table("partner_webhook_attempts")
    op.drop_index("ix_partner_webhook_deliveries_subscription", table_name="partner_webhook_deliveries")
    op.drop_index("ix_partner_webhook_deliveries_due", table_name="partner_webhook_deliveries")
    op.drop_table("partner_webhook_deliveries")
    op.drop_index("ix_partner_webhook_subscriptions_partner", table_name="partner_webhook_subscriptions")
    op.drop_table("partner_webhook_subscriptions")
