"""INSERT ... ON CONFLICT for both dialects."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

__all__ = ["insert_for", "latest"]


def insert_for(session: Session, table: Table) -> Any:
    """The dialect's ``insert`` (with ``on_conflict_do_update``/``..._nothing``)."""
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(table)
    return sqlite_insert(table)


def latest(session: Session | str, current: Any, incoming: Any) -> Any:
    """The later of two nullable timestamps (NULL only when both are), for the session's
    dialect or the one named."""
    dialect = session if isinstance(session, str) else session.get_bind().dialect.name
    a = func.coalesce(current, incoming)
    b = func.coalesce(incoming, current)
    if dialect == "postgresql":
        return func.greatest(a, b)
    return func.max(a, b)
