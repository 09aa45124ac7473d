"""The Redis profile cache never serves statistics older than the last committed change:
readers race a writer, and every read sees at least every order committed before it began."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine

from constintel.brands import service as brands
from constintel.db.session import transaction
from constintel.profiles import service as profiles
from constintel.profiles.cache import RedisProfileCache
from constintel.profiles.schemas import ProfileRead
from constintel.streams.redis_io import StreamNames, connect


def order(n: int) -> tuple[str, None, dict[str, Any]]:
    return (
        "api",
        None,
        {
            "event_type": "purchase",
            "email": "regular@example.com",
            "occurred_at": "2024-12-07T10:00:00Z",
            "order": {"order_id": f"o{n}", "total": "1.00"},
        },
    )


def read_through(engine: Engine, cache: RedisProfileCache, brand_id: str) -> ProfileRead:
    """What the API does for GET /profiles?email=."""
    with transaction(engine) as s:
        brand = brands.get(s, ref=brand_id)
        row = profiles.find_by_identifier(s, brand=brand, kind="email", value="regular@example.com")
        cached = cache.get(brand_id, row.id, row.updated_at)
        if cached is not None:
            return cached
        view = profiles.read(s, brand=brand, row=row)
        cache.put(brand_id, view, row.updated_at)
        return view


def test_reads_never_see_less_than_what_committed_before_them(
    engine: Engine, ctx: Any, ingest: Any, redis_url: str, stream_names: StreamNames
) -> None:
    cache = RedisProfileCache(connect(redis_url), stream_names.prefix)
    ingest(order(0))
    committed = 1
    writes = 40
    stop = threading.Event()
    failures: list[str] = []
    reads = [0]

    def reader() -> None:
        while not stop.is_set():
            floor = committed  # every order committed before this read began
            view = read_through(engine, cache, ctx.brand_id)
            reads[0] += 1
            if view.total_orders < floor:
                failures.append(f"read {view.total_orders} orders after {floor} committed")

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for n in range(1, writes + 1):
        ingest(order(n))
        committed = n + 1
    stop.set()
    for t in threads:
        t.join()
    assert failures == []
    final = read_through(engine, cache, ctx.brand_id)
    assert (final.total_orders, str(final.lifetime_value)) == (writes + 1, f"{writes + 1}.00")
    assert read_through(engine, cache, ctx.brand_id) == final
    assert cache.hits > 0  # the cache served (at least the repeated read just above)
    assert reads[0] > 0
