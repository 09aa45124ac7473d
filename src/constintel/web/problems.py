"""Errors as ``application/problem+json`` (RFC 9457), each naming the field and the reason."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from constintel.core.errors import (
    ConfigurationError,
    ConflictError,
    NotFoundError,
    PayloadError,
)

__all__ = ["PROBLEM", "FieldError", "Problem", "install", "problem"]

PROBLEM = "application/problem+json"


class FieldError(BaseModel):
    field: str
    reason: str


class Problem(BaseModel):
    """The body of every error response."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] = []


def problem(
    status: int,
    title: str,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "errors": errors or [],
    }
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM, headers=headers)


def _loc(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[0] if loc else "request")


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        errors = [{"field": _loc(tuple(e["loc"])), "reason": e["msg"]} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        return problem(422, "Invalid request", detail, errors)

    @app.exception_handler(PayloadError)
    async def _payload(_: Request, exc: PayloadError) -> Response:
        return problem(
            422, "Invalid payload", str(exc), [{"field": exc.field, "reason": exc.reason}]
        )

    @app.exception_handler(NotFoundError)
    async def _not_found(_: Request, exc: NotFoundError) -> Response:
        return problem(404, "Not found", str(exc))

    @app.exception_handler(ConflictError)
    async def _conflict(_: Request, exc: ConflictError) -> Response:
        return problem(409, "Conflict", str(exc))

    @app.exception_handler(ConfigurationError)
    async def _config(_: Request, exc: ConfigurationError) -> Response:
        return problem(400, "Bad request", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        title = {401: "Unauthorized", 404: "Not found", 405: "Method not allowed"}.get(
            exc.status_code, "Error"
        )
        return problem(
            exc.status_code,
            title,
            str(exc.detail),
            headers=dict(exc.headers) if exc.headers else None,
        )
