"""Per-brand identity and statistics settings, with the documented defaults."""

from __future__ import annotations

from datetime import time
from typing import Any

from pydantic import BaseModel, Field, field_validator

__all__ = [
    "DEFAULT_MAX_EMAILS_PER_PHONE",
    "DEFAULT_MAX_PHONES_PER_EMAIL",
    "DEFAULT_OTHER_WEIGHT",
    "DEFAULT_STRENGTH_WEIGHTS",
    "BrandSettings",
]

# The seed's weight table ("Profile Strength Update"); DESIGN: the table wins over the seed's
# scenario percentages.
DEFAULT_STRENGTH_WEIGHTS: dict[str, int] = {
    "email": 20,
    "phone": 30,
    "loyalty_id": 25,
    "device_id": 10,
    "cookie_id": 5,
}
DEFAULT_OTHER_WEIGHT = 10
# A phone may link at most this many distinct emails (people); the next one marks it shared.
DEFAULT_MAX_EMAILS_PER_PHONE = 2
# An email may link at most this many distinct phones.
DEFAULT_MAX_PHONES_PER_EMAIL = 3


class BrandSettings(BaseModel):
    """Settings stored as JSON on the brand row; every field has a documented default."""

    strength_weights: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_STRENGTH_WEIGHTS))
    other_weight: int = DEFAULT_OTHER_WEIGHT
    max_emails_per_phone: int = Field(default=DEFAULT_MAX_EMAILS_PER_PHONE, ge=1)
    max_phones_per_email: int = Field(default=DEFAULT_MAX_PHONES_PER_EMAIL, ge=1)
    # Values that never link people, on top of the built-in junk list (e.g. the store's own
    # phone number and email). Written as they arrive; normalized before use.
    junk_emails: list[str] = Field(default_factory=list)
    junk_phones: list[str] = Field(default_factory=list)
    # Shopify and Square mark test orders; they are stored but count for nothing by default.
    count_test_orders: bool = False
    # -- activation (automations and campaigns) ---------------------------------------------
    # No message in these hours of the brand's timezone ("21:00-08:00"); deferred, not dropped.
    quiet_hours: str | None = Field(default=None, pattern=r"^\d\d:\d\d-\d\d:\d\d$")
    # At most this many marketing messages per customer per 24 hours, across automations and
    # campaigns (0: no cap).
    frequency_cap_per_day: int = Field(default=0, ge=0)
    # Send only to customers who opted in on the channel (else: everyone not unsubscribed).
    require_opt_in: bool = False
    # Events older than this trigger no automation (an import of history sends nothing).
    max_event_age_hours: float = Field(default=48.0, gt=0)
    # Providers. Email: smtp://user:password@host:port (smtps:// for TLS); WhatsApp: the Cloud
    # API's base URL (https://graph.facebook.com/v21.0), token and sender phone number id.
    smtp_url: str | None = None
    email_from: str = "no-reply@example.com"
    whatsapp_base_url: str | None = None
    whatsapp_token: str | None = None
    whatsapp_phone_number_id: str | None = None
    # Signs outgoing webhooks (X-ConstIntel-Signature: v1=hex HMAC-SHA256 of timestamp.body).
    webhook_secret: str | None = None

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str | None) -> str | None:
        if value is not None:
            for part in value.split("-"):
                time.fromisoformat(part)  # a ValueError names the bad time
        return value

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> BrandSettings:
        return cls.model_validate(data or {})
