"""The match decision of the seed's Step 4 (pure).

Given the profiles an event's identifiers point at:

- 0 distinct profiles: create a new profile;
- 1: attach to it;
- 2-3 (``MAX_AUTO_MERGE``): merge them into the oldest (deterministic survivor: earliest
  ``created_at``, then smallest id) and attach;
- more: merge nothing, attach to the profile matched by the highest-priority identifier kind
  (phone > email > loyalty_id > device_id > cookie_id > other) and queue a merge request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

__all__ = [
    "KIND_PRIORITY",
    "MAX_AUTO_MERGE",
    "MatchAction",
    "MatchDecision",
    "decide",
    "kind_priority",
]

MAX_AUTO_MERGE = 3
KIND_PRIORITY: Mapping[str, int] = {
    "phone": 0,
    "email": 1,
    "loyalty_id": 2,
    "device_id": 3,
    "cookie_id": 4,
}
_OTHER_PRIORITY = len(KIND_PRIORITY)


def kind_priority(kind: str) -> int:
    return KIND_PRIORITY.get(kind, _OTHER_PRIORITY)


class MatchAction(StrEnum):
    CREATE = "create"
    ATTACH = "attach"
    MERGE = "merge"
    REVIEW = "review"


@dataclass(frozen=True, slots=True)
class MatchDecision:
    action: MatchAction
    target: str | None = None  # the profile the event ends on (None: create one)
    merge: tuple[str, ...] = ()  # profiles to merge into ``target``
    candidates: tuple[str, ...] = field(default_factory=tuple)  # for review


def decide(
    matches: Sequence[tuple[str, str]], created_at: Mapping[str, tuple[datetime, str]]
) -> MatchDecision:
    """``matches``: (identifier kind, profile id) pairs, already resolved to live profiles.
    ``created_at``: profile id -> (created_at, id), the survivor ordering key."""
    distinct = list(dict.fromkeys(pid for _, pid in matches))
    if not distinct:
        return MatchDecision(MatchAction.CREATE)
    if len(distinct) == 1:
        return MatchDecision(MatchAction.ATTACH, distinct[0])
    by_age = sorted(distinct, key=lambda pid: created_at[pid])
    if len(distinct) <= MAX_AUTO_MERGE:
        return MatchDecision(MatchAction.MERGE, by_age[0], tuple(by_age[1:]))
    best = min(matches, key=lambda m: (kind_priority(m[0]), created_at[m[1]]))
    return MatchDecision(MatchAction.REVIEW, best[1], candidates=tuple(by_age))
