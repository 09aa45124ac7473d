"""Activation tables: automations and their deliveries, consent, cart watches, campaigns,
journeys, store visits and in-store alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from constintel.db.base import Base
from constintel.db.types import JSONDoc, UTCDateTime

__all__ = [
    "INTENT_EPOCH",
    "INTENT_HALF_LIFE_DAYS",
    "Automation",
    "Campaign",
    "CartWatch",
    "Consent",
    "Delivery",
    "JourneyState",
    "ProductIntent",
    "StoreAlert",
    "StoreSubscription",
    "StoreVisit",
]


# Product intent decays with a half-life; the score is kept anchored at a fixed epoch
# (sum of weight * 2^((t - epoch) / half-life)) so concurrent consumers can add to it with a
# plain SQL addition, and read as stored * 2^(-(now - epoch) / half-life). Ordering by the
# stored value is ordering by the current score.
INTENT_HALF_LIFE_DAYS = 14.0
INTENT_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


class ProductIntent(Base):
    """How strongly a profile has shown interest in a product, and whether they bought it."""

    __tablename__ = "product_intent"
    __table_args__ = (
        UniqueConstraint("brand_id", "customer_profile_id", "product_id"),
        Index("ix_product_intent_profile", "customer_profile_id"),
        Index("ix_product_intent_product", "brand_id", "product_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    brand_id: Mapped[str] = mapped_column(String(36))
    customer_profile_id: Mapped[str] = mapped_column(String(36))
    product_id: Mapped[str] = mapped_column(String(100))
    views: Mapped[int] = mapped_column(Integer, default=0)
    cart_adds: Mapped[int] = mapped_column(Integer, default=0)
    purchases: Mapped[int] = mapped_column(Integer, default=0)
    last_event_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The anchored, decaying score (see INTENT_EPOCH); views weigh 1, cart adds 3.
    score_anchored: Mapped[float] = mapped_column(Float, default=0.0)
    last_interest_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Automation(Base):
    """A brand's rule: when ``trigger`` happens and ``conditions`` hold, send ``action``."""

    __tablename__ = "automation"
    __table_args__ = (UniqueConstraint("brand_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # {"type": "first_order" | ..., plus the type's parameters}
    trigger: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    # [{"field": "profile.total_orders", "op": ">=", "value": 2}, ...], all must hold
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc, default=list)
    # {"channel": "email" | "whatsapp" | "webhook", "subject": ..., "body": ..., "url": ...}
    action: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Delivery(Base):
    """One message to one profile, and what became of it (the delivery log).

    ``dedupe_key`` is (automation or campaign, profile, triggering occurrence): a redelivered
    stream message or a campaign sent twice finds the row and adds nothing.
    Status: pending -> sending -> sent; deferred (quiet hours, until ``not_before``); skipped
    (consent, frequency cap, no address: ``reason``); failed (after retries); unknown (the
    sender died mid-send: never resent automatically, so nobody gets it twice).
    """

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("brand_id", "dedupe_key"),
        Index("ix_delivery_due", "status", "not_before"),
        Index("ix_delivery_profile_sent", "customer_profile_id", "sent_at"),
        Index("ix_delivery_campaign", "campaign_id"),
        Index("ix_delivery_brand_log", "brand_id", "id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    brand_id: Mapped[str] = mapped_column(String(36))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    automation_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    campaign_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    customer_profile_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str | None] = mapped_column(String(320), nullable=True)
    subject: Mapped[str | None] = mapped_column(Text, nullable=True)
    body: Mapped[str] = mapped_column(Text)
    # Channel extras (webhook url, payload).
    extra: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    # Whether consent and frequency caps apply (marketing) or not (an alert to a store).
    marketing: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Consent(Base):
    """A profile's consent per channel: opted_in or unsubscribed (no row: unknown)."""

    __tablename__ = "consent"
    __table_args__ = (UniqueConstraint("customer_profile_id", "channel"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    brand_id: Mapped[str] = mapped_column(String(36))
    customer_profile_id: Mapped[str] = mapped_column(String(36))
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12))
    source: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CartWatch(Base):
    """A product added to a cart, watched for a purchase until ``due_at``."""

    __tablename__ = "cart_watch"
    __table_args__ = (
        Index("ix_cart_watch_due", "status", "due_at"),
        Index("ix_cart_watch_profile_product", "customer_profile_id", "product_id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    brand_id: Mapped[str] = mapped_column(String(36))
    automation_id: Mapped[str] = mapped_column(String(36))
    customer_profile_id: Mapped[str] = mapped_column(String(36))
    product_id: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # open | converted (bought in the window) | fired
    status: Mapped[str] = mapped_column(String(10))
    event_id: Mapped[str] = mapped_column(String(36))


class Campaign(Base):
    __tablename__ = "campaign"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(100))
    # {"lifecycle": [...], "rfm_segment": [...], "min_churn_risk": ..., "has": ["email"], ...}
    audience: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    action: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    attribution_days: Mapped[int] = mapped_column(Integer, default=7)
    # draft | scheduled | sent
    status: Mapped[str] = mapped_column(String(10))
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    audience_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JourneyState(Base):
    __tablename__ = "journey_state"

    customer_profile_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(36))
    # What is shown: the funnel stage, or at_risk / churned while predictions say so.
    stage: Mapped[str] = mapped_column(String(20))
    # awareness -> consideration -> purchase -> retention -> advocacy; only moves forward.
    funnel_stage: Mapped[str] = mapped_column(String(20))
    score: Mapped[int] = mapped_column(Integer)
    next_best_action: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StoreVisit(Base):
    __tablename__ = "store_visit"
    __table_args__ = (
        UniqueConstraint("brand_id", "event_id"),
        Index("ix_store_visit_store", "brand_id", "store_id", "visited_at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    brand_id: Mapped[str] = mapped_column(String(36))
    customer_profile_id: Mapped[str] = mapped_column(String(36))
    store_id: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))  # pos_transaction | check_in
    visited_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StoreAlert(Base):
    """Tell the store's staff: a known customer with unconverted high-intent products is here."""

    __tablename__ = "store_alert"
    __table_args__ = (Index("ix_store_alert_store", "brand_id", "store_id", "status"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    brand_id: Mapped[str] = mapped_column(String(36))
    store_id: Mapped[str] = mapped_column(String(64))
    customer_profile_id: Mapped[str] = mapped_column(String(36))
    visit_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    # [{"product_id": ..., "score": ..., "views": ..., "cart_adds": ...}]
    products: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12))  # open | acknowledged
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100), nullable=True)


class StoreSubscription(Base):
    """A store's webhook for its in-store alerts (signed like our outgoing webhooks)."""

    __tablename__ = "store_subscription"
    __table_args__ = (UniqueConstraint("brand_id", "store_id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    brand_id: Mapped[str] = mapped_column(String(36))
    store_id: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
