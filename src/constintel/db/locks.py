"""The per-brand write lock.

Every write to a brand's profiles (ingestion batches, merges, unmerges, links, recomputes) holds
it for its transaction. PostgreSQL: a transaction-scoped advisory lock on the brand id, so
writers of one brand serialize while other brands proceed in parallel. SQLite: nothing to do,
its ``BEGIN IMMEDIATE`` admits one writer at a time, so taking the lock means starting the
transaction. Read the clock for anything ordered by time (a new profile's ``created_at``
decides merge survivors) only after this returns.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

__all__ = ["lock_brand"]

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))")


def lock_brand(session: Session, brand_id: str) -> None:
    """Returns once this transaction holds the brand's write lock."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection()  # starts the transaction: BEGIN IMMEDIATE takes the write lock
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK, {"k": brand_id})
