"""Profile use cases: look-ups, the review queue, unmerge, linking events, recompute."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from constintel.brands.models import Brand
from constintel.brands.settings import BrandSettings
from constintel.core.clock import utcnow
from constintel.core.errors import ConflictError, NotFoundError
from constintel.db.locks import lock_brand
from constintel.events.schemas import RawIdentifier
from constintel.identity import repository as identity_repo
from constintel.identity.normalize import normalize_identifiers
from constintel.ingest import repository as events_repo
from constintel.orders import repository as orders_repo
from constintel.profiles import merges
from constintel.profiles import repository as profiles_repo
from constintel.profiles.schemas import IdentifierRead, ProfileRead
from constintel.profiles.state import ProfileState, stat_values
from constintel.streams import outbox

__all__ = [
    "Drift",
    "approve_request",
    "find_by_identifier",
    "get",
    "link_event",
    "list_requests",
    "list_top",
    "normalize_lookup",
    "read",
    "recompute_all",
    "reject_request",
    "totals",
    "unmerge",
]


def _settings(brand: Brand) -> BrandSettings:
    return BrandSettings.from_json(brand.settings)


def normalize_lookup(brand: Brand, kind: str, value: str) -> str:
    """Normalize a look-up value exactly as ingestion does, so any formatting finds it."""
    found = normalize_identifiers([RawIdentifier(kind, value)], region=brand.default_region)
    if not found:
        raise NotFoundError(f"{value!r} is not a usable {kind}")
    return found[0].value


def find_by_identifier(session: Session, *, brand: Brand, kind: str, value: str) -> Any:
    normalized = normalize_lookup(brand, kind, value)
    row = profiles_repo.get_row_by_identifier(
        session, brand_id=brand.id, kind=kind, value=normalized
    )
    if row is None:
        raise NotFoundError(f"no profile with {kind} {normalized}")
    if row.merged_into_id is None:
        return row
    return merges.resolve(session, brand_id=brand.id, profile_id=row.id)


def get(session: Session, *, brand: Brand, profile_id: str) -> Any:
    """A live profile row; a merged-away id resolves to its survivor."""
    return merges.resolve(session, brand_id=brand.id, profile_id=profile_id)


def read(session: Session, *, brand: Brand, row: Any) -> ProfileRead:
    idents = identity_repo.list_for_profiles(session, brand_id=brand.id, profile_ids=[row.id])
    by_kind: dict[str, list[IdentifierRead]] = {}
    for ident in sorted(idents, key=lambda i: (i.kind, i.value)):
        by_kind.setdefault(ident.kind, []).append(
            IdentifierRead(
                value=ident.value, verified=ident.verified, shared=ident.shared, source=ident.source
            )
        )
    merged_from = [
        m.merged_id
        for m in profiles_repo.list_merges_into(session, brand_id=brand.id, survivor_id=row.id)
    ]
    return ProfileRead(
        id=row.id,
        name=row.name,
        lifetime_value=row.lifetime_value,
        currency=brand.currency,
        total_orders=row.total_orders,
        average_order_value=row.average_order_value,
        profile_strength=row.profile_strength,
        identifiers=by_kind,
        first_order_at=row.first_order_at,
        last_order_at=row.last_order_at,
        last_seen_at=row.last_seen_at,
        channels=list(row.channels or []),
        event_count=row.event_count,
        created_at=row.created_at,
        merged_from=merged_from,
    )


def list_top(session: Session, *, brand: Brand, limit: int) -> list[Any]:
    return profiles_repo.list_active(session, brand_id=brand.id, limit=limit)


def list_requests(session: Session, *, brand: Brand, status: str | None = "pending") -> list[Any]:
    return profiles_repo.list_requests(session, brand_id=brand.id, status=status)


def _pending_request(session: Session, brand: Brand, request_id: str) -> Any:
    request = profiles_repo.get_request(session, brand_id=brand.id, request_id=request_id)
    if request is None:
        raise NotFoundError(f"no review item {request_id}")
    if request.status != "pending":
        raise ConflictError(f"review item {request_id} is already {request.status}")
    return request


def approve_request(
    session: Session, *, brand: Brand, request_id: str, actor: str = "operator"
) -> str:
    """Merge every candidate of the request into the oldest; returns the survivor id."""
    lock_brand(session, brand.id)
    request = _pending_request(session, brand, request_id)
    now = utcnow()
    settings = _settings(brand)
    live = {
        row.id: row
        for row in (
            merges.resolve(session, brand_id=brand.id, profile_id=pid)
            for pid in request.profile_ids
        )
    }
    states = sorted((ProfileState.from_row(r) for r in live.values()), key=lambda s: s.age_key)
    survivor = states[0]
    for merged in states[1:]:
        merges.merge_profiles(
            session,
            brand_id=brand.id,
            survivor=survivor,
            merged=merged,
            reason="review_approved",
            actor=actor,
            matched_on=list(request.matched_on),
            now=now,
            request_id=request.id,
        )
    profiles_repo.update_many(
        session,
        [{"id": s.id, **stat_values(s, settings, brand.currency, now)} for s in states],
    )
    profiles_repo.update_request(
        session, request_id=request.id, status="approved", decided_at=now, decided_by=actor
    )
    outbox.write(
        session,
        [outbox.profile_updated(brand.id, survivor.id, "merge_approved", now)]
        + [
            outbox.profile_updated(brand.id, m.id, "merged", now, merged_into=survivor.id)
            for m in states[1:]
        ],
    )
    return survivor.id


def reject_request(
    session: Session, *, brand: Brand, request_id: str, actor: str = "operator"
) -> None:
    lock_brand(session, brand.id)
    request = _pending_request(session, brand, request_id)
    profiles_repo.update_request(
        session, request_id=request.id, status="rejected", decided_at=utcnow(), decided_by=actor
    )


def unmerge(
    session: Session, *, brand: Brand, merged_id: str, actor: str = "operator"
) -> tuple[str, str]:
    lock_brand(session, brand.id)
    now = utcnow()
    restored, survivor = merges.unmerge(
        session,
        brand_id=brand.id,
        merged_id=merged_id,
        actor=actor,
        settings=_settings(brand),
        currency=brand.currency,
        now=now,
    )
    outbox.profiles_updated(session, brand.id, [restored, survivor], "unmerged", now)
    return restored, survivor


def link_event(session: Session, *, brand: Brand, event_id: str, profile_id: str) -> str:
    """Attach an unattached event (and its order, if unattached) to a profile."""
    lock_brand(session, brand.id)
    event = events_repo.get(session, brand_id=brand.id, event_id=event_id)
    if event is None:
        raise NotFoundError(f"no event {event_id}")
    if event.customer_profile_id is not None:
        raise ConflictError(f"event {event_id} is already attached to {event.customer_profile_id}")
    target = merges.resolve(session, brand_id=brand.id, profile_id=profile_id)
    events_repo.assign(session, ids=[event.id], profile_id=target.id)
    if event.order_id is not None:
        order_rows = orders_repo.get_ids_unattached(session, ids=[event.order_id])
        orders_repo.assign(session, ids=order_rows, profile_id=target.id)
    now = utcnow()
    merges.recompute_profile(
        session, row=target, settings=_settings(brand), currency=brand.currency, now=now
    )
    outbox.profiles_updated(session, brand.id, [target.id], "event_linked", now)
    return str(target.id)


@dataclass(frozen=True, slots=True)
class Drift:
    profile_id: str
    field: str
    stored: Any
    recomputed: Any


def recompute_all(session: Session, *, brand: Brand) -> tuple[int, list[Drift]]:
    """Rebuild every live profile from its rows, and the brand's ``order_day`` rollup from its
    orders; returns (profiles checked, drifts found). A rollup drift reads
    ``Drift("order_day", "<day> <channel>", [revenue, orders] stored, ... recomputed)``."""
    lock_brand(session, brand.id)
    settings = _settings(brand)
    now = utcnow()
    drifts: list[Drift] = []
    ids = profiles_repo.list_active_ids(session, brand_id=brand.id)
    for row in profiles_repo.get_many(session, brand_id=brand.id, ids=ids):
        before, after = merges.recompute_profile(
            session, row=row, settings=settings, currency=brand.currency, now=now
        )
        for key, value in after.items():
            if key != "updated_at" and before[key] != value:
                drifts.append(Drift(row.id, key, before[key], value))
    for day, channel, stored, fresh in orders_repo.rebuild_days(
        session, brand_id=brand.id, timezone=brand.timezone
    ):
        drifts.append(Drift("order_day", f"{day} {channel}", stored, fresh))
    return len(ids), drifts


def totals(session: Session, *, brand: Brand) -> tuple[Decimal, Decimal]:
    """(sum of live profiles' lifetime value, sum of attached orders' net amounts): equal
    whenever the statistics are right."""
    return (
        Decimal(profiles_repo.sum_lifetime_value(session, brand_id=brand.id)),
        Decimal(profiles_repo.sum_net_orders(session, brand_id=brand.id)),
    )
