"""Profile read cache (Redis), read-through, that cannot serve stale statistics.

An entry is keyed by the profile id *and* the profile row's ``updated_at``, which every change
to the profile (order, refund, merge, unmerge, link, erasure) moves in the same transaction.
A view reads the live row first (one indexed query it needs anyway to follow merges), then
the entry for exactly that version: once a change commits, its new ``updated_at`` can only
match an entry built from the committed state, so an old entry is never served, whatever
the timing of concurrent readers and writers. A profile keeps one entry (the version last
read), which expires after ``ttl`` seconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from constintel.profiles.schemas import ProfileRead

__all__ = ["NoCache", "ProfileCache", "RedisProfileCache"]


class ProfileCache(Protocol):
    def get(self, brand_id: str, profile_id: str, version: datetime) -> ProfileRead | None: ...

    def put(self, brand_id: str, profile: ProfileRead, version: datetime) -> None: ...

    def forget(self, brand_id: str, profile_ids: list[str]) -> None: ...


class NoCache:
    def get(self, brand_id: str, profile_id: str, version: datetime) -> ProfileRead | None:
        return None

    def put(self, brand_id: str, profile: ProfileRead, version: datetime) -> None:
        return None

    def forget(self, brand_id: str, profile_ids: list[str]) -> None:
        return None


class RedisProfileCache:
    def __init__(self, client: Any, prefix: str, ttl: int = 3600) -> None:
        self.client = client
        self.prefix = prefix
        self.ttl = ttl
        self.hits = 0
        self.misses = 0

    def _key(self, brand_id: str, profile_id: str) -> str:
        return f"{self.prefix}profile:{brand_id}:{profile_id}"

    def get(self, brand_id: str, profile_id: str, version: datetime) -> ProfileRead | None:
        raw = self.client.hget(self._key(brand_id, profile_id), version.isoformat())
        if raw is None:
            self.misses += 1
            return None
        self.hits += 1
        return ProfileRead.model_validate_json(raw)

    def put(self, brand_id: str, profile: ProfileRead, version: datetime) -> None:
        key = self._key(brand_id, profile.id)
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(key)  # one version per profile: older ones go
        pipe.hset(key, version.isoformat(), profile.model_dump_json())
        pipe.expire(key, self.ttl)
        pipe.execute()

    def forget(self, brand_id: str, profile_ids: list[str]) -> None:
        if profile_ids:
            self.client.delete(*(self._key(brand_id, pid) for pid in profile_ids))
