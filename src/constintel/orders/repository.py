"""All SQL on ``customer_order``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from constintel.db import owned
from constintel.db.bulk import insert_rows, update_rows
from constintel.db.chunks import array_of, chunked, select_by_pairs
from constintel.db.upsert import insert_for
from constintel.orders.models import CustomerOrder, OrderDay

__all__ = [
    "MUTABLE_COLUMNS",
    "DayTotals",
    "add_day",
    "add_to_days",
    "assign",
    "day_totals",
    "get_by_external_ids",
    "get_ids_unattached",
    "ids_by_owner",
    "insert_many",
    "list_for_profile",
    "move_to_profile",
    "order_dates",
    "reassign_owners",
    "rebuild_days",
    "update_many",
]

T = cast(Table, CustomerOrder.__table__)
D = cast(Table, OrderDay.__table__)
# (brand day, channel) -> [revenue, orders]
DayTotals = dict[tuple[date, str], list[Any]]
MUTABLE_COLUMNS = (
    "customer_profile_id",
    "order_number",
    "status",
    "financial_status",
    "fulfillment_status",
    "total",
    "refunded",
    "net",
    "counted",
    "refunds",
    "placed_at",
    "source_updated_at",
    "channel",
    "store_id",
    "test",
    "line_items",
    "updated_at",
)


def get_by_external_ids(
    session: Session, *, brand_id: str, keys: Iterable[tuple[str, str]]
) -> list[Any]:
    """Order rows for (source, external_id) pairs."""
    return select_by_pairs(
        session, T, brand_id=brand_id, group="source", key="external_id", pairs=keys
    )


def list_for_profile(session: Session, *, profile_id: str) -> list[Any]:
    return list(
        session.execute(
            select(T).where(T.c.customer_profile_id == profile_id).order_by(T.c.placed_at)
        ).all()
    )


def order_dates(session: Session, *, profile_ids: Sequence[str]) -> dict[str, tuple[Any, Any]]:
    """(first, last) placed_at of each profile's counted orders; (None, None) if it has none."""
    dates: dict[str, tuple[Any, Any]] = dict.fromkeys(profile_ids, (None, None))
    for chunk in chunked(sorted(profile_ids)):
        rows = session.execute(
            select(T.c.customer_profile_id, func.min(T.c.placed_at), func.max(T.c.placed_at))
            .where(T.c.customer_profile_id.in_(chunk), T.c.counted.is_(True))
            .group_by(T.c.customer_profile_id)
        ).all()
        for pid, first, last in rows:
            dates[pid] = (first, last)
    return dates


def insert_many(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    insert_rows(session, T, rows)


def update_many(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """rows carry ``id`` plus every column of MUTABLE_COLUMNS."""
    update_rows(session, T, rows)


def get_ids_unattached(session: Session, *, ids: Sequence[str]) -> list[str]:
    return list(
        session.scalars(
            select(T.c.id).where(T.c.id.in_(list(ids)), T.c.customer_profile_id.is_(None))
        ).all()
    )


def move_to_profile(session: Session, *, from_profile: str, to_profile: str) -> list[str]:
    return owned.move_to_profile(session, T, from_profile=from_profile, to_profile=to_profile)


def assign(session: Session, *, ids: Sequence[str], profile_id: str | None) -> None:
    owned.assign(session, T, ids=ids, profile_id=profile_id)


def ids_by_owner(session: Session, *, owners: Sequence[str]) -> dict[str, list[str]]:
    return owned.ids_by_owner(session, T, owners=owners)


def reassign_owners(session: Session, moves: Sequence[Mapping[str, str]]) -> None:
    owned.reassign_owners(session, T, moves)


def page_for_profile(
    session: Session, *, brand_id: str, profile_id: str, limit: int, offset: int
) -> list[Any]:
    return owned.page(
        session,
        T,
        brand_id=brand_id,
        profile_id=profile_id,
        order_by="placed_at",
        limit=limit,
        offset=offset,
    )


def add_day(
    totals: DayTotals,
    zone: ZoneInfo,
    placed_at: datetime | None,
    channel: str,
    net: Decimal,
    sign: int = 1,
) -> None:
    """Add (or, with ``sign=-1``, take back) one counted order's contribution."""
    if placed_at is None:
        return
    entry = totals.setdefault((placed_at.astimezone(zone).date(), channel), [Decimal(0), 0])
    entry[0] += sign * net
    entry[1] += sign


def add_to_days(session: Session, *, brand_id: str, deltas: DayTotals) -> None:
    """Add the batch's changes to the ``order_day`` rollup: on PostgreSQL one upsert for all
    the changed days, elsewhere one per day."""
    rows = [
        {"brand_id": brand_id, "day": day, "channel": channel, "revenue": r, "orders": n}
        for (day, channel), (r, n) in sorted(deltas.items())
        if r or n
    ]
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        # One statement for all the days (a batch of year-old orders touches a hundred).
        columns = {name: [row[name] for row in rows] for name in _DAY_COLUMNS}
        session.execute(_add_days_pg(), {"brand_id": brand_id, **columns})
        return
    session.execute(_adding_to_days(insert_for(session, D)), rows)


_DAY_COLUMNS = ("day", "channel", "revenue", "orders")


def _adding_to_days(stmt: Any) -> Any:
    """``stmt`` (an INSERT into order_day) adding to the day already there."""
    return stmt.on_conflict_do_update(
        index_elements=[D.c.brand_id, D.c.day, D.c.channel],
        set_={
            "revenue": D.c.revenue + stmt.excluded.revenue,
            "orders": D.c.orders + stmt.excluded.orders,
        },
    )


@cache
def _add_days_pg() -> Any:
    """The PostgreSQL upsert of a batch's days, one array per column (built once)."""
    days = (
        func.unnest(*[bindparam(c, type_=array_of(D.c[c].type)) for c in _DAY_COLUMNS])
        .table_valued(*_DAY_COLUMNS)
        .render_derived(name="days")
    )
    brand = bindparam("brand_id", type_=D.c.brand_id.type)
    rows = select(brand, *(days.c[c] for c in _DAY_COLUMNS))
    return _adding_to_days(pg_insert(D).from_select(["brand_id", *_DAY_COLUMNS], rows))


def day_totals(
    session: Session, *, brand_id: str, start: date | None = None, end: date | None = None
) -> DayTotals:
    """The rollup over brand days [start, end] (all of the brand's days by default)."""
    where = [D.c.brand_id == brand_id]
    if start is not None:
        where.append(D.c.day >= start)
    if end is not None:
        where.append(D.c.day <= end)
    return {
        (day, channel): [revenue, orders]
        for day, channel, revenue, orders in session.execute(
            select(D.c.day, D.c.channel, D.c.revenue, D.c.orders).where(*where)
        )
    }


def rebuild_days(session: Session, *, brand_id: str, timezone: str) -> list[tuple[Any, ...]]:
    """Rebuild the brand's ``order_day`` rollup from its counted orders. Returns the drift
    found: (day, channel, stored [revenue, orders], recomputed [revenue, orders])."""
    zone = ZoneInfo(timezone)
    fresh: DayTotals = {}
    rows = session.execute(
        select(T.c.placed_at, T.c.channel, T.c.net).where(
            T.c.brand_id == brand_id, T.c.counted.is_(True)
        )
    )
    for placed_at, channel, net in rows:
        add_day(fresh, zone, placed_at, channel, net)
    fresh = {k: v for k, v in fresh.items() if v[1]}
    stored = {k: v for k, v in day_totals(session, brand_id=brand_id).items() if v[0] or v[1]}
    drift = [
        (key[0], key[1], stored.get(key), fresh.get(key))
        for key in sorted(set(stored) | set(fresh))
        if stored.get(key) != fresh.get(key)
    ]
    if drift:
        session.execute(delete(D).where(D.c.brand_id == brand_id))
        add_to_days(session, brand_id=brand_id, deltas=fresh)
    return drift
