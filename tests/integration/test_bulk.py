"""The write path's bulk statements (``db.bulk``) on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import psycopg
import pytest
from sqlalchemy import Engine, Table, select

from constintel.brands import service as brands
from constintel.db import bulk
from constintel.db.bulk import insert_rows, update_rows
from constintel.db.session import pipelined, transaction
from constintel.orders.models import CustomerOrder
from integration.helpers import order_row

T = cast(Table, CustomerOrder.__table__)
AT = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


def _stored(engine: Engine, ids: list[str]) -> dict[str, Any]:
    with transaction(engine) as session:
        rows = session.execute(select(T).where(T.c.id.in_(ids))).all()
    return {row.id: row._mapping for row in rows}


@pytest.fixture
def orders(engine: Engine) -> list[dict[str, Any]]:
    with transaction(engine) as session:
        brand_id = brands.create(session, name=f"bulk-{uuid.uuid4().hex[:8]}").id
        rows = [
            order_row(brand_id, "a", AT),
            order_row(brand_id, "b", AT),
            order_row(brand_id, "c", AT),
        ]
        insert_rows(session, T, rows)
    return rows


def test_update_rows_sets_each_row_its_own_values(
    engine: Engine, orders: list[dict[str, Any]]
) -> None:
    later = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    changes = [
        {
            "id": orders[0]["id"],
            "order_number": None,  # set to NULL
            "total": Decimal("1234.5678"),
            "refunds": {"r1": "4.5678"},
            "counted": False,
            "updated_at": later,
        },
        {
            "id": orders[1]["id"],
            "order_number": "#2",
            "total": None,
            "refunds": {},
            "counted": True,
            "updated_at": AT,
        },
    ]
    with transaction(engine) as session:
        update_rows(session, T, changes)

    stored = _stored(engine, [o["id"] for o in orders])
    for change in changes:
        row = stored[change["id"]]
        assert {name: row[name] for name in change} == change
        assert row["currency"] == "USD"  # columns not named stay as they were
        assert row["net"] == Decimal("10.00")
    assert stored[orders[2]["id"]]["order_number"] == "#1"  # a row not named stays as it was
    assert stored[orders[2]["id"]]["total"] == Decimal("10.00")


@pytest.mark.postgres
def test_update_rows_refuses_a_value_too_long_for_its_column(
    postgres_engine: Engine,
) -> None:
    """The arrays are typed without a length: a cast to ``varchar(64)[]`` would cut the value
    silently, the assignment to the column refuses it."""
    with transaction(postgres_engine) as session:
        brand_id = brands.create(session, name=f"bulk-{uuid.uuid4().hex[:8]}").id
        order = order_row(brand_id, "long", AT)
        insert_rows(session, T, [order])
    with (
        pytest.raises(psycopg.errors.StringDataRightTruncation),
        transaction(postgres_engine) as session,
    ):
        update_rows(session, T, [{"id": order["id"], "order_number": "x" * 65}])
    assert _stored(postgres_engine, [order["id"]])[order["id"]]["order_number"] == "#1"


def test_insert_rows_stores_every_value_across_statements(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows past one statement's worth (PostgreSQL inserts ``INSERT_CHUNK`` rows a statement)
    are all stored, each value exactly: NULLs, money to the 1/10,000, JSON, booleans, times."""
    monkeypatch.setattr(bulk, "INSERT_CHUNK", 2)
    with transaction(engine) as session:
        brand_id = brands.create(session, name=f"bulk-{uuid.uuid4().hex[:8]}").id
    rows = [
        order_row(
            brand_id,
            f"o{n}",
            AT,
            order_number=None if n % 2 else f"#{n}",
            total=Decimal(f"{n}.0{n}01"),
            counted=bool(n % 2),
            refunds={"r": str(n)} if n else {},
            line_items=[{"product_id": f"p{n}", "quantity": n}],
        )
        for n in range(5)
    ]
    with transaction(engine) as session:
        insert_rows(session, T, rows)
    stored = _stored(engine, [r["id"] for r in rows])
    assert {rid: dict(row) for rid, row in stored.items()} == {r["id"]: r for r in rows}


@pytest.mark.postgres
def test_insert_rows_refuses_a_value_too_long_for_its_column(postgres_engine: Engine) -> None:
    """As for updates: the ``unnest`` arrays carry no length, so nothing is cut to fit."""
    with transaction(postgres_engine) as session:
        brand_id = brands.create(session, name=f"bulk-{uuid.uuid4().hex[:8]}").id
    order = order_row(brand_id, "long", AT, order_number="x" * 65)
    with (
        pytest.raises(psycopg.errors.StringDataRightTruncation),
        transaction(postgres_engine) as session,
    ):
        insert_rows(session, T, [order])
    assert _stored(postgres_engine, [order["id"]]) == {}


def test_pipelined_writes_land_and_a_failure_among_them_rolls_all_back(engine: Engine) -> None:
    """Writes in a ``pipelined`` block are all applied; when one fails (here a duplicate
    order), the error is raised (on PostgreSQL when the block ends) and the transaction keeps
    none of them, not even those sent before the failing one."""
    with transaction(engine) as session:
        brand_id = brands.create(session, name=f"bulk-{uuid.uuid4().hex[:8]}").id
    first = [order_row(brand_id, "a", AT), order_row(brand_id, "b", AT)]
    with transaction(engine) as session, pipelined(session):
        if engine.dialect.name == "postgresql":
            driver: Any = session.connection().connection.driver_connection
            assert driver.pgconn.pipeline_status  # really sent without waiting
        insert_rows(session, T, first[:1])
        update_rows(session, T, [{"id": first[0]["id"], "order_number": "#A"}])
        insert_rows(session, T, first[1:])
    stored = _stored(engine, [o["id"] for o in first])
    assert [stored[o["id"]]["order_number"] for o in first] == ["#A", "#1"]

    later = [order_row(brand_id, "c", AT), order_row(brand_id, "a", AT)]  # "a" again

    def write_later() -> None:
        with transaction(engine) as session, pipelined(session):
            update_rows(session, T, [{"id": first[1]["id"], "order_number": "#B"}])
            insert_rows(session, T, later[:1])
            insert_rows(session, T, later[1:])

    # Each driver raises its own error type; both name the unique constraint.
    with pytest.raises(Exception, match=r"(?i)unique"):
        write_later()
    assert _stored(engine, [later[0]["id"], later[1]["id"]]) == {}
    assert _stored(engine, [first[1]["id"]])[first[1]["id"]]["order_number"] == "#1"
