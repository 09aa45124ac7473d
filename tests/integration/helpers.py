"""Reading state back for assertions (through the same services the CLI uses)."""

from __future__ import annotations

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
