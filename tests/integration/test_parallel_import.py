"""JSONL prepared in worker processes imports exactly what the sequential import does: the same
batch results and rejections, the same profiles, events and rejected rows."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, select

from constintel.brands import service as brands
from constintel.bulk import parallel
from constintel.bulk.importer import import_files
from constintel.db.session import transaction
from constintel.ingest.generator import GeneratorConfig, generate_jsonl
from constintel.ingest.models import CustomerRawEvent, RejectedPayload
from constintel.pipeline import BatchResult, BrandContext
from constintel.profiles.models import CustomerProfile

BAD_LINES = [
    b'{"source": "api", "payload": {broken json\n',
    b'{"source": "nope", "payload": {}}\n',
    b"\n",  # blank lines are skipped, not counted
    # rejected by the adapter: a float id, and an amount in another currency
    orjson.dumps(
        {
            "source": "api",
            "payload": {
                "event_type": "purchase",
                "email": "float@example.com",
                "occurred_at": "2025-01-01T00:00:00Z",
                "order": {"order_id": 1.5, "total": "10.00"},
            },
        }
    )
    + b"\n",
    orjson.dumps(
        {
            "source": "api",
            "payload": {
                "event_type": "purchase",
                "email": "euro@example.com",
                "occurred_at": "2025-01-01T00:00:00Z",
                "currency": "EUR",
                "order": {"order_id": "E1", "total": "10.00"},
            },
        }
    )
    + b"\n",
]


def _write_files(tmp_path: Path) -> list[Path]:
    lines = list(generate_jsonl(GeneratorConfig(orders=250, days=30, seed=11)))
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    # bad lines in the middle of a batch, and an import spanning two files
    first.write_bytes(b"".join(lines[:300] + BAD_LINES + lines[300:500]))
    second.write_bytes(b"".join(lines[500:] + BAD_LINES[:2]))
    return [first, second]


def _import(engine: Engine, paths: list[Path], *, workers: int) -> tuple[BrandContext, Any]:
    with transaction(engine) as session:
        ctx = BrandContext.of(brands.create(session, name=f"par-{uuid.uuid4().hex[:10]}"))
    batches: list[BatchResult] = []
    total = import_files(
        engine,
        ctx,
        paths,
        batch_size=320,
        on_batch=batches.append,
        workers=workers,
        parallel_min_bytes=0,
    )
    counts = [
        (b.received, b.imported, b.duplicates, b.created_profiles, b.merges, b.rejected)
        for b in batches
    ]
    return ctx, (_totals(total), counts)


def _totals(result: BatchResult) -> dict[str, Any]:
    names = ("received", "imported", "duplicates", "unattached", "created_profiles", "merges")
    return {name: getattr(result, name) for name in (*names, "reviews", "rejected", "rejections")}


def _stored(engine: Engine, ctx: BrandContext) -> dict[str, Any]:
    """The brand's rows without their generated ids."""
    with transaction(engine) as session:
        profiles = session.execute(
            select(CustomerProfile).where(CustomerProfile.brand_id == ctx.brand_id)
        ).scalars()
        events = session.execute(
            select(CustomerRawEvent).where(CustomerRawEvent.brand_id == ctx.brand_id)
        ).scalars()
        rejected = session.execute(
            select(RejectedPayload).where(RejectedPayload.brand_id == ctx.brand_id)
        ).scalars()
        return {
            "profiles": sorted(
                orjson.dumps(
                    [p.status, p.identifiers, str(p.lifetime_value), p.total_orders, p.event_count],
                    option=orjson.OPT_SORT_KEYS,
                )
                for p in profiles
            ),
            "events": sorted(
                (e.dedupe_key, orjson.dumps(e.payload), e.customer_profile_id is None)
                for e in events
            ),
            "rejected": sorted(
                (r.origin, r.line_no, r.source or "", r.body, r.error_field, r.error)
                for r in rejected
            ),
        }


def test_workers_import_what_the_sequential_import_does(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "PIECE_LINES", 100)  # several pieces per batch
    paths = _write_files(tmp_path)
    seq_ctx, seq = _import(engine, paths, workers=0)
    par_ctx, par = _import(engine, paths, workers=1)
    assert par == seq
    totals, _ = par
    assert totals["rejected"] == 6
    assert totals["imported"] > 500
    assert _stored(engine, par_ctx) == _stored(engine, seq_ctx)
