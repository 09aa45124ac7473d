"""Dashboard logins: a random token in an HttpOnly cookie, only its hash stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from constintel.db.base import Base
from constintel.db.types import UTCDateTime

__all__ = ["DashboardSession"]


class DashboardSession(Base):
    __tablename__ = "dashboard_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
