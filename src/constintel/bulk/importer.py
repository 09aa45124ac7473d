"""Bulk import: envelopes in batches, one transaction per batch, a running summary.

Nothing accepted is lost and one bad line never stops the rest: lines that are not valid
JSON, and payloads the adapters reject, are reported with their line number and reason and
kept in ``rejected_payload`` for replay.

``import_files`` reads files; large JSONL imports are normalized in worker processes
(``bulk.parallel``) while this process writes, with the same batches and the same result.

A batch allocates millions of small objects (decoded payloads, rows, in-memory state) that
all live until its commit. With CPython's default thresholds the cyclic garbage collector
walks them over and over while they are built (a quarter of an import's time was spent
there), so the import runs with a much larger first-generation threshold; memory is still
reclaimed by reference counting as before, and the thresholds are restored afterwards.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import chain, islice
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine

from constintel.bulk.parallel import prepare_in_workers
from constintel.bulk.reader import BadLine, detect_format, jsonl_lines, read_file
from constintel.core.clock import utcnow
from constintel.core.config import DEFAULT_BATCH_SIZE
from constintel.core.errors import PayloadError
from constintel.db.maintenance import analyze_write_tables, should_analyze
from constintel.db.session import transaction
from constintel.ingest import repository as events_repo
from constintel.pipeline import (
    BatchResult,
    BrandContext,
    Envelope,
    PreparedBatch,
    Rejection,
    ingest_prepared,
    prepare_batch,
)

__all__ = [
    "BULK_GC_THRESHOLD",
    "PARALLEL_MIN_BYTES",
    "default_workers",
    "import_envelopes",
    "import_files",
]

# Allocations (net of deallocations) between young collections during an import; the
# default is 700.
BULK_GC_THRESHOLD = 100_000
# Below this much JSONL, starting a worker process (about a second) costs more than it saves.
PARALLEL_MIN_BYTES = 16 * 2**20

T = TypeVar("T")


def default_workers() -> int:
    """One worker process beside the writer when there is a second core, else none."""
    return 1 if (os.cpu_count() or 1) > 1 else 0


@contextmanager
def _fewer_gc_passes() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(BULK_GC_THRESHOLD, *saved[1:])
    try:
        yield
    finally:
        gc.set_threshold(*saved)


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _prepared(
    chunk: Sequence[Envelope | BadLine], ctx: BrandContext
) -> tuple[PreparedBatch, list[BadLine]]:
    envelopes = [item for item in chunk if isinstance(item, Envelope)]
    bad = [item for item in chunk if isinstance(item, BadLine)]
    return prepare_batch(envelopes, ctx), bad


def import_envelopes(
    engine: Engine,
    ctx: BrandContext,
    items: Iterable[Envelope | BadLine],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[BatchResult], None] | None = None,
) -> BatchResult:
    with _fewer_gc_passes():
        batches = (_prepared(chunk, ctx) for chunk in _chunks(items, batch_size))
        return _write(engine, ctx, batches, on_batch)


def import_files(
    engine: Engine,
    ctx: BrandContext,
    paths: Sequence[Path],
    *,
    source: str | None = None,
    topic: str | None = None,
    fmt: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[BatchResult], None] | None = None,
    workers: int | None = None,
    parallel_min_bytes: int = PARALLEL_MIN_BYTES,
) -> BatchResult:
    """Import files in order, as one stream of batches. JSONL files that together hold at
    least ``parallel_min_bytes`` are prepared in ``workers`` processes (default: one when
    there is a second core; 0: in this process)."""
    workers = default_workers() if workers is None else workers
    all_jsonl = all(_is_jsonl(path, fmt) for path in paths)
    if workers < 1 or not all_jsonl or sum(p.stat().st_size for p in paths) < parallel_min_bytes:
        items = chain.from_iterable(
            read_file(path, source=source, topic=topic, fmt=fmt) for path in paths
        )
        return import_envelopes(engine, ctx, items, batch_size=batch_size, on_batch=on_batch)
    lines = chain.from_iterable(jsonl_lines(path) for path in paths)
    with _fewer_gc_passes():
        batches = prepare_in_workers(
            ctx,
            _chunks(lines, batch_size),
            workers=workers,
            source=source,
            topic=topic,
            gc_threshold=BULK_GC_THRESHOLD,
        )
        return _write(engine, ctx, batches, on_batch)


def _is_jsonl(path: Path, fmt: str | None) -> bool:
    try:
        return (fmt or detect_format(path)) == "jsonl"
    except PayloadError:
        return False  # reported when the sequential import reaches the file, as always


def _write(
    engine: Engine,
    ctx: BrandContext,
    batches: Iterable[tuple[PreparedBatch, list[BadLine]]],
    on_batch: Callable[[BatchResult], None] | None,
) -> BatchResult:
    total = BatchResult()
    for number, (prepared, bad) in enumerate(batches, start=1):
        with transaction(engine) as session:
            result = ingest_prepared(session, ctx, prepared)
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
        if should_analyze(number):
            analyze_write_tables(engine)
        if on_batch is not None:
            on_batch(result)
    return total
