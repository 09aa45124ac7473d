"""The write path's per-batch look-ups (``db.chunks``) and the brand context it loads per
batch, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from sqlalchemy import Engine, Table, bindparam, select, update

from constintel.brands import service as brands
from constintel.brands.models import Brand
from constintel.core.errors import NotFoundError
from constintel.db.bulk import insert_rows
from constintel.db.chunks import DEFAULT_CHUNK, any_of, rows_in, run_in, select_by_pairs
from constintel.db.session import transaction
from constintel.orders.models import CustomerOrder
from constintel.pipeline import BrandContext
from integration.helpers import order_row

T = cast(Table, CustomerOrder.__table__)
B = cast(Table, Brand.__table__)
AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LONGEST = "x" * 100  # external_id is varchar(100)


@pytest.fixture
def stored(engine: Engine) -> tuple[str, dict[str, dict[str, Any]]]:
    """A brand with four orders: api/a, api/b, shopify/a and api/<100 x>; another brand's
    api/a. Returns (brand id, the brand's rows by "source/external_id")."""
    with transaction(engine) as session:
        brand_id = brands.create(session, name=f"lookups-{uuid.uuid4().hex[:8]}").id
        other = brands.create(session, name=f"lookups-{uuid.uuid4().hex[:8]}").id
        rows = [
            order_row(brand_id, "a", AT),
            order_row(brand_id, "b", AT),
            order_row(brand_id, "a", AT, source="shopify"),
            order_row(brand_id, LONGEST, AT),
        ]
        insert_rows(session, T, [*rows, order_row(other, "a", AT)])
    return brand_id, {f"{r['source']}/{r['external_id']}": r for r in rows}


def _keys(rows: list[Any]) -> set[str]:
    return {f"{r.source}/{r.external_id}" for r in rows}


def test_select_by_pairs_finds_exactly_the_pairs_of_the_brand(
    engine: Engine, stored: tuple[str, dict[str, dict[str, Any]]]
) -> None:
    brand_id, rows = stored
    pairs = [("api", "a"), ("shopify", "a"), ("shopify", "b"), ("woo", "a"), ("api", "zzz")]
    with transaction(engine) as session:
        found = select_by_pairs(
            session, T, brand_id=brand_id, group="source", key="external_id", pairs=pairs
        )
    # shopify/b and woo/a: each half of the pair exists, not the pair; the other brand's
    # api/a is not this brand's.
    assert sorted(_keys(found)) == ["api/a", "shopify/a"]
    assert {r.id for r in found} == {rows["api/a"]["id"], rows["shopify/a"]["id"]}


def test_a_key_longer_than_its_column_matches_nothing(
    engine: Engine, stored: tuple[str, dict[str, dict[str, Any]]]
) -> None:
    """The look-up arrays are typed without a length: on PostgreSQL a ``varchar(100)[]``
    cast would cut the 101-character key to the stored 100-character one and match it."""
    brand_id, _ = stored
    with transaction(engine) as session:
        too_long = select_by_pairs(
            session,
            T,
            brand_id=brand_id,
            group="source",
            key="external_id",
            pairs=[("api", LONGEST + "y")],
        )
        exact = select_by_pairs(
            session,
            T,
            brand_id=brand_id,
            group="source",
            key="external_id",
            pairs=[("api", LONGEST)],
        )
    assert too_long == []
    assert _keys(exact) == {f"api/{LONGEST}"}


def test_rows_in_returns_the_columns_asked_for(
    engine: Engine, stored: tuple[str, dict[str, dict[str, Any]]]
) -> None:
    brand_id, rows = stored
    ids = [rows["api/b"]["id"], rows["shopify/a"]["id"], str(uuid.uuid4())]
    with transaction(engine) as session:
        found = rows_in(
            session, T, brand_id=brand_id, key="id", values=ids, columns=("id", "source")
        )
        none = rows_in(session, T, brand_id=brand_id, key="id", values=[])
    assert sorted(tuple(r) for r in found) == sorted(
        [(rows["api/b"]["id"], "api"), (rows["shopify/a"]["id"], "shopify")]
    )
    assert none == []


def test_run_in_covers_every_value_past_one_chunk(
    engine: Engine, stored: tuple[str, dict[str, dict[str, Any]]]
) -> None:
    """``run_in``: PostgreSQL binds the whole list once; SQLite runs one expanding IN per
    chunk of DEFAULT_CHUNK values, and rows matched by the last chunk are found too."""
    _, rows = stored
    wanted = [rows["api/a"]["id"], rows["shopify/a"]["id"]]
    ids = [str(uuid.uuid4()) for _ in range(2 * DEFAULT_CHUNK)] + wanted  # third chunk
    by_id = select(T.c.id)
    with transaction(engine) as session:
        results = run_in(
            session,
            by_id.where(any_of(T.c.id, "ids")),
            by_id.where(T.c.id.in_(bindparam("ids", expanding=True))),
            "ids",
            ids,
        )
        found = sorted(i for result in results for i in result.scalars())
    expected_statements = 1 if engine.dialect.name == "postgresql" else 3
    assert (len(results), found) == (expected_statements, sorted(wanted))


def test_the_brand_context_is_reused_until_the_brand_changes(engine: Engine) -> None:
    with transaction(engine) as session:
        brand_id = brands.create(session, name=f"context-{uuid.uuid4().hex[:8]}").id
    with transaction(engine) as session:
        first = BrandContext.load(session, brand_id)
    with transaction(engine) as session:
        assert BrandContext.load(session, brand_id) is first  # parsed once
        session.execute(
            update(B)
            .where(B.c.id == brand_id)
            .values(settings={"junk_emails": ["store@example.com"]})
        )
    with transaction(engine) as session:
        changed = BrandContext.load(session, brand_id)
    assert "store@example.com" in changed.junk.emails
    assert "store@example.com" not in first.junk.emails


def test_loading_an_unknown_brand_names_it(engine: Engine) -> None:
    with pytest.raises(NotFoundError, match="no brand 'nope'"), transaction(engine) as session:
        BrandContext.load(session, "nope")
