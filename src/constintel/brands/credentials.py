"""A brand's credentials: API keys (stored hashed) and webhook signing secrets.

API keys are random 256-bit tokens, so a plain SHA-256 of the key is a safe lookup hash (the
same choice GitHub and Stripe make for high-entropy tokens; a slow password hash buys nothing
here and would cost every request). The key itself is shown once, at creation.

Webhook secrets must be kept readable: verifying an HMAC needs the secret itself. A rotated
secret stays valid until ``expires_at`` (the grace period), because platforms switch to the new
one gradually (Shopify takes up to an hour).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Index, String, Text, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from constintel.brands.models import Brand
from constintel.core.clock import utcnow
from constintel.core.errors import ConfigurationError
from constintel.core.ids import new_id
from constintel.db.base import Base
from constintel.db.types import UTCDateTime

__all__ = [
    "WEBHOOK_SOURCES",
    "ApiKey",
    "IssuedKey",
    "WebhookSecret",
    "brand_for_key",
    "hash_key",
    "issue_key",
    "live_secrets",
    "rotate_key",
    "set_secret",
]

# Sources that deliver signed webhooks, and so have a signing secret per brand.
WEBHOOK_SOURCES = ("shopify", "woocommerce", "square", "pos")
KEY_PREFIX = "ci_"


class ApiKey(Base):
    __tablename__ = "api_key"
    __table_args__ = (Index("ix_api_key_brand", "brand_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(36), ForeignKey("brand.id"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the key, to tell keys apart in listings without revealing them.
    display_prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebhookSecret(Base):
    __tablename__ = "webhook_secret"
    __table_args__ = (Index("ix_webhook_secret_brand_source", "brand_id", "source"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(36), ForeignKey("brand.id"))
    source: Mapped[str] = mapped_column(String(20))
    secret: Mapped[str] = mapped_column(Text)
    # Square signs notification URL + body: the URL exactly as registered with Square.
    notification_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # None while current; set on rotation to the end of the grace period.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


@dataclass(frozen=True, slots=True)
class IssuedKey:
    id: str
    key: str  # shown once


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_key(session: Session, *, brand_id: str) -> IssuedKey:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        id=new_id(),
        brand_id=brand_id,
        key_hash=hash_key(key),
        display_prefix=key[:10],
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return IssuedKey(row.id, key)


def rotate_key(session: Session, *, brand_id: str) -> IssuedKey:
    """A new key; every earlier key of the brand stops working at once."""
    session.execute(
        update(ApiKey)
        .where(ApiKey.brand_id == brand_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return issue_key(session, brand_id=brand_id)


def brand_for_key(session: Session, key: str) -> Brand | None:
    """The brand a live key belongs to, or None (one indexed query)."""
    return session.scalar(
        select(Brand)
        .join(ApiKey, ApiKey.brand_id == Brand.id)
        .where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))
    )


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def set_secret(
    session: Session,
    *,
    brand_id: str,
    source: str,
    secret: str | None = None,
    notification_url: str | None = None,
    grace: timedelta = timedelta(hours=1),
) -> WebhookSecret:
    """Make ``secret`` (a new random one if None) the current secret for ``source``; the
    previous current secret keeps verifying for ``grace``."""
    if source not in WEBHOOK_SOURCES:
        raise ConfigurationError(f"source must be one of {', '.join(WEBHOOK_SOURCES)}")
    if secret is not None and not secret.strip():
        raise ConfigurationError("secret must not be empty")
    now = utcnow()
    if notification_url is None:  # keep the registered Square URL across rotations
        notification_url = session.scalar(
            select(WebhookSecret.notification_url)
            .where(WebhookSecret.brand_id == brand_id, WebhookSecret.source == source)
            .order_by(WebhookSecret.created_at.desc())
            .limit(1)
        )
    session.execute(
        update(WebhookSecret)
        .where(
            WebhookSecret.brand_id == brand_id,
            WebhookSecret.source == source,
            or_(WebhookSecret.expires_at.is_(None), WebhookSecret.expires_at > now + grace),
        )
        .values(expires_at=now + grace)
    )
    row = WebhookSecret(
        id=new_id(),
        brand_id=brand_id,
        source=source,
        secret=secret if secret is not None else new_secret(),
        notification_url=notification_url,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def live_secrets(session: Session, *, brand_id: str) -> list[WebhookSecret]:
    """Every secret that verifies now (current ones and those still in their grace period),
    newest first."""
    now = utcnow()
    return list(
        session.scalars(
            select(WebhookSecret)
            .where(
                WebhookSecret.brand_id == brand_id,
                or_(WebhookSecret.expires_at.is_(None), WebhookSecret.expires_at > now),
            )
            .order_by(WebhookSecret.created_at.desc())
        )
    )
