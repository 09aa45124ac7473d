"""drop ix_customer_order_brand_placed: ix_customer_order_brand_placed_cover (0006) has the
same key columns, so every order written paid for two identical index entries

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 19:05:00
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_customer_order_brand_placed", table_name="customer_order")


def downgrade() -> None:
    op.create_index(
        "ix_customer_order_brand_placed", "customer_order", ["brand_id", "placed_at"], unique=False
    )
