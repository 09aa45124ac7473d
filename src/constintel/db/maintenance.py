"""Keeping the planner informed during bulk loads.

PostgreSQL plans each lookup from table statistics. A bulk import grows the tables from
nothing to millions of rows within minutes; if autovacuum is off or slow (it is off on some
managed and CI servers) the statistics still say "empty" and identifier look-ups degrade to
scans of the whole brand. The importer therefore analyzes the tables it writes as they grow.
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
    if engine.dialect.name != "postgresql":
        return  # SQLite's planner does well on these indexes without statistics
    with engine.begin() as conn:
        conn.execute(text("ANALYZE " + ", ".join(WRITE_TABLES)))
