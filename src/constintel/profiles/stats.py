"""Profile statistics as a fold (pure).

``recompute`` derives every statistic from a profile's orders, events and identifiers; the
incremental functions (``apply_order_change``, ``apply_event``, ``merge_into``) update a
``ProfileStats`` in O(1) per event and must always equal ``recompute`` (a Hypothesis property
test holds them to it). The one non-invertible case, an order that stops counting while it
holds the first or last order date, is reported so the caller re-reads that profile's order
dates (``needs_order_dates``).

Definitions:
- lifetime_value = sum of the orders' ``net`` (total - refunds, 0 when cancelled or test);
- total_orders = orders that count (known total, not cancelled, not test);
- average_order_value = lifetime_value / total_orders, half-even to the currency's minor unit;
- first/last_order_at = earliest/latest ``placed_at`` of counted orders;
- last_seen_at = latest ``occurred_at`` of any attached event;
- profile_strength = sum of the weights of the identifier kinds held, capped at 100;
- channels = the set of channels of attached events.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from constintel.core.money import ZERO, quantize

__all__ = [
    "MAX_STRENGTH",
    "OrderFacts",
    "ProfileStats",
    "apply_event",
    "apply_order_change",
    "average",
    "merge_into",
    "recompute",
    "snapshot_add",
    "snapshot_from",
    "snapshot_kinds",
    "snapshot_union",
    "strength",
]

MAX_STRENGTH = 100


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What statistics need of one order."""

    net: Decimal
    counted: bool
    placed_at: datetime | None


@dataclass(slots=True)
class ProfileStats:
    lifetime_value: Decimal = ZERO
    total_orders: int = 0
    first_order_at: datetime | None = None
    last_order_at: datetime | None = None
    last_seen_at: datetime | None = None
    event_count: int = 0
    channels: set[str] = field(default_factory=set)


def average(stats: ProfileStats, currency: str) -> Decimal:
    if stats.total_orders == 0:
        return quantize(ZERO, currency)
    return quantize(stats.lifetime_value / stats.total_orders, currency)


def _min(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def apply_order_change(stats: ProfileStats, old: OrderFacts | None, new: OrderFacts | None) -> bool:
    """Move one order's contribution from ``old`` to ``new`` (None = absent). Returns True when
    first/last_order_at may now be too wide and must be re-read from the orders."""
    needs_dates = False
    if old is not None:
        stats.lifetime_value -= old.net
        if old.counted:
            stats.total_orders -= 1
            if old.placed_at is not None and (
                new is None or not new.counted or new.placed_at != old.placed_at
            ):
                needs_dates = old.placed_at in (stats.first_order_at, stats.last_order_at)
    if new is not None:
        stats.lifetime_value += new.net
        if new.counted:
            stats.total_orders += 1
            stats.first_order_at = _min(stats.first_order_at, new.placed_at)
            stats.last_order_at = _max(stats.last_order_at, new.placed_at)
    return needs_dates


def apply_event(stats: ProfileStats, occurred_at: datetime, channel: str) -> None:
    stats.event_count += 1
    stats.last_seen_at = _max(stats.last_seen_at, occurred_at)
    stats.channels.add(channel)


def merge_into(survivor: ProfileStats, merged: ProfileStats) -> None:
    survivor.lifetime_value += merged.lifetime_value
    survivor.total_orders += merged.total_orders
    survivor.first_order_at = _min(survivor.first_order_at, merged.first_order_at)
    survivor.last_order_at = _max(survivor.last_order_at, merged.last_order_at)
    survivor.last_seen_at = _max(survivor.last_seen_at, merged.last_seen_at)
    survivor.event_count += merged.event_count
    survivor.channels |= merged.channels


def recompute(orders: Iterable[OrderFacts], events: Iterable[tuple[datetime, str]]) -> ProfileStats:
    """Every statistic from scratch (the reference ``apply_*`` must agree with)."""
    stats = ProfileStats()
    for order in orders:
        stats.lifetime_value += order.net
        if order.counted:
            stats.total_orders += 1
            stats.first_order_at = _min(stats.first_order_at, order.placed_at)
            stats.last_order_at = _max(stats.last_order_at, order.placed_at)
    for occurred_at, channel in events:
        apply_event(stats, occurred_at, channel)
    return stats


# -- identifier snapshot -------------------------------------------------------------------
# {"email": "<primary>", ..., "all": {"email": ["a@x", "b@x"], ...}}. The primary value of a
# kind is the smallest of its values, so the snapshot does not depend on the order identifiers
# arrived in: a merge, an unmerge or a rebuild from the identifier table give the same JSON.


def snapshot_from(pairs: Iterable[tuple[str, str]]) -> dict[str, object]:
    grouped: dict[str, set[str]] = {}
    for kind, value in pairs:
        grouped.setdefault(kind, set()).add(value)
    all_values = {kind: sorted(values) for kind, values in sorted(grouped.items())}
    snapshot: dict[str, object] = {kind: values[0] for kind, values in all_values.items()}
    snapshot["all"] = all_values
    return snapshot


def _pairs(snapshot: Mapping[str, object]) -> list[tuple[str, str]]:
    all_values = snapshot.get("all") or {}
    assert isinstance(all_values, dict)
    return [(kind, value) for kind, values in all_values.items() for value in values]


def snapshot_add(snapshot: Mapping[str, object], kind: str, value: str) -> dict[str, object]:
    """The snapshot with one more value (a new dict; the input is not changed)."""
    all_values = dict(snapshot.get("all") or {})  # type: ignore[call-overload]
    values: list[str] = list(all_values.get(kind, ()))
    index = bisect_left(values, value)
    if index < len(values) and values[index] == value:
        return dict(snapshot)
    values.insert(index, value)
    all_values[kind] = values
    result = {k: v for k, v in snapshot.items() if k != "all"}
    result[kind] = values[0]
    result["all"] = dict(sorted(all_values.items()))
    return result


def snapshot_union(a: Mapping[str, object], b: Mapping[str, object]) -> dict[str, object]:
    return snapshot_from([*_pairs(a), *_pairs(b)])


def snapshot_kinds(snapshot: Mapping[str, object]) -> dict[str, int]:
    """kind -> number of values."""
    all_values = snapshot.get("all") or {}
    assert isinstance(all_values, dict)
    return {kind: len(values) for kind, values in all_values.items()}


def strength(kinds: Iterable[str], weights: Mapping[str, int], other_weight: int) -> int:
    """The seed's weight table over the distinct kinds held, capped at 100."""
    total = sum(weights.get(kind, other_weight) for kind in set(kinds))
    return min(total, MAX_STRENGTH)
