"""Webhook benchmark: durable Shopify deliveries/s through `constintel serve`, beside the limit.

    python bench/webhooks.py [--seconds 20] [--connections 32] [--workers 1]

On a fresh PostgreSQL database (admin URL ``CONSTINTEL_TEST_POSTGRES_URL``) with one brand, it
starts ``python -m constintel serve`` as a child process and measures, in one run:

1. ``GET /healthz`` with the same load generator and concurrency: the reference limit of this
   server process on this machine (HTTP parsing, routing, JSON; no database);
2. correctly signed Shopify ``orders/create`` deliveries (each a distinct generated order with
   its own ``X-Shopify-Webhook-Id``, signed before the clock starts) from ``--connections``
   keep-alive connections for ``--seconds``: deliveries/s answered 200 ``"accepted"`` (each one
   committed to the inbox before the answer, so durable) and their latency p50/p99;
3. the drain: after the load stops, how long until every accepted delivery is processed into
   profiles (``webhook_delivery.processed_at`` set), and that none is missing;
4. profile lookups by email (``GET /api/v1/profiles?email=``, emails of the orders sent) at a
   fixed ``--lookup-rate`` per second (open loop; latency counted from the scheduled send time,
   so a stall is not hidden), beside ``GET /healthz`` at the same rate through the same client.

The load generator is ``wrk`` (with a Lua script) when it is installed, else a Python asyncio
client in a separate process (which can itself be the bottleneck); the output says which. The
generator, the server and PostgreSQL share this machine's cores, so the figures are a floor.
Server CPU is read from /proc (seconds of CPU per second of wall clock, all its processes).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psycopg

from constintel.brands import credentials
from constintel.brands import service as brands
from constintel.db import migrate
from constintel.db.session import libpq_url, make_engine, transaction
from constintel.ingest.generator import GeneratorConfig, generate

PG_ADMIN = libpq_url(
    os.environ.get("CONSTINTEL_TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/postgres")
)
TARGET_RATE = 1_500  # deliveries/s
TARGET_P99_MS = 50.0
TARGET_LOOKUP_P95_MS = 10.0
CLK_TCK = os.sysconf("SC_CLK_TCK")

# wrk script: every thread reads its own file of pre-signed bodies ("signature<TAB>body" lines),
# gives each request a unique delivery id, and counts the answers; done() prints one JSON line.
LUA = r"""
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  mode = args[1]
  ok, accepted, duplicate, other, sent, wrapped = 0, 0, 0, 0, 0, 0
  if mode == "webhook" then
    url_path, run = args[2], args[3]
    sigs, bodies = {}, {}
    for line in io.lines(args[4] .. "/bodies-" .. tid .. ".tsv") do
      local tab = line:find("\t", 1, true)
      sigs[#sigs + 1] = line:sub(1, tab - 1)
      bodies[#bodies + 1] = line:sub(tab + 1)
    end
  end
end

function request()
  if mode ~= "webhook" then
    return wrk.request()
  end
  local i = sent % #bodies + 1
  if sent >= #bodies then wrapped = wrapped + 1 end
  sent = sent + 1
  return wrk.format("POST", url_path, {
    ["Content-Type"] = "application/json",
    ["X-Shopify-Topic"] = "orders/create",
    ["X-Shopify-Shop-Domain"] = "bench.myshopify.com",
    ["X-Shopify-Hmac-Sha256"] = sigs[i],
    ["X-Shopify-Webhook-Id"] = run .. "-" .. tid .. "-" .. sent,
  }, bodies[i])
end

function response(status, headers, body)
  if status ~= 200 then
    other = other + 1
  elseif mode ~= "webhook" then
    ok = ok + 1
  elseif body:find('"accepted"', 1, true) then
    accepted = accepted + 1
  elseif body:find('"duplicate"', 1, true) then
    duplicate = duplicate + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local t = {ok = 0, accepted = 0, duplicate = 0, other = 0, wrapped = 0}
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + thread:get(k) end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK-RESULT {"requests": %d, "duration_us": %d, "ok": %d, "accepted": %d, ' ..
    '"duplicate": %d, "other": %d, "wrapped": %d, "socket_errors": %d, "non_2xx": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, t.ok, t.accepted, t.duplicate, t.other, t.wrapped,
    e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


@dataclass
class LoadResult:
    """One closed-loop phase (fixed concurrency, as fast as the server answers)."""

    label: str
    generator: str
    seconds: float
    requests: int
    good: int  # 200 (health) or 200 "accepted" (webhooks)
    duplicate: int = 0
    failed: int = 0
    wrapped: int = 0  # requests that re-used a body (still a distinct delivery id)
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    server_cpu: float = 0.0  # CPU-seconds per wall second, server processes only

    @property
    def rate(self) -> float:
        return self.good / self.seconds if self.seconds else 0.0


@dataclass
class RateResult:
    """One open-loop phase (fixed request rate)."""

    label: str
    rate: float
    sent: int
    ok: int
    found: int
    latencies_ms: list[float] = field(default_factory=list)

    def pct(self, q: float) -> float:
        data = sorted(self.latencies_ms)
        if not data:
            return float("nan")
        return data[min(len(data) - 1, int(q / 100 * len(data)))]


# -- database and brand -----------------------------------------------------------------------


def fresh_postgres() -> tuple[str, str]:
    name = f"constintel_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def drop_postgres(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_brand(url: str) -> tuple[str, str, str]:
    """(brand id, API key, Shopify secret) of a new brand."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    with transaction(engine) as session:
        brand = brands.create(session, name="bench")
        key = credentials.issue_key(session, brand_id=brand.id).key
        secret = credentials.set_secret(session, brand_id=brand.id, source="shopify").secret
        brand_id = brand.id
    engine.dispose()
    return brand_id, key, secret


# -- payloads ---------------------------------------------------------------------------------


def shopify_orders(count: int, seed: int) -> list[bytes]:
    """``count`` distinct generated Shopify orders/create bodies (real payload shape)."""
    config = GeneratorConfig(
        orders=count,
        days=365,
        seed=seed,
        source_weights=(("shopify", 1.0),),
        paid_topic_rate=0.0,
        fulfill_rate=0.0,
        cancel_rate=0.0,
        refund_rate=0.0,
        redelivery_rate=0.0,
        junk_rate=0.0,
        web_session_rate=0.0,
        message_rate=0.0,
        browse_noise_rate=0.0,
    )
    bodies = [
        orjson.dumps(env["payload"])
        for env in generate(config)
        if env["source"] == "shopify" and env["topic"] == "orders/create"
    ]
    return bodies[:count]


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def write_request_files(folder: Path, secret: str, bodies: list[bytes], threads: int) -> None:
    """Per wrk thread, its share of the bodies, each with its signature (computed here, before
    any clock starts)."""
    files = [(folder / f"bodies-{n}.tsv").open("wb") for n in range(threads)]
    try:
        for n, body in enumerate(bodies):
            if b"\n" in body or b"\t" in body:  # orjson escapes both inside strings
                raise ValueError("a body with a raw newline or tab cannot go in the TSV")
            files[n % threads].write(sign(secret, body).encode() + b"\t" + body + b"\n")
    finally:
        for fh in files:
            fh.close()


def emails_of(bodies: list[bytes]) -> list[str]:
    out = []
    for body in bodies:
        order = orjson.loads(body)
        email = (order.get("customer") or {}).get("email") or order.get("email")
        if email:
            out.append(str(email))
    return out


# -- the server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_drain(url: str, log: Path, nice: int = 0) -> subprocess.Popen[bytes]:
    """`constintel drain` as its own process (with `serve --no-drain`), at a lower CPU
    priority by ``nice``: on a machine shared with the server, the catching-up drain yields
    to the acceptance path (where the latency target is), as it would on its own node."""
    env = {**os.environ, "CONSTINTEL_DATABASE_URL": url}
    with log.open("wb") as out:
        return subprocess.Popen(
            ["nice", "-n", str(nice), sys.executable, "-m", "constintel", "drain"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def start_server(
    url: str, port: int, workers: int, log: Path, *, drain: bool = True
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CONSTINTEL_DATABASE_URL": url}
    if not drain:  # the drain process also publishes the outbox (production layout)
        env["CONSTINTEL_SERVE_DRAIN"] = "false"
        env["CONSTINTEL_SERVE_OUTBOX"] = "false"
    with log.open("wb") as out:
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "constintel",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group: stopped as one, with its workers
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"the server exited ({child.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                if r.status == 200:
                    return child
        except OSError:
            pass
        time.sleep(0.2)
    stop_server(child)
    raise SystemExit(f"the server did not become ready in 60 s:\n{log.read_text()}")


def stop_server(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is not None:
        return
    os.killpg(child.pid, signal.SIGTERM)
    try:
        child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its descendants."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
        children: list[int] = []
        for task in Path(f"/proc/{pid}/task").iterdir():
            children += [int(c) for c in (task / "children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        return total
    return total + sum(process_tree_cpu(c) for c in children)


# -- load generators --------------------------------------------------------------------------


def run_wrk(
    label: str,
    base: str,
    path: str,
    seconds: int,
    connections: int,
    threads: int,
    script: Path,
    args: list[str],
    server_pid: int,
) -> LoadResult:
    cpu0 = process_tree_cpu(server_pid)
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            base + path,
            "--",
            *args,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    cpu = process_tree_cpu(server_pid) - cpu0
    line = next(x for x in out.stdout.splitlines() if x.startswith("WRK-RESULT "))
    r = json.loads(line.removeprefix("WRK-RESULT "))
    wall = r["duration_us"] / 1e6
    webhook = args[0] == "webhook"
    return LoadResult(
        label=label,
        generator=f"wrk -t{threads} -c{connections}",
        seconds=wall,
        requests=r["requests"],
        good=r["accepted"] if webhook else r["ok"],
        duplicate=r["duplicate"],
        failed=r["other"] + r["socket_errors"],
        wrapped=r["wrapped"],
        p50_ms=r["p50_us"] / 1000,
        p90_ms=r["p90_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        max_ms=r["max_us"] / 1000,
        server_cpu=cpu / wall,
    )


def _python_load_child(spec: dict[str, Any]) -> dict[str, Any]:
    """The asyncio generator (in its own process): ``connections`` keep-alive connections,
    each sending its next request as soon as the previous answer is read."""

    async def main() -> dict[str, Any]:
        host, port = spec["host"], spec["port"]
        requests: list[bytes] = spec["requests"]
        counter = 0
        lat: list[float] = []
        good = dup = failed = 0
        deadline = time.perf_counter() + spec["seconds"]

        async def conn() -> None:
            nonlocal counter, good, dup, failed
            reader, writer = await asyncio.open_connection(host, port)
            while time.perf_counter() < deadline:
                raw = requests[counter % len(requests)]
                counter += 1
                raw = raw.replace(b"{ID}", f"{spec['run']}-{counter}".encode())
                t0 = time.perf_counter()
                writer.write(raw)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for h in head.split(b"\r\n"):
                    if h.lower().startswith(b"content-length:"):
                        length = int(h.split(b":", 1)[1])
                body = await reader.readexactly(length)
                lat.append((time.perf_counter() - t0) * 1000)
                if not head.startswith(b"HTTP/1.1 200"):
                    failed += 1
                elif not spec["webhook"] or b'"accepted"' in body:
                    good += 1
                elif b'"duplicate"' in body:
                    dup += 1
                else:
                    failed += 1
            writer.close()

        started = time.perf_counter()
        await asyncio.gather(*(conn() for _ in range(spec["connections"])))
        wall = time.perf_counter() - started
        return {
            "seconds": wall,
            "requests": len(lat),
            "good": good,
            "duplicate": dup,
            "failed": failed,
            "lat": lat,
        }

    return asyncio.run(main())


def run_python(
    label: str,
    port: int,
    requests: list[bytes],
    seconds: int,
    connections: int,
    webhook: bool,
    server_pid: int,
) -> LoadResult:
    from concurrent.futures import ProcessPoolExecutor

    spec = {
        "host": "127.0.0.1",
        "port": port,
        "requests": requests,
        "seconds": seconds,
        "connections": connections,
        "webhook": webhook,
        "run": uuid.uuid4().hex[:8],
    }
    with ProcessPoolExecutor(1) as pool:
        cpu0 = process_tree_cpu(server_pid)
        r = pool.submit(_python_load_child, spec).result()
        cpu = process_tree_cpu(server_pid) - cpu0
    lat = sorted(r["lat"])

    def pct(q: float) -> float:
        return lat[min(len(lat) - 1, int(q / 100 * len(lat)))] if lat else float("nan")

    return LoadResult(
        label=label,
        generator=f"python asyncio (1 process) -c{connections}",
        seconds=r["seconds"],
        requests=r["requests"],
        good=r["good"],
        duplicate=r["duplicate"],
        failed=r["failed"],
        wrapped=max(0, r["requests"] - len(requests)) if webhook else 0,
        p50_ms=pct(50),
        p90_ms=pct(90),
        p99_ms=pct(99),
        max_ms=lat[-1] if lat else float("nan"),
        server_cpu=cpu / r["seconds"],
    )


def raw_requests(port: int, path: str, secret: str, bodies: list[bytes]) -> list[bytes]:
    out = []
    for body in bodies:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/json\r\nX-Shopify-Topic: orders/create\r\n"
            f"X-Shopify-Hmac-Sha256: {sign(secret, body)}\r\n"
            f"X-Shopify-Webhook-Id: {{ID}}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        out.append(head.encode() + body)
    return out


async def fixed_rate(
    label: str, base: str, path_of: list[str], rate: float, seconds: float, headers: dict[str, str]
) -> RateResult:
    """Send ``rate`` GET requests per second for ``seconds`` (open loop), cycling ``path_of``,
    over a pool of keep-alive connections with a minimal HTTP/1.1 client (raw asyncio
    streams), so the client adds as little as possible to the measured latency. Latency is
    counted from each request's scheduled time."""
    host, port = base.removeprefix("http://").split(":")
    total = int(rate * seconds)
    result = RateResult(label, rate, total, 0, 0)
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(16):
        pool.put_nowait(await asyncio.open_connection(host, int(port)))

    async def one(path: str, scheduled: float) -> None:
        reader, writer = await pool.get()
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode())
        await writer.drain()
        status = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        body = await reader.readexactly(length)
        pool.put_nowait((reader, writer))
        result.latencies_ms.append((time.perf_counter() - scheduled) * 1000)
        if b" 200 " in status:
            result.ok += 1
            if b'"items":[]' not in body:
                result.found += 1

    for n in range(20):  # warm up the connections
        await one(path_of[n % len(path_of)], time.perf_counter())
    result.latencies_ms.clear()
    result.ok = result.found = 0
    tasks = []
    start = time.perf_counter() + 0.05
    for n in range(total):
        scheduled = start + n / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(path_of[n % len(path_of)], scheduled)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        _, writer = pool.get_nowait()
        writer.close()
    return result


# -- drain ------------------------------------------------------------------------------------


def inbox_counts(url: str, brand_id: str) -> tuple[int, int]:
    """(deliveries stored, deliveries processed) for the brand."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*), count(processed_at) FROM webhook_delivery WHERE brand_id = %s",
            (brand_id,),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def wait_drained(url: str, brand_id: str, timeout: float) -> tuple[float, int, int]:
    """(seconds until every stored delivery was processed, stored, processed)."""
    started = time.perf_counter()
    while True:
        stored, processed = inbox_counts(url, brand_id)
        if processed >= stored or time.perf_counter() - started > timeout:
            return time.perf_counter() - started, stored, processed
        time.sleep(0.1)


def scalar(url: str, sql: str, *params: object) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


# -- report -----------------------------------------------------------------------------------


def print_report(
    loads: list[LoadResult], drain: tuple[float, int, int, int], rates: list[RateResult]
) -> None:
    print("\nclosed loop (as fast as answered)")
    print(
        f"  {'phase':<22} {'req/s':>9} {'good/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}"
        f" {'max ms':>8} {'failed':>7} {'srv CPU':>8}  generator"
    )
    for r in loads:
        print(
            f"  {r.label:<22} {r.requests / r.seconds:>9,.0f} {r.rate:>9,.0f} {r.p50_ms:>8.1f}"
            f" {r.p90_ms:>8.1f} {r.p99_ms:>8.1f} {r.max_ms:>8.1f} {r.failed:>7}"
            f" {r.server_cpu:>7.2f}c  {r.generator}"
        )
    seconds, stored, processed, accepted = drain
    print(
        f"\ndrain: {processed:,}/{stored:,} stored deliveries processed, "
        f"{accepted:,} answered 'accepted'; all processed {seconds:.1f} s after the load stopped"
    )
    print("\nopen loop (fixed rate)")
    print(
        f"  {'phase':<30} {'rate':>6} {'sent':>6} {'200':>6} {'found':>6}"
        f" {'p50':>7} {'p95':>7} {'p99':>7}"
    )
    for q in rates:
        print(
            f"  {q.label:<30} {q.rate:>6.0f} {q.sent:>6} {q.ok:>6} {q.found:>6}"
            f" {q.pct(50):>7.2f} {q.pct(95):>7.2f} {q.pct(99):>7.2f}  (ms)"
        )
    hooks = next((r for r in loads if r.label.startswith("webhooks")), None)
    lookup = next((q for q in rates if "email" in q.label), None)
    print("\ntargets")
    if hooks:
        ok = hooks.rate >= TARGET_RATE and hooks.p99_ms < TARGET_P99_MS
        print(
            f"  deliveries >= {TARGET_RATE:,}/s with p99 < {TARGET_P99_MS:.0f} ms: "
            f"{hooks.rate:,.0f}/s, p99 {hooks.p99_ms:.1f} ms -> {'met' if ok else 'NOT met'}"
        )
    if lookup:
        ok = lookup.pct(95) < TARGET_LOOKUP_P95_MS
        print(
            f"  lookups p95 < {TARGET_LOOKUP_P95_MS:.0f} ms at {lookup.rate:.0f}/s: "
            f"{lookup.pct(95):.2f} ms -> {'met' if ok else 'NOT met'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=20, help="per closed-loop phase")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=1, help="passed to `constintel serve`")
    parser.add_argument(
        "--drain-process",
        action="store_true",
        help="run `serve --no-drain` plus a separate `constintel drain` process (production "
        "layout) instead of draining inside the server",
    )
    parser.add_argument(
        "--bodies",
        type=int,
        default=0,
        help="distinct orders to pre-sign (default: 4,000 per second of --seconds); past that, "
        "bodies are re-sent under new delivery ids",
    )
    parser.add_argument(
        "--drain-nice", type=int, default=10, help="nice level of the drain process (0: none)"
    )
    parser.add_argument("--lookup-rate", type=float, default=100.0)
    parser.add_argument(
        "--settle-seconds",
        type=float,
        default=10.0,
        help="pause between the webhook burst (drained and dispatched) and the look-ups",
    )
    parser.add_argument("--lookup-seconds", type=float, default=10.0)
    parser.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    args = parser.parse_args()

    use_wrk = args.generator == "wrk" or (args.generator == "auto" and shutil.which("wrk"))
    if args.generator == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    count = args.bodies or 4_000 * args.seconds
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)

    t0 = time.perf_counter()
    bodies = shopify_orders(count, args.seed)
    print(
        f"generated {len(bodies):,} Shopify orders/create bodies "
        f"(mean {statistics.mean(len(b) for b in bodies):,.0f} bytes) "
        f"in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    name, url = fresh_postgres()
    server: subprocess.Popen[bytes] | None = None
    drainer: subprocess.Popen[bytes] | None = None
    try:
        brand_id, api_key, secret = make_brand(url)
        with tempfile.TemporaryDirectory(prefix="constintel-bench-") as tmp:
            work = Path(tmp)
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            hook_path = f"/webhooks/shopify/{brand_id}"
            t0 = time.perf_counter()
            if use_wrk:
                write_request_files(work, secret, bodies, args.threads)
                script = work / "bench.lua"
                script.write_text(LUA)
            else:
                raw = raw_requests(port, hook_path, secret, bodies)
                health_raw = [f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()]
            print(f"signed {len(bodies):,} bodies in {time.perf_counter() - t0:.1f} s", flush=True)

            server = start_server(
                url, port, args.workers, work / "server.log", drain=not args.drain_process
            )
            if args.drain_process:
                drainer = start_drain(url, work / "drain.log", nice=args.drain_nice)
            layout = (
                f"separate drain process, nice {args.drain_nice}"
                if args.drain_process
                else "drain in the server"
            )
            print(
                f"server pid {server.pid} on {base} (--workers {args.workers}, {layout}), ready",
                flush=True,
            )
            run = uuid.uuid4().hex[:8]
            loads: list[LoadResult] = []
            for label, webhook in (("GET /healthz", False), ("webhooks orders/create", True)):
                print(
                    f"{label}: {args.seconds} s at {args.connections} connections ...", flush=True
                )
                if use_wrk:
                    result = run_wrk(
                        label,
                        base,
                        hook_path if webhook else "/healthz",
                        args.seconds,
                        args.connections,
                        args.threads,
                        script,
                        ["webhook", hook_path, run, str(work)] if webhook else ["plain"],
                        server.pid,
                    )
                else:
                    result = run_python(
                        label,
                        port,
                        raw if webhook else health_raw,
                        args.seconds,
                        args.connections,
                        webhook,
                        server.pid,
                    )
                loads.append(result)
                print(
                    f"  {result.good:,} good of {result.requests:,} in {result.seconds:.1f} s",
                    flush=True,
                )
            accepted = loads[-1].good
            seconds, stored, processed = wait_drained(url, brand_id, timeout=600)
            drain = (seconds, stored, processed, accepted)
            profiles = scalar(
                url, "SELECT count(*) FROM customer_profile WHERE brand_id = %s", brand_id
            )
            print(f"drained in {seconds:.1f} s; {profiles:,} profiles", flush=True)
            # Lookups are measured on a settled service: once the downstream handlers have
            # caught up with the outbox the load left behind.
            settle = time.perf_counter()
            while scalar(url, "SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
                time.sleep(0.2)
            print(f"outbox dispatched {time.perf_counter() - settle:.1f} s later", flush=True)
            # PostgreSQL is still writing back the burst's pages for a few seconds (checkpoint):
            # the look-ups are measured on a service at rest, as their target is stated.
            time.sleep(args.settle_seconds)

            sent = len(bodies) if loads[-1].requests >= len(bodies) else loads[-1].requests
            emails = emails_of(bodies[: max(1, sent)])
            lookups = [f"/api/v1/profiles?email={urllib.parse.quote(e)}" for e in emails]
            auth = {"Authorization": f"Bearer {api_key}"}
            rates = [
                asyncio.run(
                    fixed_rate(
                        "GET /healthz",
                        base,
                        ["/healthz"],
                        args.lookup_rate,
                        args.lookup_seconds,
                        auth,
                    )
                ),
                asyncio.run(
                    fixed_rate(
                        "GET /api/v1/profiles?email=",
                        base,
                        lookups,
                        args.lookup_rate,
                        args.lookup_seconds,
                        auth,
                    )
                ),
            ]
            stop_server(server)
            if drainer is not None:
                stop_server(drainer)
            log = (work / "server.log").read_text()
            print_report(loads, drain, rates)
            if "Traceback" in log or "ERROR" in log:
                print("\nserver log (errors):\n" + log[-4000:])
            print(
                "\nnote: the generator, the server and PostgreSQL share this machine "
                f"({os.cpu_count()} CPUs) with whatever else runs on it; the lookup client is "
                "Python (httpx), its own overhead is in the /healthz row."
            )
    finally:
        if server is not None:
            stop_server(server)
        if drainer is not None:
            stop_server(drainer)
        if args.keep_db:
            print(f"kept database {name}: {url}")
        else:
            drop_postgres(name)


if __name__ == "__main__":
    main()
