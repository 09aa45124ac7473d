"""Dashboard benchmark: per-page latency with 100,000 profiles and 1,000,000 orders.

    python bench/dashboard.py [--profiles 100000] [--orders 1000000] [--requests 20]

On a fresh PostgreSQL database (admin URL ``CONSTINTEL_TEST_POSTGRES_URL``):

1. writes ``--profiles`` profiles (email + phone identifiers) and ``--orders`` orders over
   two years with COPY, the profiles' statistics computed from their orders (the data
   preparation is not timed and bypasses the write path, which ``bench/ingest.py`` measures;
   the ``order_day`` rollup the write path keeps is rebuilt from the orders);
   ``VACUUM ANALYZE`` (autovacuum's work); fits the brand's prediction models (lifecycle
   labels for the filters);
2. serves the app (uvicorn, in-process) and requests each page ``--requests`` times after a
   warm-up, printing p50/p95 per page (wall time of the request over loopback, which is the
   server's time plus well under a millisecond). Target: every page under 300 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import uvicorn

from constintel.bootstrap import bootstrap
from constintel.brands import credentials
from constintel.brands import service as brands
from constintel.core.config import Settings
from constintel.db import migrate
from constintel.db.bulk import insert_rows
from constintel.db.session import libpq_url, make_engine, transaction
from constintel.identity.models import CustomerIdentifier
from constintel.orders import repository as orders_repo
from constintel.orders.models import CustomerOrder
from constintel.predictions import service as predictions
from constintel.profiles.models import CustomerProfile
from constintel.web.app import create_app

# psycopg takes a libpq URL: the SQLAlchemy form (postgresql+psycopg://) is accepted too.
ADMIN_URL = libpq_url(
    os.environ.get("CONSTINTEL_TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/postgres")
)


FIRST = ("Ana", "Ben", "Chloe", "Dev", "Elif", "Farah", "Gus", "Hana", "Ivan", "Jo") * 10
LAST = tuple(
    f"{s}{n}" for s in ("Silva", "Okafor", "Novak", "Tanaka", "Moreau") for n in range(200)
)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def prepare(url: str, n_profiles: int, n_orders: int, seed: int) -> tuple[str, str, str]:
    rng = random.Random(seed)
    engine = make_engine(url)
    migrate.upgrade(engine)
    now = datetime.now(UTC)
    with transaction(engine) as s:
        brand = brands.create(s, name="bench")
        key = credentials.issue_key(s, brand_id=brand.id).key
        brand_id = brand.id
    # Skewed: a few customers buy often, most once or twice.
    weights = [1.0 / (1 + k) ** 0.8 for k in range(n_profiles)]
    owners = rng.choices(range(n_profiles), weights=weights, k=n_orders)
    stats: dict[int, list[Any]] = {}
    orders = []
    for i, owner in enumerate(owners):
        placed = now - timedelta(seconds=rng.randrange(730 * 86400))
        total = Decimal(rng.randrange(500, 30000)) / 100
        refunded = total if rng.random() < 0.03 else Decimal("0")
        net = total - refunded
        st = stats.setdefault(owner, [Decimal("0"), 0, placed, placed, set()])
        st[4].add("online" if i % 4 else "store")
        st[0] += net
        st[1] += 1
        st[2] = min(st[2], placed)
        st[3] = max(st[3], placed)
        orders.append((i, owner, placed, total, refunded, net))
    pids = [str(uuid.uuid4()) for _ in range(n_profiles)]
    profile_rows, ident_rows = [], []
    for k, pid in enumerate(pids):
        ltv, count, first, last, channels = stats.get(k, [Decimal("0"), 0, None, None, set()])
        email, phone = f"c{k}@example.com", f"+1202{5550000 + k:07d}"[:12]
        profile_rows.append(
            {
                "id": pid,
                "brand_id": brand_id,
                "status": "active",
                "merged_into_id": None,
                "identifiers": {"email": email, "phone": phone},
                "name": f"{FIRST[k % len(FIRST)]} {LAST[k // len(FIRST) % len(LAST)]}",
                "lifetime_value": ltv,
                "total_orders": count,
                "average_order_value": (ltv / count).quantize(Decimal("0.01"))
                if count
                else Decimal("0"),
                "first_order_at": first,
                "last_order_at": last,
                "last_seen_at": last,
                "profile_strength": 50,
                "channels": sorted(channels),
                "event_count": count,
                "created_at": first or now,
                "updated_at": now,
            }
        )
        for kind, value in (("email", email), ("phone", phone)):
            ident_rows.append(
                {
                    "id": str(uuid.uuid4()),
                    "brand_id": brand_id,
                    "kind": kind,
                    "value": value,
                    "customer_profile_id": pid,
                    "verified": True,
                    "shared": False,
                    "source": "bench",
                    "first_seen_at": now,
                }
            )
    order_rows: list[dict[str, Any]] = [
        {
            "id": str(uuid.uuid4()),
            "brand_id": brand_id,
            "source": "bench",
            "external_id": f"o{i}",
            "customer_profile_id": pids[owner],
            "order_number": None,
            "status": "delivered",
            "financial_status": "paid",
            "fulfillment_status": None,
            "currency": "USD",
            "total": total,
            "refunded": refunded,
            "net": net,
            "counted": True,
            "refunds": {},
            "placed_at": placed,
            "source_updated_at": placed,
            "channel": "online" if i % 4 else "store",
            "store_id": None,
            "test": False,
            "line_items": [],
            "created_at": placed,
            "updated_at": placed,
        }
        for i, owner, placed, total, refunded, net in orders
    ]
    with transaction(engine) as s:
        insert_rows(s, CustomerProfile.__table__, profile_rows)  # type: ignore[arg-type]
        insert_rows(s, CustomerIdentifier.__table__, ident_rows)  # type: ignore[arg-type]
        for start in range(0, len(order_rows), 100_000):
            insert_rows(s, CustomerOrder.__table__, order_rows[start : start + 100_000])  # type: ignore[arg-type]
    with transaction(engine) as s:
        # The order_day rollup the write path would have kept (bypassed here).
        orders_repo.rebuild_days(s, brand_id=brand_id, timezone="UTC")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # What autovacuum does in production (it is off on this machine): statistics, and
        # the visibility map that lets the overview read its covering index alone.
        conn.exec_driver_sql("VACUUM ANALYZE")
    predictions.refit(engine, brand_id)
    top = max(stats, key=lambda k: stats[k][1])
    engine.dispose()
    return key, pids[top], f"(202) {5550000 + top:07d}"[:14]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--profiles", type=int, default=100_000)
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the database (prints its URL)")
    args = ap.parse_args()
    name = f"bench_dashboard_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(ADMIN_URL, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    try:
        t0 = time.perf_counter()
        key, top_id, phone = prepare(url, args.profiles, args.orders, args.seed)
        took = time.perf_counter() - t0
        print(f"prepared {args.profiles:,} profiles and {args.orders:,} orders in {took:.0f} s")
        app = bootstrap(Settings(database_url=url, predict_refit_hours=0))
        server = uvicorn.Server(
            uvicorn.Config(create_app(app), host="127.0.0.1", port=0, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
        client.post("/dashboard/login", data={"api_key": key})
        today = datetime.now(UTC).date()
        pages = {
            "(reference: GET /healthz, no database)": "/healthz",
            "overview (30 days by day)": "/dashboard/",
            "overview (365 days by month)": (
                f"/dashboard/?from={today - timedelta(days=364)}&to={today}&by=month"
            ),
            "customers (top 100 by LTV)": "/dashboard/customers",
            "customers ?lifecycle=champion": "/dashboard/customers?lifecycle=champion",
            "customers ?q=<phone, other format>": f"/dashboard/customers?q={phone}",
            "customers ?q=<name>": "/dashboard/customers?q=chloe+novak17",
            "customers ?channel=store": "/dashboard/customers?channel=store",
            "customer page (most orders)": f"/dashboard/customers/{top_id}",
            "review queue": "/dashboard/review",
            "cohorts (12 months)": "/dashboard/cohorts",
            "automations and delivery log": "/dashboard/automations",
            "stores": "/dashboard/stores",
            "unattached events": "/dashboard/unattached",
        }
        print(f"{'page':<40} {'p50 ms':>8} {'p95 ms':>8}  status")
        for label, path in pages.items():
            client.get(path)  # warm-up
            times = []
            status = 0
            for _ in range(args.requests):
                t = time.perf_counter()
                r = client.get(path)
                times.append((time.perf_counter() - t) * 1000)
                status = r.status_code
            print(
                f"{label:<40} {statistics.median(times):>8.1f} {pct(times, 0.95):>8.1f}  {status}"
            )
        t = time.perf_counter()
        r = client.get("/dashboard/customers.csv")
        took = (time.perf_counter() - t) * 1000
        print(f"customers.csv (up to 100,000 rows): {took:.0f} ms, {len(r.content):,} bytes")
        server.should_exit = True
        thread.join(timeout=20)
        app.engine.dispose()
    finally:
        if args.keep:
            print(f"kept {url}")
        else:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    main()
