"""The activation API under ``/api/v1``: automations, consent, the delivery log, campaigns,
product intent, journeys, in-store alerts and store webhooks. Scoped to the key's brand like
the rest of the API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from constintel.activation import automations as autos
from constintel.activation import campaigns as camps
from constintel.activation import intents as intent
from constintel.activation import service as activation
from constintel.activation import stores as store
from constintel.core.errors import NotFoundError, PayloadError
from constintel.profiles import service as profiles
from constintel.web.deps import AuthenticatedBrand, CurrentBrand, DbSession, runtime
from constintel.web.problems import responses

__all__ = ["router"]

ERRORS = responses(
    e401="Missing or invalid API key.",
    e404="No such object in this brand.",
    e422="Invalid input; names the field and the reason.",
)


async def _no_nul(request: Request) -> None:
    """Text with NUL characters cannot be stored (PostgreSQL refuses them): a 422 naming where,
    instead of a database error."""
    if "\x00" in unquote(request.url.query):
        raise PayloadError("query", "NUL characters are not allowed")
    body = await request.body()
    if b"\\u0000" in body or b"\x00" in body:
        raise PayloadError("body", "NUL characters are not allowed")


router = APIRouter(prefix="/api/v1", responses=ERRORS, dependencies=[Depends(_no_nul)])
ProfileId = Annotated[str, Path(max_length=36)]
Limit = Annotated[int, Query(ge=1, le=200)]


class AutomationIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    enabled: bool = True
    trigger: dict[str, Any] = Field(
        description='{"type": "first_order" | "repeat_order" | "vip" | "cart_abandoned" | '
        '"churn_risk" | "order_delivered" | "segment_changed", ...parameters}'
    )
    conditions: list[dict[str, Any]] = Field(
        default_factory=list,
        description='[{"field": "profile.total_orders", "op": ">=", "value": 2}]',
    )
    action: dict[str, Any] = Field(
        description='{"channel": "email" | "whatsapp" | "webhook", "subject": ..., '
        '"body": ..., "url": ...}'
    )


class AutomationRead(AutomationIn):
    id: str


class ConsentIn(BaseModel):
    channel: Literal["email", "whatsapp"]
    status: Literal["opted_in", "unsubscribed"]
    source: str = Field(default="api", max_length=40)


class ConsentRead(BaseModel):
    channel: str
    status: str


class DeliveryRead(BaseModel):
    id: int
    automation_id: str | None
    campaign_id: str | None
    customer_profile_id: str | None
    channel: str
    recipient: str | None
    subject: str | None
    status: str
    reason: str | None
    attempts: int
    not_before: datetime
    created_at: datetime
    sent_at: datetime | None


class CampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    audience: dict[str, Any]
    action: dict[str, Any]
    attribution_days: int = Field(default=7, ge=1, le=365)
    scheduled_at: datetime | None = None


class CampaignRead(BaseModel):
    id: str
    name: str
    status: str
    audience: dict[str, Any]
    audience_size: int | None
    scheduled_at: datetime | None
    sent_at: datetime | None


class PreviewIn(BaseModel):
    audience: dict[str, Any]
    channel: Literal["email", "whatsapp", "webhook"] = "email"


class PreviewRead(BaseModel):
    audience: int
    reachable: int


class CampaignReport(BaseModel):
    campaign: str
    status: str
    audience: int | None
    sent: int
    deferred: int
    pending: int
    skipped_consent: int
    skipped_cap: int
    skipped_other: int
    failed: int
    attributed_orders: int
    attributed_revenue: Decimal
    attribution_days: int


class QueuedRead(BaseModel):
    queued: int


class IntentRead(BaseModel):
    profile_id: str
    product_id: str
    score: float
    views: int
    cart_adds: int
    purchases: int
    converted: bool


class JourneyRead(BaseModel):
    stage: str
    funnel_stage: str
    score: int
    next_best_action: str
    updated_at: datetime


class AlertRead(BaseModel):
    id: int
    store_id: str
    customer_profile_id: str
    products: list[dict[str, Any]]
    reason: str
    status: str
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None


class SubscriptionIn(BaseModel):
    url: str = Field(max_length=2000)


class SubscriptionRead(BaseModel):
    store_id: str
    url: str
    secret: str = Field(description="Signs each alert: X-ConstIntel-Signature v1=HMAC.")


def _profile(session: Any, brand: Any, profile_id: str) -> Any:
    row = profiles.get(session, brand=brand, profile_id=profile_id)
    if row.status != "active":
        raise NotFoundError(f"no profile {profile_id}")
    return row


@router.get("/automations", response_model=list[AutomationRead], tags=["activation"])
def list_automations(session: DbSession, brand: CurrentBrand) -> list[AutomationRead]:
    return [AutomationRead.model_validate(a) for a in autos.list_automations(session, brand.id)]


@router.post("/automations", response_model=AutomationRead, tags=["activation"])
def save_automation(session: DbSession, brand: CurrentBrand, body: AutomationIn) -> AutomationRead:
    """Create the automation, or replace the one of that name."""
    saved = autos.save_automation(session, brand_id=brand.id, **body.model_dump())
    return AutomationRead.model_validate({**saved, "name": body.name})


@router.put("/profiles/{profile_id}/consent", response_model=list[ConsentRead], tags=["activation"])
def set_consent(
    session: DbSession, brand: CurrentBrand, profile_id: ProfileId, body: ConsentIn
) -> list[ConsentRead]:
    """Record consent on a channel; answers every channel's consent of the profile."""
    row = _profile(session, brand, profile_id)
    activation.set_consent(
        session,
        brand_id=brand.id,
        profile_id=row.id,
        channel=body.channel,
        status=body.status,
        source=body.source,
    )
    return [
        ConsentRead(channel=c, status=s)
        for c, s in sorted(activation.consents_of(session, row.id).items())
    ]


@router.get("/deliveries", response_model=list[DeliveryRead], tags=["activation"])
def deliveries(
    session: DbSession,
    brand: CurrentBrand,
    status: Literal["pending", "deferred", "sending", "sent", "skipped", "failed", "unknown"]
    | None = None,
    profile_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Limit = 50,
) -> list[DeliveryRead]:
    """The delivery log, newest first."""
    rows = activation.list_deliveries(
        session, brand_id=brand.id, status=status, profile_id=profile_id, limit=limit
    )
    return [DeliveryRead.model_validate(r) for r in rows]


@router.post("/campaigns/preview", response_model=PreviewRead, tags=["activation"])
def preview_campaign(session: DbSession, brand: CurrentBrand, body: PreviewIn) -> PreviewRead:
    return PreviewRead(
        **camps.preview(session, brand_id=brand.id, audience=body.audience, channel=body.channel)
    )


@router.post("/campaigns", response_model=CampaignRead, tags=["activation"])
def create_campaign(session: DbSession, brand: CurrentBrand, body: CampaignIn) -> CampaignRead:
    return CampaignRead.model_validate(
        camps.create(session, brand_id=brand.id, **body.model_dump())
    )


@router.post(
    "/campaigns/{campaign_id}/send",
    response_model=QueuedRead,
    tags=["activation"],
    responses=responses(e409="The campaign was sent already."),
)
def send_campaign(
    request: Request, brand: AuthenticatedBrand, campaign_id: Annotated[str, Path(max_length=36)]
) -> QueuedRead:
    """Queue one message per audience member (once per campaign and customer)."""
    engine = runtime(request).app.engine
    return QueuedRead(queued=camps.send(engine, brand_id=brand.id, campaign_id=campaign_id))


@router.get("/campaigns/{campaign_id}/report", response_model=CampaignReport, tags=["activation"])
def campaign_report(
    session: DbSession, brand: CurrentBrand, campaign_id: Annotated[str, Path(max_length=36)]
) -> CampaignReport:
    return CampaignReport.model_validate(
        camps.report(session, brand_id=brand.id, campaign_id=campaign_id)
    )


@router.get("/profiles/{profile_id}/intents", response_model=list[IntentRead], tags=["activation"])
def profile_intents(
    session: DbSession, brand: CurrentBrand, profile_id: ProfileId, limit: Limit = 20
) -> list[IntentRead]:
    """The profile's strongest product intents (score decays with a 14-day half-life)."""
    row = _profile(session, brand, profile_id)
    return [
        IntentRead.model_validate(i)
        for i in intent.top_intents(session, brand_id=brand.id, profile_id=row.id, limit=limit)
    ]


@router.get("/products/{product_id}/intents", response_model=list[IntentRead], tags=["activation"])
def product_intents(
    session: DbSession,
    brand: CurrentBrand,
    product_id: Annotated[str, Path(max_length=100)],
    limit: Limit = 20,
) -> list[IntentRead]:
    """Who wants this product most."""
    return [
        IntentRead.model_validate(i)
        for i in intent.top_intents(session, brand_id=brand.id, product_id=product_id, limit=limit)
    ]


@router.get(
    "/profiles/{profile_id}/journey", response_model=JourneyRead | None, tags=["activation"]
)
def journey(session: DbSession, brand: CurrentBrand, profile_id: ProfileId) -> JourneyRead | None:
    """Journey stage, score and next best action (null until the first event is handled)."""
    row = _profile(session, brand, profile_id)
    found = activation.journey_of(session, row.id)
    return None if found is None else JourneyRead.model_validate(found)


@router.get("/stores/{store_id}/alerts", response_model=list[AlertRead], tags=["activation"])
def alerts(
    session: DbSession,
    brand: CurrentBrand,
    store_id: Annotated[str, Path(max_length=64)],
    status: Literal["open", "acknowledged", "all"] = "open",
) -> list[AlertRead]:
    rows = store.list_alerts(
        session, brand_id=brand.id, store_id=store_id, status=None if status == "all" else status
    )
    return [AlertRead.model_validate(r) for r in rows]


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertRead, tags=["activation"])
def acknowledge(
    session: DbSession,
    brand: CurrentBrand,
    alert_id: Annotated[int, Path(ge=1, le=2**62)],
    by: Annotated[str, Query(max_length=100)] = "api",
) -> AlertRead:
    return AlertRead.model_validate(
        store.acknowledge(session, brand_id=brand.id, alert_id=alert_id, by=by)
    )


@router.put("/stores/{store_id}/subscription", response_model=SubscriptionRead, tags=["activation"])
def subscribe(
    session: DbSession,
    brand: CurrentBrand,
    store_id: Annotated[str, Path(max_length=64)],
    body: SubscriptionIn,
) -> SubscriptionRead:
    """Send the store's in-store alerts to this webhook (a new signing secret each time)."""
    return SubscriptionRead.model_validate(
        store.subscribe(session, brand_id=brand.id, store_id=store_id, url=body.url)
    )
