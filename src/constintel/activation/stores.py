"""Store visits and in-store alerts (the seed's "Store Visit Detection").

A POS transaction (or a ``check_in`` event) of an identified customer records a visit of that
store. If the customer has open high-intent products (current score >= ``ALERT_SCORE``, not
bought since the interest; the products of this very transaction excluded, they are being
bought now), the store gets an alert: who, which products, why. A store may subscribe a
webhook; each alert is then also delivered to it, signed.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from constintel.core.clock import parse_timestamp, utcnow
from constintel.core.errors import NotFoundError, PayloadError
from constintel.db.upsert import insert_for
from constintel.streams.message import Message

from .automations import create_delivery_rows
from .intents import top_intents
from .models import StoreAlert, StoreSubscription, StoreVisit

__all__ = ["ALERT_SCORE", "acknowledge", "apply_store_visits", "list_alerts", "subscribe"]

V = cast(Table, StoreVisit.__table__)
AL = cast(Table, StoreAlert.__table__)
S = cast(Table, StoreSubscription.__table__)
ALERT_SCORE = 3.0  # a cart add today, or three product views
VISIT_EVENTS = {"pos_transaction": "pos_transaction", "check_in": "check_in"}


def apply_store_visits(session: Session, messages: Sequence[Message]) -> None:
    for m in messages:
        data = m.data
        kind = VISIT_EVENTS.get(data.get("event_type") or "")
        store = data.get("store_id")
        profile_id = data.get("profile_id")
        if kind is None or not store or not profile_id:
            continue
        at = parse_timestamp(data["occurred_at"], "occurred_at")
        stmt = insert_for(session, V).values(
            brand_id=m.brand_id,
            customer_profile_id=profile_id,
            store_id=str(store)[:64],
            event_id=data["event_id"],
            kind=kind,
            visited_at=at,
        )
        inserted = session.execute(
            stmt.on_conflict_do_nothing(index_elements=["brand_id", "event_id"]).returning(V.c.id)
        ).scalar_one_or_none()
        if inserted is None:
            continue  # this visit was recorded already
        buying = {str(p) for p in data.get("products") or []}
        wanted = [
            i
            for i in top_intents(
                session,
                brand_id=m.brand_id,
                profile_id=profile_id,
                open_only=True,
                min_score=ALERT_SCORE,
                now=at,
            )
            if i["product_id"] not in buying
        ]
        if not wanted:
            continue
        products = [
            {k: i[k] for k in ("product_id", "score", "views", "cart_adds")} for i in wanted
        ]
        names = ", ".join(p["product_id"] for p in products)
        reason = (
            f"customer is in store {store} and has shown strong interest in {names} "
            "without buying it"
        )
        alert_id = session.execute(
            AL.insert()
            .values(
                brand_id=m.brand_id,
                store_id=str(store)[:64],
                customer_profile_id=profile_id,
                visit_id=inserted,
                products=products,
                reason=reason,
                status="open",
                created_at=utcnow(),
            )
            .returning(AL.c.id)
        ).scalar_one()
        hook = session.execute(
            select(S).where(S.c.brand_id == m.brand_id, S.c.store_id == str(store)[:64])
        ).one_or_none()
        if hook is not None:
            payload = {
                "type": "in_store_alert",
                "alert_id": alert_id,
                "store_id": store,
                "profile_id": profile_id,
                "products": products,
                "reason": reason,
            }
            create_delivery_rows(
                session,
                brand_id=m.brand_id,
                dedupe_key=f"alert:{alert_id}",
                action={"channel": "webhook", "url": hook.url},
                context=payload,
                profile_id=None,
                not_before=at,
                marketing=False,
                extra={"payload": payload, "secret": hook.secret},
            )


def list_alerts(
    session: Session, *, brand_id: str, store_id: str | None = None, status: str | None = "open"
) -> list[dict[str, Any]]:
    q = select(AL).where(AL.c.brand_id == brand_id)
    if store_id is not None:
        q = q.where(AL.c.store_id == store_id)
    if status is not None:
        q = q.where(AL.c.status == status)
    return [dict(r._mapping) for r in session.execute(q.order_by(AL.c.id.desc()))]


def acknowledge(session: Session, *, brand_id: str, alert_id: int, by: str) -> dict[str, Any]:
    row = session.execute(
        select(AL).where(AL.c.brand_id == brand_id, AL.c.id == alert_id)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"no alert {alert_id}")
    if row.status != "acknowledged":
        session.execute(
            update(AL)
            .where(AL.c.id == alert_id)
            .values(status="acknowledged", acknowledged_at=utcnow(), acknowledged_by=by[:100])
        )
    return dict(session.execute(select(AL).where(AL.c.id == alert_id)).one()._mapping)


def subscribe(session: Session, *, brand_id: str, store_id: str, url: str) -> dict[str, Any]:
    """Set the store's alert webhook; returns it with the signing secret."""
    if not url.startswith(("http://", "https://")):
        raise PayloadError("url", "a webhook needs an http(s) url")
    secret = secrets.token_urlsafe(24)
    stmt = insert_for(session, S).values(
        brand_id=brand_id, store_id=store_id[:64], url=url, secret=secret, created_at=utcnow()
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["brand_id", "store_id"],
            set_={"url": stmt.excluded.url, "secret": stmt.excluded.secret},
        )
    )
    return {"store_id": store_id, "url": url, "secret": secret}
