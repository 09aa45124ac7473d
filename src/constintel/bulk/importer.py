"""Bulk import: envelopes in batches, one transaction per batch, a running summary.

Nothing accepted is lost and one bad line never stops the rest: lines that are not valid
JSON, and payloads the adapters reject, are reported with their line number and reason and
kept in ``rejected_payload`` for replay.

A batch allocates millions of small objects (decoded payloads, rows, in-memory state) that
all live until its commit. With CPython's default thresholds the cyclic garbage collector
walks them over and over while they are built (a quarter of an import's time was spent
there), so the import runs with a much larger first-generation threshold; memory is still
reclaimed by reference counting as before, and the thresholds are restored afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice

from sqlalchemy import Engine

from constintel.bulk.reader import BadLine
from constintel.core.clock import utcnow
from constintel.core.config import DEFAULT_BATCH_SIZE
from constintel.db.maintenance import analyze_write_tables, should_analyze
from constintel.db.session import transaction
from constintel.ingest import repository as events_repo
from constintel.pipeline import BatchResult, BrandContext, Envelope, Rejection, ingest_batch

__all__ = ["BULK_GC_THRESHOLD", "import_envelopes"]

# Allocations (net of deallocations) between young collections during an import; the
# default is 700.
BULK_GC_THRESHOLD = 100_000


@contextmanager
def _fewer_gc_passes() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(BULK_GC_THRESHOLD, *saved[1:])
    try:
        yield
    finally:
        gc.set_threshold(*saved)


def import_envelopes(
    engine: Engine,
    ctx: BrandContext,
    items: Iterable[Envelope | BadLine],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[BatchResult], None] | None = None,
) -> BatchResult:
    with _fewer_gc_passes():
        return _import(engine, ctx, items, batch_size=batch_size, on_batch=on_batch)


def _import(
    engine: Engine,
    ctx: BrandContext,
    items: Iterable[Envelope | BadLine],
    *,
    batch_size: int,
    on_batch: Callable[[BatchResult], None] | None,
) -> BatchResult:
    total = BatchResult()
    iterator = iter(items)
    batches = 0
    while True:
        chunk = list(islice(iterator, batch_size))
        if not chunk:
            break
        envelopes = [item for item in chunk if isinstance(item, Envelope)]
        bad = [item for item in chunk if isinstance(item, BadLine)]
        with transaction(engine) as session:
            result = ingest_batch(session, ctx, envelopes)
            if bad:
                now = utcnow()
                events_repo.insert_rejected(
                    session,
                    [
                        events_repo.rejected_row(
                            brand_id=ctx.brand_id,
                            source=None,
                            topic=None,
                            body=line.body,
                            field=line.field,
                            reason=line.reason,
                            origin=line.origin,
                            line_no=line.line_no,
                            now=now,
                        )
                        for line in bad
                    ],
                )
        result.received += len(bad)
        result.rejected += len(bad)
        result.rejections.extend(
            Rejection(line.line_no, line.origin, line.field, line.reason) for line in bad
        )
        total.add(result)
        batches += 1
        if should_analyze(batches):
            analyze_write_tables(engine)
        if on_batch is not None:
            on_batch(result)
    return total
