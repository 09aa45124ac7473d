"""Stream messages, written to the outbox in the transaction of the change they describe.

Streams (names without the deployment's key prefix):

- ``events.raw``: an accepted event as received (source, topic, payload);
- ``events.normalized``: the canonical event and the profile it resolved to;
- ``merge_requests``: a merge the engine queued for review;
- ``profiles.updated``: a profile changed (new order, refund, merge, unmerge, link, erasure),
  once per profile per batch, so a bulk import triggers downstream work once per affected
  profile rather than once per event;
- ``predictions.changed``: a profile's lifecycle label, RFM segment or churn risk changed
  (written by the predictions consumer or a refit, with the change).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from constintel.db.bulk import insert_rows
from constintel.events.schemas import CanonicalEvent
from constintel.streams.models import PARTITIONS, OutboxMessage

__all__ = [
    "STREAMS",
    "merge_request",
    "normalized",
    "partition_of",
    "prediction_changed",
    "profile_updated",
    "raw",
    "write",
]

O = cast(Table, OutboxMessage.__table__)  # noqa: E741
STREAMS = (
    "events.raw",
    "events.normalized",
    "merge_requests",
    "profiles.updated",
    "predictions.changed",
)


def partition_of(key: str) -> int:
    return zlib.crc32(key.encode()) % PARTITIONS


def _message(
    brand_id: str, stream: str, key: str, payload: dict[str, Any], now: datetime
) -> dict[str, Any]:
    return {
        "brand_id": brand_id,
        "stream": stream,
        "key": key,
        "partition": partition_of(key),
        "payload": payload,
        "created_at": now,
        "sent_at": None,
    }


def raw(brand_id: str, event_id: str, key: str, source: str, now: datetime) -> dict[str, Any]:
    return _message(brand_id, "events.raw", key, {"event_id": event_id, "source": source}, now)


def normalized(
    brand_id: str, event_id: str, profile_id: str | None, event: CanonicalEvent, now: datetime
) -> dict[str, Any]:
    order = event.order
    products = [i.product_id for i in order.line_items if i.product_id] if order else []
    if not products and event.properties.get("product_id"):
        products = [str(event.properties["product_id"])]
    body = {
        "event_id": event_id,
        "profile_id": profile_id,
        "event_type": event.event_type.value,
        "channel": event.channel.value,
        "source": event.source,
        "occurred_at": event.occurred_at.isoformat(),
        "products": products,
        "order_id": order.external_id if order else None,
        "status": order.status.value if order and order.status else None,
        "total": str(order.total) if order and order.total is not None else None,
        "currency": order.currency if order else None,
        "store_id": order.store_id if order else event.properties.get("store_id"),
        "properties": {k: str(v) for k, v in event.properties.items()},
    }
    return _message(brand_id, "events.normalized", profile_id or event_id, body, now)


def merge_request(brand_id: str, request: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    body = {
        "request_id": request["id"],
        "reason": request["reason"],
        "profile_ids": list(request["profile_ids"]),
        "attached_profile_id": request.get("attached_profile_id"),
    }
    key = request.get("attached_profile_id") or request["id"]
    return _message(brand_id, "merge_requests", key, body, now)


def profile_updated(
    brand_id: str, profile_id: str, reason: str, now: datetime, merged_into: str | None = None
) -> dict[str, Any]:
    body = {"profile_id": profile_id, "reason": reason, "merged_into": merged_into}
    return _message(brand_id, "profiles.updated", profile_id, body, now)


def prediction_changed(
    brand_id: str, profile_id: str, changes: dict[str, Any], model_version: int, now: datetime
) -> dict[str, Any]:
    body = {"profile_id": profile_id, "changes": changes, "model_version": model_version}
    return _message(brand_id, "predictions.changed", profile_id, body, now)


def write(session: Session, messages: Iterable[Mapping[str, Any]]) -> None:
    rows: Sequence[Mapping[str, Any]] = list(messages)
    if rows:
        insert_rows(session, O, rows)


def profiles_updated(
    session: Session, brand_id: str, profile_ids: Iterable[str], reason: str, now: datetime
) -> None:
    write(session, (profile_updated(brand_id, pid, reason, now) for pid in sorted(profile_ids)))
