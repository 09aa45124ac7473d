"""Pydantic read models of a profile (CLI ``--json`` and, later, the HTTP API)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel

__all__ = ["IdentifierRead", "ProfileRead"]


class IdentifierRead(BaseModel):
    value: str
    verified: bool
    shared: bool
    source: str


class ProfileRead(BaseModel):
    """Money is serialized as a decimal string (``"215.49"``), never a float."""

    id: str
    name: str | None  # the name the customer last gave; display only, never links
    lifetime_value: Decimal
    currency: str
    total_orders: int
    average_order_value: Decimal
    profile_strength: int
    identifiers: dict[str, list[IdentifierRead]]
    first_order_at: datetime | None
    last_order_at: datetime | None
    last_seen_at: datetime | None
    channels: list[str]
    event_count: int
    created_at: datetime
    merged_from: list[str]
