"""Reading state back for assertions (through the same services the CLI uses)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select

from constintel.brands import service as brands
from constintel.db.session import transaction
from constintel.identity.models import CustomerIdentifier
from constintel.ingest.models import CustomerRawEvent
from constintel.orders.models import CustomerOrder
from constintel.pipeline import BrandContext
from constintel.profiles import service as profiles
from constintel.profiles.models import CustomerProfile, MergeRequest
from constintel.profiles.schemas import ProfileRead


def order_row(brand_id: str, external_id: str, at: datetime, **changes: Any) -> dict[str, Any]:
    """A stored ``customer_order`` row, every column present (for ``db.bulk.insert_rows``):
    a paid, counted USD 10.00 online order placed at ``at``, with ``changes`` applied."""
    row: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "brand_id": brand_id,
        "source": "api",
        "external_id": external_id,
        "customer_profile_id": None,
        "order_number": "#1",
        "status": "placed",
        "financial_status": "paid",
        "fulfillment_status": None,
        "currency": "USD",
        "total": Decimal("10.00"),
        "refunded": Decimal("0"),
        "net": Decimal("10.00"),
        "counted": True,
        "refunds": {},
        "placed_at": at,
        "source_updated_at": at,
        "channel": "online",
        "store_id": None,
        "test": False,
        "line_items": [],
        "created_at": at,
        "updated_at": at,
    }
    assert changes.keys() <= row.keys(), changes.keys() - row.keys()
    return row | changes


def profile_by(engine: Engine, ctx: BrandContext, kind: str, value: str) -> ProfileRead:
    with transaction(engine) as session:
        brand = brands.get(session, ref=ctx.brand_id)
        row = profiles.find_by_identifier(session, brand=brand, kind=kind, value=value)
        return profiles.read(session, brand=brand, row=row)


def profile_id(engine: Engine, ctx: BrandContext, pid: str) -> ProfileRead:
    with transaction(engine) as session:
        brand = brands.get(session, ref=ctx.brand_id)
        row = profiles.get(session, brand=brand, profile_id=pid)
        return profiles.read(session, brand=brand, row=row)


def count(engine: Engine, ctx: BrandContext, model: Any, *where: Any) -> int:
    with transaction(engine) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(model)
                .where(model.brand_id == ctx.brand_id, *where)
            )
            or 0
        )


def active_profiles(engine: Engine, ctx: BrandContext) -> int:
    return count(engine, ctx, CustomerProfile, CustomerProfile.status == "active")


def events_of(engine: Engine, ctx: BrandContext, pid: str) -> int:
    return count(engine, ctx, CustomerRawEvent, CustomerRawEvent.customer_profile_id == pid)


def pending_requests(engine: Engine, ctx: BrandContext) -> list[Any]:
    with transaction(engine) as session:
        return list(
            session.scalars(
                select(MergeRequest).where(
                    MergeRequest.brand_id == ctx.brand_id, MergeRequest.status == "pending"
                )
            ).all()
        )


__all__ = [
    "CustomerIdentifier",
    "CustomerOrder",
    "active_profiles",
    "count",
    "events_of",
    "pending_requests",
    "profile_by",
    "profile_id",
]
