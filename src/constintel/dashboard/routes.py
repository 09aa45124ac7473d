"""``/dashboard``: login, overview, customers (search, filters, CSV), a customer's page, and
the merge review queue. Server-rendered (Jinja2); charts by Chart.js (vendored, MIT)."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Table, Text, delete, func, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session
from starlette.templating import Jinja2Templates

from constintel.activation import intents as intent
from constintel.activation import service as activation
from constintel.brands import credentials
from constintel.brands.models import Brand
from constintel.core.clock import utcnow
from constintel.core.errors import ConflictError, ConstIntelError, NotFoundError
from constintel.db.session import transaction
from constintel.ingest import repository as events_repo
from constintel.orders import repository as orders_repo
from constintel.predictions import service as predictions
from constintel.predictions.segments import LIFECYCLES, SEGMENTS
from constintel.profiles import repository as profiles_repo
from constintel.profiles import service as profiles
from constintel.profiles.models import CustomerProfile
from constintel.web.deps import runtime

from .metrics import cohorts, overview
from .models import DashboardSession

__all__ = ["LoginRequired", "login_required", "router", "templates"]

router = APIRouter(prefix="/dashboard", include_in_schema=False)
templates = Jinja2Templates(
    directory=str(Path(__file__).resolve().parent.parent / "web" / "templates")
)
COOKIE = "ci_dashboard"
SESSION_HOURS = 12
S = cast(Table, DashboardSession.__table__)
P = cast(Table, CustomerProfile.__table__)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _engine(request: Request) -> Any:
    return runtime(request).app.engine


def _brand(request: Request, session: Session) -> Brand | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    row = session.execute(
        select(S.c.brand_id, S.c.expires_at).where(S.c.token_hash == _hash(token))
    ).one_or_none()
    if row is None or row.expires_at < utcnow():
        return None
    return session.get(Brand, row.brand_id)


def _login_redirect() -> RedirectResponse:
    return RedirectResponse("/dashboard/login", status_code=303)


class LoginRequired(Exception):
    """Raised by ``logged_in`` without a valid session; the app answers with the login page
    (see ``login_required``)."""


@contextmanager
def logged_in(request: Request) -> Iterator[tuple[Session, Brand]]:
    """A transaction and the logged-in brand, or ``LoginRequired``."""
    with transaction(_engine(request)) as session:
        brand = _brand(request, session)
        if brand is None:
            raise LoginRequired
        yield session, brand


async def login_required(_request: Request, _exc: Exception) -> Response:
    return _login_redirect()


async def _form(request: Request) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[0] for k, v in parse_qs(body).items()}


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    return templates.TemplateResponse(request, "dashboard/login.html", {"error": None})


@router.post("/login")
async def login(request: Request) -> Response:
    form = await _form(request)
    key = form.get("api_key", "").strip()
    with transaction(_engine(request)) as session:
        brand = credentials.brand_for_key(session, key) if key else None
        if brand is None:
            return templates.TemplateResponse(
                request,
                "dashboard/login.html",
                {"error": "That API key is not valid."},
                status_code=401,
            )
        token = secrets.token_urlsafe(32)
        now = utcnow()
        session.execute(delete(S).where(S.c.expires_at < now))  # expired logins go
        session.execute(
            S.insert().values(
                token_hash=_hash(token),
                brand_id=brand.id,
                created_at=now,
                expires_at=now + timedelta(hours=SESSION_HOURS),
            )
        )
    response = RedirectResponse("/dashboard/", status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/dashboard",
    )
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    token = request.cookies.get(COOKIE)
    if token:
        with transaction(_engine(request)) as session:
            session.execute(delete(S).where(S.c.token_hash == _hash(token)))
    response = _login_redirect()
    response.delete_cookie(COOKIE, path="/dashboard")
    return response


def _day(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default


@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request) -> Response:
    q = request.query_params
    with logged_in(request) as (session, brand):
        today = utcnow().date()
        end = _day(q.get("to"), today)
        start = _day(q.get("from"), end - timedelta(days=29))
        if start > end:
            start, end = end, start
        by = q.get("by") or "day"
        granularity = by if by in ("day", "week", "month") else "day"
        data = overview(
            session,
            brand_id=brand.id,
            currency=brand.currency,
            timezone=brand.timezone,
            start=start,
            end=end,
            granularity=granularity,
        )
    return templates.TemplateResponse(
        request, "dashboard/overview.html", {"brand": brand, "o": data, "page": "overview"}
    )


def cast_text(column: Any) -> Any:
    return sql_cast(column, Text)


def _search(session: Session, brand: Brand, q: str, limit: int, *, names: bool = True) -> list[Any]:
    """An email, a phone in any format or a loyalty id finds its one profile; words that are
    none of these search the customers' names (unless ``names`` is false)."""
    kinds = (
        ["email"]
        if "@" in q
        else ["phone", "loyalty_id"]
        if any(c.isdigit() for c in q)
        else ["loyalty_id"]
    )
    for kind in kinds:
        try:
            row = profiles.find_by_identifier(session, brand=brand, kind=kind, value=q)
        except (NotFoundError, ConstIntelError):
            continue
        if row.status == "active":
            return [row]
    if "@" in q or not names:
        return []
    return profiles_repo.search_by_name(session, brand_id=brand.id, text=q, limit=limit)


CHANNELS = ("online", "store", "web", "messaging")


def _customers(session: Session, brand: Brand, params: Any, limit: int) -> list[Any]:
    """The customers list: a search (``q``), or the brand's customers narrowed by lifecycle,
    RFM segment, churn risk and channel, sorted by lifetime value or last order."""
    q = (params.get("q") or "").strip()
    if q:
        return _search(session, brand, q, limit)
    sort = (
        params.get("sort")
        if params.get("sort") in ("lifetime_value", "last_order_at")
        else "lifetime_value"
    )
    lifecycle = params.get("lifecycle") if params.get("lifecycle") in LIFECYCLES else None
    segment = params.get("segment") if params.get("segment") in SEGMENTS else None
    try:
        min_churn = float(params.get("min_churn") or "nan")
    except ValueError:
        min_churn = float("nan")
    join: Any = None
    where: list[Any] = []
    if lifecycle or segment or 0 <= min_churn <= 1:
        join, where = predictions.segment_filter(lifecycle=lifecycle, rfm_segment=segment)
        if 0 <= min_churn <= 1:
            where.append(predictions.PP.c.churn_risk >= min_churn)
    if params.get("channel") in CHANNELS:
        # ``channels`` is a JSON list of fixed words: its text holds '"store"' exactly when
        # the list does (JSON text on SQLite, JSONB's text on PostgreSQL).
        where.append(cast_text(P.c.channels).contains(f'"{params.get("channel")}"'))
    return profiles_repo.list_page(
        session, brand_id=brand.id, sort=sort, limit=limit, offset=0, join=join, where=where
    )


@router.get("/customers", response_class=HTMLResponse)
def customers_page(request: Request) -> Response:
    with logged_in(request) as (session, brand):
        rows = _customers(session, brand, request.query_params, 100)
        found = predictions.predictions_for(session, [r.id for r in rows])
    return templates.TemplateResponse(
        request,
        "dashboard/customers.html",
        {
            "brand": brand,
            "rows": rows,
            "predictions": found,
            "lifecycles": LIFECYCLES,
            "segments": SEGMENTS,
            "channels": CHANNELS,
            "params": request.query_params,
            "page": "customers",
        },
    )


@router.get("/customers.csv")
def customers_csv(request: Request) -> Response:
    with logged_in(request) as (session, brand):
        rows = _customers(session, brand, request.query_params, 100_000)
        found = predictions.predictions_for(session, [r.id for r in rows])
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(
        [
            "id",
            "name",
            "email",
            "phone",
            "lifetime_value",
            "currency",
            "total_orders",
            "last_order_at",
            "lifecycle",
            "churn_risk",
            "predicted_ltv",
        ]
    )
    for r in rows:
        ids = r.identifiers or {}
        p = found.get(r.id) or {}
        out.writerow(
            [
                r.id,
                r.name or "",
                ids.get("email", ""),
                ids.get("phone", ""),
                str(r.lifetime_value),
                brand.currency,
                r.total_orders,
                r.last_order_at.isoformat() if r.last_order_at else "",
                p.get("lifecycle") or "",
                "" if p.get("churn_risk") is None else p["churn_risk"],
                "" if p.get("predicted_ltv") is None else str(p["predicted_ltv"]),
            ]
        )
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="customers.csv"'},
    )


@router.get("/customers/{profile_id}", response_class=HTMLResponse)
def customer_page(request: Request, profile_id: str) -> Response:
    with logged_in(request) as (session, brand):
        try:
            row = profiles.get(session, brand=brand, profile_id=profile_id[:36])
        except NotFoundError:
            return templates.TemplateResponse(
                request,
                "dashboard/missing.html",
                {"brand": brand, "page": "customers"},
                status_code=404,
            )
        view = profiles.read(session, brand=brand, row=row)
        contact = view.identifiers.get("email") or view.identifiers.get("phone") or []
        ctx = {
            "title": contact[0].value if contact else view.id,
            "brand": brand,
            "page": "customers",
            "p": view,
            "prediction": predictions.prediction_of(session, row.id),
            "history": predictions.history_of(session, row.id, limit=20),
            "events": events_repo.page_for_profile(
                session, brand_id=brand.id, profile_id=row.id, limit=200, offset=0
            ),
            "orders": orders_repo.page_for_profile(
                session, brand_id=brand.id, profile_id=row.id, limit=200, offset=0
            ),
            "journey": activation.journey_of(session, row.id),
            "intents": intent.top_intents(session, brand_id=brand.id, profile_id=row.id, limit=10),
            "deliveries": activation.list_deliveries(
                session, brand_id=brand.id, profile_id=row.id, limit=20
            ),
            "visits": _visits(session, row.id),
        }
    return templates.TemplateResponse(request, "dashboard/customer.html", ctx)


def _visits(session: Session, profile_id: str) -> list[Any]:
    from constintel.activation.models import StoreVisit

    V = cast(Table, StoreVisit.__table__)
    return list(
        session.execute(
            select(V.c.store_id, V.c.kind, V.c.visited_at)
            .where(V.c.customer_profile_id == profile_id)
            .order_by(V.c.visited_at.desc())
            .limit(20)
        )
    )


@router.post("/customers/{profile_id}/unmerge")
def unmerge(request: Request, profile_id: str) -> Response:
    with logged_in(request) as (session, brand):
        try:
            restored, _ = profiles.unmerge(
                session, brand=brand, merged_id=profile_id[:36], actor="dashboard"
            )
        except (NotFoundError, ConflictError):
            return RedirectResponse("/dashboard/customers", status_code=303)
    return RedirectResponse(f"/dashboard/customers/{restored}", status_code=303)


@router.get("/review", response_class=HTMLResponse)
def review_page(request: Request) -> Response:
    with logged_in(request) as (session, brand):
        items = []
        for req in profiles.list_requests(session, brand=brand, status="pending"):
            candidates = []
            for pid in req.profile_ids:
                try:
                    live = profiles.get(session, brand=brand, profile_id=pid)
                except NotFoundError:
                    continue
                candidates.append(profiles.read(session, brand=brand, row=live))
            items.append({"request": req, "candidates": candidates})
    return templates.TemplateResponse(
        request, "dashboard/review.html", {"brand": brand, "items": items, "page": "review"}
    )


@router.post("/review/{request_id}/{decision}")
def decide(request: Request, request_id: str, decision: str) -> Response:
    with logged_in(request) as (session, brand):
        try:
            if decision == "approve":
                survivor = profiles.approve_request(
                    session, brand=brand, request_id=request_id[:36], actor="dashboard"
                )
                return RedirectResponse(f"/dashboard/customers/{survivor}", status_code=303)
            if decision == "reject":
                profiles.reject_request(
                    session, brand=brand, request_id=request_id[:36], actor="dashboard"
                )
        except (NotFoundError, ConflictError):
            pass
    return RedirectResponse("/dashboard/review", status_code=303)


@router.get("/cohorts", response_class=HTMLResponse)
def cohorts_page(request: Request) -> Response:
    with logged_in(request) as (session, brand):
        rows = cohorts(session, brand_id=brand.id, timezone=brand.timezone)
    return templates.TemplateResponse(
        request, "dashboard/cohorts.html", {"brand": brand, "cohorts": rows, "page": "cohorts"}
    )


@router.get("/automations", response_class=HTMLResponse)
def automations_page(request: Request) -> Response:
    from constintel.activation import automations as autos

    with logged_in(request) as (session, brand):
        rules = autos.list_automations(session, brand.id)
        log = activation.list_deliveries(session, brand_id=brand.id, limit=100)
    names = {r["id"]: r["name"] for r in rules}
    return templates.TemplateResponse(
        request,
        "dashboard/automations.html",
        {"brand": brand, "rules": rules, "log": log, "names": names, "page": "automations"},
    )


@router.get("/stores", response_class=HTMLResponse)
def stores_page(request: Request) -> Response:
    from constintel.activation import stores as store
    from constintel.activation.models import StoreVisit

    with logged_in(request) as (session, brand):
        since = utcnow() - timedelta(days=30)
        V = cast(Table, StoreVisit.__table__)
        visits = session.execute(
            select(V.c.store_id, func.count())
            .where(V.c.brand_id == brand.id, V.c.visited_at >= since)
            .group_by(V.c.store_id)
            .order_by(V.c.store_id)
        ).all()
        alerts = store.list_alerts(session, brand_id=brand.id, status="open")
    return templates.TemplateResponse(
        request,
        "dashboard/stores.html",
        {"brand": brand, "visits": visits, "alerts": alerts, "page": "stores"},
    )


@router.post("/alerts/{alert_id}/ack")
def acknowledge_alert(request: Request, alert_id: int) -> Response:
    from constintel.activation import stores as store

    with logged_in(request) as (session, brand), contextlib.suppress(NotFoundError):
        store.acknowledge(session, brand_id=brand.id, alert_id=alert_id, by="dashboard")
    return RedirectResponse("/dashboard/stores", status_code=303)


@router.get("/unattached", response_class=HTMLResponse)
def unattached_page(request: Request) -> Response:
    with logged_in(request) as (session, brand):
        rows = events_repo.list_unattached(session, brand_id=brand.id, limit=200)
    return templates.TemplateResponse(
        request,
        "dashboard/unattached.html",
        {
            "brand": brand,
            "rows": rows,
            "error": request.query_params.get("error"),
            "page": "unattached",
        },
    )


@router.post("/unattached/{event_id}/link")
async def link_event(request: Request, event_id: str) -> Response:
    """Attach the event to the customer found by email, phone or loyalty id."""
    form = await _form(request)
    who = form.get("customer", "").strip()
    with logged_in(request) as (session, brand):
        found = _search(session, brand, who, 1, names=False) if who else []
        if not found:
            return RedirectResponse("/dashboard/unattached?error=no+such+customer", status_code=303)
        try:
            profile_id = profiles.link_event(
                session, brand=brand, event_id=event_id[:36], profile_id=found[0].id
            )
        except (NotFoundError, ConflictError):
            return RedirectResponse("/dashboard/unattached?error=cannot+link", status_code=303)
    return RedirectResponse(f"/dashboard/customers/{profile_id}", status_code=303)
