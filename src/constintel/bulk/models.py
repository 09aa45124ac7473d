"""Import jobs started over the API: an uploaded file imported in the background."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from constintel.db.base import Base
from constintel.db.types import JSONDoc, UTCDateTime

__all__ = ["ImportJob"]


class ImportJob(Base):
    __tablename__ = "import_job"
    __table_args__ = (Index("ix_import_job_brand_created", "brand_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(36), ForeignKey("brand.id"))
    filename: Mapped[str] = mapped_column(String(300))
    source: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # queued -> running -> done | failed
    status: Mapped[str] = mapped_column(String(10), default="queued")
    total_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    processed_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    # The import summary (BatchResult counts and the first rejections).
    result: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
