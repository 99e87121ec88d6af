"""What a person knows a transaction by: the customer's name, the deal and its amount.

``process_transactions.about`` (JSON, nullable) is written by a workflow once it has read what
the transaction is about (quote-to-cash: the CRM opportunity and its account), so the operations
API and the console can show "Fabrikam Cloud, Platform deal, 15,600.00 USD" beside ``txn_…``.
Transactions from before this revision have none.

Revision ID: 0015_transaction_about
Revises: 0014_business_alerts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_transaction_about"
down_revision: str | None = "0014_business_alerts"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("process_transactions") as batch:
        batch.add_column(sa.Column("about", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("process_transactions") as batch:
        batch.drop_column("about")
