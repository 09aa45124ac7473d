"""Redis connection and stream naming for one deployment (a key prefix keeps deployments, and
test runs, apart on one Redis)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis

__all__ = ["GROUPS", "StreamNames", "connect", "dead_letters", "group_states"]

# One consumer group per downstream capability (each reads every message it cares about).
GROUPS = ("predictions", "automations", "intents", "journeys", "store_visits")
# Approximate cap per stream (XADD MAXLEN ~): the trimming policy. Consumers far behind
# lose the oldest messages past it; the outbox keeps them for `streams replay`.
DEFAULT_MAXLEN = 1_000_000


@dataclass(frozen=True, slots=True)
class StreamNames:
    prefix: str = "constintel:"

    def stream(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def dead(self, group: str) -> str:
        return f"{self.prefix}dead.{group}"

    def errors(self, group: str) -> str:
        """Hash of the last error per pending message id of a group."""
        return f"{self.prefix}errors.{group}"


def connect(url: str) -> redis.Redis:
    client: redis.Redis = redis.Redis.from_url(url, decode_responses=True)
    return client


def group_states(client: Any, names: StreamNames, streams: Iterable[str]) -> list[dict[str, Any]]:
    """Per stream and consumer group: the stream's length, the group's lag (entries not yet
    read) and pending (read, not acknowledged). A stream without groups gives one row with
    group "-"; a stream that does not exist yet has length 0."""
    rows: list[dict[str, Any]] = []
    for stream in streams:
        name = names.stream(stream)
        exists = bool(client.exists(name))
        length = client.xlen(name) if exists else 0
        groups = client.xinfo_groups(name) if exists else []
        for g in groups or [{"name": "-", "lag": None, "pending": None}]:
            rows.append(
                {
                    "stream": stream,
                    "length": length,
                    "group": g["name"],
                    "lag": g.get("lag"),
                    "pending": g.get("pending"),
                }
            )
    return rows


def dead_letters(client: Any, names: StreamNames, groups: Iterable[str]) -> dict[str, int]:
    return {g: int(client.xlen(names.dead(g))) for g in groups}
