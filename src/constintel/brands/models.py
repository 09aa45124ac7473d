"""The brand: the tenant every row belongs to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from constintel.core.clock import utcnow
from constintel.db.base import Base
from constintel.db.types import JSONDoc, UTCDateTime

__all__ = ["Brand"]


class Brand(Base):
    __tablename__ = "brand"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # ISO 3166 alpha-2 region used to read phone numbers written without a country code.
    default_region: Mapped[str] = mapped_column(String(2), default="US")
    # The brand's reporting currency; lifetime value is kept in it.
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # BrandSettings (see constintel.brands.settings) as JSON.
    settings: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
