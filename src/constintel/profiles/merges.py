"""Merging and unmerging profiles. Every merge is recorded with what moved, so it can be undone.

A merge moves the merged profile's identifiers, orders and events to the survivor, adds its
statistics into the survivor's (statistics are a fold, so this is exact), and leaves the
merged profile as ``status = merged`` pointing at the survivor: its id keeps resolving. Profiles
merged earlier into the merged one are re-pointed to the survivor (chains stay one hop).

Unmerge moves exactly the recorded rows back, re-activates the profile and recomputes both
sides from their rows. Events that arrived after the merge stay with the survivor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from constintel.brands.settings import BrandSettings
from constintel.core.errors import ConflictError, NotFoundError
from constintel.core.ids import new_id
from constintel.identity import repository as identity_repo
from constintel.ingest import repository as events_repo
from constintel.orders import repository as orders_repo
from constintel.profiles import repository as profiles_repo
from constintel.profiles.state import ProfileState, stat_values
from constintel.profiles.stats import (
    OrderFacts,
    ProfileStats,
    merge_into,
    recompute,
    snapshot_from,
    snapshot_union,
)

__all__ = ["merge_profiles", "merge_states", "recompute_profile", "resolve", "unmerge"]


def merge_states(
    *,
    brand_id: str,
    survivor: ProfileState,
    merged: ProfileState,
    reason: str,
    actor: str,
    matched_on: list[dict[str, str]],
    now: datetime,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Fold ``merged`` into ``survivor`` (statistics, snapshot, status) and return the merge
    record; the caller moves the rows and fills ``record["moved"]``."""
    if survivor.id == merged.id or merged.status != "active" or survivor.status != "active":
        raise ConflictError(f"cannot merge {merged.id} into {survivor.id}")
    snapshot = {
        "identifiers": merged.snapshot,
        "name": merged.name,
        "survivor_name": survivor.name,
        "lifetime_value": str(merged.stats.lifetime_value),
        "total_orders": merged.stats.total_orders,
        "created_at": merged.created_at.isoformat(),
    }
    merge_into(survivor.stats, merged.stats)
    survivor.snapshot = snapshot_union(survivor.snapshot, merged.snapshot)
    merged.status = "merged"
    merged.merged_into_id = survivor.id
    merged.stats = ProfileStats()
    merged.snapshot = {"all": {}}
    survivor.name = survivor.name or merged.name
    merged.name = None
    survivor.dirty = merged.dirty = True
    return {
        "id": new_id(),
        "brand_id": brand_id,
        "survivor_id": survivor.id,
        "merged_id": merged.id,
        "reason": reason,
        "actor": actor,
        "matched_on": matched_on,
        "moved": {},
        "merged_snapshot": snapshot,
        "request_id": request_id,
        "created_at": now,
        "undone_at": None,
        "undone_by": None,
    }


def merge_profiles(
    session: Session,
    *,
    brand_id: str,
    survivor: ProfileState,
    merged: ProfileState,
    reason: str,
    actor: str,
    matched_on: list[dict[str, str]],
    now: datetime,
    request_id: str | None = None,
) -> str:
    """Merge two stored profiles right away (operator actions). The caller writes the two
    profile states back (they are marked dirty)."""
    record = merge_states(
        brand_id=brand_id,
        survivor=survivor,
        merged=merged,
        reason=reason,
        actor=actor,
        matched_on=matched_on,
        now=now,
        request_id=request_id,
    )
    record["moved"] = {
        "identifiers": identity_repo.move_to_profile(
            session, from_profile=merged.id, to_profile=survivor.id
        ),
        "orders": orders_repo.move_to_profile(
            session, from_profile=merged.id, to_profile=survivor.id
        ),
        "events": events_repo.move_to_profile(
            session, from_profile=merged.id, to_profile=survivor.id
        ),
        "profiles": profiles_repo.redirect_merged(
            session, from_profile=merged.id, to_profile=survivor.id
        ),
    }
    profiles_repo.insert_merge(session, record)
    return str(record["id"])


def resolve(session: Session, *, brand_id: str, profile_id: str) -> Any:
    """The live profile row for an id, following merges; NotFoundError if unknown."""
    row = profiles_repo.get(session, brand_id=brand_id, profile_id=profile_id)
    if row is None:
        raise NotFoundError(f"no profile {profile_id}")
    seen = {row.id}
    while row.merged_into_id is not None:
        row = profiles_repo.get(session, brand_id=brand_id, profile_id=row.merged_into_id)
        if row is None or row.id in seen:  # pragma: no cover - guarded by merge invariants
            raise ConflictError(f"broken merge chain at {profile_id}")
        seen.add(row.id)
    return row


def recompute_profile(
    session: Session,
    *,
    row: Any,
    settings: BrandSettings,
    currency: str,
    now: datetime,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Rebuild a profile's statistics and snapshot from its rows and write them.
    Returns (stored values, recomputed values) for drift reports."""
    state = ProfileState.from_row(row)
    before = stat_values(state, settings, currency, row.updated_at)
    orders = [
        OrderFacts(o.net, o.counted, o.placed_at)
        for o in orders_repo.list_for_profile(session, profile_id=row.id)
    ]
    events = [
        (e.occurred_at, e.channel)
        for e in events_repo.event_facts_for_profile(session, profile_id=row.id)
    ]
    idents = identity_repo.list_for_profiles(session, brand_id=row.brand_id, profile_ids=[row.id])
    state.stats = recompute(orders, events)
    state.snapshot = snapshot_from((i.kind, i.value) for i in idents)
    after = stat_values(state, settings, currency, row.updated_at)
    if after != before:
        after_now = stat_values(state, settings, currency, now)
        profiles_repo.update_many(session, [{"id": row.id, **after_now}])
    return before, after


def unmerge(
    session: Session,
    *,
    brand_id: str,
    merged_id: str,
    actor: str,
    settings: BrandSettings,
    currency: str,
    now: datetime,
) -> tuple[str, str]:
    """Undo the merge that absorbed ``merged_id``. Returns (restored id, survivor id)."""
    record = profiles_repo.get_merge_of(session, brand_id=brand_id, merged_id=merged_id)
    if record is None:
        raise NotFoundError(f"profile {merged_id} is not merged into another profile")
    holder = resolve(session, brand_id=brand_id, profile_id=record.survivor_id)
    moved: dict[str, list[str]] = record.moved
    identity_repo.assign(session, ids=moved.get("identifiers", []), profile_id=merged_id)
    orders_repo.assign(session, ids=moved.get("orders", []), profile_id=merged_id)
    events_repo.assign(session, ids=moved.get("events", []), profile_id=merged_id)
    profiles_repo.set_merged_into(session, ids=moved.get("profiles", []), target=merged_id)
    restored = profiles_repo.get(session, brand_id=brand_id, profile_id=merged_id)
    state = ProfileState.from_row(restored)
    state.status, state.merged_into_id = "active", None
    before: dict[str, Any] = record.merged_snapshot or {}
    state.name = before.get("name")
    if state.name is not None and holder.name == state.name != before.get("survivor_name"):
        # The survivor had taken the merged profile's name: it gives it back.
        profiles_repo.set_name(session, profile_id=holder.id, name=before.get("survivor_name"))
    profiles_repo.update_many(
        session, [{"id": merged_id, **stat_values(state, settings, currency, now)}]
    )
    for pid in (merged_id, holder.id):
        row = profiles_repo.get(session, brand_id=brand_id, profile_id=pid)
        recompute_profile(session, row=row, settings=settings, currency=currency, now=now)
    profiles_repo.update_merge(session, merge_id=record.id, undone_at=now, undone_by=actor)
    return merged_id, holder.id
