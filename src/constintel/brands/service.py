"""Brand use cases: find by name or id, create, and the default brand created on first use."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from constintel.brands.models import Brand
from constintel.brands.settings import BrandSettings
from constintel.core.clock import utcnow
from constintel.core.errors import ConfigurationError, NotFoundError
from constintel.core.ids import new_id
from constintel.core.money import CURRENCY_EXPONENTS

__all__ = ["DEFAULT_BRAND", "create", "get", "get_or_create"]

DEFAULT_BRAND = "default"


def get(session: Session, *, ref: str) -> Brand:
    """A brand by id or name."""
    brand = session.scalar(select(Brand).where(or_(Brand.id == ref, Brand.name == ref)))
    if brand is None:
        raise NotFoundError(f"no brand {ref!r} (create it with `constintel brands create {ref}`)")
    return brand


def create(
    session: Session,
    *,
    name: str,
    brand_id: str | None = None,
    default_region: str = "US",
    currency: str = "USD",
    settings: BrandSettings | None = None,
    timezone: str = "UTC",
) -> Brand:
    """A new brand. ``timezone`` (IANA) sets the brand's days: the dashboard's days and
    months and the ``order_day`` rollup are the brand's calendar days."""
    if currency.upper() not in CURRENCY_EXPONENTS:
        raise ConfigurationError(f"unknown currency {currency!r}")
    if len(default_region) != 2 or not default_region.isalpha():
        raise ConfigurationError(f"default region must be ISO 3166 alpha-2, got {default_region!r}")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"unknown time zone {timezone!r} (an IANA name such as Europe/Paris)"
        ) from None
    brand = Brand(
        id=brand_id or new_id(),
        name=name,
        default_region=default_region.upper(),
        currency=currency.upper(),
        timezone=timezone,
        settings=(settings or BrandSettings()).model_dump(),
        created_at=utcnow(),
    )
    session.add(brand)
    session.flush()
    return brand


def get_or_create(session: Session, *, ref: str) -> Brand:
    """The brand named/identified ``ref``; the default brand is created on first use."""
    try:
        return get(session, ref=ref)
    except NotFoundError:
        if ref != DEFAULT_BRAND:
            raise
        return create(session, name=DEFAULT_BRAND)
