"""All SQL on ``customer_identifier``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from constintel.db.bulk import insert_rows, update_rows
from constintel.db.chunks import chunked
from constintel.identity.models import CustomerIdentifier

__all__ = [
    "assign",
    "get_by_values",
    "ids_by_owner",
    "insert_many",
    "list_for_profiles",
    "move_to_profile",
    "reassign_owners",
    "update_many",
]

T = cast(Table, CustomerIdentifier.__table__)


def get_by_values(session: Session, *, brand_id: str, keys: Iterable[tuple[str, str]]) -> list[Any]:
    by_kind: dict[str, list[str]] = {}
    for kind, value in keys:
        by_kind.setdefault(kind, []).append(value)
    rows: list[Any] = []
    for kind, values in by_kind.items():
        for chunk in chunked(sorted(set(values))):
            rows.extend(
                session.execute(
                    select(T).where(
                        T.c.brand_id == brand_id, T.c.kind == kind, T.c.value.in_(chunk)
                    )
                ).all()
            )
    return rows


def list_for_profiles(session: Session, *, brand_id: str, profile_ids: Sequence[str]) -> list[Any]:
    rows: list[Any] = []
    for chunk in chunked(profile_ids):
        rows.extend(
            session.execute(
                select(T).where(T.c.brand_id == brand_id, T.c.customer_profile_id.in_(chunk))
            ).all()
        )
    return rows


def insert_many(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    insert_rows(session, T, rows)


def update_many(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """rows: {"id", "customer_profile_id", "shared"}."""
    update_rows(session, T, rows)


def move_to_profile(session: Session, *, from_profile: str, to_profile: str) -> list[str]:
    """Repoint every identifier of one profile to another; returns the moved ids."""
    ids = list(session.scalars(select(T.c.id).where(T.c.customer_profile_id == from_profile)).all())
    if ids:
        session.execute(
            update(T)
            .where(T.c.customer_profile_id == from_profile)
            .values(customer_profile_id=to_profile)
        )
    return ids


def assign(session: Session, *, ids: Sequence[str], profile_id: str) -> None:
    for chunk in chunked(ids):
        session.execute(update(T).where(T.c.id.in_(chunk)).values(customer_profile_id=profile_id))


def ids_by_owner(session: Session, *, owners: Sequence[str]) -> dict[str, list[str]]:
    """Row ids per owning profile, for the given owners."""
    found: dict[str, list[str]] = {}
    for chunk in chunked(owners):
        rows = session.execute(
            select(T.c.customer_profile_id, T.c.id).where(T.c.customer_profile_id.in_(chunk))
        ).all()
        for owner, row_id in rows:
            found.setdefault(owner, []).append(row_id)
    return found


def reassign_owners(session: Session, moves: Sequence[Mapping[str, str]]) -> None:
    """moves: {"b_from": profile id, "b_to": profile id}; every row of b_from goes to b_to."""
    if moves:
        session.execute(
            update(T)
            .where(T.c.customer_profile_id == bindparam("b_from"))
            .values(customer_profile_id=bindparam("b_to")),
            list(moves),
        )
