"""The webhook inbox: deliveries stored once, drained exactly once (also by concurrent
drains on PostgreSQL), and a poison delivery set aside without holding the others back."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from decimal import Decimal

import orjson
from sqlalchemy import Engine, select, text

from constintel.brands import service as brands
from constintel.core.clock import utcnow
from constintel.db.session import transaction
from constintel.ingest.models import RejectedPayload
from constintel.pipeline import BrandContext
from constintel.profiles import service as profiles
from constintel.webhooks.inbox import (
    MAX_ATTEMPTS,
    Delivery,
    GroupCommitter,
    drain_once,
    store_deliveries,
)
from constintel.webhooks.models import WebhookDelivery


def _order(n: int) -> Delivery:
    body = {
        "id": 1000 + n,
        "email": f"buyer{n % 7}@example.com",
        "total_price": f"{n}.25",
        "currency": "USD",
        "line_items": [],
        "created_at": "2024-12-07T10:00:00Z",
    }
    return Delivery("", "shopify", "orders/create", f"d-{n}", orjson.dumps(body).decode(), utcnow())


def _store(engine: Engine, ctx: BrandContext, deliveries: list[Delivery]) -> set[str]:
    rows = [dataclasses.replace(d, brand_id=ctx.brand_id) for d in deliveries]
    with transaction(engine) as s:
        return store_deliveries(s, rows)


def _rows(engine: Engine, ctx: BrandContext) -> list[WebhookDelivery]:
    with transaction(engine) as s:
        return list(
            s.scalars(select(WebhookDelivery).where(WebhookDelivery.brand_id == ctx.brand_id))
        )


def _totals(engine: Engine, ctx: BrandContext) -> tuple[Decimal, Decimal]:
    with transaction(engine) as s:
        return profiles.totals(s, brand=brands.get(s, ref=ctx.brand_id))


def test_a_delivery_is_stored_once(engine: Engine, ctx: BrandContext) -> None:
    first = _store(engine, ctx, [_order(1), _order(2)])
    again = _store(engine, ctx, [_order(2), _order(3)])
    assert len(first) == 2
    assert again == {f"{ctx.brand_id}:shopify:d-3"}
    assert len(_rows(engine, ctx)) == 3


def test_concurrent_drains_apply_each_delivery_once(engine: Engine, ctx: BrandContext) -> None:
    deliveries = [_order(n) for n in range(1, 201)]
    _store(engine, ctx, deliveries)

    def drain() -> None:
        while drain_once(engine, limit=15).received:
            pass

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = _rows(engine, ctx)
    assert all(r.processed_at is not None for r in rows)
    assert {r.attempts for r in rows} == {1}  # nobody processed a delivery twice
    assert {r.body for r in rows} == {""}  # the body lives on as the event's payload
    expected = sum(Decimal(f"{n}.25") for n in range(1, 201))
    assert _totals(engine, ctx) == (expected, expected)


def test_a_poison_delivery_is_set_aside(engine: Engine, ctx: BrandContext) -> None:
    poison = Delivery("", "shopify", "orders/create", "poison", "{not json", utcnow())
    _store(engine, ctx, [_order(1), poison, _order(2)])
    drain_once(engine)
    by_id = {r.delivery_id: r for r in _rows(engine, ctx)}
    assert by_id["d-1"].processed_at is not None
    assert by_id["d-2"].processed_at is not None
    assert (by_id["poison"].processed_at, by_id["poison"].attempts) == (None, 1)
    assert _totals(engine, ctx)[0] == Decimal("3.50")
    for _ in range(MAX_ATTEMPTS - 1):
        drain_once(engine)
    poisoned = {r.delivery_id: r for r in _rows(engine, ctx)}["poison"]
    assert poisoned.processed_at is not None
    assert poisoned.attempts == MAX_ATTEMPTS
    assert (poisoned.outcome or "").startswith(f"failed after {MAX_ATTEMPTS} attempts")
    with transaction(engine) as s:
        kept = s.scalars(
            select(RejectedPayload.body).where(RejectedPayload.brand_id == ctx.brand_id)
        ).all()
    assert kept == ["{not json"]  # kept for `events replay`
    assert drain_once(engine).received == 0


def test_the_warm_up_runs_the_write_path_and_keeps_nothing(engine: Engine, ctx) -> None:
    from sqlalchemy import func

    from constintel.identity.models import CustomerIdentifier
    from constintel.orders.models import CustomerOrder
    from constintel.streams.models import OutboxMessage
    from constintel.webhooks import inbox

    def counts() -> tuple[int, ...]:
        with transaction(engine) as s:
            return tuple(
                int(s.scalar(select(func.count()).select_from(model)) or 0)
                for model in (CustomerOrder, CustomerIdentifier, OutboxMessage)
            )

    before = counts()
    result = inbox.warm_up(engine)
    assert result is not None  # ctx made a brand
    # It went through the write path (the first brand's: its order attached to a profile,
    # new or, in a database other tests share, one holding the same phone) ...
    assert (result.imported, result.rejected, result.unattached) == (1, 0, 0)
    # ... and nothing of it is left.
    assert counts() == before


def _commit_all(committer: GroupCommitter, deliveries: list[Delivery]) -> list[bool]:
    async def run() -> list[bool]:
        return list(await asyncio.gather(*(committer.store(d) for d in deliveries)))

    return asyncio.run(run())


def test_the_committer_groups_deliveries_and_outlives_a_lost_connection(
    postgres_engine: Engine,
) -> None:
    """Deliveries arriving together are committed as one group (one transaction), and a
    committer whose kept connection was cut (a database restart) reconnects and stores the
    next group instead of failing it: nothing is lost or stored twice."""
    with transaction(postgres_engine) as s:
        ctx = BrandContext.of(brands.create(s, name="committer"))
    commits = []
    committer = GroupCommitter(
        postgres_engine, on_commit=lambda: commits.append(1), writers=1, window=0.05
    )
    committer.start()
    try:
        first = [dataclasses.replace(_order(n), brand_id=ctx.brand_id) for n in range(20)]
        assert _commit_all(committer, first) == [True] * 20
        assert len(commits) == 1  # twenty deliveries, one group
        with postgres_engine.connect() as conn:
            cut = conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).all()
        assert cut  # the committers' kept connections (and the pool's) are gone
        second = [dataclasses.replace(_order(n), brand_id=ctx.brand_id) for n in range(15, 30)]
        assert _commit_all(committer, second) == [False] * 5 + [True] * 10
    finally:
        committer.stop()
    assert len(_rows(postgres_engine, ctx)) == 30
