"""Explicit UTC time: every datetime in ConstIntel is timezone-aware and in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from constintel.core.errors import PayloadError

__all__ = ["ensure_utc", "parse_timestamp", "utcnow"]


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def ensure_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_timestamp(value: object, field: str, *, naive_is_utc: bool = False) -> datetime:
    """Parse an ISO-8601 timestamp (or epoch seconds) into an aware UTC datetime.

    A timestamp without an offset is rejected unless ``naive_is_utc`` says the field is
    documented as UTC (WooCommerce's ``*_gmt`` fields), because guessing a timezone silently
    shifts order dates.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, bool) or value is None:
        raise PayloadError(field, f"expected an ISO-8601 timestamp, got {value!r}")
    elif isinstance(value, int | float):
        try:
            parsed = datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise PayloadError(field, f"epoch seconds {value!r} out of range") from exc
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise PayloadError(field, "timestamp is empty")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise PayloadError(field, f"not a valid ISO-8601 timestamp: {value!r}") from exc
    else:
        raise PayloadError(field, f"expected an ISO-8601 timestamp, got {type(value).__name__}")
    if parsed.tzinfo is None:
        if not naive_is_utc:
            raise PayloadError(field, f"timestamp {value!r} has no UTC offset")
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
