"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 04:29:45.913784
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import constintel.db.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "brand",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("default_region", sa.String(length=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column(
            "settings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", constintel.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_brand")),
        sa.UniqueConstraint("name", name=op.f("uq_brand_name")),
    )
    op.create_table(
        "customer_profile",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("brand_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("merged_into_id", sa.String(length=36), nullable=True),
        sa.Column(
            "identifiers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("lifetime_value", constintel.db.types.Money(), nullable=False),
        sa.Column("total_orders", sa.Integer(), nullable=False),
        sa.Column("average_order_value", constintel.db.types.Money(), nullable=False),
        sa.Column("first_order_at", constintel.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_order_at", constintel.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", constintel.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("profile_strength", sa.Integer(), nullable=False),
        sa.Column(
            "channels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("created_at", constintel.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", constintel.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["brand_id"], ["brand.id"], name=op.f("fk_customer_profile_brand_id_brand")
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["customer_profile.id"],
            name=op.f("fk_customer_profile_merged_into_id_customer_profile"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_profile")),
    )
    with op.batch_alter_table("customer_profile", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_profile_brand_ltv", ["brand_id", "lifetime_value"], unique=False
        )
        batch_op.create_index("ix_customer_profile_merged_into", ["merged_into_id"], unique=False)

    op.create_table(
        "merge_request",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("brand_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column(
            "profile_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "matched_on",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=36), nullable=True),
        sa.Column("attached_profile_id", sa.String(length=36), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", constintel.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", constintel.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["brand_id"], ["brand.id"], name=op.f("fk_merge_request_brand_id_brand")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merge_request")),
    )
    with op.batch_alter_table("merge_request", schema=None) as batch_op:
        batch_op.create_index("ix_merge_request_brand_status", ["brand_id", "status"], unique=False)

    op.create_table(
        "rejected_payload",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("brand_id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=True),
        sa.Column("topic", sa.String(length=64), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("error_field", sa.String(length=200), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=300), nullable=True),
        sa.Column("line_no", sa.Integer(), nullable=True),
        sa.Column("created_at", constintel.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("replayed_at", constintel.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["brand_id"], ["brand.id"], name=op.f("fk_rejected_payload_brand_id_brand")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejected_payload")),
    )
    with op.batch_alter_table("rejected_payload", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rejected_payload_brand_created", ["brand_id", "created_at"], unique=False
        )

    op.create_table(
        "customer_identifier",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("brand_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.Column("customer_profile_id", sa.String(length=36), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("first_seen_at", constintel.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["brand_id"], ["brand.id"], name=op.f("fk_customer_identifier_brand_id_brand")
        ),
        sa.ForeignKeyConstraint(
            ["customer_profile_id"],
            ["customer_profile.id"],
            name=op.f("fk_customer_identifier_customer_profile_id_customer_profile"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_identifier")),
        sa.UniqueConstraint(
            "brand_id", "kind", "value", name=op.f("uq_customer_identifier_brand_id_kind_value")
        ),
    )
    with op.batch_alter_table("customer_identifier", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_identifier_profile", ["customer_profile_id"], unique=False
        )

    op.create_table(
        "customer_order",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("brand_id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("customer_profile_id", sa.String(length=36), nullable=True),
        sa.Column("order_number", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("financial_status", sa.String(length=40), nullable=True),
        sa.Column("fulfillment_status", sa.String(length=40), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", constintel.db.types.Money(), nullable=True),
        sa.Column("refunded", constintel.db.types.Money(), nullable=False),
        sa.Column("net", constintel.db.types.Money(), nullable=False),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.Column(
            "refunds",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("placed_at", constintel.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "source_updated_at", constintel.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("store_id", sa.String(length=64), nullable=True),
        sa.Column("test", sa.Boolean(), nullable=False),
        sa.Column(
            "line_items",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", constintel.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", constintel.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["brand_id"], ["brand.id"], name=op.f("fk_customer_order_brand_id_brand")
        ),
        sa.ForeignKeyConstraint(
            ["customer_profile_id"],
            ["customer_profile.id"],
            name=op.f("fk_customer_order_customer_profile_id_customer_profile"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_order")),
        sa.UniqueConstraint(
            "brand_id",
            "source",
            "external_id",
            name=op.f("uq_customer_order_brand_id_source_external_id"),
        ),
    )
    with op.batch_alter_table("customer_order", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_order_brand_placed", ["brand_id", "placed_at"], unique=False
        )
        batch_op.create_index("ix_customer_order_profile", ["customer_profile_id"], unique=False)

    op.create_table(
        "customer_raw_event",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("brand_id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=True),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("customer_profile_id", sa.String(length=36), nullable=True),
        sa.Column("order_id", sa.String(length=36), nullable=True),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", constintel.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", constintel.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["brand_id"], ["brand.id"], name=op.f("fk_customer_raw_event_brand_id_brand")
        ),
        sa.ForeignKeyConstraint(
            ["customer_profile_id"],
            ["customer_profile.id"],
            name=op.f("fk_customer_raw_event_customer_profile_id_customer_profile"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_raw_event")),
        sa.UniqueConstraint(
            "brand_id", "dedupe_key", name=op.f("uq_customer_raw_event_brand_id_dedupe_key")
        ),
    )
    with op.batch_alter_table("customer_raw_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_raw_event_brand_type_created",
            ["brand_id", "event_type", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_customer_raw_event_profile", ["customer_profile_id"], unique=False
        )

    op.create_table(
        "profile_merge",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("brand_id", sa.String(length=36), nullable=False),
        sa.Column("survivor_id", sa.String(length=36), nullable=False),
        sa.Column("merged_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column(
            "matched_on",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "moved",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "merged_snapshot",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("request_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", constintel.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("undone_at", constintel.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("undone_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["brand_id"], ["brand.id"], name=op.f("fk_profile_merge_brand_id_brand")
        ),
        sa.ForeignKeyConstraint(
            ["merged_id"],
            ["customer_profile.id"],
            name=op.f("fk_profile_merge_merged_id_customer_profile"),
        ),
        sa.ForeignKeyConstraint(
            ["survivor_id"],
            ["customer_profile.id"],
            name=op.f("fk_profile_merge_survivor_id_customer_profile"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profile_merge")),
    )
    with op.batch_alter_table("profile_merge", schema=None) as batch_op:
        batch_op.create_index("ix_profile_merge_merged", ["merged_id"], unique=False)
        batch_op.create_index("ix_profile_merge_survivor", ["survivor_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("profile_merge", schema=None) as batch_op:
        batch_op.drop_index("ix_profile_merge_survivor")
        batch_op.drop_index("ix_profile_merge_merged")

    op.drop_table("profile_merge")
    with op.batch_alter_table("customer_raw_event", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_raw_event_profile")
        batch_op.drop_index("ix_customer_raw_event_brand_type_created")

    op.drop_table("customer_raw_event")
    with op.batch_alter_table("customer_order", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_order_profile")
        batch_op.drop_index("ix_customer_order_brand_placed")

    op.drop_table("customer_order")
    with op.batch_alter_table("customer_identifier", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_identifier_profile")

    op.drop_table("customer_identifier")
    with op.batch_alter_table("rejected_payload", schema=None) as batch_op:
        batch_op.drop_index("ix_rejected_payload_brand_created")

    op.drop_table("rejected_payload")
    with op.batch_alter_table("merge_request", schema=None) as batch_op:
        batch_op.drop_index("ix_merge_request_brand_status")

    op.drop_table("merge_request")
    with op.batch_alter_table("customer_profile", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_profile_merged_into")
        batch_op.drop_index("ix_customer_profile_brand_ltv")

    op.drop_table("customer_profile")
    op.drop_table("brand")
