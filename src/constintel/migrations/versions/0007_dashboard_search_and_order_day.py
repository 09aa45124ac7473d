"""profile name (search by name) and the order_day rollup (the overview over long ranges)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 12:40:00
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import constintel.db.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customer_profile") as batch:
        batch.add_column(sa.Column("name", sa.String(length=200), nullable=True))
    order_day = op.create_table(
        "order_day",
        sa.Column("brand_id", sa.String(length=36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("revenue", constintel.db.types.Money(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["brand_id"], ["brand.id"], name=op.f("fk_order_day_brand_id_brand")
        ),
        sa.PrimaryKeyConstraint("brand_id", "day", "channel", name=op.f("pk_order_day")),
    )
    # The rollup of the orders already stored, per brand day (the brand's timezone).
    bind = op.get_bind()
    orders = sa.table(
        "customer_order",
        sa.column("brand_id", sa.String()),
        sa.column("placed_at", constintel.db.types.UTCDateTime()),
        sa.column("channel", sa.String()),
        sa.column("net", constintel.db.types.Money()),
        sa.column("counted", sa.Boolean()),
    )
    brands = bind.execute(sa.text("SELECT id, timezone FROM brand")).all()
    for brand_id, timezone in brands:
        zone = ZoneInfo(timezone or "UTC")
        totals: dict[tuple[object, str], list[object]] = defaultdict(lambda: [Decimal(0), 0])
        for placed_at, channel, net in bind.execute(
            sa.select(orders.c.placed_at, orders.c.channel, orders.c.net).where(
                orders.c.brand_id == brand_id,
                orders.c.counted.is_(True),
                orders.c.placed_at.is_not(None),
            )
        ):
            entry = totals[(placed_at.astimezone(zone).date(), channel)]
            entry[0] += net
            entry[1] += 1  # type: ignore[operator]
        if totals:
            op.bulk_insert(
                order_day,
                [
                    {"brand_id": brand_id, "day": d, "channel": c, "revenue": r, "orders": n}
                    for (d, c), (r, n) in sorted(totals.items())
                ],
            )

    # Columns no query filters on, whose statistics would only make ANALYZE slow (it samples
    # 30,000 rows of them): a running drain analyzes the tables it grows (see
    # db.maintenance.analyze_stale), so each analysis should cost little.
    if bind.dialect.name == "postgresql":
        for table, column in NO_STATISTICS:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET STATISTICS 0")


NO_STATISTICS = (
    ("customer_raw_event", "payload"),
    ("webhook_delivery", "body"),
    ("outbox", "payload"),
    ("customer_order", "line_items"),
    ("customer_order", "refunds"),
    ("rejected_payload", "body"),
)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, column in NO_STATISTICS:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET STATISTICS -1")
    op.drop_table("order_day")
    with op.batch_alter_table("customer_profile") as batch:
        batch.drop_column("name")
