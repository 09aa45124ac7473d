"""Keeping the planner informed during bulk loads.

Both planners choose indexes from table statistics, and a bulk import grows the tables from
nothing to millions of rows within minutes, so the importer analyzes the tables it writes as
they grow:

- PostgreSQL: if autovacuum is off or slow (it is off on some managed and CI servers) the
  statistics still say "empty" and identifier look-ups degrade to scans of the whole brand.
- SQLite: without ``sqlite_stat1`` the planner guesses that ``brand_id = ?`` matches a handful
  of rows, so it reads ``customer_profile WHERE brand_id = ? AND id IN (<500 ids>)`` through
  ``ix_customer_profile_brand_ltv``, a scan of every profile of the brand per chunk (at 230,000
  profiles a third of a second per 500 ids, the larger part of an import's time), instead of
  500 primary-key look-ups (5 ms). A full ``ANALYZE`` of the four tables takes well under a
  second at a million events.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

__all__ = ["WRITE_TABLES", "analyze_write_tables", "should_analyze"]

WRITE_TABLES = ("customer_identifier", "customer_order", "customer_profile", "customer_raw_event")
ANALYZE_EVERY = 16


def should_analyze(batch_number: int) -> bool:
    """After batches 1, 2, 4, 8 (the tables double), then every ANALYZE_EVERY batches."""
    return batch_number & (batch_number - 1) == 0 or batch_number % ANALYZE_EVERY == 0


def analyze_write_tables(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE " + ", ".join(WRITE_TABLES)))
        else:
            for table in WRITE_TABLES:  # SQLite's ANALYZE takes one table (or all) at a time
                conn.execute(text(f"ANALYZE {table}"))
