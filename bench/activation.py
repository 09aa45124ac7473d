"""Activation benchmark: automations evaluated per second, beside the raw stream read rate.

    python bench/activation.py [--events 20000] [--automations 100] [--backend postgres|sqlite]

On a fresh database (PostgreSQL: admin URL ``CONSTINTEL_TEST_POSTGRES_URL``; or a SQLite file)
and the real Redis (``CONSTINTEL_TEST_REDIS_URL``, a fresh key prefix), in one run:

1. a brand with ``--automations`` enabled automations: a mix of every trigger type, each with
   a condition, so every message is checked against all of them;
2. ``--events`` live events (now - 1 h .. now) for 2,000 customers: orders (first and repeat,
   some of 500+), cart adds and product views, ingested through the one write path and
   relayed to Redis (not timed);
3. the raw limit: ``XREADGROUP`` + ``XACK`` of the same ``events.normalized`` entries by a
   group with no handler;
4. the ``automations`` consumer (real handler, exactly-once ledger, delivery rows) reading the
   same entries: messages/s and automations evaluated/s (= messages x automations).
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import redis
from sqlalchemy import func, select

from constintel.activation import automations
from constintel.activation.models import CartWatch, Delivery
from constintel.brands import service as brands
from constintel.db import migrate
from constintel.db.session import libpq_url, make_engine, transaction
from constintel.pipeline import BrandContext, Envelope, ingest_batch
from constintel.streams.handlers import HANDLERS
from constintel.streams.redis_io import StreamNames
from constintel.streams.relay import relay_once
from constintel.streams.worker import Worker

REDIS_URL = os.environ.get("CONSTINTEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# psycopg takes a libpq URL: the SQLAlchemy form (postgresql+psycopg://) is accepted too.
ADMIN_URL = libpq_url(
    os.environ.get("CONSTINTEL_TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/postgres")
)
TRIGGERS: list[dict[str, Any]] = [
    {"type": "first_order"},
    {"type": "repeat_order"},
    {"type": "vip", "min_order_value": 500},
    {"type": "cart_abandoned", "hours": 24},
    {"type": "order_delivered", "delay_hours": 72},
]


def make_database(backend: str) -> tuple[str, Any]:
    if backend == "sqlite":
        path = os.path.join(tempfile.mkdtemp(), "bench.db")
        return f"sqlite:///{path}", None
    name = f"bench_activation_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(ADMIN_URL, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}", (admin, name)


def events(n: int, customers: int, seed: int) -> list[Envelope]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    out = []
    for k in range(n):
        who = f"c{rng.randrange(customers)}@example.com"
        at = (now - timedelta(seconds=3600 - 3600 * k / n)).isoformat()
        roll = rng.random()
        if roll < 0.4:
            total = f"{rng.choice([19.99, 45.00, 89.99, 150.00, 620.00]):.2f}"
            payload = {
                "order_id": f"o{k}",
                "total": total,
                "ordered_at": at,
                "email": who,
                "product_id": f"P{rng.randrange(50)}",
                "status": rng.choice(["processing", "delivered"]),
            }
            out.append(Envelope("csv", None, payload))
        else:
            kind = "cart_add" if roll < 0.7 else "product_view"
            payload = {"event_type": kind, "email": who, "product_id": f"P{rng.randrange(50)}"}
            out.append(Envelope("api", None, {**payload, "occurred_at": at}))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--automations", type=int, default=100)
    ap.add_argument("--customers", type=int, default=2_000)
    ap.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    url, cleanup = make_database(args.backend)
    engine = make_engine(url)
    migrate.upgrade(engine)
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    names = StreamNames(f"bench-activation-{uuid.uuid4().hex[:8]}:")
    try:
        with transaction(engine) as s:
            brand = brands.create(s, name="bench")
            ctx = BrandContext.of(brand)
            for i in range(args.automations):
                automations.save_automation(
                    s,
                    brand_id=brand.id,
                    name=f"auto-{i:03d}",
                    trigger=TRIGGERS[i % len(TRIGGERS)],
                    conditions=[{"field": "profile.total_orders", "op": ">=", "value": i % 4}],
                    action={
                        "channel": "email",
                        "subject": f"Automation {i}",
                        "body": "Hi {{ profile.email }}, about order {{ order.id }}",
                    },
                )
        batch = events(args.events, args.customers, args.seed)
        t0 = time.perf_counter()
        for start in range(0, len(batch), 2000):
            with transaction(engine) as s:
                ingest_batch(s, ctx, batch[start : start + 2000])
        ingest_s = time.perf_counter() - t0
        while relay_once(engine, client, names) > 0:
            pass
        stream = names.stream("events.normalized")
        length = client.xlen(stream)

        # The raw limit: read and acknowledge the same entries, no handler.
        client.xgroup_create(stream, "raw", id="0")
        t0 = time.perf_counter()
        read = 0
        while True:
            reply: Any = client.xreadgroup("raw", "c", {stream: ">"}, count=500)
            entries = reply[0][1] if reply else []
            if not entries:
                break
            client.xack(stream, "raw", *[rid for rid, _ in entries])
            read += len(entries)
        raw_rate = read / (time.perf_counter() - t0)

        worker = Worker(
            engine, client, names, HANDLERS["automations"], consumer="b1", block_ms=5, batch=500
        )
        worker.ensure_groups()
        t0 = time.perf_counter()
        handled = 0
        while (n := worker.run_once()) > 0:
            handled += n
        elapsed = time.perf_counter() - t0
        with transaction(engine) as s:
            created = s.execute(select(func.count()).select_from(Delivery)).scalar_one()
            watches = s.execute(select(func.count()).select_from(CartWatch)).scalar_one()
        rate = handled / elapsed
        print(
            f"backend {args.backend}; {args.events:,} events ({ingest_s:.1f} s to ingest); "
            f"{length:,} events.normalized entries; {args.automations} automations"
        )
        print(f"raw XREADGROUP+XACK (no handler):     {raw_rate:>10,.0f} msgs/s")
        print(
            f"automations consumer:                 {rate:>10,.0f} msgs/s "
            f"({handled:,} messages in {elapsed:.2f} s)"
        )
        print(f"automations evaluated:                {rate * args.automations:>10,.0f} /s")
        print(
            f"deliveries created {created:,} ({created / elapsed:,.0f}/s, "
            f"{created / max(handled, 1):.1f} per message); cart watches {watches:,}"
        )
    finally:
        for key in client.scan_iter(f"{names.prefix}*"):
            client.delete(key)
        engine.dispose()
        if cleanup is not None:
            admin, name = cleanup
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            admin.close()


if __name__ == "__main__":
    main()
