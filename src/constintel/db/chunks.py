"""IN-list helpers that stay under every driver's parameter limit."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

__all__ = ["DEFAULT_CHUNK", "chunked", "select_by_pairs"]

T = TypeVar("T")
DEFAULT_CHUNK = 500


def chunked(items: Sequence[T], size: int = DEFAULT_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def select_by_pairs(
    session: Session,
    table: Table,
    *,
    brand_id: str,
    group: str,
    key: str,
    pairs: Iterable[tuple[str, str]],
) -> list[Any]:
    """Rows of one brand whose (``group``, ``key``) columns are among ``pairs``, e.g. the
    identifiers (kind, value) or orders (source, external_id) a batch mentions: one IN-query per
    group value and chunk, each an index range on (brand_id, group, key)."""
    by_group: dict[str, set[str]] = {}
    for group_value, key_value in pairs:
        by_group.setdefault(group_value, set()).add(key_value)
    rows: list[Any] = []
    for group_value, keys in by_group.items():
        for chunk in chunked(sorted(keys)):
            rows.extend(
                session.execute(
                    select(table).where(
                        table.c.brand_id == brand_id,
                        table.c[group] == group_value,
                        table.c[key].in_(chunk),
                    )
                ).all()
            )
    return rows
