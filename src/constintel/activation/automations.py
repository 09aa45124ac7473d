"""Automations: stream messages -> occurrences -> deliveries (the ``automations`` consumer),
the cart-abandonment clock, and the automation store (create, list, import/export, built-ins).

The consumer only *creates* delivery rows, in its ledger transaction, each unique per
(automation, profile, occurrence); ``sender.send_due`` sends them. So a redelivered message or
a worker killed before its acknowledgement adds no second delivery.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from jinja2 import TemplateError
from sqlalchemy import Engine, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from constintel.brands.models import Brand
from constintel.brands.settings import BrandSettings
from constintel.core.clock import parse_timestamp, utcnow
from constintel.core.errors import NotFoundError, PayloadError
from constintel.core.ids import new_id
from constintel.db.chunks import in_values
from constintel.db.session import transaction
from constintel.db.upsert import insert_for
from constintel.orders.models import CustomerOrder
from constintel.predictions.models import ProfilePrediction
from constintel.profiles.models import CustomerProfile
from constintel.streams.message import Message

from . import rules, templates
from .models import Automation, CartWatch, Delivery
from .rules import NEW_ORDER_EVENTS, Occurrence

__all__ = [
    "apply_automations",
    "create_delivery_rows",
    "install_defaults",
    "list_automations",
    "save_automation",
    "scan_carts",
]

A = cast(Table, Automation.__table__)
D = cast(Table, Delivery.__table__)
W = cast(Table, CartWatch.__table__)
P = cast(Table, CustomerProfile.__table__)
O = cast(Table, CustomerOrder.__table__)  # noqa: E741
PP = cast(Table, ProfilePrediction.__table__)


# -- the store ------------------------------------------------------------------------------


def save_automation(
    session: Session,
    *,
    brand_id: str,
    name: str,
    trigger: dict[str, Any],
    action: dict[str, Any],
    conditions: list[dict[str, Any]] | None = None,
    enabled: bool = True,
) -> dict[str, Any]:
    """Create, or replace the automation of that name."""
    conds = list(conditions or [])
    if not name or len(name) > 100:
        raise PayloadError("name", "give a name of 1 to 100 characters")
    rules.validate(trigger, conds, action)
    now = utcnow()
    existing = session.execute(
        select(A.c.id).where(A.c.brand_id == brand_id, A.c.name == name)
    ).scalar_one_or_none()
    values = {
        "trigger": trigger,
        "conditions": conds,
        "action": action,
        "enabled": enabled,
        "updated_at": now,
    }
    if existing is None:
        auto_id = new_id()
        session.execute(
            A.insert().values(id=auto_id, brand_id=brand_id, name=name, created_at=now, **values)
        )
    else:
        auto_id = existing
        session.execute(update(A).where(A.c.id == auto_id).values(**values))
    return {"id": auto_id, "name": name, **values}


def list_automations(session: Session, brand_id: str) -> list[dict[str, Any]]:
    rows = session.execute(select(A).where(A.c.brand_id == brand_id).order_by(A.c.name))
    return [dict(r._mapping) for r in rows]


def set_enabled(session: Session, brand_id: str, name: str, enabled: bool) -> None:
    done = session.execute(
        update(A)
        .where(A.c.brand_id == brand_id, A.c.name == name)
        .values(enabled=enabled, updated_at=utcnow())
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        raise NotFoundError(f"no automation named {name!r}")


def install_defaults(session: Session, brand_id: str, *, enable: bool) -> list[str]:
    """The seed's built-ins (welcome, upsell, VIP, cart abandonment, churn risk, post-purchase
    follow-up); existing automations of those names are left as they are."""
    have = {a["name"] for a in list_automations(session, brand_id)}
    added = []
    for spec in rules.BUILT_INS:
        if spec["name"] in have:
            continue
        save_automation(session, brand_id=brand_id, enabled=enable, **spec)
        added.append(spec["name"])
    return added


# -- the consumer ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Brand:
    id: str
    timezone: str
    settings: BrandSettings


def _brand(session: Session, brand_id: str) -> _Brand:
    row = session.execute(
        select(Brand.id, Brand.timezone, Brand.settings).where(Brand.id == brand_id)
    ).one()
    return _Brand(row.id, row.timezone, BrandSettings.from_json(row.settings))


def _profiles(session: Session, brand_id: str, ids: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for cond in in_values(session, P.c.id, sorted(ids)):
        for row in session.execute(select(P).where(P.c.brand_id == brand_id, cond)):
            out[row.id] = row
    # A profile merged away since: its survivor is the customer now.
    survivors = {r.merged_into_id for r in out.values() if r.merged_into_id} - set(out)
    if survivors:
        out.update(_profiles(session, brand_id, survivors))
    return out


def _resolve(profiles: dict[str, Any], pid: str) -> Any:
    row = profiles.get(pid)
    for _ in range(10):
        if row is None or row.status == "active":
            return row
        row = profiles.get(row.merged_into_id) if row.merged_into_id else None
    return None


def _predictions(session: Session, ids: set[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for cond in in_values(session, PP.c.customer_profile_id, sorted(ids)):
        for row in session.execute(select(PP).where(cond)):
            out[row.customer_profile_id] = dict(row._mapping)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return _plain(value)


def profile_context(profile: Any, prediction: dict[str, Any] | None) -> dict[str, Any]:
    ids = profile.identifiers or {}
    return {
        "profile": {
            "id": profile.id,
            "email": ids.get("email"),
            "phone": ids.get("phone"),
            "loyalty_id": ids.get("loyalty_id"),
            "lifetime_value": str(profile.lifetime_value),
            "total_orders": profile.total_orders,
            "average_order_value": str(profile.average_order_value),
            "profile_strength": profile.profile_strength,
            "channels": list(profile.channels or []),
        },
        "prediction": {k: _plain(v) for k, v in (prediction or {}).items()},
    }


def _orders_up_to(session: Session, profile_id: str, at: datetime) -> int:
    """The profile's counted orders placed at or before ``at``: which order this one is."""
    return int(
        session.execute(
            select(func.count())
            .select_from(O)
            .where(
                O.c.customer_profile_id == profile_id, O.c.counted.is_(True), O.c.placed_at <= at
            )
        ).scalar_one()
    )


def _occurrences(
    session: Session,
    auto: Any,
    m: Message,
    profile: Any,
    at: datetime,
    memo: dict[str, Any],
) -> list[Occurrence]:
    t = auto.trigger
    kind = t["type"]
    data = m.data
    if m.stream == "predictions.changed":
        changes = data.get("changes", {})
        tag = f"{m.outbox_id}"
        # A first prediction (old value null: a brand's first fit, a new customer) is not a
        # change of anything: it must not mail a brand's whole imported history.
        if kind == "churn_risk" and "churn_risk" in changes:
            old, new = changes["churn_risk"]
            th = float(t.get("threshold", 0.5))
            if old is not None and new is not None and old < th <= new:
                return [Occurrence(f"churn:{tag}", at)]
        if kind == "segment_changed" and "lifecycle" in changes:
            old, new = changes["lifecycle"]
            if old is not None and new != old and (t.get("to") in (None, new)):
                return [Occurrence(f"segment:{tag}", at)]
        if "lifecycle" in changes:
            old, new = changes["lifecycle"]
            if (
                kind == "vip"
                and t.get("on_champion", True)
                and old is not None
                and new == "champion"
            ):
                return [Occurrence("vip", at)]
        return []
    event_type = data.get("event_type")
    order_key = f"{data.get('source')}:{data.get('order_id')}"
    new_order = event_type in NEW_ORDER_EVENTS and data.get("order_id")
    if kind in ("first_order", "repeat_order") and new_order:
        if "nth" not in memo:  # once per message, however many automations ask
            memo["nth"] = _orders_up_to(session, profile.id, at)
        nth = memo["nth"]
        if kind == "first_order" and nth == 1:
            return [Occurrence("first_order", at)]
        if kind == "repeat_order" and nth >= 2:
            return [Occurrence(f"order:{order_key}", at)]
    big = data.get("total") is not None and Decimal(data["total"]) >= Decimal(
        str(t.get("min_order_value", 500))
    )
    if kind == "vip" and new_order and big:
        return [Occurrence("vip", at)]
    if kind == "order_delivered" and data.get("status") == "delivered" and data.get("order_id"):
        delay = timedelta(hours=float(t.get("delay_hours", 0)))
        return [Occurrence(f"delivered:{order_key}", at + delay)]
    return []


def _watch_carts(
    autos: list[Any],
    m: Message,
    profile_id: str,
    at: datetime,
    watches: list[dict[str, Any]],
    bought: list[dict[str, Any]],
) -> None:
    """Collect the cart watches a ``cart_add`` opens and the purchases that convert them;
    ``_flush_carts`` writes both, watches first."""
    data = m.data
    products = [str(p)[:100] for p in data.get("products") or []]
    if not products:
        return
    if data.get("event_type") == "cart_add":
        watches.extend(
            {
                "brand_id": m.brand_id,
                "automation_id": a.id,
                "customer_profile_id": profile_id,
                "product_id": p,
                "added_at": at,
                "due_at": at + timedelta(hours=float(a.trigger.get("hours", 24))),
                "status": "open",
                "event_id": data["event_id"],
            }
            for a in autos
            if a.trigger["type"] == "cart_abandoned"
            for p in products
        )
    elif data.get("event_type") in NEW_ORDER_EVENTS:
        bought.extend({"p": profile_id, "prod": p, "at": at} for p in products)


_CONVERT = (
    update(W)
    .where(
        W.c.customer_profile_id == bindparam("p"),
        W.c.product_id == bindparam("prod"),
        W.c.status == "open",
        W.c.added_at <= bindparam("at"),
        W.c.due_at >= bindparam("at"),
    )
    .values(status="converted")
)


def _flush_carts(
    session: Session, watches: list[dict[str, Any]], bought: list[dict[str, Any]]
) -> None:
    """Open the watches, then convert those bought within their window (one statement per
    kind; a purchase before a cart add does not convert it: added_at <= the purchase)."""
    if watches:
        # One open watch per (automation, profile, product): a second cart add of the same
        # product while one is open sends no second reminder.
        first: dict[tuple[str, str, str], dict[str, Any]] = {}
        for w in sorted(watches, key=lambda w: w["added_at"]):
            first.setdefault((w["automation_id"], w["customer_profile_id"], w["product_id"]), w)
        open_now: set[tuple[str, str, str]] = set()
        for cond in in_values(session, W.c.customer_profile_id, sorted({k[1] for k in first})):
            open_now.update(
                (r.automation_id, r.customer_profile_id, r.product_id)
                for r in session.execute(
                    select(W.c.automation_id, W.c.customer_profile_id, W.c.product_id).where(
                        cond, W.c.status == "open"
                    )
                )
            )
        fresh = [w for k, w in first.items() if k not in open_now]
        if fresh:
            session.execute(W.insert(), fresh)
    if bought:
        session.connection().execute(_CONVERT, bought)


def delivery_row(
    *,
    brand_id: str,
    dedupe_key: str,
    action: dict[str, Any],
    context: dict[str, Any],
    profile_id: str | None,
    not_before: datetime,
    now: datetime,
    automation_id: str | None = None,
    campaign_id: str | None = None,
    marketing: bool = True,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One delivery, rendered now (a template error fails this delivery, visibly, and
    nothing else)."""
    channel = action["channel"]
    profile = context.get("profile", {})
    recipient = {
        "email": profile.get("email"),
        "whatsapp": profile.get("phone"),
        "webhook": action.get("url"),
    }[channel]
    status, reason = "pending", None
    subject = body = ""
    try:
        subject = templates.render(str(action.get("subject") or ""), context)
        body = templates.render(str(action.get("body") or ""), context)
    except TemplateError as exc:
        status, reason = "failed", f"template: {exc}"
    if extra is None:
        extra = {}
        if channel == "webhook":
            extra = {"payload": None if action.get("body") else _jsonable(context)}
    return {
        "brand_id": brand_id,
        "dedupe_key": dedupe_key[:200],
        "automation_id": automation_id,
        "campaign_id": campaign_id,
        "customer_profile_id": profile_id,
        "channel": channel,
        "recipient": recipient,
        "subject": subject or None,
        "body": body,
        "extra": extra,
        # Only messages to the customer count as marketing (consent, caps); a webhook to the
        # brand's own systems does not.
        "marketing": marketing and channel in ("email", "whatsapp"),
        "status": status,
        "reason": reason,
        "attempts": 0,
        "not_before": max(not_before, now),
        "lease_until": None,
        "created_at": now,
        "sent_at": None,
    }


def insert_deliveries(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert; a row whose key exists is dropped (the exactly-once point)."""
    if rows:
        stmt = insert_for(session, D).on_conflict_do_nothing(
            index_elements=["brand_id", "dedupe_key"]
        )
        session.execute(stmt, rows)


def create_delivery_rows(session: Session, **kw: Any) -> None:
    """One delivery now (see ``delivery_row``)."""
    insert_deliveries(session, [delivery_row(now=utcnow(), **kw)])


def apply_automations(session: Session, messages: Sequence[Message]) -> None:
    now = utcnow()
    by_brand: dict[str, list[Message]] = {}
    for m in messages:
        if m.data.get("profile_id"):
            by_brand.setdefault(m.brand_id, []).append(m)
    for brand_id, msgs in by_brand.items():
        autos = list(
            session.execute(
                select(A).where(A.c.brand_id == brand_id, A.c.enabled.is_(True)).order_by(A.c.name)
            )
        )
        if not autos:
            continue
        brand = _brand(session, brand_id)
        max_age = timedelta(hours=brand.settings.max_event_age_hours)
        profiles = _profiles(session, brand_id, {m.data["profile_id"] for m in msgs})
        predictions = _predictions(session, set(profiles))
        watches: list[dict[str, Any]] = []
        bought: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        for m in msgs:
            profile = _resolve(profiles, m.data["profile_id"])
            if profile is None:
                continue
            at = (
                parse_timestamp(m.data["occurred_at"], "occurred_at")
                if m.stream == "events.normalized"
                else now
            )
            if now - at > max_age:
                continue  # history, not a live event
            if m.stream == "events.normalized":
                _watch_carts(autos, m, profile.id, at, watches, bought)
            context = profile_context(profile, predictions.get(profile.id))
            context["event"] = {
                k: _plain(v) for k, v in m.data.items() if k not in ("properties", "changes")
            }
            context["event"]["product_id"] = (m.data.get("products") or [None])[0]
            context["order"] = {
                "id": m.data.get("order_id"),
                "total": m.data.get("total"),
                "currency": m.data.get("currency"),
                "products": m.data.get("products") or [],
                "status": m.data.get("status"),
            }
            memo: dict[str, Any] = {}
            for auto in autos:
                for occ in _occurrences(session, auto, m, profile, at, memo):
                    if not rules.conditions_hold(auto.conditions or [], context):
                        continue
                    rows.append(
                        delivery_row(
                            brand_id=brand_id,
                            dedupe_key=f"a:{auto.id}:{profile.id}:{occ.key}",
                            action=auto.action,
                            context=context,
                            profile_id=profile.id,
                            not_before=occ.not_before,
                            now=now,
                            automation_id=auto.id,
                        )
                    )
        _flush_carts(session, watches, bought)
        # Keys repeat within a batch (a "vip" once per profile): the first one stands.
        unique = {r["dedupe_key"]: r for r in reversed(rows)}
        insert_deliveries(session, sorted(unique.values(), key=lambda r: r["dedupe_key"]))


def _bought_within(
    session: Session, profile_id: str, product_id: str, start: datetime, end: datetime
) -> bool:
    rows = session.execute(
        select(O.c.line_items).where(
            O.c.customer_profile_id == profile_id,
            O.c.counted.is_(True),
            O.c.placed_at >= start,
            O.c.placed_at <= end,
        )
    )
    return any(
        str(item.get("product_id")) == product_id for (items,) in rows for item in items or []
    )


def scan_carts(engine: Engine, *, now: datetime | None = None, limit: int = 1000) -> int:
    """Fire the cart watches whose window has passed without a purchase; returns how many."""
    at = now or utcnow()
    fired = 0
    with transaction(engine) as session:
        q = select(W).where(W.c.status == "open", W.c.due_at <= at).order_by(W.c.id).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        watches = list(session.execute(q))
        for w in watches:
            auto = session.execute(select(A).where(A.c.id == w.automation_id)).one_or_none()
            session.execute(update(W).where(W.c.id == w.id).values(status="fired"))
            if auto is None or not auto.enabled:
                continue
            profiles = _profiles(session, w.brand_id, {w.customer_profile_id})
            profile = _resolve(profiles, w.customer_profile_id)
            if profile is None:
                continue
            if _bought_within(session, profile.id, w.product_id, w.added_at, w.due_at):
                # The purchase is stored but its message not yet handled (or it came first).
                session.execute(update(W).where(W.c.id == w.id).values(status="converted"))
                continue
            context = profile_context(profile, _predictions(session, {profile.id}).get(profile.id))
            context["event"] = {"product_id": w.product_id, "event_type": "cart_add"}
            context["order"] = {}
            if not rules.conditions_hold(auto.conditions or [], context):
                continue
            create_delivery_rows(
                session,
                brand_id=w.brand_id,
                dedupe_key=f"a:{auto.id}:{profile.id}:cart:{w.event_id}:{w.product_id}",
                action=auto.action,
                context=context,
                profile_id=profile.id,
                not_before=at,
                automation_id=auto.id,
            )
            fired += 1
    return fired
