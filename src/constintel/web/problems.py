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

__all__ = ["PROBLEM", "FieldError", "Problem", "install", "problem", "responses"]

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


def responses(**described: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error codes, documented as problem+json:
    ``responses(e404="No such brand.")``."""
    problem_json = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {
        int(code[1:]): {"model": Problem, "description": text, "content": problem_json}
        for code, text in described.items()
    }


def _problem_only(spec: dict[str, Any]) -> dict[str, Any]:
    """FastAPI documents every ``model`` response as application/json too; error responses
    are only ever problem+json, so drop the other entry."""
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                if PROBLEM in content:
                    content.pop("application/json", None)
    return spec


def _loc(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[0] if loc else "request")


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        errors = [
            {
                "field": "body" if e["type"] == "json_invalid" else _loc(tuple(e["loc"])),
                "reason": e["msg"],
            }
            for e in exc.errors()
        ]
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
        title = {
            400: "Bad request",
            401: "Unauthorized",
            404: "Not found",
            405: "Method not allowed",
        }.get(exc.status_code, "Error")
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            # A body that is not even text (e.g. not UTF-8): a client error like bad JSON.
            return problem(
                422,
                "Invalid request",
                "the body could not be read as JSON text (UTF-8)",
                [{"field": "body", "reason": "not UTF-8 JSON"}],
            )
        headers = dict(exc.headers) if exc.headers else None
        return problem(exc.status_code, title, str(exc.detail), headers=headers)

    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _problem_only(default_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
