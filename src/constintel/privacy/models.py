"""Erased identifiers: a hashed suppression list, so replays cannot re-create an erased
person."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from constintel.db.base import Base
from constintel.db.types import UTCDateTime

__all__ = ["ErasedIdentifier"]


class ErasedIdentifier(Base):
    """A normalized identifier of an erased person, kept only as a SHA-256 of
    ``brand_id:kind:value`` (so the list itself holds no personal data)."""

    __tablename__ = "erased_identifier"
    __table_args__ = (UniqueConstraint("brand_id", "kind", "value_hash"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(36), ForeignKey("brand.id"))
    kind: Mapped[str] = mapped_column(String(32))
    value_hash: Mapped[str] = mapped_column(String(64))
    profile_id: Mapped[str] = mapped_column(String(36))
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime)
