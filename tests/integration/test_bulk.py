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
from constintel.db.bulk import insert_rows, update_rows
from constintel.db.session import transaction
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
