"""The suppression list of erased identifiers, and the write path's check against it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, exists, select
from sqlalchemy.orm import Session

from constintel.db.chunks import select_by_pairs
from constintel.privacy.models import ErasedIdentifier

if TYPE_CHECKING:
    from constintel.pipeline import Prepared

__all__ = ["drop_erased", "erased_among", "identifier_hash"]

E = cast(Table, ErasedIdentifier.__table__)
_ANY_ERASED = select(exists().where(E.c.brand_id == bindparam("brand_id")))


def identifier_hash(brand_id: str, kind: str, value: str) -> str:
    return hashlib.sha256(f"{brand_id}:{kind}:{value}".encode()).hexdigest()


def erased_among(
    session: Session, *, brand_id: str, keys: Iterable[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which of the (kind, value) identifiers belong to an erased person."""
    by_hash = {
        (kind, identifier_hash(brand_id, kind, value)): (kind, value) for kind, value in keys
    }
    if not by_hash:
        return set()
    rows: list[Any] = select_by_pairs(
        session, E, brand_id=brand_id, group="kind", key="value_hash", pairs=by_hash
    )
    return {by_hash[(row.kind, row.value_hash)] for row in rows}


def drop_erased(session: Session, *, brand_id: str, batch: Sequence[Prepared]) -> None:
    """Strip erased people's identifiers from a batch, so no replay or redelivery re-creates
    them. One cheap EXISTS when the brand has erased nobody (the usual case)."""
    if not batch or not session.scalar(_ANY_ERASED, {"brand_id": brand_id}):
        return
    erased = erased_among(
        session, brand_id=brand_id, keys={(i.kind, i.value) for p in batch for i in p.identifiers}
    )
    if erased:
        for item in batch:
            item.identifiers = [i for i in item.identifiers if (i.kind, i.value) not in erased]
