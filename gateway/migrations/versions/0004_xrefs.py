"""The cross-reference store: one canonical id per business object, one vendor id per system.

Revision ID: 0004_xrefs
Revises: 0003_client_lifecycle
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_xrefs"
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


def downgrade() -> None:
    op.drop_index("ux_xrefs_vendor", table_name="xrefs")
    op.drop_table("xrefs")
