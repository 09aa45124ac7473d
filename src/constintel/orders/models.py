"""The order entity. Events are history; the order row is the current state."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from constintel.db.base import Base
from constintel.db.types import JSONDoc, Money, UTCDateTime

__all__ = ["CustomerOrder", "OrderDay"]


class CustomerOrder(Base):
    __tablename__ = "customer_order"
    __table_args__ = (
        UniqueConstraint("brand_id", "source", "external_id"),
        Index("ix_customer_order_profile", "customer_profile_id"),
        # (brand_id, placed_at) look-ups use dashboard.models.ORDERS_BY_DAY.
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(36), ForeignKey("brand.id"))
    source: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(100))
    customer_profile_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("customer_profile.id"), nullable=True
    )
    order_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # None until a payload carrying the order itself arrives (a refund can come first).
    status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    financial_status: Mapped[str | None] = mapped_column(String(40), nullable=True)
    fulfillment_status: Mapped[str | None] = mapped_column(String(40), nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    refunded: Mapped[Decimal] = mapped_column(Money)
    # What the order is worth to lifetime value: 0 if cancelled/test/unknown, else
    # max(total - refunded, 0). Kept on the row so statistics are a plain SUM.
    net: Mapped[Decimal] = mapped_column(Money)
    # Whether the order counts in total_orders (not cancelled, not test, total known).
    counted: Mapped[bool] = mapped_column(Boolean)
    # refund id -> amount (decimal string): the union of every refund seen, so redelivered
    # refunds and refunds embedded again in order updates never double-count.
    refunds: Mapped[dict[str, str]] = mapped_column(JSONDoc, default=dict)
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    source_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    channel: Mapped[str] = mapped_column(String(20))
    store_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    test: Mapped[bool] = mapped_column(Boolean, default=False)
    line_items: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OrderDay(Base):
    """Revenue (sum of ``net``) and number of counted orders per brand day (in the brand's
    timezone) and channel: a rollup of ``customer_order`` that the write path keeps in the same
    transaction as the orders, so the dashboard reads a year in a few hundred rows.
    ``stats recompute`` rebuilds it from the orders and reports any drift."""

    __tablename__ = "order_day"

    brand_id: Mapped[str] = mapped_column(String(36), ForeignKey("brand.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    revenue: Mapped[Decimal] = mapped_column(Money)
    orders: Mapped[int] = mapped_column(Integer)
