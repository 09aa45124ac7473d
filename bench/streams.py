"""Streams benchmark: relay and worker throughput, and webhook-to-handler latency, beside Redis.

    python bench/streams.py [--messages 100000] [--rate 1000] [--seconds 30]

On a fresh PostgreSQL database (admin URL ``CONSTINTEL_TEST_POSTGRES_URL``) and the real Redis
(``CONSTINTEL_TEST_REDIS_URL``, default redis://127.0.0.1:6379/0, a fresh key prefix), in one
run:

1. the raw limit of this Redis from Python: ``XADD`` of ``--messages`` entries of the relay's
   size (pipelined, 1,000 per round trip), then ``XREADGROUP`` + ``XACK`` of all of them;
2. the relay: ``--messages`` outbox rows (``events.normalized`` of generated events, written
   with COPY before the clock starts) published by ``relay_once`` until the backlog is 0;
3. a worker (``intents`` group, real handler, exactly-once ledger) consuming them;
4. end to end: ``constintel serve`` (with Redis: its outbox pump is the relay) and a
   ``constintel worker`` process; signed Shopify orders are sent at ``--rate`` per second
   (open loop, raw HTTP/1.1 over 32 keep-alive connections) for ``--seconds``; for each
   delivery, the time from its 200 to its ``events.normalized`` message applied by the
   ``intents`` handler (``handled_message.handled_at``): p50/p99.

Before and after step 4 it times a fixed pure-Python loop: the machine's speed at that
moment, since its cores are shared and the latency follows it.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
import redis
import uvloop

import webhooks as wh  # type: ignore[import-not-found]  # bench/webhooks.py helpers
from constintel.core.clock import utcnow
from constintel.db.session import make_engine, transaction
from constintel.events.schemas import CanonicalEvent, Channel, EventType
from constintel.streams import outbox
from constintel.streams.handlers import HANDLERS
from constintel.streams.redis_io import StreamNames
from constintel.streams.relay import backlog, relay_once
from constintel.streams.worker import Worker

REDIS_URL = os.environ.get("CONSTINTEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def windows(latencies: list[tuple[float, float]], seconds: float) -> list[list[float]]:
    """The latencies (ms) of each ``seconds`` of traffic, in order, by acceptance time."""
    first = min(at for at, _ in latencies)
    by_window: dict[int, list[float]] = {}
    for at, ms in latencies:
        by_window.setdefault(int((at - first) // seconds), []).append(ms)
    return [by_window[k] for k in sorted(by_window)]


def cpu_probe() -> float:
    """Seconds for a 10,000,000-step pure-Python loop: this machine's speed at the moment
    (its cores are shared with other machines; the same code's latency follows it)."""
    started = time.perf_counter()
    total = 0
    for step in range(10_000_000):
        total += step
    return time.perf_counter() - started


def raw_redis(
    client: redis.Redis, prefix: str, n: int, fields: dict[str, str]
) -> tuple[float, float]:
    """(XADD/s, XREADGROUP+XACK/s) for n entries of the given fields."""
    stream = f"{prefix}raw"
    started = time.perf_counter()
    for start in range(0, n, 1000):
        pipe = client.pipeline(transaction=False)
        for _ in range(min(1000, n - start)):
            pipe.xadd(stream, fields)  # type: ignore[arg-type]
        pipe.execute()
    add_rate = n / (time.perf_counter() - started)
    client.xgroup_create(stream, "g", id="0")
    started = time.perf_counter()
    read = 0
    while read < n:
        reply: Any = client.xreadgroup("g", "c", {stream: ">"}, count=1000)
        entries = reply[0][1] if reply else []
        if not entries:
            break
        client.xack(stream, "g", *[rid for rid, _ in entries])
        read += len(entries)
    return add_rate, read / (time.perf_counter() - started)


def write_outbox(url: str, brand_id: str, n: int) -> None:
    engine = make_engine(url)
    now = utcnow()
    rows = []
    for k in range(n):
        event = CanonicalEvent(
            source="api",
            event_type=EventType.CART_ADD,
            occurred_at=now,
            channel=Channel.WEB,
            properties={"product_id": f"P{k % 50}"},
        )
        rows.append(
            outbox.normalized(brand_id, str(uuid.uuid4()), f"profile-{k % 5000}", event, now)
        )
    with transaction(engine) as session:
        outbox.write(session, rows)
    engine.dispose()


def phase_relay_and_worker(
    url: str, brand_id: str, n: int, names: StreamNames
) -> tuple[float, float]:
    engine = make_engine(url)
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    started = time.perf_counter()
    while backlog(engine):
        relay_once(engine, client, names)
    relay_rate = n / (time.perf_counter() - started)
    worker = Worker(
        engine, client, names, HANDLERS["intents"], consumer="bench", batch=1000, block_ms=50
    )
    worker.ensure_groups()
    started = time.perf_counter()
    done = 0
    while done < n:
        got = worker.run_once()
        if got == 0:
            break
        done += got
    worker_rate = done / (time.perf_counter() - started)
    engine.dispose()
    return relay_rate, worker_rate


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection of the load client: one request at a time, the
    response parsed straight from the bytes (status line and Content-Length only)."""

    def __init__(self, client: _Client) -> None:
        self.client = client
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.delivery = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.client.live += 1
        self.client.ready(self)

    def send(self, delivery: str, request: bytes) -> None:
        assert self.transport is not None
        self.delivery = delivery
        self.transport.write(request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.client.lost(self, exc)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end]
            at = head.lower().find(b"content-length:")
            length = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            if head.startswith(b"HTTP/1.1 200"):
                self.client.accepted[self.delivery] = time.time()
            self.delivery = ""
            self.client.answered(self)


class _Client:
    def __init__(self, total: int) -> None:
        self.accepted: dict[str, float] = {}
        # Used in turn (first idle, first used), so none sits idle past the server's
        # keep-alive timeout.
        self.idle: collections.deque[_Connection] = collections.deque()
        self.waiting: collections.deque[tuple[str, bytes]] = collections.deque()
        self.left = total
        self.live = 0  # open connections
        self.finished = asyncio.get_running_loop().create_future()

    def ready(self, conn: _Connection) -> None:
        if self.waiting:
            conn.send(*self.waiting.popleft())
        else:
            self.idle.append(conn)

    def answered(self, conn: _Connection) -> None:
        self.left -= 1
        if self.left == 0 and not self.finished.done():
            self.finished.set_result(None)
        self.ready(conn)

    def submit(self, delivery: str, request: bytes) -> None:
        if self.idle:
            self.idle.popleft().send(delivery, request)
        else:
            self.waiting.append((delivery, request))

    def lost(self, conn: _Connection, exc: Exception | None) -> None:
        """A connection closed: fine when idle (the server's keep-alive timeout), an error
        with a request in flight or none left to send on."""
        if conn in self.idle:
            self.idle.remove(conn)
        if self.finished.done() or self.left == 0:
            return
        self.live -= 1
        if conn.delivery or not self.live:
            self.finished.set_exception(
                ConnectionError(f"the server closed a connection ({exc}) with requests left")
            )


async def open_loop(
    port: int, requests: list[bytes], rate: float, connections: int = 32
) -> dict[str, float]:
    """Send the requests at ``rate``/s over ``connections`` keep-alive connections; returns
    {delivery id: wall-clock time of its 200}. The client is a bare protocol (no streams),
    so it takes as little as it can of the CPUs it shares with what it measures."""
    loop = asyncio.get_running_loop()
    client = _Client(len(requests))
    for _ in range(connections):
        await loop.create_connection(lambda: _Connection(client), "127.0.0.1", port)
    start = time.perf_counter()
    for n, request in enumerate(requests):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        delivery = f"bench-{n}"
        client.submit(delivery, request.replace(b"{ID}", delivery.encode()))
    await client.finished
    for conn in list(client.idle):
        if conn.transport is not None:
            conn.transport.close()
    return client.accepted


def wait_for_line(log: Path, text: str, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while text not in log.read_text(errors="replace"):
        if child.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"not ready ({child.returncode}):\n{log.read_text()}")
        time.sleep(0.05)


def end_to_end(
    url: str,
    brand_id: str,
    secret: str,
    rate: float,
    seconds: float,
    work: Path,
    names: StreamNames,
) -> tuple[list[tuple[float, float]], int, int]:
    env = {
        **os.environ,
        "CONSTINTEL_REDIS_URL": REDIS_URL,
        "CONSTINTEL_STREAM_PREFIX": names.prefix,
    }
    os.environ.update(env)  # the server and the worker read these
    port = wh.free_port()
    count = int(rate * seconds)
    bodies = wh.shopify_orders(count, seed=7)
    order_of = {f"bench-{n}": str(orjson.loads(b)["id"]) for n, b in enumerate(bodies)}
    requests = wh.raw_requests(port, f"/webhooks/shopify/{brand_id}", secret, bodies)
    # The production layout: serve answers webhooks; a drain process resolves them and relays
    # the outbox right after each batch; a worker runs the handlers.
    os.environ["CONSTINTEL_SERVE_OUTBOX"] = "false"
    server = wh.start_server(url, port, 1, work / "server.log", drain=False)
    drainer = wh.start_drain(url, work / "drain.log")
    with (work / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "constintel", "worker", "--group", "intents"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**env, "CONSTINTEL_DATABASE_URL": url},
            start_new_session=True,
        )
    try:
        # Traffic starts when every process says it is ready (as a load balancer would wait
        # for readiness), then a moment for the drain's warm-up in its first step.
        wait_for_line(work / "drain.log", "draining the webhook inbox", drainer)
        wait_for_line(work / "worker.log", "worker ", worker)
        time.sleep(0.5)
        phase_start = datetime.now(UTC)
        # uvloop (the server's own loop) keeps the client's share of the two cores small.
        accepted = uvloop.run(open_loop(port, requests, rate))
        deadline = time.monotonic() + 60
        handled_at: dict[str, float] = {}
        with psycopg.connect(url, autocommit=True) as conn:
            # Wait with a cheap count (the ledger's index) while the last deliveries are in
            # flight: the join below reads every message of the run, and polling with it
            # would slow down the very deliveries it waits for.
            while time.monotonic() < deadline:
                done = conn.execute(
                    "SELECT count(*) FROM handled_message WHERE consumer_group = 'intents'"
                ).fetchone()
                if done is not None and done[0] >= len(accepted):
                    rows = conn.execute(
                        "SELECT o.payload->>'order_id', h.handled_at FROM handled_message h "
                        "JOIN outbox o ON o.id = h.outbox_id "
                        "WHERE h.consumer_group = 'intents' AND o.stream = 'events.normalized'"
                    ).fetchall()
                    handled_at = {order: at.timestamp() for order, at in rows}
                    if len(handled_at) >= len(accepted):
                        break
                time.sleep(0.2)
            # Where the time goes, for this phase's messages only.
            stages = {
                "inbox: received -> resolved": "SELECT extract(epoch FROM processed_at - "
                "received_at) * 1000 FROM webhook_delivery WHERE received_at >= %s",
                "outbox: written -> relayed": "SELECT extract(epoch FROM sent_at - created_at) "
                "* 1000 FROM outbox WHERE stream = 'events.normalized' AND created_at >= %s",
                "stream: relayed -> handled": "SELECT extract(epoch FROM h.handled_at - o.sent_at)"
                " * 1000 FROM handled_message h JOIN outbox o ON o.id = h.outbox_id "
                "WHERE h.consumer_group = 'intents' AND o.created_at >= %s",
            }
            for label, sql in stages.items():
                rows_ms = conn.execute(sql, (phase_start,)).fetchall()
                values = [float(v) for (v,) in rows_ms if v is not None]
                p50, p99 = pct(values, 0.5), pct(values, 0.99)
                print(f"  {label:<30} p50 {p50:7.0f} ms  p99 {p99:7.0f} ms", flush=True)
    finally:
        wh.stop_server(worker)
        wh.stop_server(drainer)
        wh.stop_server(server)
    # (accepted at, ms from accepted to handled) per delivery
    latencies = [
        (t, (handled_at[order_of[d]] - t) * 1000)
        for d, t in accepted.items()
        if order_of[d] in handled_at
    ]
    return latencies, len(accepted), len(handled_at)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument(
        "--seconds", type=float, default=30.0, help="seconds of webhook traffic (end to end)"
    )
    args = parser.parse_args()
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    names = StreamNames(f"constintel-bench-{uuid.uuid4().hex[:8]}:")
    name, url = wh.fresh_postgres()
    try:
        brand_id, _, secret = wh.make_brand(url)
        sample = {"outbox_id": "1", "brand_id": brand_id, "key": "k" * 36, "data": "x" * 330}
        add_rate, read_rate = raw_redis(client, names.prefix, args.messages, sample)
        write_outbox(url, brand_id, args.messages)
        relay_rate, worker_rate = phase_relay_and_worker(url, brand_id, args.messages, names)
        import tempfile

        probe_before = cpu_probe()
        with tempfile.TemporaryDirectory() as tmp:
            latencies, accepted, handled = end_to_end(
                url, brand_id, secret, args.rate, args.seconds, Path(tmp), names
            )
        probe_after = cpu_probe()
        print(f"\n{args.messages:,} messages; Redis {REDIS_URL}")
        rows = [
            ("raw XADD (pipelined)", add_rate, "limit, same run"),
            ("raw XREADGROUP + XACK", read_rate, "limit, same run"),
            ("relay outbox -> streams", relay_rate, "target >= 20,000"),
            ("worker (intents, exactly once)", worker_rate, ""),
        ]
        for label, rate, note in rows:
            print(f"  {label:<32}{rate:>10,.0f} msgs/s   {note}")
        print(
            f"\nend to end at {args.rate:,.0f} webhooks/s for {args.seconds:.0f} s: "
            f"{accepted:,} accepted, {handled:,} handled"
        )
        if latencies:
            all_ms = [ms for _, ms in latencies]
            p50, p99 = pct(all_ms, 0.5), pct(all_ms, 0.99)
            print(
                f"  accepted -> handler done: p50 {p50:.0f} ms, p99 {p99:.0f} ms, "
                f"max {max(all_ms):.0f} ms (target p99 < 250 ms)"
            )
            # Drift shows here: latency growing with the tables (stale plans, say).
            print(
                "  p99 per 5 s of traffic (by acceptance): "
                + ", ".join(f"{pct(w, 0.99):.0f}" for w in windows(latencies, 5))
            )
            print(
                "  slowest per second of traffic: "
                + ", ".join(f"{max(w):.0f}" for w in windows(latencies, 1))
            )
        print(
            f"  CPU probe (10,000,000-step Python loop, alone): {probe_before:.2f} s before, "
            f"{probe_after:.2f} s after (the machine's speed; compare runs by it)"
        )
        when = datetime.now(UTC)
        print(
            f"\n(measured {when:%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPUs shared by the client, "
            "server, drain, worker, PostgreSQL and Redis)"
        )
    finally:
        keys = list(client.scan_iter(match=f"{names.prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        wh.drop_postgres(name)


if __name__ == "__main__":
    main()
