"""Apply a batch of messages for one consumer group exactly once: skip those already in the
ledger, run the handler on the rest, record them, all in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Engine, Table, bindparam, select
from sqlalchemy.orm import Session

from constintel.core.clock import utcnow
from constintel.db.bulk import insert_rows
from constintel.db.chunks import any_of, run_in
from constintel.db.session import transaction
from constintel.streams.handlers import Handler, Message
from constintel.streams.models import HandledMessage

__all__ = ["apply_batch", "apply_in"]

H = cast(Table, HandledMessage.__table__)
# Which of the batch's messages the group has applied (built once: see db.chunks).
_HANDLED = select(H.c.outbox_id).where(H.c.consumer_group == bindparam("group"))
_HANDLED_ANY = _HANDLED.where(any_of(H.c.outbox_id, "ids"))
_HANDLED_IN = _HANDLED.where(H.c.outbox_id.in_(bindparam("ids", expanding=True)))


def apply_in(session: Session, handler: Handler, messages: Sequence[Message]) -> int:
    """Inside the caller's transaction; returns how many were new (applied now)."""
    if handler.apply is None:
        return 0
    ids = sorted({m.outbox_id for m in messages})
    done: set[int] = set()
    for result in run_in(session, _HANDLED_ANY, _HANDLED_IN, "ids", ids, group=handler.group):
        done.update(result.scalars())
    fresh: list[Message] = []
    for m in messages:
        if m.outbox_id not in done:
            done.add(m.outbox_id)  # a message twice in one batch is applied once
            fresh.append(m)
    if fresh:
        handler.apply(session, fresh)
        now = utcnow()
        insert_rows(
            session,
            H,
            [
                {
                    "consumer_group": handler.group,
                    "outbox_id": m.outbox_id,
                    "handled_at": now,
                    "note": None,
                }
                for m in fresh
            ],
        )
    return len(fresh)


def apply_batch(engine: Engine, handler: Handler, messages: Sequence[Message]) -> int:
    if handler.apply is None:
        return 0
    with transaction(engine) as session:
        return apply_in(session, handler, messages)
