"""Stored events (the seed's ``customer_raw_event``) and rejected payloads kept for replay."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from constintel.db.base import Base
from constintel.db.types import JSONDoc, UTCDateTime

__all__ = ["CustomerRawEvent", "RejectedPayload"]


class CustomerRawEvent(Base):
    """One accepted event with its raw payload. ``dedupe_key`` (a hash of source, topic and
    payload bytes, or the platform's delivery id) makes redelivery a no-op."""

    __tablename__ = "customer_raw_event"
    __table_args__ = (
        UniqueConstraint("brand_id", "dedupe_key"),
        Index("ix_customer_raw_event_brand_type_created", "brand_id", "event_type", "created_at"),
        Index("ix_customer_raw_event_profile", "customer_profile_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(36), ForeignKey("brand.id"))
    source: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str | None] = mapped_column(String(64), nullable=True)
    event_type: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    customer_profile_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("customer_profile.id"), nullable=True
    )
    order_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    dedupe_key: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RejectedPayload(Base):
    """A payload that could not be accepted, kept byte-for-byte with its error for replay."""

    __tablename__ = "rejected_payload"
    __table_args__ = (Index("ix_rejected_payload_brand_created", "brand_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(36), ForeignKey("brand.id"))
    source: Mapped[str | None] = mapped_column(String(20), nullable=True)
    topic: Mapped[str | None] = mapped_column(String(64), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    error_field: Mapped[str | None] = mapped_column(String(200), nullable=True)
    error: Mapped[str] = mapped_column(Text)
    origin: Mapped[str | None] = mapped_column(String(300), nullable=True)  # e.g. "file.jsonl:17"
    line_no: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    replayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
