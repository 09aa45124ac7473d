"""Redis stopped while signed webhooks keep arriving: every delivery is still accepted (the
outbox grows), and once Redis is back the service's relay drains the outbox, nothing lost,
in order per profile."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from constintel.core.config import Settings
from constintel.streams.redis_io import connect
from constintel.streams.relay import backlog
from service.conftest import serve_in_thread
from service.live import Live, Tenant, make_tenant


@pytest.fixture
def live_with_redis(
    db_url: str,
    tmp_path: Path,
    private_redis: tuple[str, Any],
) -> Iterator[tuple[Live, str, Any]]:
    url, controls = private_redis
    settings = Settings(
        database_url=db_url,
        data_dir=str(tmp_path),
        redis_url=url,
        stream_prefix="outage:",
    )
    with serve_in_thread(settings) as live:
        yield live, url, controls


def order(n: int) -> dict[str, Any]:
    return {
        "id": 5000 + n,
        "email": f"buyer{n % 4}@example.com",
        "total_price": "10.00",
        "currency": "USD",
        "line_items": [{"product_id": f"P{n}", "quantity": 1, "price": "10.00"}],
        "created_at": f"2024-12-{1 + n:02d}T10:00:00Z",
    }


def test_webhooks_keep_flowing_while_redis_is_down(
    live_with_redis: tuple[Live, str, Any],
) -> None:
    live, url, (start, stop) = live_with_redis
    with httpx.Client(base_url=live.url, timeout=30) as client:
        tenant: Tenant = make_tenant(live, client)
        stop()
        for n in range(12):
            r = tenant.shopify(order(n))
            assert r.status_code == 200, r.text
        tenant.drained()
        time.sleep(0.5)  # the relay has tried (and failed) meanwhile
        assert backlog(live.engine) > 0  # waiting in the outbox, not lost
        start()
        deadline = time.monotonic() + 30
        while backlog(live.engine):
            assert time.monotonic() < deadline, "the outbox did not drain after Redis returned"
            time.sleep(0.1)
    stream: Any = connect(url).xrange("outage:events.normalized")
    published = [f for _, f in stream if f["brand_id"] == tenant.id]
    assert len(published) == 12
    by_key: dict[str, list[int]] = {}
    for f in published:
        by_key.setdefault(f["key"], []).append(int(f["outbox_id"]))
    assert len(by_key) == 4
    assert all(ids == sorted(ids) for ids in by_key.values())
