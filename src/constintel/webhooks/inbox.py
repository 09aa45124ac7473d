"""The durable inbox: a verified delivery is committed before it is acknowledged.

``GroupCommitter`` stores deliveries from many concurrent requests in shared transactions
(group commit): while one commit is in flight the next requests queue up, and the following
transaction stores all of them. Each request waits for the commit that holds its delivery, so
a 200 always means "on disk", yet the database sees one commit per group, not per request.
Rejected bodies (bad JSON, unknown shapes) go through the same path into
``rejected_payload``.

The drain (``drain_once``) then runs stored deliveries through the one write path
(``pipeline.ingest_batch``) in arrival order, many per transaction. On PostgreSQL several
replicas drain at once: ``FOR UPDATE SKIP LOCKED`` hands each pending row to one of them.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import orjson
import psycopg
from sqlalchemy import Connection, Engine, Table, bindparam, func, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from constintel.core.clock import utcnow
from constintel.core.ids import new_id
from constintel.core.pump import Pump
from constintel.db.chunks import any_of, run_in
from constintel.db.maintenance import analyze_stale, vacuum_queues
from constintel.db.session import transaction
from constintel.ingest import repository as events_repo
from constintel.pipeline import BatchResult, BrandContext, Envelope, ingest_batch
from constintel.webhooks.models import WebhookDelivery

__all__ = [
    "Delivery",
    "GroupCommitter",
    "Rejected",
    "drain_once",
    "drainer",
    "pending",
    "store_deliveries",
]

log = logging.getLogger(__name__)

D = cast(Table, WebhookDelivery.__table__)
MAX_GROUP = 1000
DRAIN_BATCH = 2000
COMMIT_WINDOW = 0.003  # seconds (see GroupCommitter.window)
STATISTICS_EVERY = 1.0  # seconds between the drain's looks at table statistics (a cheap query)
MAX_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Delivery:
    brand_id: str
    source: str
    topic: str | None
    delivery_id: str
    body: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Rejected:
    """A body that could not be accepted, kept with its error for ``events replay``."""

    brand_id: str
    source: str
    topic: str | None
    body: str
    field: str
    reason: str
    origin: str
    received_at: datetime


def store_deliveries(session: Session, deliveries: Sequence[Delivery]) -> set[str]:
    """Insert deliveries, skipping those already stored; returns the new delivery ids."""
    if not deliveries:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        return _insert_pg(session.connection().connection.driver_connection, deliveries)
    stmt = (
        sqlite_insert(D)
        .on_conflict_do_nothing()
        .returning(D.c.brand_id, D.c.source, D.c.delivery_id)
    )
    return {_key_of(*r) for r in session.execute(stmt, _rows(deliveries)).all()}


def _rows(deliveries: Sequence[Delivery]) -> list[dict[str, Any]]:
    return [
        {
            "id": new_id(),
            "brand_id": d.brand_id,
            "source": d.source,
            "topic": d.topic,
            "delivery_id": d.delivery_id,
            "body": d.body,
            "received_at": d.received_at,
            "processed_at": None,
            "attempts": 0,
            "outcome": None,
        }
        for d in deliveries
    ]


_COLUMNS = ("id", "brand_id", "source", "topic", "delivery_id", "body", "received_at")


def _insert_pg(driver: Any, deliveries: Sequence[Delivery]) -> set[str]:
    """``store_deliveries`` on a psycopg connection: one multi-row INSERT for the whole group,
    built straight for the driver (a single statement: cheapest for the server, one index
    pass per row, one round trip) without the ORM's per-row statement building."""
    rows = _rows(deliveries)
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, 0)"] * len(rows))
    sql = (
        f"INSERT INTO webhook_delivery ({', '.join(_COLUMNS)}, attempts) VALUES {values} "
        "ON CONFLICT (brand_id, source, delivery_id) DO NOTHING "
        "RETURNING brand_id, source, delivery_id"
    )
    cursor = driver.cursor()
    cursor.execute(sql, [row[c] for row in rows for c in _COLUMNS], prepare=False)
    return {_key_of(*r) for r in cursor.fetchall()}


def _key_of(brand_id: str, source: str, delivery_id: str) -> str:
    return f"{brand_id}:{source}:{delivery_id}"


def _key(d: Delivery) -> str:
    return _key_of(d.brand_id, d.source, d.delivery_id)


def store_rejected(session: Session, items: Sequence[Rejected]) -> None:
    events_repo.insert_rejected(
        session,
        [
            events_repo.rejected_row(
                brand_id=r.brand_id,
                source=r.source,
                topic=r.topic,
                body=r.body,
                field=r.field,
                reason=r.reason,
                origin=r.origin,
                line_no=None,
                now=r.received_at,
            )
            for r in items
        ],
    )


@dataclass(slots=True)
class _Item:
    value: Delivery | Rejected
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[bool]


def _resolve_all(results: list[tuple[asyncio.Future[bool], bool | BaseException]]) -> None:
    for future, value in results:
        if future.done():  # the request went away (client disconnected)
            continue
        if isinstance(value, BaseException):
            future.set_exception(value)
        else:
            future.set_result(value)


@dataclass
class GroupCommitter:
    """Writer threads committing queued deliveries in groups (see the module doc). Several
    threads keep several commits in flight, so throughput is not one fsync at a time when the
    disk is slow to flush; each takes whatever has queued up when it is free.
    ``on_commit`` runs after each commit that stored new deliveries (it wakes the drain)."""

    engine: Engine
    on_commit: Callable[[], None] = lambda: None
    max_group: int = MAX_GROUP
    writers: int = 1
    # How long a writer waits for more deliveries after the first before committing: at a
    # steady 1,000/s a group of ~4 instead of 1 (a fifth less server CPU, measured), for at
    # most this much more latency; under heavy load groups fill before it runs out.
    window: float = COMMIT_WINDOW
    _queue: queue.SimpleQueue[_Item | None] = field(default_factory=queue.SimpleQueue)
    _threads: list[threading.Thread] = field(default_factory=list)
    _gather: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        if self.engine.dialect.name == "sqlite":
            self.writers = 1  # SQLite has one writer at a time anyway
        self._threads = [
            threading.Thread(target=self._run, name=f"inbox-committer-{n}", daemon=True)
            for n in range(self.writers)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads = []

    async def store(self, value: Delivery | Rejected) -> bool:
        """Commit ``value``; for a delivery, True if new and False if already stored."""
        if not self._threads:
            raise RuntimeError("the inbox writer is not running (start the app's lifespan)")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._queue.put(_Item(value, loop, future))
        return await future

    def _run(self) -> None:
        writer = _Writer(self.engine)
        try:
            while True:
                # One writer at a time gathers a group, so a group holds everything that
                # arrived in the window instead of being split among idle writers; the others
                # commit theirs meanwhile.
                with self._gather:
                    group, stop = self._next_group()
                if group:
                    self._commit(writer, group)
                if stop:
                    return
        finally:
            writer.close()

    def _next_group(self) -> tuple[list[_Item], bool]:
        first = self._queue.get()
        if first is None:
            return [], True
        group = [first]
        until = time.monotonic() + self.window
        while len(group) < self.max_group:
            try:
                left = until - time.monotonic()
                item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return group, True
            group.append(item)
        return group, False

    def _commit(self, writer: _Writer, group: list[_Item]) -> None:
        """Commit ``group`` and answer its requests."""
        deliveries = [i.value for i in group if isinstance(i.value, Delivery)]
        rejected = [i.value for i in group if isinstance(i.value, Rejected)]
        outcome: dict[int, bool | BaseException] = {}
        ok = True
        try:
            new = writer.store(deliveries, rejected)
            for n, item in enumerate(group):
                value = item.value
                outcome[n] = _key(value) in new if isinstance(value, Delivery) else True
        except Exception as exc:  # every waiting request gets the error (a 503), none is lost
            log.exception("inbox commit failed for %d deliveries", len(group))
            for n in range(len(group)):
                outcome[n] = exc
            ok = False
        # One wake-up per event loop for the whole group, not one per request.
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[bool], Any]]] = {}
        for n, item in enumerate(group):
            by_loop.setdefault(item.loop, []).append((item.future, outcome[n]))
        for loop, results in by_loop.items():
            loop.call_soon_threadsafe(_resolve_all, results)
        if deliveries and ok:
            self.on_commit()


class _Writer:
    """One committer thread's connection, kept between commits: no pool check-out and no
    pre-ping round trip per group. A connection found dead (the database restarted) is
    replaced and the group tried once more on the new one: the insert skips what is already
    stored, so nothing is counted twice."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None
        self._lost = False  # the last failure was the connection's

    def store(self, deliveries: Sequence[Delivery], rejected: Sequence[Rejected]) -> set[str]:
        try:
            return self._store(deliveries, rejected)
        except DBAPIError as exc:  # through SQLAlchemy
            if not exc.connection_invalidated:
                raise
        except psycopg.OperationalError:  # straight from the driver
            if not self._lost:
                raise
        return self._store(deliveries, rejected)  # once more, on a new connection

    def _store(self, deliveries: Sequence[Delivery], rejected: Sequence[Rejected]) -> set[str]:
        if self._conn is None:
            self._conn = self.engine.connect()
        # Taken before anything can fail: on an invalidated Connection, reading it would
        # open a new one.
        driver = self._conn.connection.driver_connection
        try:
            if not rejected and self.engine.dialect.name == "postgresql":
                # The usual group: one statement and a commit on the driver's connection,
                # without a Session and its transaction bookkeeping per group.
                new = _insert_pg(driver, deliveries)
                driver.commit()  # type: ignore[union-attr]
                return new
            with Session(bind=self._conn, expire_on_commit=False) as session:
                with session.begin():
                    new = store_deliveries(session, deliveries)
                    store_rejected(session, rejected)
                return new
        except Exception:
            self._lost = bool(getattr(driver, "broken", False))
            self.close()  # whatever failed, the next commit starts on a new connection
            raise

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()


# -- the drain ------------------------------------------------------------------------------


def _envelope(row: Any) -> Envelope:
    return Envelope(
        source=row.source,
        topic=row.topic,
        payload=orjson.loads(row.body),
        origin=f"webhook:{row.source}:{row.delivery_id}",
        received_at=row.received_at,
    )


# The drain's per-batch statements, built once (see db.chunks on the cost of building one).
_PENDING = select(D).where(D.c.processed_at.is_(None)).order_by(D.c.id).limit(bindparam("limit"))
_TAKE = {"postgresql": _PENDING.with_for_update(skip_locked=True)}
# The body now lives on as the event's payload; the inbox row stays as the delivery-id ledger
# only, so no second copy of personal data outlives an erasure.
_PROCESSED = {
    "processed_at": bindparam("now"),
    "attempts": D.c.attempts + 1,
    "outcome": "processed",
    "body": "",
}
_MARK_ANY = update(D).where(any_of(D.c.id, "ids")).values(**_PROCESSED)
_MARK_IN = update(D).where(D.c.id.in_(bindparam("ids", expanding=True))).values(**_PROCESSED)


def _take(session: Session, limit: int) -> list[Any]:
    stmt = _TAKE.get(session.get_bind().dialect.name, _PENDING)
    return list(session.execute(stmt, {"limit": limit}).all())


def _ingest(session: Session, rows: Sequence[Any]) -> BatchResult:
    total = BatchResult()
    by_brand: dict[str, list[Any]] = {}
    for row in rows:
        by_brand.setdefault(row.brand_id, []).append(row)
    for brand_id, brand_rows in by_brand.items():
        ctx = BrandContext.load(session, brand_id)
        result = ingest_batch(session, ctx, [_envelope(r) for r in brand_rows])
        total.add(result)
        total.touched_profiles |= result.touched_profiles
    run_in(session, _MARK_ANY, _MARK_IN, "ids", [r.id for r in rows], now=utcnow())
    return total


def drain_once(engine: Engine, *, limit: int = DRAIN_BATCH) -> BatchResult:
    """Run up to ``limit`` pending deliveries through the write path, oldest first, in one
    transaction. If that transaction fails, each delivery is retried on its own, so one
    poison delivery cannot hold the others back; a delivery that fails ``MAX_ATTEMPTS`` times
    is moved to ``rejected_payload`` with its error (``constintel events replay`` after a
    fix). Returns the summed result."""
    try:
        with transaction(engine) as session:
            rows = _take(session, limit)
            return _ingest(session, rows) if rows else BatchResult()
    except Exception:
        log.exception("webhook drain failed; retrying deliveries one by one")
    total = BatchResult()
    with transaction(engine) as session:
        ids = [r.id for r in _take(session, limit)]
    for delivery_row_id in ids:
        try:
            with transaction(engine) as session:
                rows = list(session.execute(select(D).where(D.c.id == delivery_row_id)).all())
                if rows and rows[0].processed_at is None:
                    total.add(_ingest(session, rows))
        except Exception as exc:
            _record_failure(engine, delivery_row_id, exc)
    return total


def _record_failure(engine: Engine, row_id: str, exc: Exception) -> None:
    log.error("webhook delivery %s failed: %s", row_id, exc)
    with transaction(engine) as session:
        row = session.execute(select(D).where(D.c.id == row_id)).one()
        attempts = row.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "outcome": f"error: {exc}"}
        if attempts >= MAX_ATTEMPTS:
            values["processed_at"] = utcnow()
            values["outcome"] = f"failed after {attempts} attempts: {exc}"
            store_rejected(
                session,
                [
                    Rejected(
                        brand_id=row.brand_id,
                        source=row.source,
                        topic=row.topic,
                        body=row.body,
                        field="(processing)",
                        reason=f"{type(exc).__name__}: {exc}",
                        origin=f"webhook:{row.source}:{row.delivery_id}",
                        received_at=row.received_at,
                    )
                ],
            )
        session.execute(update(D).where(D.c.id == row_id).values(**values))


def pending(engine: Engine) -> int:
    """Stored deliveries not yet resolved into profiles."""
    with transaction(engine) as session:
        count = session.scalar(
            select(func.count()).select_from(D).where(D.c.processed_at.is_(None))
        )
        return int(count or 0)


# A made-up order exercising the write path's usual statements (new profile, identifiers, an
# order with a line item, the outbox): see warm_up.
_WARM_UP_ORDER: dict[str, Any] = {
    "id": 1,
    "email": "warm-up@constintel.invalid",
    "phone": "+12025550100",
    "currency": "USD",
    "total_price": "1.00",
    "financial_status": "paid",
    "created_at": "2020-01-01T00:00:00Z",
    "customer": {"first_name": "Warm", "last_name": "Up"},
    "billing_address": {"phone": "+12025550100", "country_code": "US"},
    "line_items": [{"product_id": 1, "title": "warm-up", "quantity": 1, "price": "1.00"}],
}


def warm_up(engine: Engine) -> BatchResult | None:
    """Run one made-up order through the whole write path and roll it back, so the first real
    batch after a start finds its SQL compiled and the phone metadata loaded. Nothing is kept.
    Returns what the write path did (None without any brand)."""
    from constintel.brands.models import Brand

    result = None
    with Session(engine) as session:
        brand = session.scalars(select(Brand).limit(1)).first()
        if brand is not None:
            envelope = Envelope("shopify", "orders/create", dict(_WARM_UP_ORDER))
            result = ingest_batch(session, BrandContext.of(brand), [envelope])
        session.rollback()
    return result


def drainer(
    engine: Engine, *, interval: float = 1.0, on_drained: Callable[[], None] | None = None
) -> Pump:
    """A background thread draining the inbox: woken after each inbox commit, and every
    ``interval`` seconds for deliveries stored by other replicas; ``on_drained`` runs after
    each drained batch (it wakes the outbox relay)."""

    checked = 0.0  # 0: the first step warms the write path up first
    upkeep_running = threading.Lock()

    def upkeep() -> None:
        """Statistics for the look-ups' plans, and the queues' indexes kept short."""
        analyze_stale(engine)
        vacuum_queues(engine)

    def background_upkeep() -> None:
        try:
            upkeep()
        except Exception:
            log.exception(
                "the tables' upkeep (ANALYZE, VACUUM of the queues) failed; trying again later"
            )
        finally:
            upkeep_running.release()

    def step() -> int:
        nonlocal checked
        if not checked:  # in the drain's own thread, not in whoever builds the pump
            try:
                # Upkeep first: tables that changed while no drain ran (a backlog, an
                # import, the outbox) would otherwise be planned blind, and their queues
                # read through stale index entries, until the first look in a second's time.
                upkeep()
                warm_up(engine)
            except Exception:  # an optimization only: the drain runs regardless
                log.exception("warming the write path up failed")
            checked = time.monotonic()
        taken = drain_once(engine).received
        if taken and on_drained is not None:
            on_drained()
        due = time.monotonic() - checked >= STATISTICS_EVERY
        if due and upkeep_running.acquire(blocking=False):
            # Keep the key look-ups' plans right as the tables grow, beside the drain rather
            # than in its way (an ANALYZE or a VACUUM can take a few hundred milliseconds).
            checked = time.monotonic()
            threading.Thread(target=background_upkeep, name="inbox-upkeep", daemon=True).start()
        return taken

    return Pump("inbox-drain", step, interval=interval)
