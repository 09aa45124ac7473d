"""Downstream handlers, one consumer group each. A handler applies a batch of messages inside
the caller's transaction; the caller records them as handled in the same transaction, so a
redelivered message is skipped (idempotent) and a failed batch leaves no trace.

Handlers of later capabilities (automations, journeys, store visits) plug in here;
``intents`` keeps product-intent counters per profile and product, ``predictions`` rescores
every changed profile with its brand's fitted models.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Index, Integer, String, Table, UniqueConstraint
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from constintel.core.clock import parse_timestamp
from constintel.db.base import Base
from constintel.db.types import UTCDateTime

__all__ = ["HANDLERS", "Handler", "Message", "ProductIntent"]


@dataclass(frozen=True, slots=True)
class Message:
    stream: str  # without prefix, e.g. "events.normalized"
    redis_id: str
    outbox_id: int
    brand_id: str
    key: str
    data: dict[str, Any]


class ProductIntent(Base):
    """How strongly a profile has shown interest in a product (views, cart adds, purchases)."""

    __tablename__ = "product_intent"
    __table_args__ = (
        UniqueConstraint("brand_id", "customer_profile_id", "product_id"),
        Index("ix_product_intent_profile", "customer_profile_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    brand_id: Mapped[str] = mapped_column(String(36))
    customer_profile_id: Mapped[str] = mapped_column(String(36))
    product_id: Mapped[str] = mapped_column(String(100))
    views: Mapped[int] = mapped_column(Integer, default=0)
    cart_adds: Mapped[int] = mapped_column(Integer, default=0)
    purchases: Mapped[int] = mapped_column(Integer, default=0)
    last_event_at: Mapped[datetime] = mapped_column(UTCDateTime)


_INTENT_KIND = {
    "product_view": "views",
    "cart_add": "cart_adds",
    "purchase": "purchases",
    "pos_transaction": "purchases",
}


def _intents(session: Session, messages: Sequence[Message]) -> None:
    counts: dict[tuple[str, str, str], dict[str, Any]] = {}
    for m in messages:
        kind = _INTENT_KIND.get(m.data.get("event_type", ""))
        profile = m.data.get("profile_id")
        if kind is None or not profile:
            continue
        at = parse_timestamp(m.data["occurred_at"], "occurred_at")
        for product in m.data.get("products") or []:
            row = counts.setdefault(
                (m.brand_id, profile, str(product)[:100]),
                {"views": 0, "cart_adds": 0, "purchases": 0, "last_event_at": at},
            )
            row[kind] += 1
            row["last_event_at"] = max(row["last_event_at"], at)
    if not counts:
        return
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = cast(Table, ProductIntent.__table__)
    rows = [
        {"brand_id": b, "customer_profile_id": p, "product_id": prod, **c}
        for (b, p, prod), c in sorted(counts.items())
    ]
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["brand_id", "customer_profile_id", "product_id"],
        set_={
            "views": table.c.views + stmt.excluded.views,
            "cart_adds": table.c.cart_adds + stmt.excluded.cart_adds,
            "purchases": table.c.purchases + stmt.excluded.purchases,
            "last_event_at": stmt.excluded.last_event_at,
        },
    )
    session.execute(stmt, rows)


def _predictions(session: Session, messages: Sequence[Message]) -> None:
    """Rescore each changed profile once per batch (and drop the prediction of a profile
    merged away or erased)."""
    from constintel.predictions.service import rescore

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
        Handler("intents", ("events.normalized",), _intents),
        # Their capabilities (issues of their own) plug their effects in here.
        Handler("predictions", ("profiles.updated",), _predictions),
        Handler("automations", ("events.normalized", "profiles.updated"), None),
        Handler("journeys", ("events.normalized",), None),
        Handler("store_visits", ("events.normalized",), None),
    )
}
