"""Request and response bodies of the REST API. Money is a decimal string, times are UTC."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from constintel.predictions.schemas import ProfileWithPrediction

__all__ = [
    "EventRead",
    "EventsPage",
    "ImportJobRead",
    "IngestSummary",
    "LinkRequest",
    "OrderRead",
    "OrdersPage",
    "ProfilesPage",
    "ReviewItem",
    "UnmergeResult",
]


class ProfilesPage(BaseModel):
    items: list[ProfileWithPrediction]
    next_offset: int | None = Field(
        description="Pass as ?offset= for the next page; null at the end."
    )


class EventRead(BaseModel):
    id: str
    source: str
    topic: str | None
    event_type: str
    channel: str
    customer_profile_id: str | None
    order_id: str | None
    occurred_at: datetime
    created_at: datetime
    payload: Any


class EventsPage(BaseModel):
    items: list[EventRead]
    next_offset: int | None


class OrderRead(BaseModel):
    id: str
    source: str
    external_id: str
    customer_profile_id: str | None
    order_number: str | None
    status: str | None
    financial_status: str | None
    fulfillment_status: str | None
    currency: str
    total: Decimal | None
    refunded: Decimal
    net: Decimal
    counted: bool
    placed_at: datetime | None
    channel: str
    store_id: str | None
    test: bool
    line_items: list[dict[str, Any]]


class OrdersPage(BaseModel):
    items: list[OrderRead]
    next_offset: int | None


class RejectionRead(BaseModel):
    index: int
    field: str
    reason: str


class IngestSummary(BaseModel):
    received: int
    imported: int
    duplicates: int
    unattached: int
    created_profiles: int
    merges: int
    reviews: int
    rejected: int
    rejections: list[RejectionRead]
    profile_ids: list[str] = Field(description="Profiles these events touched (after merges).")


class ReviewItem(BaseModel):
    id: str
    status: str
    reason: str
    profile_ids: list[str]
    matched_on: list[dict[str, str]]
    event_id: str | None
    attached_profile_id: str | None
    detail: str
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None


class ApproveResult(BaseModel):
    survivor_id: str


class UnmergeResult(BaseModel):
    survivor_id: str
    restored_id: str


class LinkRequest(BaseModel):
    profile_id: str = Field(min_length=1, max_length=36)


class LinkResult(BaseModel):
    event_id: str
    profile_id: str


class ErasureResult(BaseModel):
    erased: bool
    removed: dict[str, int]


class ImportJobRead(BaseModel):
    id: str
    filename: str
    source: str | None
    status: str = Field(description="queued, running, done or failed")
    total_bytes: int
    total_lines: int | None
    received: int = Field(description="Lines read so far (progress: received / total_lines).")
    result: dict[str, Any]
    error: str | None
    created_at: datetime
    finished_at: datetime | None
