"""Campaigns (the seed's "Campaign Execution"): a one-off or scheduled send to an audience,
through the same channels and delivery rules as automations, with a preview and a report.

Audience (all given parts must hold; active profiles of the brand):
``{"lifecycle": ["at_risk"], "rfm_segment": [...], "min_churn_risk": 0.5,
"max_churn_risk": 1, "min_predicted_ltv": "100", "min_lifetime_value": "50",
"intent_product": "SKU-1", "has": ["email"]}``.

The report counts the deliveries by outcome and attributes revenue: the net of the
recipients' orders placed within ``attribution_days`` after their message was sent.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Engine, Select, Table, and_, exists, func, select, update
from sqlalchemy.orm import Session

from constintel.core.clock import utcnow
from constintel.core.errors import ConflictError, NotFoundError, PayloadError
from constintel.core.ids import new_id
from constintel.db.chunks import in_values
from constintel.db.session import transaction
from constintel.identity.models import CustomerIdentifier
from constintel.orders.models import CustomerOrder
from constintel.predictions.models import ProfilePrediction
from constintel.predictions.segments import LIFECYCLES, SEGMENTS
from constintel.profiles.models import CustomerProfile

from . import rules
from .automations import delivery_row, insert_deliveries, profile_context
from .intents import I
from .models import Campaign, Consent, Delivery

log = logging.getLogger(__name__)

__all__ = ["create", "get", "preview", "report", "send", "send_scheduled"]

CA = cast(Table, Campaign.__table__)
D = cast(Table, Delivery.__table__)
C = cast(Table, Consent.__table__)
P = cast(Table, CustomerProfile.__table__)
PP = cast(Table, ProfilePrediction.__table__)
ID = cast(Table, CustomerIdentifier.__table__)
O = cast(Table, CustomerOrder.__table__)  # noqa: E741
AUDIENCE_KEYS = {
    "lifecycle",
    "rfm_segment",
    "min_churn_risk",
    "max_churn_risk",
    "min_predicted_ltv",
    "min_lifetime_value",
    "intent_product",
    "has",
}
ADDRESS = {"email": "email", "whatsapp": "phone"}


def _validate(audience: Any, channel: str | None = None) -> None:
    if not isinstance(audience, dict):
        raise PayloadError("audience", "expected an object")
    unknown = set(audience) - AUDIENCE_KEYS
    if unknown:
        raise PayloadError(
            f"audience.{sorted(unknown)[0]}", f"unknown; use {', '.join(sorted(AUDIENCE_KEYS))}"
        )
    for key, allowed in (
        ("lifecycle", LIFECYCLES),
        ("rfm_segment", SEGMENTS),
        ("has", ("email", "phone", "loyalty_id", "device_id", "cookie_id")),
    ):
        values = audience.get(key, [])
        if not isinstance(values, list):
            raise PayloadError(f"audience.{key}", f"expected a list, e.g. [{allowed[0]!r}]")
        for v in values:
            if v not in allowed:
                raise PayloadError(f"audience.{key}", f"unknown {v!r}; one of {allowed}")
    for key in ("min_churn_risk", "max_churn_risk", "min_predicted_ltv", "min_lifetime_value"):
        if key in audience:
            try:
                number = float(audience[key])
            except (TypeError, ValueError):
                number = math.nan
            if not math.isfinite(number) or number < 0:
                raise PayloadError(f"audience.{key}", "expected a finite number >= 0")
    if channel is not None and channel not in rules.CHANNELS:
        raise PayloadError("channel", f"one of {', '.join(rules.CHANNELS)}")


def audience_query(brand_id: str, audience: dict[str, Any]) -> Select[Any]:
    q = select(P.c.id).where(P.c.brand_id == brand_id, P.c.status == "active")
    needs_prediction = any(
        k in audience
        for k in (
            "lifecycle",
            "rfm_segment",
            "min_churn_risk",
            "max_churn_risk",
            "min_predicted_ltv",
        )
    )
    if needs_prediction:
        q = q.join(PP, PP.c.customer_profile_id == P.c.id)
    if audience.get("lifecycle"):
        q = q.where(PP.c.lifecycle.in_(audience["lifecycle"]))
    if audience.get("rfm_segment"):
        q = q.where(PP.c.rfm_segment.in_(audience["rfm_segment"]))
    if "min_churn_risk" in audience:
        q = q.where(PP.c.churn_risk >= float(audience["min_churn_risk"]))
    if "max_churn_risk" in audience:
        q = q.where(PP.c.churn_risk <= float(audience["max_churn_risk"]))
    if "min_predicted_ltv" in audience:
        q = q.where(PP.c.predicted_ltv >= Decimal(str(audience["min_predicted_ltv"])))
    if "min_lifetime_value" in audience:
        q = q.where(P.c.lifetime_value >= Decimal(str(audience["min_lifetime_value"])))
    if audience.get("intent_product"):
        q = q.where(
            exists().where(
                I.c.customer_profile_id == P.c.id,
                I.c.product_id == str(audience["intent_product"]),
                I.c.converted_at.is_(None),
            )
        )
    for kind in audience.get("has", []):
        q = q.where(exists().where(ID.c.customer_profile_id == P.c.id, ID.c.kind == kind))
    return q.order_by(P.c.id)


def preview(
    session: Session, *, brand_id: str, audience: dict[str, Any], channel: str
) -> dict[str, int]:
    """Audience size, and how many of them the channel can reach (an address, not
    unsubscribed) before caps and quiet hours."""
    _validate(audience, channel)
    ids = list(session.execute(audience_query(brand_id, audience)).scalars())
    kind = ADDRESS.get(channel)
    reachable = len(ids)
    if kind is not None and ids:
        sub = audience_query(brand_id, audience).subquery()
        reachable = int(
            session.execute(
                select(func.count())
                .select_from(sub)
                .where(
                    exists().where(ID.c.customer_profile_id == sub.c.id, ID.c.kind == kind),
                    ~exists().where(
                        C.c.customer_profile_id == sub.c.id,
                        C.c.channel == channel,
                        C.c.status == "unsubscribed",
                    ),
                )
            ).scalar_one()
        )
    return {"audience": len(ids), "reachable": reachable}


def create(
    session: Session,
    *,
    brand_id: str,
    name: str,
    audience: dict[str, Any],
    action: dict[str, Any],
    attribution_days: int = 7,
    scheduled_at: datetime | None = None,
) -> dict[str, Any]:
    _validate(audience)
    rules.validate({"type": "first_order"}, [], action)
    if not 1 <= attribution_days <= 365:
        raise PayloadError("attribution_days", "between 1 and 365")
    row = {
        "id": new_id(),
        "brand_id": brand_id,
        "name": name[:100],
        "audience": audience,
        "action": action,
        "attribution_days": attribution_days,
        "status": "scheduled" if scheduled_at else "draft",
        "scheduled_at": scheduled_at,
        "sent_at": None,
        "audience_size": None,
        "created_at": utcnow(),
    }
    session.execute(CA.insert().values(**row))
    return row


def get(session: Session, *, brand_id: str, campaign_id: str) -> dict[str, Any]:
    row = session.execute(
        select(CA).where(CA.c.brand_id == brand_id, CA.c.id == campaign_id)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"no campaign {campaign_id}")
    return dict(row._mapping)


def send(engine: Engine, *, brand_id: str, campaign_id: str, now: datetime | None = None) -> int:
    """Create one delivery per audience member (at most once per campaign and profile, however
    often this runs); the sender delivers them under the delivery rules."""
    at = now or utcnow()
    with transaction(engine) as session:
        campaign = get(session, brand_id=brand_id, campaign_id=campaign_id)
        if campaign["status"] == "sent":
            raise ConflictError(f"campaign {campaign_id} was sent at {campaign['sent_at']}")
        ids = list(session.execute(audience_query(brand_id, campaign["audience"])).scalars())
        profiles: dict[str, Any] = {}
        for cond in in_values(session, P.c.id, ids):
            for r in session.execute(select(P).where(P.c.brand_id == brand_id, cond)):
                profiles[r.id] = r
        rows = [
            delivery_row(
                brand_id=brand_id,
                dedupe_key=f"c:{campaign_id}:{pid}",
                action=campaign["action"],
                context={
                    **profile_context(profiles[pid], None),
                    "campaign": {"name": campaign["name"]},
                },
                profile_id=pid,
                not_before=at,
                now=at,
                campaign_id=campaign_id,
            )
            for pid in ids
        ]
        for part in range(0, len(rows), 5000):
            insert_deliveries(session, rows[part : part + 5000])
        session.execute(
            update(CA)
            .where(CA.c.id == campaign_id)
            .values(status="sent", sent_at=at, audience_size=len(ids))
        )
    return len(ids)


def send_scheduled(engine: Engine, *, now: datetime | None = None) -> int:
    at = now or utcnow()
    with transaction(engine) as session:
        due = list(
            session.execute(
                select(CA.c.id, CA.c.brand_id).where(
                    CA.c.status == "scheduled", CA.c.scheduled_at <= at
                )
            )
        )
    for row in due:
        try:
            send(engine, brand_id=row.brand_id, campaign_id=row.id, now=at)
        except Exception:  # one campaign's failure must not hold back the others
            log.exception("scheduled campaign %s failed", row.id)
    return 0


def report(session: Session, *, brand_id: str, campaign_id: str) -> dict[str, Any]:
    campaign = get(session, brand_id=brand_id, campaign_id=campaign_id)
    counts: dict[str, int] = {}
    for status, reason, n in session.execute(
        select(D.c.status, D.c.reason, func.count())
        .where(D.c.campaign_id == campaign_id)
        .group_by(D.c.status, D.c.reason)
    ):
        key = status
        if status == "skipped":
            key = (
                "skipped_consent"
                if reason and ("unsubscribed" in reason or "opt-in" in reason)
                else ("skipped_cap" if reason and "frequency cap" in reason else "skipped_other")
            )
        counts[key] = counts.get(key, 0) + int(n)
    window = timedelta(days=campaign["attribution_days"])
    sent = (
        select(D.c.customer_profile_id, D.c.sent_at)
        .where(D.c.campaign_id == campaign_id, D.c.status == "sent")
        .subquery()
    )
    # The window's end is checked in Python: date arithmetic differs between the databases.
    orders = session.execute(
        select(O.c.net, O.c.placed_at, sent.c.sent_at)
        .select_from(sent)
        .join(
            O,
            and_(
                O.c.customer_profile_id == sent.c.customer_profile_id,
                O.c.counted.is_(True),
                O.c.placed_at >= sent.c.sent_at,
            ),
        )
    ).all()
    attributed = [o for o in orders if o.placed_at <= o.sent_at + window]
    return {
        "campaign": campaign["name"],
        "status": campaign["status"],
        "audience": campaign["audience_size"],
        "sent": counts.get("sent", 0),
        "deferred": counts.get("deferred", 0),
        "pending": counts.get("pending", 0) + counts.get("sending", 0),
        "skipped_consent": counts.get("skipped_consent", 0),
        "skipped_cap": counts.get("skipped_cap", 0),
        "skipped_other": counts.get("skipped_other", 0),
        "failed": counts.get("failed", 0) + counts.get("unknown", 0),
        "attributed_orders": len(attributed),
        "attributed_revenue": str(sum((Decimal(o.net) for o in attributed), Decimal("0"))),
        "attribution_days": campaign["attribution_days"],
    }
