"""The customer profile (seed names kept), merge records and the merge review queue."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from constintel.db.base import Base
from constintel.db.types import JSONDoc, Money, UTCDateTime

__all__ = ["CustomerProfile", "MergeRequest", "ProfileMerge"]


class CustomerProfile(Base):
    __tablename__ = "customer_profile"
    __table_args__ = (
        Index("ix_customer_profile_brand_ltv", "brand_id", "lifetime_value"),
        Index("ix_customer_profile_merged_into", "merged_into_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(36), ForeignKey("brand.id"))
    # "active", or "merged" (then merged_into_id names the profile it now lives in).
    status: Mapped[str] = mapped_column(String(10), default="active")
    merged_into_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("customer_profile.id"), nullable=True
    )
    # Denormalized snapshot {kind: primary value, ...} for the seed's SQL; the identifier
    # table is the source of truth.
    identifiers: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    # The name the customer last gave (first and last name of an order's customer or billing
    # address); display and search only, never used to link profiles.
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lifetime_value: Mapped[Decimal] = mapped_column(Money)
    total_orders: Mapped[int] = mapped_column(Integer, default=0)
    average_order_value: Mapped[Decimal] = mapped_column(Money)
    first_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    profile_strength: Mapped[int] = mapped_column(Integer, default=0)
    channels: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProfileMerge(Base):
    """One profile merged into another: who, why, and what moved, so it can be undone."""

    __tablename__ = "profile_merge"
    __table_args__ = (
        Index("ix_profile_merge_survivor", "survivor_id"),
        Index("ix_profile_merge_merged", "merged_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(36), ForeignKey("brand.id"))
    survivor_id: Mapped[str] = mapped_column(String(36), ForeignKey("customer_profile.id"))
    merged_id: Mapped[str] = mapped_column(String(36), ForeignKey("customer_profile.id"))
    reason: Mapped[str] = mapped_column(String(40))  # auto_match | review_approved
    actor: Mapped[str] = mapped_column(String(100))  # "system" or the operator
    # The identifiers that tied the two together: [{"kind": ..., "value": ...}].
    matched_on: Mapped[list[dict[str, str]]] = mapped_column(JSONDoc, default=list)
    # Ids of the merged profile's identifier, event and order rows at merge time.
    moved: Mapped[dict[str, list[str]]] = mapped_column(JSONDoc, default=dict)
    # The merged profile's row as it was (statistics, snapshot, created_at).
    merged_snapshot: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    undone_by: Mapped[str | None] = mapped_column(String(100), nullable=True)


class MergeRequest(Base):
    """A merge the engine would not do on its own, waiting for an operator."""

    __tablename__ = "merge_request"
    __table_args__ = (Index("ix_merge_request_brand_status", "brand_id", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(36), ForeignKey("brand.id"))
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending|approved|rejected
    # too_many_matches | shared_identifier
    reason: Mapped[str] = mapped_column(String(40))
    profile_ids: Mapped[list[str]] = mapped_column(JSONDoc)
    matched_on: Mapped[list[dict[str, str]]] = mapped_column(JSONDoc, default=list)
    event_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    attached_profile_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
