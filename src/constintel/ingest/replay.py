"""``constintel events replay``: run kept rejected payloads through the write path again,
after the fix that makes them acceptable (an adapter update, a brand setting, a new secret).

A payload that now passes is ingested and marked ``replayed_at``; one that still fails stays,
with its error brought up to date. Nothing is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from sqlalchemy import Engine, Table, select, update

from constintel.core.clock import utcnow
from constintel.core.errors import PayloadError
from constintel.db.session import transaction
from constintel.events.schemas import SOURCES
from constintel.ingest.models import RejectedPayload
from constintel.pipeline import BatchResult, BrandContext, Envelope, ingest_batch, prepare

__all__ = ["ReplayResult", "replay_rejected"]

R = cast(Table, RejectedPayload.__table__)


@dataclass(slots=True)
class ReplayResult:
    examined: int = 0
    accepted: int = 0
    still_rejected: int = 0
    ingest: BatchResult = field(default_factory=BatchResult)
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (id, field, reason)


def _envelope(row: Any) -> Envelope:
    try:
        obj = orjson.loads(row.body)
    except orjson.JSONDecodeError as exc:
        raise PayloadError("body", f"not valid JSON: {exc}") from None
    if row.source is not None:
        return Envelope(row.source, row.topic, obj, row.origin, row.line_no)
    if isinstance(obj, dict) and "payload" in obj and obj.get("source") in SOURCES:
        return Envelope(
            str(obj["source"]), obj.get("topic"), obj["payload"], row.origin, row.line_no
        )
    raise PayloadError("source", "the kept body names no source (replay it with `import --source`)")


def replay_rejected(
    engine: Engine, ctx: BrandContext, *, ids: list[str] | None = None, limit: int = 10_000
) -> ReplayResult:
    out = ReplayResult()
    with transaction(engine) as session:
        stmt = select(R).where(R.c.brand_id == ctx.brand_id, R.c.replayed_at.is_(None))
        if ids:
            stmt = stmt.where(R.c.id.in_(ids))
        rows = session.execute(stmt.order_by(R.c.created_at, R.c.id).limit(limit)).all()
        out.examined = len(rows)
        good: list[Envelope] = []
        good_ids: list[str] = []
        now = utcnow()
        for row in rows:
            try:
                envelope = _envelope(row)
                prepare(envelope, ctx)
            except PayloadError as exc:
                out.still_rejected += 1
                out.errors.append((row.id, exc.field, exc.reason))
                session.execute(
                    update(R)
                    .where(R.c.id == row.id)
                    .values(error_field=exc.field, error=exc.reason)
                )
                continue
            good.append(envelope)
            good_ids.append(row.id)
        if good:
            out.ingest = ingest_batch(session, ctx, good)
            session.execute(update(R).where(R.c.id.in_(good_ids)).values(replayed_at=now))
        out.accepted = len(good)
    return out
