"""Request dependencies: the runtime, a unit of work, and the brand of the API key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from constintel.brands import credentials
from constintel.brands.models import Brand
from constintel.db.session import read_only, transaction
from constintel.web.runtime import Runtime

__all__ = [
    "ApiKeyValue",
    "AuthenticatedBrand",
    "CurrentBrand",
    "DbSession",
    "read_as_brand",
    "runtime",
]

T = TypeVar("T")

_bearer = HTTPBearer(auto_error=False, description="The brand's API key as a bearer token.")
_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="The brand's API key (alternative header)."
)


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


@dataclass(frozen=True, slots=True)
class Scope:
    """One API request's unit of work and the brand its key belongs to."""

    session: Session
    brand: Brand


def _key(bearer: HTTPAuthorizationCredentials | None, header: str | None) -> str:
    key = bearer.credentials if bearer is not None else header
    if not key:
        raise HTTPException(
            401,
            "an API key is required: 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return key


def _authenticate(session: Session, key: str) -> Brand:
    brand = credentials.brand_for_key(session, key)
    if brand is None:
        raise HTTPException(
            401, "the API key is not valid (revoked or mistyped)", {"WWW-Authenticate": "Bearer"}
        )
    return brand


Bearer = Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]
KeyHeader = Annotated[str | None, Security(_header)]


def _scope(request: Request, bearer: Bearer, header: KeyHeader) -> Iterator[Scope]:
    """Open the transaction and authenticate in one step (one trip to the thread pool)."""
    key = _key(bearer, header)
    with transaction(runtime(request).app.engine) as session:
        yield Scope(session, _authenticate(session, key))


def _brand_only(request: Request, bearer: Bearer, header: KeyHeader) -> Brand:
    """Authenticate in a short transaction of its own, for routes that must not hold one open
    (an upload streaming in would otherwise hold SQLite's write lock)."""
    key = _key(bearer, header)
    with transaction(runtime(request).app.engine) as session:
        return _authenticate(session, key)


# scope="function": the transaction commits when the route returns, before the response is
# sent, so a client that got 200 reads its own write on the next request.
_Scoped = Annotated[Scope, Depends(_scope, scope="function")]


async def _session(scope: _Scoped) -> Session:
    return scope.session


async def _brand(scope: _Scoped) -> Brand:
    return scope.brand


DbSession = Annotated[Session, Depends(_session)]
CurrentBrand = Annotated[Brand, Depends(_brand)]
AuthenticatedBrand = Annotated[Brand, Depends(_brand_only)]


async def _api_key(bearer: Bearer, header: KeyHeader) -> str:
    return _key(bearer, header)


ApiKeyValue = Annotated[str, Depends(_api_key)]


async def read_as_brand(request: Request, key: str, work: Callable[[Session, Brand], T]) -> T:
    """Authenticate and run ``work`` in one trip to the thread pool, on a read-only session:
    the hot read paths (profile views and look-ups) skip the per-dependency trips."""

    def unit() -> T:
        with read_only(runtime(request).app.engine) as session:
            return work(session, _authenticate(session, key))

    return await run_in_threadpool(unit)
