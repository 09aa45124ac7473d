"""The statistics fold, pure: any sequence of order changes, applied incrementally, equals a
full recompute over the final orders (Hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from constintel.profiles.stats import (
    OrderFacts,
    ProfileStats,
    apply_order_change,
    merge_into,
    recompute,
    snapshot_add,
    snapshot_from,
    strength,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
WEIGHTS = {"email": 20, "phone": 30, "loyalty_id": 25, "device_id": 10, "cookie_id": 5}

facts = st.builds(
    OrderFacts,
    net=st.integers(0, 10**7).map(lambda c: Decimal(c).scaleb(-2)),
    counted=st.booleans(),
    placed_at=st.integers(0, 400).map(lambda d: T0 + timedelta(days=d)),
)
# (order key, new facts or None for "the order stops existing for this profile")
changes = st.lists(st.tuples(st.integers(0, 5), st.one_of(st.none(), facts)), max_size=40)


@given(changes)
def test_incremental_equals_recompute(sequence: list[tuple[int, OrderFacts | None]]) -> None:
    stats = ProfileStats()
    current: dict[int, OrderFacts] = {}
    for key, new in sequence:
        needs_dates = apply_order_change(stats, current.get(key), new)
        if new is None:
            current.pop(key, None)
        else:
            current[key] = new
        if needs_dates:  # the pipeline re-reads the dates from the stored orders
            fresh = recompute(current.values(), [])
            stats.first_order_at, stats.last_order_at = fresh.first_order_at, fresh.last_order_at
    expected = recompute(current.values(), [])
    assert stats.lifetime_value == expected.lifetime_value
    assert stats.total_orders == expected.total_orders
    assert (stats.first_order_at, stats.last_order_at) == (
        expected.first_order_at,
        expected.last_order_at,
    )


@given(st.lists(facts, max_size=10), st.lists(facts, max_size=10))
def test_merge_equals_recompute_of_the_union(a: list[OrderFacts], b: list[OrderFacts]) -> None:
    survivor, merged = recompute(a, []), recompute(b, [])
    merge_into(survivor, merged)
    union = recompute(a + b, [])
    assert (survivor.lifetime_value, survivor.total_orders) == (
        union.lifetime_value,
        union.total_orders,
    )
    assert (survivor.first_order_at, survivor.last_order_at) == (
        union.first_order_at,
        union.last_order_at,
    )


pairs = st.lists(
    st.tuples(st.sampled_from(["email", "phone", "cookie_id"]), st.sampled_from("abcde")),
    max_size=12,
)


@given(pairs)
def test_snapshot_does_not_depend_on_arrival_order(items: list[tuple[str, str]]) -> None:
    built = snapshot_from([])
    for kind, value in items:
        built = snapshot_add(built, kind, value)
    assert built == snapshot_from(reversed(items)) == snapshot_from(items)


def test_strength_follows_the_weight_table() -> None:
    assert strength(["email"], WEIGHTS, 10) == 20
    assert strength(["email", "phone", "loyalty_id"], WEIGHTS, 10) == 75
    assert strength(["email", "email", "cookie_id", "cart_token"], WEIGHTS, 10) == 35
    assert strength([*WEIGHTS, "a", "b", "c"], WEIGHTS, 10) == 100  # capped
