"""Import jobs over HTTP: the upload is streamed to a file, then imported in the background
by the same importer as ``constintel import``, with its progress kept on the job row."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from constintel.brands import service as brands
from constintel.bulk.importer import import_envelopes
from constintel.bulk.models import ImportJob
from constintel.bulk.reader import read_file
from constintel.core.clock import utcnow
from constintel.core.errors import NotFoundError, PayloadError
from constintel.core.ids import new_id
from constintel.db.session import transaction
from constintel.pipeline import BatchResult, BrandContext
from constintel.web.runtime import Runtime
from constintel.web.schemas import ImportJobRead

__all__ = ["Upload", "create", "read", "receive", "run"]

log = logging.getLogger(__name__)
BATCH = 5_000


def _summary(result: BatchResult) -> dict[str, Any]:
    rejections = [
        {"line": r.line_no, "field": r.field, "reason": r.reason} for r in result.rejections[:100]
    ]
    return {**result.counts(), "rejections": rejections}


@dataclass(frozen=True, slots=True)
class Upload:
    id: str
    total_bytes: int
    total_lines: int | None


async def receive(rt: Runtime, request: Request, *, fmt: str) -> tuple[Upload, Path]:
    """Stream the request body to a file under the data directory."""
    job_id = new_id()
    folder = Path(rt.app.settings.data_dir) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{job_id}.{fmt}"
    size = lines = 0
    limit = rt.app.settings.max_upload_bytes
    with path.open("wb") as fh:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                fh.close()
                path.unlink(missing_ok=True)
                raise PayloadError("body", f"the upload is over the {limit}-byte limit")
            lines += chunk.count(b"\n")
            fh.write(chunk)
    if size == 0:
        path.unlink(missing_ok=True)
        raise PayloadError("body", "the upload is empty: send the file as the request body")
    return Upload(job_id, size, None if fmt == "json" else lines), path


def create(
    engine: Engine, brand_id: str, upload: Upload, *, name: str, source: str | None
) -> ImportJobRead:
    """Record the job (committed before its import starts)."""
    job = ImportJob(
        id=upload.id,
        brand_id=brand_id,
        filename=name,
        source=source,
        status="queued",
        total_bytes=upload.total_bytes,
        processed_bytes=0,
        result={"total_lines": upload.total_lines},
        created_at=utcnow(),
    )
    with transaction(engine) as session:
        session.add(job)
        session.flush()
        return _read(job)


def run(
    engine: Engine, upload: Upload, brand_id: str, path: Path, fmt: str, source: str | None
) -> None:
    """Import the uploaded file (after its job row committed), keeping progress on the row."""
    job_id, total_lines = upload.id, upload.total_lines
    with transaction(engine) as session:
        ctx = BrandContext.of(brands.get(session, ref=brand_id))
    running = BatchResult()

    def progress(batch: BatchResult) -> None:
        running.add(batch)
        with transaction(engine) as s:
            s.execute(
                update(ImportJob)
                .where(ImportJob.id == job_id)
                .values(status="running", result={"total_lines": total_lines, **_summary(running)})
            )

    try:
        total = import_envelopes(
            engine,
            ctx,
            read_file(path, source=source, fmt=fmt),
            batch_size=BATCH,
            on_batch=progress,
        )
        values: dict[str, Any] = {
            "status": "done",
            "result": {"total_lines": total_lines, **_summary(total)},
        }
    except Exception as exc:  # the job reports it; what was committed stays committed
        log.exception("import job %s failed", job_id)
        values = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    with transaction(engine) as session:
        session.execute(
            update(ImportJob).where(ImportJob.id == job_id).values(finished_at=utcnow(), **values)
        )
    path.unlink(missing_ok=True)


def _read(job: ImportJob) -> ImportJobRead:
    result = dict(job.result or {})
    return ImportJobRead(
        id=job.id,
        filename=job.filename,
        source=job.source,
        status=job.status,
        total_bytes=job.total_bytes,
        total_lines=result.pop("total_lines", None),
        received=int(result.get("received", 0)),
        result=result,
        error=job.error,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


def read(session: Session, brand_id: str, job_id: str) -> ImportJobRead:
    job = session.get(ImportJob, job_id)
    if job is None or job.brand_id != brand_id:
        raise NotFoundError(f"no import job {job_id}")
    return _read(job)
