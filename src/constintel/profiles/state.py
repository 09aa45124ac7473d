"""A profile as the write path holds it in memory, and its mapping to and from rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from constintel.brands.settings import BrandSettings
from constintel.profiles.stats import ProfileStats, average, snapshot_kinds, strength

__all__ = ["ACTIVE", "ERASED", "MERGED", "ProfileState", "profile_row", "stat_values"]

# Profile statuses. An erased profile keeps its orders and statistics (revenue stays right)
# but no identifiers and no personal data.
ACTIVE = "active"
MERGED = "merged"
ERASED = "erased"


@dataclass(slots=True)
class ProfileState:
    id: str
    brand_id: str
    created_at: datetime
    status: str = "active"
    merged_into_id: str | None = None
    snapshot: dict[str, Any] = field(default_factory=dict)
    stats: ProfileStats = field(default_factory=ProfileStats)
    name: str | None = None
    is_new: bool = False
    dirty: bool = False

    @property
    def age_key(self) -> tuple[datetime, str]:
        """The survivor order of a merge: the oldest profile, ties by id."""
        return (self.created_at, self.id)

    def values(self, kind: str) -> list[str]:
        all_values: dict[str, list[str]] = self.snapshot.get("all") or {}
        return all_values.get(kind, [])

    @classmethod
    def new(cls, profile_id: str, brand_id: str, now: datetime) -> ProfileState:
        return cls(profile_id, brand_id, now, snapshot={"all": {}}, is_new=True, dirty=True)

    @classmethod
    def from_row(cls, row: Any) -> ProfileState:
        stats = ProfileStats(
            lifetime_value=row.lifetime_value,
            total_orders=row.total_orders,
            first_order_at=row.first_order_at,
            last_order_at=row.last_order_at,
            last_seen_at=row.last_seen_at,
            event_count=row.event_count,
            channels=set(row.channels or ()),
        )
        return cls(
            row.id,
            row.brand_id,
            row.created_at,
            row.status,
            row.merged_into_id,
            dict(row.identifiers or {"all": {}}),
            stats,
            row.name,
        )


def stat_values(
    profile: ProfileState, settings: BrandSettings, currency: str, now: datetime
) -> dict[str, Any]:
    """The mutable columns of the profile row (see profiles.repository.STAT_COLUMNS)."""
    stats = profile.stats
    return {
        "status": profile.status,
        "merged_into_id": profile.merged_into_id,
        "identifiers": profile.snapshot,
        "name": profile.name,
        "lifetime_value": stats.lifetime_value,
        "total_orders": stats.total_orders,
        "average_order_value": average(stats, currency),
        "first_order_at": stats.first_order_at,
        "last_order_at": stats.last_order_at,
        "last_seen_at": stats.last_seen_at,
        "profile_strength": strength(
            snapshot_kinds(profile.snapshot), settings.strength_weights, settings.other_weight
        ),
        "channels": sorted(stats.channels),
        "event_count": stats.event_count,
        "updated_at": now,
    }


def profile_row(
    profile: ProfileState, settings: BrandSettings, currency: str, now: datetime
) -> dict[str, Any]:
    return {
        "id": profile.id,
        "brand_id": profile.brand_id,
        "created_at": profile.created_at,
        **stat_values(profile, settings, currency, now),
    }
