"""SQL shared by every table whose rows belong to a profile (``customer_profile_id``):
identifiers, orders and events move together when profiles merge, unmerge or get linked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from constintel.db.chunks import chunked

__all__ = ["assign", "ids_by_owner", "move_to_profile", "page", "reassign_owners"]


def ids_by_owner(session: Session, table: Table, *, owners: Sequence[str]) -> dict[str, list[str]]:
    """Row ids per owning profile, for the given owners."""
    found: dict[str, list[str]] = {}
    for chunk in chunked(owners):
        rows = session.execute(
            select(table.c.customer_profile_id, table.c.id).where(
                table.c.customer_profile_id.in_(chunk)
            )
        ).all()
        for owner, row_id in rows:
            found.setdefault(owner, []).append(row_id)
    return found


def reassign_owners(session: Session, table: Table, moves: Sequence[Mapping[str, str]]) -> None:
    """moves: {"b_from": profile id, "b_to": profile id}; every row of b_from goes to b_to."""
    if moves:
        session.execute(
            update(table)
            .where(table.c.customer_profile_id == bindparam("b_from"))
            .values(customer_profile_id=bindparam("b_to")),
            list(moves),
        )


def move_to_profile(
    session: Session, table: Table, *, from_profile: str, to_profile: str
) -> list[str]:
    """Move every row of one profile to another; returns the moved ids."""
    ids = ids_by_owner(session, table, owners=[from_profile]).get(from_profile, [])
    if ids:
        reassign_owners(session, table, [{"b_from": from_profile, "b_to": to_profile}])
    return ids


def assign(session: Session, table: Table, *, ids: Sequence[str], profile_id: str | None) -> None:
    """Give the rows ``ids`` to ``profile_id`` (None: unattached)."""
    for chunk in chunked(ids):
        session.execute(
            update(table).where(table.c.id.in_(chunk)).values(customer_profile_id=profile_id)
        )


def page(
    session: Session,
    table: Table,
    *,
    brand_id: str,
    profile_id: str,
    order_by: str,
    limit: int,
    offset: int,
) -> list[Any]:
    """One page of a profile's rows, oldest ``order_by`` first (ties by id). The caller has
    resolved ``profile_id`` within ``brand_id``; the brand is checked on the rows rather than
    in SQL, so a planner without fresh statistics probes the owner index alone (see
    ``identity.repository.list_for_profiles``)."""
    rows = session.execute(
        select(table)
        .where(table.c.customer_profile_id == profile_id)
        .order_by(table.c[order_by], table.c.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [row for row in rows if row.brand_id == brand_id]
