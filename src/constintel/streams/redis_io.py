"""Redis connection and stream naming for one deployment (a key prefix keeps deployments, and
test runs, apart on one Redis)."""

from __future__ import annotations

from dataclasses import dataclass

import redis

__all__ = ["GROUPS", "StreamNames", "connect"]

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
