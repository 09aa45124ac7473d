"""All SQL on ``customer_raw_event`` and ``rejected_payload``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from constintel.core.ids import new_id
from constintel.db import owned
from constintel.db.bulk import insert_rows
from constintel.db.chunks import rows_in
from constintel.ingest.models import CustomerRawEvent, RejectedPayload

__all__ = [
    "assign",
    "event_facts_for_profile",
    "existing_dedupe_keys",
    "get",
    "ids_by_owner",
    "insert_many",
    "insert_rejected",
    "list_for_profile",
    "list_rejected",
    "list_unattached",
    "move_to_profile",
    "reassign_owners",
    "rejected_row",
]

T = cast(Table, CustomerRawEvent.__table__)
R = cast(Table, RejectedPayload.__table__)


def existing_dedupe_keys(session: Session, *, brand_id: str, keys: Sequence[str]) -> set[str]:
    rows = rows_in(
        session, T, brand_id=brand_id, key="dedupe_key", values=keys, columns=("dedupe_key",)
    )
    return {key for (key,) in rows}


def insert_many(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    insert_rows(session, T, rows)


def rejected_row(
    *,
    brand_id: str,
    source: str | None,
    topic: str | None,
    body: str,
    field: str,
    reason: str,
    origin: str | None,
    line_no: int | None,
    now: datetime,
) -> dict[str, Any]:
    """A ``rejected_payload`` row: the body as received, with the field and the reason."""
    return {
        "id": new_id(),
        "brand_id": brand_id,
        "source": source,
        "topic": topic,
        "body": body,
        "error_field": field,
        "error": reason,
        "origin": origin,
        "line_no": line_no,
        "created_at": now,
        "replayed_at": None,
    }


def insert_rejected(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        session.execute(R.insert(), list(rows))


def get(session: Session, *, brand_id: str, event_id: str) -> Any:
    return session.execute(
        select(T).where(T.c.brand_id == brand_id, T.c.id == event_id)
    ).one_or_none()


def event_facts_for_profile(session: Session, *, profile_id: str) -> list[Any]:
    return list(
        session.execute(
            select(T.c.occurred_at, T.c.channel).where(T.c.customer_profile_id == profile_id)
        ).all()
    )


def list_for_profile(session: Session, *, profile_id: str, limit: int = 100) -> list[Any]:
    return list(
        session.execute(
            select(T)
            .where(T.c.customer_profile_id == profile_id)
            .order_by(T.c.occurred_at, T.c.id)
            .limit(limit)
        ).all()
    )


def list_unattached(
    session: Session, *, brand_id: str, limit: int = 100, offset: int = 0
) -> list[Any]:
    return list(
        session.execute(
            select(T)
            .where(T.c.brand_id == brand_id, T.c.customer_profile_id.is_(None))
            .order_by(T.c.occurred_at, T.c.id)
            .limit(limit)
            .offset(offset)
        ).all()
    )


def list_rejected(session: Session, *, brand_id: str, limit: int = 100) -> list[Any]:
    return list(
        session.execute(
            select(R).where(R.c.brand_id == brand_id).order_by(R.c.created_at, R.c.id).limit(limit)
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
    """A profile's timeline, oldest first."""
    return owned.page(
        session,
        T,
        brand_id=brand_id,
        profile_id=profile_id,
        order_by="occurred_at",
        limit=limit,
        offset=offset,
    )
