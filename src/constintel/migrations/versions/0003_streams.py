"""streams: outbox, handled messages, product intent

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 07:12:53.679707
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import constintel.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handled_message",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("consumer_group", sa.String(length=40), nullable=False),
        sa.Column("outbox_id", sa.BigInteger(), nullable=False),
        sa.Column("handled_at", constintel.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handled_message")),
        sa.UniqueConstraint(
            "consumer_group", "outbox_id", name=op.f("uq_handled_message_consumer_group_outbox_id")
        ),
    )
    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("brand_id", sa.String(length=36), nullable=False),
        sa.Column("stream", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=36), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", constintel.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", constintel.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_unsent",
            ["partition", "id"],
            unique=False,
            postgresql_where=sa.text("sent_at IS NULL"),
            sqlite_where=sa.text("sent_at IS NULL"),
        )

    op.create_table(
        "product_intent",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("brand_id", sa.String(length=36), nullable=False),
        sa.Column("customer_profile_id", sa.String(length=36), nullable=False),
        sa.Column("product_id", sa.String(length=100), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("cart_adds", sa.Integer(), nullable=False),
        sa.Column("purchases", sa.Integer(), nullable=False),
        sa.Column("last_event_at", constintel.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_intent")),
        sa.UniqueConstraint(
            "brand_id",
            "customer_profile_id",
            "product_id",
            name=op.f("uq_product_intent_brand_id_customer_profile_id_product_id"),
        ),
    )
    with op.batch_alter_table("product_intent", schema=None) as batch_op:
        batch_op.create_index("ix_product_intent_profile", ["customer_profile_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("product_intent", schema=None) as batch_op:
        batch_op.drop_index("ix_product_intent_profile")

    op.drop_table("product_intent")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_outbox_unsent",
            postgresql_where=sa.text("sent_at IS NULL"),
            sqlite_where=sa.text("sent_at IS NULL"),
        )

    op.drop_table("outbox")
    op.drop_table("handled_message")
