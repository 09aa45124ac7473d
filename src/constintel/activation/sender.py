"""Sending due deliveries, with the delivery rules checked right before each send.

One pass:
1. a delivery left ``sending`` past its lease (its sender died mid-send) becomes ``unknown``
   and is *not* sent again: the provider may have accepted it, and a customer must never get
   a message twice (an operator can resend it: ``constintel deliveries retry``);
2. due deliveries are claimed in one short transaction (one claimer at a time on PostgreSQL,
   so two senders cannot both pass a frequency cap): consent (unsubscribed, or not opted in
   when the brand requires it) and a missing address skip it, quiet hours defer it to their
   end, the per-customer frequency cap (sent in the last 24 hours, across automations and
   campaigns) skips it; the rest are marked ``sending`` with a lease;
3. each claimed delivery is sent outside any transaction, then marked ``sent``; a retryable
   provider error schedules another try with exponential backoff (30 s, 1, 2, 4 ... minutes)
   up to ``MAX_ATTEMPTS``, then ``failed``; a permanent one fails at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, Table, func, select, text, update
from sqlalchemy.orm import Session

from constintel.brands.models import Brand
from constintel.brands.settings import BrandSettings
from constintel.core.clock import utcnow
from constintel.db.session import transaction
from constintel.profiles.repository import with_merged

from . import channels
from .channels import Outgoing, ProviderError
from .models import Consent, Delivery
from .rules import next_allowed

__all__ = ["MAX_ATTEMPTS", "activation_step", "send_due"]

log = logging.getLogger(__name__)

D = cast(Table, Delivery.__table__)
C = cast(Table, Consent.__table__)
MAX_ATTEMPTS = 6
LEASE = timedelta(minutes=5)
CONSENT_CHANNEL = {"email": "email", "whatsapp": "whatsapp"}

Sender = Callable[[BrandSettings, Outgoing], None]


def _reclaim(session: Session, now: datetime) -> None:
    session.execute(
        update(D)
        .where(D.c.status == "sending", D.c.lease_until < now)
        .values(
            status="unknown",
            reason="the sender stopped during the send; not resent, so it cannot arrive twice",
        )
    )


def _consent(session: Session, brand_id: str, profile_id: str, channel: str) -> str | None:
    """The person's consent on the channel, over the profile and every profile merged into
    it (an unsubscribe given before a merge still holds after it); the strictest wins."""
    ids = with_merged(session, brand_id=brand_id, profile_id=profile_id)
    found = set(
        session.execute(
            select(C.c.status).where(C.c.customer_profile_id.in_(ids), C.c.channel == channel)
        ).scalars()
    )
    if "unsubscribed" in found:
        return "unsubscribed"
    return "opted_in" if "opted_in" in found else None


def _sent_recently(session: Session, profile_id: str, now: datetime) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(D)
            .where(
                D.c.customer_profile_id == profile_id,
                D.c.marketing.is_(True),
                D.c.status.in_(("sent", "sending", "unknown")),
                D.c.sent_at > now - timedelta(hours=24),
            )
        ).scalar_one()
    )


def _decide(
    session: Session, d: Any, brand: tuple[str, BrandSettings], now: datetime
) -> dict[str, Any]:
    """The delivery's next state, from the rules that apply right now."""
    timezone, settings = brand
    if not d.recipient:
        return {"status": "skipped", "reason": f"the profile has no {d.channel} address"}
    if d.marketing and d.customer_profile_id:
        consent_channel = CONSENT_CHANNEL.get(d.channel)
        if consent_channel:
            consent = _consent(session, d.brand_id, d.customer_profile_id, consent_channel)
            if consent == "unsubscribed":
                return {"status": "skipped", "reason": f"unsubscribed from {consent_channel}"}
            if settings.require_opt_in and consent != "opted_in":
                return {"status": "skipped", "reason": f"no opt-in for {consent_channel}"}
        allowed = next_allowed(now, settings.quiet_hours, timezone)
        if allowed > now:
            return {
                "status": "deferred",
                "not_before": allowed,
                "reason": f"quiet hours ({settings.quiet_hours} {timezone})",
            }
        cap = settings.frequency_cap_per_day
        if cap and _sent_recently(session, d.customer_profile_id, now) >= cap:
            return {"status": "skipped", "reason": f"frequency cap: {cap} per 24 hours"}
    # A "sent_at" now makes this delivery count toward the cap while it is being sent.
    return {
        "status": "sending",
        "lease_until": now + LEASE,
        "attempts": d.attempts + 1,
        "sent_at": now,
    }


def _claim(engine: Engine, now: datetime, limit: int) -> list[tuple[Outgoing, BrandSettings]]:
    claimed: list[tuple[Outgoing, BrandSettings]] = []
    with transaction(engine) as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended('sender', 3))"))
        _reclaim(session, now)
        due = list(
            session.execute(
                select(D)
                .where(D.c.status.in_(("pending", "deferred")), D.c.not_before <= now)
                .order_by(D.c.not_before, D.c.id)
                .limit(limit)
            )
        )
        brands: dict[str, tuple[str, BrandSettings]] = {}
        for d in due:
            if d.brand_id not in brands:
                row = session.execute(
                    select(Brand.timezone, Brand.settings).where(Brand.id == d.brand_id)
                ).one()
                brands[d.brand_id] = (row.timezone, BrandSettings.from_json(row.settings))
            change = _decide(session, d, brands[d.brand_id], now)
            session.execute(update(D).where(D.c.id == d.id).values(**change))
            if change["status"] == "sending":
                out = Outgoing(d.id, d.channel, d.recipient, d.subject, d.body, d.extra or {})
                claimed.append((out, brands[d.brand_id][1]))
    return claimed


def _finish(engine: Engine, delivery_id: int, values: dict[str, Any]) -> None:
    with transaction(engine) as session:
        session.execute(update(D).where(D.c.id == delivery_id).values(lease_until=None, **values))


def send_due(
    engine: Engine,
    *,
    now: datetime | None = None,
    limit: int = 100,
    sender: Sender = channels.send,
) -> int:
    """One pass; returns how many deliveries it sent (0: nothing was due)."""
    at = now or utcnow()
    sent = 0
    for out, settings in _claim(engine, at, limit):
        try:
            sender(settings, out)
        except ProviderError as exc:
            if exc.ambiguous:
                _finish(
                    engine,
                    out.delivery_id,
                    {"status": "unknown", "reason": f"{exc}; not resent, it may have arrived"},
                )
                continue
            with transaction(engine) as session:
                attempts = session.execute(
                    select(D.c.attempts).where(D.c.id == out.delivery_id)
                ).scalar_one()
            if exc.retryable and attempts < MAX_ATTEMPTS:
                backoff = timedelta(seconds=30 * 2 ** (attempts - 1))
                _finish(
                    engine,
                    out.delivery_id,
                    {
                        "status": "pending",
                        "not_before": at + backoff,
                        "sent_at": None,
                        "reason": f"attempt {attempts}: {exc}",
                    },
                )
            else:
                _finish(
                    engine,
                    out.delivery_id,
                    {"status": "failed", "sent_at": None, "reason": f"attempt {attempts}: {exc}"},
                )
            continue
        except Exception as exc:  # this delivery fails; the others of the pass go on
            _finish(
                engine,
                out.delivery_id,
                {"status": "failed", "sent_at": None, "reason": f"{type(exc).__name__}: {exc}"},
            )
            continue
        _finish(engine, out.delivery_id, {"status": "sent", "sent_at": at, "reason": None})
        sent += 1
    return sent


def activation_step(engine: Engine, *, now: datetime | None = None) -> int:
    """The activation clock's one pass: fire abandoned carts, start scheduled campaigns, send
    what is due. Returns how many were sent (the pump repeats while that is positive)."""
    from .automations import scan_carts
    from .campaigns import send_scheduled

    for step in (scan_carts, send_scheduled):
        try:
            step(engine, now=now)
        except Exception:  # the sender below must run whatever happened above
            log.exception("activation: %s failed", step.__name__)
    return send_due(engine, now=now)
