"""Migrations are the schema: on both databases, upgrading from nothing gives exactly the
models, and the seed's "Verify Processing" SQL runs verbatim on PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from constintel.brands import service as brands
from constintel.db import migrate
from constintel.db.metadata import metadata
from constintel.db.session import make_engine, transaction
from constintel.pipeline import BrandContext, Envelope, ingest_batch

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
