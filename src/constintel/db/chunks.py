"""IN-list helpers that stay under every driver's parameter limit.

``in_values`` is the condition ``column IN values`` as few statements as the dialect allows:
SQLite takes chunks of DEFAULT_CHUNK parameters; PostgreSQL takes the whole list as one array
parameter (``column = ANY(:values)``), one statement instead of one per chunk, and neither
SQLAlchemy nor the server has to compile and plan a statement with 500 parameters (that took
about a tenth of the bulk import's time on PostgreSQL).

``rows_in`` and ``select_by_pairs`` are the write path's per-batch look-ups. On PostgreSQL
they run statements built once per table and columns (``_any_lookup``) with new parameters:
building a ``select()`` and its cache key per call cost about 0.14 ms of the 0.33 ms a small
look-up took, and a webhook drain batch runs several.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Executable, Result, Select, Table, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

__all__ = [
    "DEFAULT_CHUNK",
    "any_of",
    "array_of",
    "chunked",
    "in_values",
    "rows_in",
    "run_in",
    "select_by_pairs",
]

T = TypeVar("T")
DEFAULT_CHUNK = 500


def chunked(items: Sequence[T], size: int = DEFAULT_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def in_values(
    session: Session, column: ColumnElement[Any], values: Sequence[Any]
) -> Iterator[ColumnElement[bool]]:
    """Conditions that together select ``column IN values``: run one statement per condition."""
    if not values:
        return
    if session.get_bind().dialect.name == "postgresql":
        yield column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
        return
    for chunk in chunked(values):
        yield column.in_(chunk)


def array_of(column_type: TypeEngine[Any]) -> ARRAY[Any]:
    """An array of the column's type without its length, precision or scale (``VARCHAR[]``,
    not ``VARCHAR(36)[]``): a cast to a limited array cuts a longer value silently (to a
    prefix that may match another row, or a rounded number), while a look-up finds nothing
    for it and an assignment to the column refuses it."""
    bare = column_type.copy()
    for modifier in ("length", "precision", "scale"):
        if hasattr(bare, modifier):
            setattr(bare, modifier, None)
    return ARRAY(bare)


def any_of(column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """PostgreSQL: ``column = ANY(:name)``, the list bound as one array parameter (for
    statements built once)."""
    return column == any_(bindparam(name, type_=array_of(column.type)))


def run_in(
    session: Session,
    any_stmt: Executable,
    in_stmt: Executable,
    name: str,
    values: Sequence[Any],
    **params: Any,
) -> list[Result[Any]]:
    """Run a statement built once for ``values`` bound as ``:name``: on PostgreSQL
    ``any_stmt`` (built with ``any_of``) once, the whole list one array parameter; elsewhere
    ``in_stmt`` (built with an expanding ``IN``) once per chunk."""
    if session.get_bind().dialect.name == "postgresql":
        return [session.execute(any_stmt, {**params, name: list(values)})]
    return [session.execute(in_stmt, {**params, name: list(c)}) for c in chunked(values)]


def _selected(table: Table, columns: tuple[str, ...]) -> Select[Any]:
    return select(*(table.c[c] for c in columns)) if columns else select(table)


@lru_cache(maxsize=64)
def _any_lookup(table: Table, key: str, columns: tuple[str, ...], group: str | None) -> Select[Any]:
    """``SELECT columns FROM table WHERE brand_id = :brand_id [AND group = :group] AND key =
    ANY(:values)``: an index range on (brand_id[, group], key) whatever the statistics say."""
    where = [table.c.brand_id == bindparam("brand_id"), any_of(table.c[key], "values")]
    if group is not None:
        where.insert(1, table.c[group] == bindparam("group"))
    return _selected(table, columns).where(*where)


def rows_in(
    session: Session,
    table: Table,
    *,
    brand_id: str,
    key: str,
    values: Iterable[Any],
    columns: tuple[str, ...] = (),
    group: tuple[str, str] | None = None,
) -> list[Any]:
    """Rows (``columns``, default all) of one brand whose ``key`` is among ``values`` (and,
    with ``group`` = (column, value), whose column has that value)."""
    wanted = sorted(set(values))
    if not wanted:
        return []
    if session.get_bind().dialect.name == "postgresql":
        stmt = _any_lookup(table, key, columns, group[0] if group else None)
        params = {"brand_id": brand_id, "values": wanted, "group": group[1] if group else None}
        return list(session.execute(stmt, params).all())
    rows: list[Any] = []
    for chunk in chunked(wanted):
        where = [table.c.brand_id == brand_id, table.c[key].in_(chunk)]
        if group is not None:
            where.append(table.c[group[0]] == group[1])
        rows.extend(session.execute(_selected(table, columns).where(*where)).all())
    return rows


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
    identifiers (kind, value) or orders (source, external_id) a batch mentions: one look-up
    per group value (``rows_in``), each an index range on (brand_id, group, key). (One join
    with the ``unnest`` of all pairs saves statements, but its plan follows the statistics:
    with stale ones it read the brand's whole slice of the index.)"""
    by_group: dict[str, set[str]] = {}
    for group_value, key_value in pairs:
        by_group.setdefault(group_value, set()).add(key_value)
    rows: list[Any] = []
    for group_value, keys in sorted(by_group.items()):
        rows.extend(
            rows_in(
                session, table, brand_id=brand_id, key=key, values=keys, group=(group, group_value)
            )
        )
    return rows
