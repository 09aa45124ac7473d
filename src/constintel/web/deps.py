"""Request dependencies: the runtime, a unit of work, and the brand of the API key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from constintel.brands import credentials
from constintel.brands.models import Brand
from constintel.db.session import transaction
from constintel.web.runtime import Runtime

__all__ = ["CurrentBrand", "DbSession", "runtime"]

_bearer = HTTPBearer(auto_error=False, description="The brand's API key as a bearer token.")
_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="The brand's API key (alternative header)."
)


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def _session(request: Request) -> Iterator[Session]:
    with transaction(runtime(request).app.engine) as session:
        yield session


# scope="function": the transaction commits when the route returns, before the response is
# sent, so a client that got 200 reads its own write on the next request.
DbSession = Annotated[Session, Depends(_session, scope="function")]


def _brand(
    session: DbSession,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header: Annotated[str | None, Security(_header)],
) -> Brand:
    key = bearer.credentials if bearer is not None else header
    if not key:
        raise HTTPException(
            401,
            "an API key is required: 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    brand_id = credentials.brand_for_key(session, key)
    brand = session.get(Brand, brand_id) if brand_id is not None else None
    if brand is None:
        raise HTTPException(
            401, "the API key is not valid (revoked or mistyped)", {"WWW-Authenticate": "Bearer"}
        )
    return brand


CurrentBrand = Annotated[Brand, Depends(_brand)]
