"""All SQL on ``customer_profile``, ``profile_merge`` and ``merge_request``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from constintel.db.bulk import insert_rows, update_rows
from constintel.db.chunks import chunked, rows_in
from constintel.identity.models import CustomerIdentifier
from constintel.orders.models import CustomerOrder
from constintel.profiles.models import CustomerProfile, MergeRequest, ProfileMerge

__all__ = [
    "STAT_COLUMNS",
    "get",
    "get_many",
    "get_merge_of",
    "get_request",
    "get_row_by_identifier",
    "insert_many",
    "insert_merge",
    "insert_merges",
    "insert_requests",
    "list_active",
    "list_active_ids",
    "list_merges_into",
    "list_requests",
    "merged_ids_by_target",
    "redirect_merged",
    "redirect_merged_many",
    "search_by_name",
    "set_merged_into",
    "set_name",
    "sum_lifetime_value",
    "sum_net_orders",
    "update_many",
    "update_merge",
    "update_request",
    "with_merged",
]

P = cast(Table, CustomerProfile.__table__)
M = cast(Table, ProfileMerge.__table__)
Q = cast(Table, MergeRequest.__table__)
I = cast(Table, CustomerIdentifier.__table__)  # noqa: E741
O = cast(Table, CustomerOrder.__table__)  # noqa: E741

STAT_COLUMNS = (
    "status",
    "merged_into_id",
    "identifiers",
    "name",
    "lifetime_value",
    "total_orders",
    "average_order_value",
    "first_order_at",
    "last_order_at",
    "last_seen_at",
    "profile_strength",
    "channels",
    "event_count",
    "updated_at",
)


def get(session: Session, *, brand_id: str, profile_id: str) -> Any:
    return session.execute(
        select(P).where(P.c.brand_id == brand_id, P.c.id == profile_id)
    ).one_or_none()


def get_many(session: Session, *, brand_id: str, ids: Sequence[str]) -> list[Any]:
    return rows_in(session, P, brand_id=brand_id, key="id", values=ids)


def list_active(session: Session, *, brand_id: str, limit: int) -> list[Any]:
    return list(
        session.execute(
            select(P)
            .where(P.c.brand_id == brand_id, P.c.status == "active")
            .order_by(P.c.lifetime_value.desc(), P.c.id)
            .limit(limit)
        ).all()
    )


def list_active_ids(session: Session, *, brand_id: str) -> list[str]:
    return list(
        session.scalars(
            select(P.c.id).where(P.c.brand_id == brand_id, P.c.status == "active").order_by(P.c.id)
        ).all()
    )


def sum_lifetime_value(session: Session, *, brand_id: str) -> Any:
    return session.scalar(
        select(func.coalesce(func.sum(P.c.lifetime_value), 0)).where(
            P.c.brand_id == brand_id, P.c.status != "merged"
        )
    )


def sum_net_orders(session: Session, *, brand_id: str) -> Any:
    return session.scalar(
        select(func.coalesce(func.sum(O.c.net), 0)).where(
            O.c.brand_id == brand_id, O.c.customer_profile_id.is_not(None)
        )
    )


def insert_many(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    insert_rows(session, P, rows)


def update_many(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """rows carry ``id`` plus every column of STAT_COLUMNS."""
    update_rows(session, P, rows)


def redirect_merged(session: Session, *, from_profile: str, to_profile: str) -> list[str]:
    """Profiles merged earlier into ``from_profile`` now point at ``to_profile`` (flattening)."""
    ids = merged_ids_by_target(session, targets=[from_profile]).get(from_profile, [])
    if ids:
        redirect_merged_many(session, [{"b_from": from_profile, "b_to": to_profile}])
    return ids


def set_merged_into(session: Session, *, ids: Sequence[str], target: str | None) -> None:
    for chunk in chunked(ids):
        session.execute(update(P).where(P.c.id.in_(chunk)).values(merged_into_id=target))


def set_name(session: Session, *, profile_id: str, name: str | None) -> None:
    session.execute(update(P).where(P.c.id == profile_id).values(name=name))


def insert_merge(session: Session, row: Mapping[str, Any]) -> None:
    session.execute(M.insert(), [dict(row)])


def insert_merges(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Many merge records (every column present) in bulk: a batch's automatic merges."""
    insert_rows(session, M, rows)


def get_merge_of(session: Session, *, brand_id: str, merged_id: str) -> Any:
    """The live (not undone) merge that absorbed ``merged_id``."""
    return session.execute(
        select(M).where(
            M.c.brand_id == brand_id, M.c.merged_id == merged_id, M.c.undone_at.is_(None)
        )
    ).one_or_none()


def list_merges_into(session: Session, *, brand_id: str, survivor_id: str) -> list[Any]:
    return list(
        session.execute(
            select(M)
            .where(
                M.c.brand_id == brand_id, M.c.survivor_id == survivor_id, M.c.undone_at.is_(None)
            )
            .order_by(M.c.created_at)
        ).all()
    )


def update_merge(session: Session, *, merge_id: str, **values: Any) -> None:
    session.execute(update(M).where(M.c.id == merge_id).values(**values))


def insert_requests(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        session.execute(Q.insert(), list(rows))


def list_requests(session: Session, *, brand_id: str, status: str | None) -> list[Any]:
    query = select(Q).where(Q.c.brand_id == brand_id).order_by(Q.c.created_at, Q.c.id)
    if status is not None:
        query = query.where(Q.c.status == status)
    return list(session.execute(query).all())


def get_request(session: Session, *, brand_id: str, request_id: str) -> Any:
    return session.execute(
        select(Q).where(Q.c.brand_id == brand_id, Q.c.id == request_id)
    ).one_or_none()


def update_request(session: Session, *, request_id: str, **values: Any) -> None:
    session.execute(update(Q).where(Q.c.id == request_id).values(**values))


def merged_ids_by_target(session: Session, *, targets: Sequence[str]) -> dict[str, list[str]]:
    """Ids of profiles merged earlier into each target."""
    found: dict[str, list[str]] = {}
    for chunk in chunked(targets):
        rows = session.execute(
            select(P.c.merged_into_id, P.c.id).where(P.c.merged_into_id.in_(chunk))
        ).all()
        for target, pid in rows:
            found.setdefault(target, []).append(pid)
    return found


def with_merged(session: Session, *, brand_id: str, profile_id: str) -> list[str]:
    """The profile's id and the ids of every profile merged into it, at any depth (an undone
    merge no longer counts: unmerge clears ``merged_into_id``)."""
    ids = [profile_id]
    frontier = [profile_id]
    while frontier:
        frontier = list(
            session.scalars(
                select(P.c.id).where(P.c.brand_id == brand_id, P.c.merged_into_id.in_(frontier))
            )
        )
        ids.extend(frontier)
    return ids


def redirect_merged_many(session: Session, moves: Sequence[Mapping[str, str]]) -> None:
    """moves: {"b_from", "b_to"}: profiles merged into b_from now point at b_to."""
    if moves:
        session.execute(
            update(P)
            .where(P.c.merged_into_id == bindparam("b_from"))
            .values(merged_into_id=bindparam("b_to")),
            list(moves),
        )


SORTABLE = ("lifetime_value", "total_orders", "last_order_at", "created_at")


def list_page(
    session: Session,
    *,
    brand_id: str,
    sort: str,
    limit: int,
    offset: int,
    where: Sequence[Any] = (),
    join: Any = None,
) -> list[Any]:
    """Active profiles, highest ``sort`` first (one of SORTABLE); ``join`` and ``where`` narrow
    the list (e.g. to a segment of the predictions table)."""
    column = P.c[sort]
    source = P if join is None else P.join(join[0], join[1])
    return list(
        session.execute(
            select(P)
            .select_from(source)
            .where(P.c.brand_id == brand_id, P.c.status == "active", *where)
            .order_by(column.desc().nulls_last(), P.c.id)
            .limit(limit)
            .offset(offset)
        ).all()
    )


def search_by_name(session: Session, *, brand_id: str, text: str, limit: int) -> list[Any]:
    """Active profiles whose name contains every word of ``text`` (case-insensitive), highest
    lifetime value first."""
    words = text.lower().split()
    if not words:
        return []
    return list(
        session.execute(
            select(P)
            .where(
                P.c.brand_id == brand_id,
                P.c.status == "active",
                *(func.lower(P.c.name).contains(w, autoescape=True) for w in words),
            )
            .order_by(P.c.lifetime_value.desc(), P.c.id)
            .limit(limit)
        ).all()
    )


def get_row_by_identifier(session: Session, *, brand_id: str, kind: str, value: str) -> Any:
    """The profile row that owns an identifier (maybe merged away), in one query."""
    # A scalar subquery, not a join: two index probes whatever the planner knows (with no
    # statistics yet, PostgreSQL may hash-join the whole profile table).
    owner = (
        select(I.c.customer_profile_id)
        .where(I.c.brand_id == brand_id, I.c.kind == kind, I.c.value == value)
        .scalar_subquery()
    )
    return session.execute(select(P).where(P.c.id == owner)).one_or_none()
