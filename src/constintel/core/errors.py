"""The one error tree of ConstIntel.

    ConstIntelError
    ├── PayloadError          an inbound payload is malformed; names the field and the reason
    │   └── UnknownShapeError the payload is not one this source/topic understands
    ├── NotFoundError         a brand, profile, review item or event does not exist (in this brand)
    ├── ConflictError         the operation contradicts the current state (e.g. unmerge twice)
    └── ConfigurationError    settings are invalid

Every error carries a human message; PayloadError also ``field`` and ``reason`` so that APIs and
the importer can point at the exact input that was wrong.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "ConflictError",
    "ConstIntelError",
    "NotFoundError",
    "PayloadError",
    "UnknownShapeError",
]


class ConstIntelError(Exception):
    """Base class of every error ConstIntel raises on purpose."""


class PayloadError(ConstIntelError):
    """An inbound payload cannot be accepted: ``field`` is a dotted path, ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}" if field else reason)


class UnknownShapeError(PayloadError):
    """The payload is valid JSON but not a shape the named source understands."""


class NotFoundError(ConstIntelError):
    """The requested object does not exist in this brand."""


class ConflictError(ConstIntelError):
    """The request contradicts the current state."""


class ConfigurationError(ConstIntelError):
    """Settings are missing or invalid."""
