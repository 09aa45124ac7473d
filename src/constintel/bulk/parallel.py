"""Preparing JSONL import batches in worker processes.

Normalization (JSON decoding, the source adapters, identifier normalization, dedupe keys) is
pure and takes about a third of an import's time; the write path after it cannot be split.
So for JSONL files the main process only reads raw lines and writes, while worker processes
decode and prepare each batch (``pipeline.prepare_batch``), one batch ahead of the writer.

What comes back is the ``PreparedBatch`` itself, except that each payload travels as its JSON
text (``orjson.dumps``), the very text that is stored in ``customer_raw_event.payload`` (or
``rejected_payload.body``); the main process wraps it in an ``orjson.Fragment``, which is
written out verbatim, so it never decodes the payload a second time. Batches come back in
file order, so the import writes exactly what the sequential import would.

The prepared objects are slotted dataclasses, which pickle through a Python-level
``__setstate__`` per object; multiprocessing pickles them here as their constructor
arguments instead, which halves what unpickling a batch costs the writer.
"""

from __future__ import annotations

import dataclasses
import gc
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing.reduction import ForkingPickler
from operator import attrgetter
from typing import Any

import orjson

from constintel.bulk.reader import BadLine, RawLine, parse_jsonl_line
from constintel.events.schemas import CanonicalEvent, LineItem, OrderData, RawIdentifier, RefundData
from constintel.identity.normalize import Identifier
from constintel.pipeline import BrandContext, Envelope, Prepared, PreparedBatch, prepare_batch

__all__ = ["PIECE_LINES", "prepare_in_workers"]

PIECE_LINES = 1000


def _pickle_as_constructor_call(cls: type[Any]) -> None:
    fields = attrgetter(*(f.name for f in dataclasses.fields(cls)))
    ForkingPickler.register(cls, lambda obj: (cls, fields(obj)))


for _cls in (
    Prepared,
    Envelope,
    CanonicalEvent,
    OrderData,
    LineItem,
    RefundData,
    RawIdentifier,
    Identifier,
):
    _pickle_as_constructor_call(_cls)

# What a worker prepares with (the brand, and --source/--topic for bare payloads); set once
# per worker process by _start_worker.
_settings: tuple[BrandContext, str | None, str | None] | None = None


def _start_worker(
    ctx: BrandContext, source: str | None, topic: str | None, gc_threshold: int
) -> None:
    global _settings
    _settings = (ctx, source, topic)
    gc.set_threshold(gc_threshold, *gc.get_threshold()[1:])


def _prepare_lines(lines: Sequence[RawLine]) -> tuple[PreparedBatch, list[BadLine]]:
    """In a worker: decode and prepare a piece of a batch; payloads go back as JSON text."""
    assert _settings is not None, "_start_worker runs first"
    ctx, source, topic = _settings
    envelopes: list[Envelope] = []
    bad: list[BadLine] = []
    for line in lines:
        item = parse_jsonl_line(line, source=source, topic=topic)
        if isinstance(item, BadLine):
            bad.append(item)
        else:
            envelopes.append(item)
    batch = prepare_batch(envelopes, ctx)
    for envelope in _envelopes(batch):
        envelope.payload = orjson.dumps(envelope.payload)
    return batch, bad


def _envelopes(batch: PreparedBatch) -> Iterator[Envelope]:
    for item in batch.prepared:
        yield item.envelope
    for envelope, _, _ in batch.rejected:
        yield envelope


def _joined(
    pieces: Sequence[Future[tuple[PreparedBatch, list[BadLine]]]],
) -> tuple[PreparedBatch, list[BadLine]]:
    """One batch from its pieces, in order, with each payload wrapped for writing as is."""
    joined, bad = PreparedBatch(received=0), []
    for piece in pieces:
        batch, piece_bad = piece.result()
        joined.received += batch.received
        joined.prepared += batch.prepared
        joined.rejected += batch.rejected
        bad += piece_bad
    for envelope in _envelopes(joined):
        envelope.payload = orjson.Fragment(envelope.payload)
    return joined, bad


def prepare_in_workers(
    ctx: BrandContext,
    batches: Iterable[Sequence[RawLine]],
    *,
    workers: int,
    source: str | None = None,
    topic: str | None = None,
    gc_threshold: int = 700,
) -> Iterator[tuple[PreparedBatch, list[BadLine]]]:
    """Each batch of lines prepared by ``workers`` processes, yielded in order.

    A batch is split in pieces of PIECE_LINES, so the writer waits for the first batch only as
    long as its pieces take, spread over the workers. While the writer holds one batch, the
    next one is being prepared; nothing else is read ahead, so memory stays bounded."""
    spawn = multiprocessing.get_context("spawn")  # no fork of a process holding connections
    with ProcessPoolExecutor(
        workers,
        mp_context=spawn,
        initializer=_start_worker,
        initargs=(ctx, source, topic, gc_threshold),
    ) as pool:
        pending: deque[list[Future[tuple[PreparedBatch, list[BadLine]]]]] = deque()
        for lines in batches:
            pending.append(
                [
                    pool.submit(_prepare_lines, lines[start : start + PIECE_LINES])
                    for start in range(0, len(lines), PIECE_LINES)
                ]
            )
            if len(pending) > 1:
                yield _joined(pending.popleft())
        while pending:
            yield _joined(pending.popleft())
