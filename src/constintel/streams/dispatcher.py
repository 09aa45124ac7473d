"""The embedded mode's dispatcher: with no Redis, the same handlers run in-process straight
from the outbox, in outbox order, and a row counts as sent once every handler that wants it
has applied it (the handled-ledger keeps that exactly once, as with the stream workers)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from sqlalchemy import Engine, Table, select, text, update

from constintel.core.clock import utcnow
from constintel.core.pump import Pump
from constintel.db.session import transaction
from constintel.streams.apply import apply_in
from constintel.streams.handlers import HANDLERS, Handler, Message
from constintel.streams.models import OutboxMessage

__all__ = ["dispatch_once", "pump"]

O = cast(Table, OutboxMessage.__table__)  # noqa: E741
DISPATCH_LOCK = 0x0C1_0D1
BATCH = 2000  # rows per pass


def dispatch_once(
    engine: Engine, handlers: Iterable[Handler] | None = None, *, limit: int = BATCH
) -> int:
    """Apply up to ``limit`` unsent outbox rows to every handler, oldest first, in one
    transaction; returns how many rows were dispatched."""
    chosen = [
        h for h in (handlers if handlers is not None else HANDLERS.values()) if h.apply is not None
    ]
    with transaction(engine) as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:ns)"), {"ns": DISPATCH_LOCK})
        rows = session.execute(
            select(O).where(O.c.sent_at.is_(None)).order_by(O.c.id).limit(limit)
        ).all()
        if not rows:
            return 0
        messages = [
            Message(r.stream, f"outbox-{r.id}", r.id, r.brand_id, r.key, r.payload) for r in rows
        ]
        for handler in chosen:
            wanted = [m for m in messages if m.stream in handler.streams]
            if wanted:
                apply_in(session, handler, wanted)
        session.execute(update(O).where(O.c.id.in_([r.id for r in rows])).values(sent_at=utcnow()))
        return len(rows)


def pump(engine: Engine, *, interval: float, name: str) -> Pump:
    """A pump running ``dispatch_once``, woken or every ``interval`` seconds; a pass that
    dispatches less than a full batch ends its run (nothing was left)."""
    return Pump(name, lambda: dispatch_once(engine), interval=interval, batch=BATCH)
