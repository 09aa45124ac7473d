"""Downstream handlers, one consumer group each. A handler applies a batch of messages inside
the caller's transaction; the caller records them as handled in the same transaction, so a
redelivered message is skipped (idempotent) and a failed batch leaves no trace.

- ``intents``: product-intent scores per profile and product, conversions on purchase;
- ``predictions``: rescores every changed profile with its brand's fitted models;
- ``automations``: turns events and prediction changes into deliveries (sent by the sender);
- ``journeys``: journey stage, score and next best action per profile;
- ``store_visits``: store visits and in-store alerts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from constintel.activation.automations import apply_automations
from constintel.activation.intents import apply_intents
from constintel.activation.journeys import apply_journeys
from constintel.activation.models import ProductIntent
from constintel.activation.stores import apply_store_visits
from constintel.predictions.service import rescore
from constintel.streams.message import Message

__all__ = ["HANDLERS", "Handler", "Message", "ProductIntent"]


def _predictions(session: Session, messages: Sequence[Message]) -> None:
    """Rescore each changed profile once per batch (and drop the prediction of a profile
    merged away or erased)."""
    by_brand: dict[tuple[str, str], set[str]] = {}
    for m in messages:
        pid = m.data.get("profile_id")
        if not pid:
            continue
        ids = by_brand.setdefault((m.brand_id, str(m.data.get("reason") or "update")), set())
        ids.add(pid)
        if m.data.get("merged_into"):
            ids.add(m.data["merged_into"])
    for (brand_id, reason), ids in sorted(by_brand.items()):
        rescore(session, brand_id, sorted(ids), cause=f"profiles.updated:{reason}")


@dataclass(frozen=True, slots=True)
class Handler:
    """``apply`` None: the group's capability has no effects yet; its messages are only
    acknowledged (no transaction, no ledger rows)."""

    group: str
    streams: tuple[str, ...]
    apply: Callable[[Session, Sequence[Message]], None] | None


HANDLERS: dict[str, Handler] = {
    h.group: h
    for h in (
        Handler("intents", ("events.normalized",), apply_intents),
        Handler("predictions", ("profiles.updated",), _predictions),
        Handler("automations", ("events.normalized", "predictions.changed"), apply_automations),
        Handler("journeys", ("events.normalized", "predictions.changed"), apply_journeys),
        Handler("store_visits", ("events.normalized",), apply_store_visits),
    )
}
