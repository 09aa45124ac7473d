"""Eight concurrent writers ingesting interleaved events of overlapping customers create no
duplicate profile and lose no cent (PostgreSQL: the brand's advisory lock serializes the write
phase; SQLite: BEGIN IMMEDIATE). Runs on both backends."""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from decimal import Decimal
from typing import Any

from constintel.brands import service as brands
from constintel.db.session import transaction
from constintel.pipeline import Envelope, ingest_batch
from constintel.profiles import service as profiles
from integration.helpers import active_profiles, profile_by

WRITERS = 8
CUSTOMERS = 120
BATCH = 15


def _events(seed: int) -> tuple[list[tuple[str, dict[str, Any]]], dict[int, Decimal]]:
    """Purchases that reach each customer through email only, phone only and both, so the
    profiles only come together across writers. Returns (events, expected LTV per customer)."""
    rng = random.Random(seed)
    events: list[tuple[str, dict[str, Any]]] = []
    expected: dict[int, Decimal] = defaultdict(Decimal)
    for c in range(CUSTOMERS):
        email = f"c{c}@shop.example"
        phone = f"+1 212 555 {c:04d}" if c % 2 else f"(212) 555-{c:04d}"
        shapes = [{"email": email}, {"phone": phone}, {"email": email.upper(), "phone": phone}]
        for n, ids in enumerate(shapes + [rng.choice(shapes) for _ in range(rng.randint(0, 3))]):
            cents = rng.randint(100, 99_999)
            total = Decimal(cents).scaleb(-2)
            expected[c] += total
            events.append(
                (
                    email,
                    {
                        "event_type": "purchase",
                        "occurred_at": f"2025-04-{1 + n:02d}T10:00:00Z",
                        "order": {"order_id": f"c{c}-o{n}", "total": str(total), "currency": "USD"},
                        **ids,
                    },
                )
            )
    rng.shuffle(events)
    return events, expected


def test_eight_writers_no_duplicates_no_lost_cents(engine, ctx) -> None:
    events, expected = _events(seed=7)
    lanes = [events[i::WRITERS] for i in range(WRITERS)]
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def writer(lane: list[tuple[str, dict[str, Any]]]) -> None:
        try:
            barrier.wait()
            for start in range(0, len(lane), BATCH):
                chunk = [Envelope("api", None, body) for _, body in lane[start : start + BATCH]]
                with transaction(engine) as session:
                    ingest_batch(session, ctx, chunk)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(lane,)) for lane in lanes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []

    assert active_profiles(engine, ctx) == CUSTOMERS
    for c in (0, 1, 17, CUSTOMERS - 1):
        profile = profile_by(engine, ctx, "email", f"c{c}@shop.example")
        assert profile.lifetime_value == expected[c]
        assert profile_by(engine, ctx, "phone", f"+1212555{c:04d}").id == profile.id
    with transaction(engine) as session:
        brand = brands.get(session, ref=ctx.brand_id)
        _, drifts = profiles.recompute_all(session, brand=brand)
        ltv_sum, net_sum = profiles.totals(session, brand=brand)
    assert drifts == []
    assert ltv_sum == net_sum == sum(expected.values())
