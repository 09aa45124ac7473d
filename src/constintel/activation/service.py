"""Activation use cases shared by the CLI and the API: consent, the delivery log, automation
import/export, journeys."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from constintel.core.clock import utcnow
from constintel.core.errors import ConflictError, NotFoundError, PayloadError
from constintel.db.upsert import insert_for

from .automations import list_automations, save_automation
from .models import Consent, Delivery, JourneyState

__all__ = [
    "CONSENT_CHANNELS",
    "CONSENT_STATUSES",
    "export_automations",
    "import_automations",
    "journey_of",
    "list_deliveries",
    "retry_delivery",
    "set_consent",
]

C = cast(Table, Consent.__table__)
D = cast(Table, Delivery.__table__)
J = cast(Table, JourneyState.__table__)
CONSENT_CHANNELS = ("email", "whatsapp")
CONSENT_STATUSES = ("opted_in", "unsubscribed")


def set_consent(
    session: Session, *, brand_id: str, profile_id: str, channel: str, status: str, source: str
) -> dict[str, Any]:
    if channel not in CONSENT_CHANNELS:
        raise PayloadError("channel", f"one of {', '.join(CONSENT_CHANNELS)}")
    if status not in CONSENT_STATUSES:
        raise PayloadError("status", f"one of {', '.join(CONSENT_STATUSES)}")
    row = {
        "brand_id": brand_id,
        "customer_profile_id": profile_id,
        "channel": channel,
        "status": status,
        "source": source[:40],
        "updated_at": utcnow(),
    }
    stmt = insert_for(session, C).values(**row)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["customer_profile_id", "channel"],
            set_={k: stmt.excluded[k] for k in ("status", "source", "updated_at")},
        )
    )
    return row


def consents_of(session: Session, profile_id: str) -> dict[str, str]:
    rows = session.execute(
        select(C.c.channel, C.c.status).where(C.c.customer_profile_id == profile_id)
    )
    return {str(r[0]): str(r[1]) for r in rows}


def list_deliveries(
    session: Session,
    *,
    brand_id: str,
    status: str | None = None,
    profile_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    q = select(D).where(D.c.brand_id == brand_id)
    if status is not None:
        q = q.where(D.c.status == status)
    if profile_id is not None:
        q = q.where(D.c.customer_profile_id == profile_id)
    rows = session.execute(q.order_by(D.c.id.desc()).limit(limit).offset(offset))
    return [{k: v for k, v in r._mapping.items() if k != "extra"} for r in rows]


def retry_delivery(session: Session, *, brand_id: str, delivery_id: int) -> None:
    """Send again a delivery that failed, was skipped or ended ``unknown`` (an operator's
    decision: an ``unknown`` one may have arrived already)."""
    row = session.execute(
        select(D.c.status).where(D.c.brand_id == brand_id, D.c.id == delivery_id)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"no delivery {delivery_id}")
    if row.status not in ("failed", "skipped", "unknown"):
        raise ConflictError(
            f"delivery {delivery_id} is {row.status}; "
            "only failed, skipped or unknown ones are retried"
        )
    session.execute(
        update(D)
        .where(D.c.id == delivery_id)
        .values(status="pending", not_before=utcnow(), reason="retried by an operator", attempts=0)
    )


def export_automations(session: Session, brand_id: str) -> list[dict[str, Any]]:
    return [
        {k: a[k] for k in ("name", "enabled", "trigger", "conditions", "action")}
        for a in list_automations(session, brand_id)
    ]


def import_automations(session: Session, brand_id: str, specs: Any) -> list[str]:
    """Create or replace each automation of the list (validated one by one; the field named
    in an error is prefixed with the automation's position)."""
    if not isinstance(specs, list):
        raise PayloadError("automations", "expected a list of automations")
    names = []
    for i, spec in enumerate(specs):
        if not isinstance(spec, dict):
            raise PayloadError(f"[{i}]", "expected an object")
        try:
            conditions = spec.get("conditions") or []
            if not isinstance(conditions, list):
                raise PayloadError("conditions", "expected a list")
            save_automation(
                session,
                brand_id=brand_id,
                name=str(spec.get("name", "")),
                trigger=spec.get("trigger") or {},
                action=spec.get("action") or {},
                conditions=conditions,
                enabled=bool(spec.get("enabled", True)),
            )
        except PayloadError as exc:
            raise PayloadError(f"[{i}].{exc.field}", exc.reason) from exc
        names.append(str(spec["name"]))
    return names


def journey_of(session: Session, profile_id: str) -> dict[str, Any] | None:
    row = session.execute(select(J).where(J.c.customer_profile_id == profile_id)).one_or_none()
    return None if row is None else dict(row._mapping)
