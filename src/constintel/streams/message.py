"""A stream message as a handler sees it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Message"]


@dataclass(frozen=True, slots=True)
class Message:
    stream: str  # without prefix, e.g. "events.normalized"
    redis_id: str
    outbox_id: int
    brand_id: str
    key: str
    data: dict[str, Any]
