"""The webhook inbox: every verified delivery, stored before it is acknowledged."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from constintel.db.base import Base
from constintel.db.types import UTCDateTime

__all__ = ["WebhookDelivery"]


class WebhookDelivery(Base):
    """One verified delivery. ``delivery_id`` is the platform's idempotency key
    (X-Shopify-Webhook-Id, X-WC-Webhook-Delivery-ID, Square's event_id; a body hash when a
    sender gives none), so a redelivery is stored once. ``processed_at`` is set when the
    drain has run it through the write path."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("brand_id", "source", "delivery_id"),
        # The drain's queue: only unprocessed rows are indexed.
        Index(
            "ix_webhook_delivery_pending",
            "id",
            postgresql_where=text("processed_at IS NULL"),
            sqlite_where=text("processed_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # UUIDv7: arrival order
    brand_id: Mapped[str] = mapped_column(String(36), ForeignKey("brand.id"))
    source: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str | None] = mapped_column(String(64), nullable=True)
    delivery_id: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # "imported", "duplicate", "rejected: ...": what the write path made of it.
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
