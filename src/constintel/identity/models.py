"""The identifier table: one row per (brand, kind, normalized value), owned by one profile."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from constintel.db.base import Base
from constintel.db.types import UTCDateTime

__all__ = ["CustomerIdentifier"]


class CustomerIdentifier(Base):
    """The uniqueness constraint makes matching an index lookup and makes two concurrent
    webhooks for one new customer unable to create two owners of the same email."""

    __tablename__ = "customer_identifier"
    __table_args__ = (
        UniqueConstraint("brand_id", "kind", "value"),
        Index("ix_customer_identifier_profile", "customer_profile_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(36), ForeignKey("brand.id"))
    kind: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(320))
    customer_profile_id: Mapped[str] = mapped_column(String(36), ForeignKey("customer_profile.id"))
    # False for a phone number phonenumbers could not validate (kept as +digits).
    verified: Mapped[bool] = mapped_column(Boolean, default=True)
    # True once the identifier linked more people than the brand's cap: it no longer links.
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(20))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
