"""Dashboard logins: a random token in an HttpOnly cookie, only its hash stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from constintel.db.base import Base
from constintel.db.types import UTCDateTime
from constintel.orders.models import CustomerOrder

__all__ = ["ORDERS_BY_DAY", "DashboardSession"]


class DashboardSession(Base):
    __tablename__ = "dashboard_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


# The overview reads a date range of a brand's orders: on PostgreSQL this index covers the
# columns it sums, so the scan reads the index alone (with the visibility map kept by
# autovacuum), not a million scattered table rows.
ORDERS_BY_DAY = Index(
    "ix_customer_order_brand_placed_cover",
    CustomerOrder.brand_id,
    CustomerOrder.placed_at,
    postgresql_include=["net", "channel", "customer_profile_id", "counted"],
)
