"""The relay: outbox rows -> Redis Streams, in order per key, marked sent after XADD.

Each pass takes every partition no other relay holds (transaction-scoped advisory locks on
PostgreSQL; SQLite has one writer anyway) and publishes their rows oldest first, in one
transaction: a partition is published by one relay at a time, so the messages about one
profile reach their stream in the order they were written.
Rows are locked ``FOR UPDATE SKIP LOCKED`` as a second guard. A crash between XADD and the
commit that marks rows sent re-publishes them: delivery is at least once, and every message
carries its ``outbox_id`` so consumers apply it once.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import redis
from sqlalchemy import Engine, Table, Text, bindparam, func, select, text, update
from sqlalchemy import cast as cast_

from constintel.core.clock import utcnow
from constintel.core.pump import Pump
from constintel.db.chunks import any_of, run_in
from constintel.db.session import transaction
from constintel.streams.models import PARTITIONS, OutboxMessage
from constintel.streams.redis_io import DEFAULT_MAXLEN, StreamNames

__all__ = ["backlog", "pump", "relay_once"]

log = logging.getLogger(__name__)
O = cast(Table, OutboxMessage.__table__)  # noqa: E741
RELAY_LOCK = 0x0C1_0B0  # advisory lock namespace of relay partitions
BATCH = 10_000  # rows per pass


def _fields(row: Any) -> dict[Any, Any]:
    return {"outbox_id": str(row.id), "brand_id": row.brand_id, "key": row.key, "data": row.data}


# The payload is read as its JSON text and published as is (no parse and re-dump).
_COLUMNS = (
    O.c.id,
    O.c.stream,
    O.c.brand_id,
    O.c.key,
    cast_(O.c.payload, Text).label("data"),
)


# Built once (see db.chunks on the cost of building a statement per call).
_UNSENT = select(*_COLUMNS).where(O.c.sent_at.is_(None)).order_by(O.c.id).limit(bindparam("limit"))
_UNSENT_PG = _UNSENT.with_for_update(skip_locked=True)
_UNSENT_IN_PG = _UNSENT_PG.where(any_of(O.c.partition, "partitions"))
_FREE_PARTITIONS = text(
    "SELECT p FROM generate_series(0, :n - 1) AS p WHERE pg_try_advisory_xact_lock(:ns, p)"
)
_MARK_SENT_PG = update(O).where(any_of(O.c.id, "ids")).values(sent_at=bindparam("now"))
_MARK_SENT_IN = (
    update(O).where(O.c.id.in_(bindparam("ids", expanding=True))).values(sent_at=bindparam("now"))
)


def relay_once(
    engine: Engine,
    client: redis.Redis,
    names: StreamNames,
    *,
    limit: int = BATCH,
    maxlen: int = DEFAULT_MAXLEN,
) -> int:
    """Publish up to ``limit`` unsent rows of the partitions this relay can lock, oldest
    first, in one transaction; returns how many were published."""
    params: dict[str, Any]
    with transaction(engine) as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        stmt, params = _UNSENT, {"limit": limit}
        if postgres:
            # Every partition no other relay holds (transaction-scoped advisory locks).
            free = {"n": PARTITIONS, "ns": RELAY_LOCK}
            mine = [p for (p,) in session.execute(_FREE_PARTITIONS, free)]
            if not mine:
                return 0
            stmt = _UNSENT_PG
            if len(mine) < PARTITIONS:
                stmt, params["partitions"] = _UNSENT_IN_PG, mine
        rows = session.execute(stmt, params).all()
        if not rows:
            return 0
        pipe = client.pipeline(transaction=False)
        for row in rows:
            pipe.xadd(names.stream(row.stream), _fields(row), maxlen=maxlen, approximate=True)
        pipe.execute()
        run_in(session, _MARK_SENT_PG, _MARK_SENT_IN, "ids", [r.id for r in rows], now=utcnow())
        return len(rows)


def pump(
    engine: Engine, client: redis.Redis, names: StreamNames, *, interval: float, name: str
) -> Pump:
    """A pump publishing the outbox with ``relay_once``, woken or every ``interval`` seconds;
    a pass that publishes less than a full batch ends its run (nothing was left)."""
    return Pump(name, lambda: relay_once(engine, client, names), interval=interval, batch=BATCH)


def backlog(engine: Engine) -> int:
    """Outbox rows not yet published."""
    with transaction(engine) as session:
        return int(
            session.scalar(select(func.count()).select_from(O).where(O.c.sent_at.is_(None))) or 0
        )
