"""Migrations are the schema: on both databases, upgrading from nothing gives exactly the
models, and the seed's "Verify Processing" SQL runs verbatim on PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from constintel.brands import service as brands
from constintel.db import migrate
from constintel.db.bulk import insert_rows
from constintel.db.metadata import metadata
from constintel.db.session import make_engine, transaction
from constintel.orders import repository as orders_repo
from constintel.orders.models import CustomerOrder
from constintel.pipeline import BrandContext, Envelope, ingest_batch
from integration.helpers import order_row

SEED_VERIFY_SQL = """
SELECT
  cp.id,
  cp.identifiers->>'email' as email,
  cp.lifetime_value,
  cp.total_orders,
  COUNT(cre.id) as event_count
FROM customer_profile cp
LEFT JOIN customer_raw_event cre ON cre.customer_profile_id = cp.id
WHERE cp.brand_id = 'test-brand-id'
GROUP BY cp.id
ORDER BY cp.lifetime_value DESC
LIMIT 10;
"""


def test_migrations_match_the_models(engine: Engine) -> None:
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_migrations_run_on_an_empty_sqlite_file(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert migrate.current_revision(engine) is None
    migrate.ensure_schema(engine)  # the embedded default migrates itself
    assert migrate.current_revision(engine) == migrate.head_revision(engine)


@pytest.mark.postgres
def test_seed_verify_processing_sql_runs_verbatim(postgres_engine: Engine) -> None:
    with transaction(postgres_engine) as session:
        ctx = BrandContext.of(brands.create(session, name="seed-verify", brand_id="test-brand-id"))
        ingest_batch(
            session,
            ctx,
            [
                Envelope(
                    "shopify",
                    "orders/create",
                    {
                        "id": 12345,
                        "email": "customer@example.com",
                        "phone": "+1-555-0123",
                        "total_spent": "89.99",
                        "line_items": [],
                        "created_at": "2024-12-07T10:00:00Z",
                    },
                ),
                Envelope(
                    "pos",
                    None,
                    {
                        "transaction_id": "TXN-98765",
                        "customer": {"phone": "+1-555-0123", "loyalty_id": "LOY-789456"},
                        "total": 125.50,
                        "items": [],
                        "timestamp": "2024-12-09T14:30:00Z",
                    },
                ),
            ],
        )
    with postgres_engine.connect() as conn:
        rows = conn.execute(text(SEED_VERIFY_SQL)).all()
    assert len(rows) == 1
    _, email, ltv, orders, events = rows[0]
    assert (email, ltv, orders, events) == ("customer@example.com", Decimal("215.49"), 2, 2)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    """A database with no schema yet (a fresh SQLite file, or a fresh PostgreSQL database)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    with _fresh_postgres(request.getfixturevalue("postgres_url")) as engine:
        yield engine


@contextmanager
def _fresh_postgres(postgres_url: str) -> Iterator[Engine]:
    """An engine on a new, empty PostgreSQL database, dropped afterwards."""
    name = f"constintel_migrate_{uuid.uuid4().hex[:10]}"
    admin = postgres_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(postgres_url.rsplit("/", 1)[0] + f"/{name}")
    try:
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_upgrade_builds_the_order_day_rollup_of_stored_orders(empty_engine: Engine) -> None:
    """0007 fills order_day from the orders already stored, in each brand's days."""
    migrate.upgrade(empty_engine, "0006")
    placed = [  # (UTC time, channel, net, counted)
        (datetime(2025, 3, 1, 17, 0, tzinfo=UTC), "online", Decimal("10.25"), True),
        (datetime(2025, 3, 1, 19, 0, tzinfo=UTC), "online", Decimal("5.50"), True),  # Mar 2 IST
        (datetime(2025, 3, 1, 20, 0, tzinfo=UTC), "store", Decimal("7.00"), True),  # Mar 2 IST
        (datetime(2025, 3, 1, 21, 0, tzinfo=UTC), "online", Decimal("0"), False),  # cancelled
    ]
    with transaction(empty_engine) as session:
        brand = brands.create(session, name="old", timezone="Asia/Kolkata")
        brand_id = brand.id
        insert_rows(
            session,
            CustomerOrder.__table__,  # type: ignore[arg-type]
            [
                order_row(
                    brand_id,
                    f"o{k}",
                    at,
                    order_number=None,
                    status="delivered" if counted else "cancelled",
                    financial_status=None,
                    total=net,
                    net=net,
                    counted=counted,
                    channel=channel,
                )
                for k, (at, channel, net, counted) in enumerate(placed)
            ],
        )
    migrate.upgrade(empty_engine)
    with transaction(empty_engine) as session:
        days = orders_repo.day_totals(
            session, brand_id=brand_id, start=date(2025, 3, 1), end=date(2025, 3, 2)
        )
        assert days == {
            (date(2025, 3, 1), "online"): [Decimal("10.25"), 1],
            (date(2025, 3, 2), "online"): [Decimal("5.50"), 1],
            (date(2025, 3, 2), "store"): [Decimal("7.00"), 1],
        }
        assert orders_repo.rebuild_days(session, brand_id=brand_id, timezone="Asia/Kolkata") == []


def _analysis(engine: Engine, table: str) -> tuple[int, Any]:
    """(rows changed since the table's last analysis, when that was) from pg_stat."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT n_mod_since_analyze, last_analyze FROM pg_stat_user_tables "
                "WHERE relname = :table"
            ),
            {"table": table},
        ).one()
    return int(row[0]), row[1]


def _await_changes(engine: Engine, table: str, at_least: int) -> None:
    """Wait until pg_stat counts ``at_least`` changes to ``table`` since its last analysis
    (the counters reach pg_stat a moment after the commit)."""
    deadline = time.monotonic() + 5
    while _analysis(engine, table)[0] < at_least:
        assert time.monotonic() < deadline
        time.sleep(0.1)


@pytest.mark.postgres
def test_a_running_service_analyzes_the_tables_it_grows(postgres_engine: Engine) -> None:
    """Without autovacuum, the drain's analyze_stale applies autovacuum's rule itself; with
    it, only a table never analyzed yet is its business (checked both ways on any server)."""
    from constintel.db.maintenance import analyze_stale

    with transaction(postgres_engine) as session:
        ctx = BrandContext.of(brands.create(session, name=f"stats-{uuid.uuid4().hex[:8]}"))

    def grow(first: int) -> None:
        event = {"event_type": "page_view", "occurred_at": "2025-01-01T00:00:00Z"}
        with transaction(postgres_engine) as session:
            envelopes = [
                Envelope("api", None, {**event, "email": f"s{k}@example.com"})
                for k in range(first, first + 3000)
            ]
            assert ingest_batch(session, ctx, envelopes).imported == 3000
            session.execute(text("SELECT pg_stat_force_next_flush()"))

    def analyze(autovacuum: bool) -> list[str]:
        return analyze_stale(postgres_engine, ("customer_identifier",), autovacuum=autovacuum)

    def analyzed_at() -> Any:
        return _analysis(postgres_engine, "customer_identifier")[1]

    def eventually(autovacuum: bool) -> None:
        deadline = time.monotonic() + 5
        while analyze(autovacuum) != ["customer_identifier"]:
            assert time.monotonic() < deadline  # the counters reach pg_stat a bit later
            time.sleep(0.1)

    grow(0)
    if analyzed_at() is None:  # a fresh database: never analyzed, even where autovacuum runs
        eventually(autovacuum=True)
    else:
        eventually(autovacuum=False)
    assert analyzed_at() is not None
    assert analyze(autovacuum=False) == []  # fresh now

    def grow_stale(first: int) -> None:  # stale by autovacuum's rule, once the counters say so
        grow(first)
        _await_changes(postgres_engine, "customer_identifier", 3000)

    grow_stale(3000)
    assert analyze(autovacuum=True) == []  # analyzed before: autovacuum's business
    eventually(autovacuum=False)  # without autovacuum: ours
    grow_stale(6000)
    with postgres_engine.connect() as conn:  # by default, the server's setting decides
        runs = conn.execute(text("SELECT current_setting('autovacuum')::boolean")).scalar_one()
    expected = [] if runs else ["customer_identifier"]
    assert analyze_stale(postgres_engine, ("customer_identifier",)) == expected


def _write_outbox(engine: Engine, count: int) -> None:
    """``count`` unsent ``profiles.updated`` messages of a new brand, their counters flushed
    to pg_stat."""
    from constintel.streams import outbox

    with transaction(engine) as session:
        brand_id = brands.create(session, name=f"outbox-{uuid.uuid4().hex[:8]}").id
        now = datetime.now(UTC)
        messages = (outbox.profile_updated(brand_id, f"p{k}", "test", now) for k in range(count))
        outbox.write(session, messages)
        session.execute(text("SELECT pg_stat_force_next_flush()"))


@pytest.mark.postgres
def test_the_drain_refreshes_stale_statistics_before_its_first_batch(postgres_url: str) -> None:
    """A table that changed while no drain ran (here the outbox, never analyzed) gets its
    statistics in the drain's first step, not a second later when its periodic look starts:
    measured, the outbox and the consumers' ledger left unanalyzed by a backlog made the first
    second's deliveries the slowest of the run."""
    from constintel.webhooks.inbox import drainer

    with _fresh_postgres(postgres_url) as engine:
        migrate.upgrade(engine)
        _write_outbox(engine, 500)
        _await_changes(engine, "outbox", 500)
        assert _analysis(engine, "outbox")[1] is None

        assert drainer(engine).step() == 0  # the first step: nothing in the inbox
        modified, analyzed_at = _analysis(engine, "outbox")
        assert analyzed_at is not None
        assert modified == 0


def _vacuum(engine: Engine, table: str) -> tuple[int, Any]:
    """(dead rows, when the table was last vacuumed by hand) from pg_stat."""
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT n_dead_tup, last_vacuum FROM pg_stat_user_tables WHERE relname = :t"),
            {"t": table},
        ).one()
    return int(row[0]), row[1]


@pytest.mark.postgres
def test_the_queues_are_vacuumed_where_autovacuum_does_not(postgres_url: str) -> None:
    """A queue table with more dead rows than the threshold is vacuumed when autovacuum does
    not look after it (so the relay's partial index stops holding an entry per message
    sent), and left alone when autovacuum does or the rows are few."""
    from constintel.db.maintenance import vacuum_queues

    with _fresh_postgres(postgres_url) as engine:
        migrate.upgrade(engine)
        _write_outbox(engine, 600)
        with engine.begin() as conn:
            conn.execute(text("UPDATE outbox SET sent_at = now()"))  # as the relay marks them
            conn.execute(text("SELECT pg_stat_force_next_flush()"))
        deadline = time.monotonic() + 5
        while _vacuum(engine, "outbox")[0] < 600:  # the counters reach pg_stat a bit later
            assert time.monotonic() < deadline
            time.sleep(0.1)

        assert vacuum_queues(engine, dead=1000, autovacuum=False) == []  # below the threshold
        assert vacuum_queues(engine, dead=500, autovacuum=True) == []  # autovacuum's business
        assert _vacuum(engine, "outbox")[1] is None
        assert vacuum_queues(engine, dead=500, autovacuum=False) == ["outbox"]
        dead, vacuumed_at = _vacuum(engine, "outbox")
        assert (dead, vacuumed_at is not None) == (0, True)


def test_analyze_stale_leaves_sqlite_to_the_importer(tmp_path) -> None:
    from constintel.db.maintenance import analyze_stale

    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    migrate.upgrade(engine)
    assert analyze_stale(engine) == []
