"""``/healthz`` (the process answers) and ``/readyz`` (database reachable, schema current)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy import text
from starlette.responses import Response

from constintel.db import migrate
from constintel.web.deps import runtime
from constintel.web.problems import problem, responses

__all__ = ["router"]

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    database: str
    schema_revision: str | None


# HEAD as well: load balancers and uptime checkers often probe with it (the body is dropped).
@router.head("/healthz", include_in_schema=False)
@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.head("/readyz", include_in_schema=False, response_model=Ready)
@router.get(
    "/readyz",
    response_model=Ready,
    responses=responses(e503="Not ready (database or schema)."),
)
async def readyz(request: Request) -> Ready | Response:
    """Ready to serve: the database answers and its schema is at the code's revision."""
    engine = runtime(request).app.engine

    def check() -> tuple[str | None, str | None]:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return migrate.current_revision(engine), migrate.head_revision(engine)

    try:
        current, head = await run_in_threadpool(check)
    except Exception as exc:
        return problem(503, "Not ready", f"database unreachable: {type(exc).__name__}: {exc}")
    if current != head:
        return problem(
            503,
            "Not ready",
            f"schema at {current}, code needs {head}: run `constintel db upgrade`",
        )
    return Ready(status="ready", database=engine.dialect.name, schema_revision=current)
