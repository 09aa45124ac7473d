"""Outbox, relay and workers against the real Redis (fresh key prefix per test) and both
databases: order per profile, exactly-once effects across a SIGKILLed worker, dead letters
that do not block the rest, and an outbox that waits out a Redis outage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
import redis
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from constintel.db.session import transaction
from constintel.streams.dispatcher import dispatch_once
from constintel.streams.handlers import HANDLERS, Handler, Message, ProductIntent
from constintel.streams.models import HandledMessage, OutboxMessage
from constintel.streams.redis_io import StreamNames, connect
from constintel.streams.relay import backlog, relay_once
from constintel.streams.worker import Worker

pytestmark = pytest.mark.usefixtures("redis_url")


def cart_adds(n: int, people: int = 10) -> list[tuple[str, None, dict[str, Any]]]:
    return [
        (
            "api",
            None,
            {
                "event_type": "cart_add",
                "email": f"shopper{k % people}@example.com",
                "product_id": f"P{k % 7}",
                "occurred_at": f"2024-12-{1 + k % 28:02d}T10:00:00Z",
                "event_id": f"e{k}",
            },
        )
        for k in range(n)
    ]


def expected_intents(n: int, people: int = 10) -> Counter[tuple[str, str]]:
    return Counter((f"shopper{k % people}@example.com", f"P{k % 7}") for k in range(n))


def intents(engine: Engine, brand_id: str) -> Counter[tuple[str, str]]:
    from constintel.identity.models import CustomerIdentifier

    with transaction(engine) as s:
        rows = s.execute(
            select(CustomerIdentifier.value, ProductIntent.product_id, ProductIntent.cart_adds)
            .join(
                CustomerIdentifier,
                CustomerIdentifier.customer_profile_id == ProductIntent.customer_profile_id,
            )
            .where(ProductIntent.brand_id == brand_id, CustomerIdentifier.kind == "email")
        ).all()
    return Counter({(email, product): n for email, product, n in rows})


def entries(client: Any, stream: str) -> list[dict[str, str]]:
    """The fields of every entry of a stream, oldest first."""
    return [fields for _, fields in client.xrange(stream)]


def drain_worker(worker: Worker, rounds: int = 50) -> None:
    """Run until nothing is pending or new for the worker's group."""
    for _ in range(rounds):
        handled = worker.run_once()
        pending = sum(
            worker.client.xpending(worker.names.stream(s), worker.handler.group)["pending"]
            for s in worker.handler.streams
        )
        if handled == 0 and pending == 0:
            return
    raise AssertionError("the worker did not finish")


def test_relay_keeps_order_per_profile(
    engine: Engine, ctx: Any, ingest: Any, redis_url: str, stream_names: StreamNames
) -> None:
    for chunk in range(3):  # three batches, interleaving the same people
        ingest(*cart_adds(60)[chunk * 20 : (chunk + 1) * 20])
    client = connect(redis_url)
    assert backlog(engine) > 0
    published = 0  # the shared database may hold other tests' unsent rows: relay them all
    while (n := relay_once(engine, client, stream_names)) > 0:
        published += n
    assert published > 0
    normalized = entries(client, stream_names.stream("events.normalized"))
    mine = [f for f in normalized if f["brand_id"] == ctx.brand_id]
    assert len(mine) == 60
    by_key: dict[str, list[int]] = {}
    for fields in mine:
        by_key.setdefault(fields["key"], []).append(int(fields["outbox_id"]))
    assert len(by_key) == 10
    assert all(ids == sorted(ids) for ids in by_key.values())
    updated = entries(client, stream_names.stream("profiles.updated"))
    # Once per profile per batch: 10 people x 3 batches, not once per event.
    assert len([f for f in updated if f["brand_id"] == ctx.brand_id]) == 30
    assert relay_once(engine, client, stream_names) == 0  # all marked sent


CHILD = """
import sys, time
from constintel.db.session import make_engine
from constintel.streams.handlers import HANDLERS
from constintel.streams.redis_io import StreamNames, connect
from constintel.streams.worker import Worker

db_url, redis_url, prefix = sys.argv[1:4]
client = connect(redis_url)
real_xack = client.xack
calls = [0]
def xack(*args):
    calls[0] += 1
    if calls[0] == 4:  # the 4th batch is committed: die before acknowledging it
        print("committed, not acknowledged", flush=True)
        time.sleep(60)
    return real_xack(*args)
client.xack = xack
worker = Worker(make_engine(db_url), client, StreamNames(prefix), HANDLERS["intents"],
                consumer="doomed", batch=7, block_ms=50)
worker.ensure_groups()
print("ready", flush=True)
while True:
    worker.run_once()
"""


def test_a_killed_worker_loses_nothing_and_applies_nothing_twice(
    db_url: str,
    engine: Engine,
    ctx: Any,
    ingest: Any,
    redis_url: str,
    stream_names: StreamNames,
) -> None:
    n = 300
    ingest(*cart_adds(n))
    client = connect(redis_url)
    relay_once(engine, client, stream_names)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, db_url, redis_url, stream_names.prefix],
        stdout=subprocess.PIPE,
        env={**os.environ},
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == b"ready"
    # Killed between its commit and its XACK: the window where a naive consumer double-applies.
    assert child.stdout.readline().strip() == b"committed, not acknowledged"
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    name = stream_names.stream("events.normalized")
    left_pending = client.xpending(name, "intents")["pending"]
    assert left_pending == 7  # it died holding its 4th batch (applied, not acknowledged)
    rescuer = Worker(
        engine, client, stream_names, HANDLERS["intents"], consumer="rescuer", claim_idle_ms=0
    )
    drain_worker(rescuer)
    assert intents(engine, ctx.brand_id) == expected_intents(n)
    assert handled(engine, "intents") >= n  # this brand's n, once each
    assert client.xpending(name, "intents")["pending"] == 0


def test_gone_consumers_are_forgotten_but_never_with_messages_pending(
    engine: Engine, ctx: Any, ingest: Any, redis_url: str, stream_names: StreamNames
) -> None:
    """Each restarted worker is a new consumer; the group forgets those that are gone, but only
    once nothing is pending for them: a dead consumer's messages are reclaimed first."""
    ingest(*cart_adds(20))
    client = connect(redis_url)
    relay_once(engine, client, stream_names)
    name = stream_names.stream("events.normalized")
    intents_handler = HANDLERS["intents"]
    earlier = Worker(
        engine, client, stream_names, intents_handler, consumer="earlier", batch=5, block_ms=10
    )
    earlier.ensure_groups()
    assert earlier.run_once() == 5  # applied and acknowledged 5, then stopped
    client.xreadgroup("intents", "died", {name: ">"}, count=5)  # read 5, died holding them
    now = Worker(
        engine, client, stream_names, intents_handler, consumer="now", claim_idle_ms=20, block_ms=10
    )
    time.sleep(0.3)  # both idle past FORGET_AFTER claim periods (200 ms)

    now._forget_gone_consumers("events.normalized")
    consumers = {c["name"]: c["pending"] for c in client.xinfo_consumers(name, "intents")}
    assert consumers == {"died": 5}  # "earlier" forgotten; "died" kept with its messages

    drain_worker(now)  # reclaims the 5, reads the other 10, then forgets "died"
    assert [c["name"] for c in client.xinfo_consumers(name, "intents")] == ["now"]
    assert intents(engine, ctx.brand_id) == expected_intents(20)  # each applied once


def handled(engine: Engine, group: str) -> int:
    with transaction(engine) as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(HandledMessage)
                .where(HandledMessage.consumer_group == group)
            )
            or 0
        )


def test_a_failing_message_goes_to_dead_letters_and_the_rest_flow(
    engine: Engine, ctx: Any, ingest: Any, redis_url: str, stream_names: StreamNames
) -> None:
    events = cart_adds(30)
    events[12][2]["product_id"] = "POISON"
    ingest(*events)
    client = connect(redis_url)
    relay_once(engine, client, stream_names)
    real = HANDLERS["intents"]
    assert real.apply is not None
    apply_real = real.apply

    def picky(session: Session, messages: Sequence[Message]) -> None:
        if any("POISON" in m.data["products"] for m in messages):
            raise ValueError("poison product")
        apply_real(session, messages)

    worker = Worker(
        engine,
        client,
        stream_names,
        Handler("intents", real.streams, picky),
        consumer="w1",
        claim_idle_ms=0,
        max_attempts=3,
        block_ms=10,
    )
    worker.ensure_groups()
    drain_worker(worker)
    dead = entries(client, stream_names.dead("intents"))
    assert len(dead) == 1
    fields = dead[0]
    assert fields["attempts"] == "3"
    assert "poison product" in fields["error"]
    expected = expected_intents(30) - Counter({("shopper2@example.com", "P5"): 1})
    assert intents(engine, ctx.brand_id) == expected


def test_redis_outage_outbox_grows_then_drains_in_order(
    engine: Engine, ctx: Any, ingest: Any, private_redis: tuple[str, Any]
) -> None:
    url, (start, stop) = private_redis
    names = StreamNames("outage:")
    client = connect(url)
    ingest(*cart_adds(20)[:10])
    stop()  # (this Redis keeps nothing on disk, as the machine's: what it held is gone)
    before = backlog(engine)
    ingest(*cart_adds(20)[10:])  # ingestion goes on while Redis is down
    with pytest.raises(redis.ConnectionError):
        relay_once(engine, client, names)
    assert backlog(engine) > before  # nothing was lost: it waits in the outbox
    start()
    relay_once(engine, client, names)
    assert backlog(engine) == 0
    mine = [
        f
        for f in entries(client, names.stream("events.normalized"))
        if f["brand_id"] == ctx.brand_id
    ]
    assert len(mine) == 20
    by_key: dict[str, list[int]] = {}
    for f in mine:
        by_key.setdefault(f["key"], []).append(int(f["outbox_id"]))
    assert all(ids == sorted(ids) for ids in by_key.values())


def test_embedded_dispatcher_applies_each_message_once(
    engine: Engine, ctx: Any, ingest: Any
) -> None:
    ingest(*cart_adds(50))
    while dispatch_once(engine, limit=17):
        pass
    assert intents(engine, ctx.brand_id) == expected_intents(50)
    ingest(*cart_adds(50))  # the same events again: duplicates, no new messages
    assert dispatch_once(engine) == 0
    with transaction(engine) as s:
        unsent = s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
        )
    assert unsent == 0
