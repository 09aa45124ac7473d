"""The REST API under ``/api/v1``. Every route is scoped to the brand of the API key: another
brand's ids answer 404, exactly like ids that do not exist, so ids do not leak."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, BackgroundTasks, Body, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session
from starlette.responses import Response

from constintel.brands.models import Brand
from constintel.core.clock import utcnow
from constintel.core.errors import NotFoundError, PayloadError
from constintel.events.schemas import SOURCES
from constintel.ingest import repository as events_repo
from constintel.orders import repository as orders_repo
from constintel.pipeline import BrandContext, Envelope, ingest_batch
from constintel.predictions import service as predictions
from constintel.predictions.schemas import (
    PredictionChangeRead,
    PredictionHistoryPage,
    PredictionRead,
    ProfileWithPrediction,
)
from constintel.predictions.segments import LIFECYCLES, SEGMENTS
from constintel.privacy import service as privacy
from constintel.profiles import repository as profiles_repo
from constintel.profiles import service as profiles
from constintel.profiles.schemas import ProfileRead
from constintel.web import imports
from constintel.web.deps import (
    ApiKeyValue,
    AuthenticatedBrand,
    CurrentBrand,
    DbSession,
    read_as_brand,
    runtime,
)
from constintel.web.problems import responses
from constintel.web.schemas import (
    ApproveResult,
    ErasureResult,
    EventRead,
    EventsPage,
    ImportJobRead,
    IngestSummary,
    LinkRequest,
    LinkResult,
    OrderRead,
    OrdersPage,
    ProfilesPage,
    RejectionRead,
    ReviewItem,
    UnmergeResult,
)

__all__ = ["router"]

ERRORS = responses(
    e401="Missing or invalid API key.",
    e404="No such object in this brand.",
    e422="Invalid input; names the field and the reason.",
)
CONFLICT = responses(e409="The object is not in a state that allows this.")

router = APIRouter(prefix="/api/v1", responses=ERRORS)

ProfileId = Annotated[str, Path(max_length=36, description="A profile id (merged ids follow).")]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
MAX_EVENTS_PER_REQUEST = 1000


def _next(count: int, limit: int, offset: int) -> int | None:
    return offset + limit if count == limit else None


# -- profiles -------------------------------------------------------------------------------


@router.get("/profiles", response_model=ProfilesPage, tags=["profiles"])
async def list_profiles(
    request: Request,
    key: ApiKeyValue,
    email: Annotated[str | None, Query(max_length=320)] = None,
    phone: Annotated[str | None, Query(max_length=64)] = None,
    loyalty_id: Annotated[str | None, Query(max_length=200)] = None,
    segment: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Lifecycle label: new, active, loyal, champion, at_risk, churned.",
        ),
    ] = None,
    rfm_segment: Annotated[
        str | None,
        Query(max_length=64, description="One of the 11 RFM segments, e.g. champions."),
    ] = None,
    sort: Literal["lifetime_value", "total_orders", "last_order_at", "created_at"] = (
        "lifetime_value"
    ),
    limit: Limit = 50,
    offset: Offset = 0,
) -> ProfilesPage:
    """Look a person up by email, phone or loyalty id (normalized exactly as ingestion does,
    so any formatting finds them), or list profiles, highest ``sort`` first."""
    lookups = {"email": email, "phone": phone, "loyalty_id": loyalty_id}
    given = {k: v for k, v in lookups.items() if v is not None}

    def work(session: Session, brand: Brand) -> ProfilesPage:
        if len(given) > 1:
            raise PayloadError(",".join(given), "give at most one of email, phone, loyalty_id")
        if segment is not None and segment not in LIFECYCLES:
            raise PayloadError("segment", f"unknown segment {segment!r}; one of {LIFECYCLES}")
        if rfm_segment is not None and rfm_segment not in SEGMENTS:
            raise PayloadError(
                "rfm_segment", f"unknown RFM segment {rfm_segment!r}; one of {SEGMENTS}"
            )
        if given and (segment or rfm_segment):
            raise PayloadError("segment", "a look-up by identifier takes no segment")
        if given:
            ((kind, value),) = given.items()
            try:
                row = profiles.find_by_identifier(session, brand=brand, kind=kind, value=value)
            except NotFoundError:
                return ProfilesPage(items=[], next_offset=None)
            items = [] if row.status != "active" else [_read(request, session, brand, row)]
            return ProfilesPage(items=items, next_offset=None)
        join: Any = None
        where: list[Any] = []
        if segment is not None or rfm_segment is not None:
            join, where = predictions.segment_filter(lifecycle=segment, rfm_segment=rfm_segment)
        rows = profiles_repo.list_page(
            session,
            brand_id=brand.id,
            sort=sort,
            limit=limit,
            offset=offset,
            join=join,
            where=where,
        )
        found = predictions.predictions_for(session, [r.id for r in rows])
        return ProfilesPage(
            items=[
                _with_prediction(profiles.read(session, brand=brand, row=r), found.get(r.id))
                for r in rows
            ],
            next_offset=_next(len(rows), limit, offset),
        )

    return await read_as_brand(request, key, work)


def _live(session: Session, brand: Brand, profile_id: str) -> Any:
    row = profiles.get(session, brand=brand, profile_id=profile_id)
    if row.status != "active":
        raise NotFoundError(f"no profile {profile_id}")
    return row


def _with_prediction(view: ProfileRead, prediction: dict[str, Any] | None) -> ProfileWithPrediction:
    return ProfileWithPrediction(
        **dict(view),
        prediction=None if prediction is None else PredictionRead.of(prediction),
    )


def _read(request: Request, session: Session, brand: Brand, row: Any) -> ProfileWithPrediction:
    """A profile's view: its statistics through the runtime's cache (see ``profiles.cache``),
    its prediction read fresh (the predictions consumer writes it after the profile's own
    change, so it is not part of the cached view)."""
    cache = runtime(request).cache
    view = cache.get(brand.id, row.id, row.updated_at)
    if view is None:
        view = profiles.read(session, brand=brand, row=row)
        cache.put(brand.id, view, row.updated_at)
    return _with_prediction(view, predictions.prediction_of(session, row.id))


@router.get("/profiles/{profile_id}", response_model=ProfileWithPrediction, tags=["profiles"])
async def get_profile(
    request: Request, key: ApiKeyValue, profile_id: ProfileId
) -> ProfileWithPrediction:
    """A profile with its current prediction; a merged-away id answers with the profile it was
    merged into."""

    def work(session: Session, brand: Brand) -> ProfileWithPrediction:
        return _read(request, session, brand, _live(session, brand, profile_id))

    return await read_as_brand(request, key, work)


@router.get("/profiles/{profile_id}/events", response_model=EventsPage, tags=["profiles"])
def profile_events(
    session: DbSession,
    brand: CurrentBrand,
    profile_id: ProfileId,
    limit: Limit = 50,
    offset: Offset = 0,
) -> EventsPage:
    """The profile's timeline, oldest first."""
    row = _live(session, brand, profile_id)
    rows = events_repo.page_for_profile(
        session, brand_id=brand.id, profile_id=row.id, limit=limit, offset=offset
    )
    return EventsPage(
        items=[EventRead.model_validate(dict(r._mapping)) for r in rows],
        next_offset=_next(len(rows), limit, offset),
    )


@router.get("/profiles/{profile_id}/orders", response_model=OrdersPage, tags=["profiles"])
def profile_orders(
    session: DbSession,
    brand: CurrentBrand,
    profile_id: ProfileId,
    limit: Limit = 50,
    offset: Offset = 0,
) -> OrdersPage:
    """The profile's orders with their net amounts, oldest first."""
    row = _live(session, brand, profile_id)
    rows = orders_repo.page_for_profile(
        session, brand_id=brand.id, profile_id=row.id, limit=limit, offset=offset
    )
    return OrdersPage(
        items=[OrderRead.model_validate(dict(r._mapping)) for r in rows],
        next_offset=_next(len(rows), limit, offset),
    )


@router.get(
    "/profiles/{profile_id}/prediction-history",
    response_model=PredictionHistoryPage,
    tags=["profiles"],
)
def prediction_history(
    session: DbSession,
    brand: CurrentBrand,
    profile_id: ProfileId,
    limit: Limit = 50,
    offset: Offset = 0,
) -> PredictionHistoryPage:
    """What changed in the profile's prediction, when, why and under which model version,
    newest first."""
    row = _live(session, brand, profile_id)
    rows = predictions.history_of(session, row.id, limit=limit, offset=offset)
    return PredictionHistoryPage(
        items=[PredictionChangeRead.model_validate(r) for r in rows],
        next_offset=_next(len(rows), limit, offset),
    )


@router.post(
    "/profiles/{profile_id}/unmerge",
    response_model=UnmergeResult,
    tags=["review"],
    responses=CONFLICT,
)
def unmerge_profile(
    session: DbSession, brand: CurrentBrand, profile_id: ProfileId
) -> UnmergeResult:
    """Undo the merge that folded ``profile_id`` into another profile: both come back with
    their identifiers, events, orders and statistics."""
    restored, survivor = profiles.unmerge(session, brand=brand, merged_id=profile_id, actor="api")
    return UnmergeResult(survivor_id=survivor, restored_id=restored)


@router.get("/profiles/{profile_id}/export", tags=["privacy"])
def export_profile(session: DbSession, brand: CurrentBrand, profile_id: ProfileId) -> Response:
    """Everything held about the person (identifiers, events with their raw payloads, orders,
    merges), as one JSON document."""
    data = privacy.export(session, brand=brand, profile_id=profile_id)
    return Response(
        orjson.dumps(data, default=str),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="profile-{profile_id}.json"'},
    )


@router.delete("/profiles/{profile_id}", response_model=ErasureResult, tags=["privacy"])
def erase_profile(session: DbSession, brand: CurrentBrand, profile_id: ProfileId) -> ErasureResult:
    """Erase the person: identifiers and personal data removed (and suppressed, so replays
    cannot re-create them); order amounts stay, anonymously, so revenue stays right."""
    return ErasureResult(
        erased=True, removed=privacy.erase(session, brand=brand, profile_id=profile_id)
    )


# -- review queue ---------------------------------------------------------------------------


@router.get("/review", response_model=list[ReviewItem], tags=["review"])
def list_review(
    session: DbSession,
    brand: CurrentBrand,
    status: Literal["pending", "approved", "rejected", "all"] = "pending",
) -> list[ReviewItem]:
    """Merge requests waiting for (or decided by) an operator."""
    rows = profiles.list_requests(session, brand=brand, status=None if status == "all" else status)
    return [ReviewItem.model_validate(r, from_attributes=True) for r in rows]


@router.post(
    "/review/{request_id}/approve",
    response_model=ApproveResult,
    tags=["review"],
    responses=CONFLICT,
)
def approve_review(
    session: DbSession, brand: CurrentBrand, request_id: Annotated[str, Path(max_length=36)]
) -> ApproveResult:
    """Merge the request's profiles into the oldest one."""
    return ApproveResult(
        survivor_id=profiles.approve_request(
            session, brand=brand, request_id=request_id, actor="api"
        )
    )


@router.post(
    "/review/{request_id}/reject",
    response_model=ReviewItem,
    tags=["review"],
    responses=CONFLICT,
)
def reject_review(
    session: DbSession, brand: CurrentBrand, request_id: Annotated[str, Path(max_length=36)]
) -> ReviewItem:
    """Keep the profiles apart."""
    profiles.reject_request(session, brand=brand, request_id=request_id, actor="api")
    row = profiles_repo.get_request(session, brand_id=brand.id, request_id=request_id)
    return ReviewItem.model_validate(row, from_attributes=True)


# -- events ---------------------------------------------------------------------------------

EVENTS_DOC = (
    "One event or a list (at most 1000). An item is either one of our API events "
    '(`{"event_type": "cart_add", "email": ..., ...}`, see the docs of the `api` source) or an '
    'envelope `{"source": "shopify", "topic": "orders/create", "payload": {...}}` for any '
    f"source ({', '.join(SOURCES)})."
)


def _envelope(item: Any, index: int, now: datetime) -> Envelope:
    if isinstance(item, dict) and "payload" in item and "source" in item:
        source, topic = item["source"], item.get("topic")
        if not isinstance(source, str) or (topic is not None and not isinstance(topic, str)):
            raise PayloadError(f"[{index}].source", "source and topic must be strings")
        return Envelope(source, topic, item["payload"], f"api[{index}]", index, received_at=now)
    # An event without its own time happened now.
    return Envelope("api", None, item, f"api[{index}]", index, received_at=now)


@router.post("/events", response_model=IngestSummary, tags=["events"])
def post_events(
    request: Request,
    session: DbSession,
    brand: CurrentBrand,
    body: Annotated[dict[str, Any] | list[Any], Body(description=EVENTS_DOC)],
) -> IngestSummary:
    """Ingest events now, through the same write path as webhooks and imports. A single
    invalid event answers 422; in a list, the valid events are stored and each invalid one is
    reported (``rejections``) and kept for replay."""
    items = body if isinstance(body, list) else [body]
    if not items:
        raise PayloadError("body", "no events given")
    if len(items) > MAX_EVENTS_PER_REQUEST:
        raise PayloadError("body", f"at most {MAX_EVENTS_PER_REQUEST} events per request")
    now = utcnow()
    envelopes = [_envelope(item, n, now) for n, item in enumerate(items)]
    result = ingest_batch(session, BrandContext.of(brand), envelopes)
    counter = runtime(request).metrics.events
    for outcome, count in (
        ("imported", result.imported),
        ("duplicate", result.duplicates),
        ("rejected", result.rejected),
    ):
        if count:
            counter.labels("api", outcome).inc(count)
    rejections = [
        RejectionRead(index=r.line_no or 0, field=r.field, reason=r.reason)
        for r in result.rejections
    ]
    if not isinstance(body, list) and rejections:
        raise PayloadError(rejections[0].field, rejections[0].reason)
    return IngestSummary(
        **result.counts(), rejections=rejections, profile_ids=sorted(result.touched_profiles)
    )


@router.get("/events/unattached", response_model=EventsPage, tags=["events"])
def unattached_events(
    session: DbSession, brand: CurrentBrand, limit: Limit = 50, offset: Offset = 0
) -> EventsPage:
    """Events that carried no usable identifier, waiting to be linked."""
    rows = events_repo.list_unattached(session, brand_id=brand.id, limit=limit, offset=offset)
    return EventsPage(
        items=[EventRead.model_validate(dict(r._mapping)) for r in rows],
        next_offset=_next(len(rows), limit, offset),
    )


@router.post(
    "/events/{event_id}/link", response_model=LinkResult, tags=["events"], responses=CONFLICT
)
def link_event(
    session: DbSession,
    brand: CurrentBrand,
    event_id: Annotated[str, Path(max_length=36)],
    link: LinkRequest,
) -> LinkResult:
    """Attach an unattached event (and its order) to a profile; statistics follow."""
    profile_id = profiles.link_event(
        session, brand=brand, event_id=event_id, profile_id=link.profile_id
    )
    return LinkResult(event_id=event_id, profile_id=profile_id)


# -- imports --------------------------------------------------------------------------------


UPLOAD = {
    "requestBody": {
        "required": True,
        "description": "The file itself, as the raw request body.",
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in ("application/x-ndjson", "application/json", "text/csv")
        },
    }
}


@router.post(
    "/imports",
    response_model=ImportJobRead,
    status_code=202,
    tags=["imports"],
    openapi_extra=UPLOAD,
)
async def start_import(
    request: Request,
    brand: AuthenticatedBrand,
    background: BackgroundTasks,
    format: Annotated[Literal["jsonl", "json", "csv"], Query(description="File format.")],
    source: Annotated[
        str | None, Query(description="Source of bare payloads (envelope lines name theirs).")
    ] = None,
    filename: Annotated[str, Query(max_length=300)] = "upload",
) -> ImportJobRead:
    """Upload a file as the request body (JSONL envelopes or bare payloads with ``source``, a
    JSON array, or CSV orders); it is imported in the background once the job is committed.
    Poll the returned job for progress."""
    if source is not None and source not in SOURCES:
        raise PayloadError("source", f"unknown source {source!r}; one of {', '.join(SOURCES)}")
    rt = runtime(request)
    job, path = await imports.receive(rt, request, fmt=format)
    read = await run_in_threadpool(
        imports.create, rt.app.engine, brand.id, job, name=filename, source=source
    )
    background.add_task(imports.run, rt.app.engine, job, brand.id, path, format, source)
    return read


@router.get("/imports/{job_id}", response_model=ImportJobRead, tags=["imports"])
def get_import(
    session: DbSession, brand: CurrentBrand, job_id: Annotated[str, Path(max_length=36)]
) -> ImportJobRead:
    """An import job with its progress and, when done, its summary."""
    return imports.read(session, brand.id, job_id)
