"""Ingestion benchmark: `constintel import` of generated events, beside the raw limit.

    python bench/ingest.py [--events 1000000] [--backend sqlite|postgres|both]

For each backend it
1. imports the generated envelope JSONL with the real CLI (`python -m constintel import`) in a
   child process on a fresh database, and reports events/s and the child's peak RSS;
2. measures the physical limit in the same run: the same events' raw rows (the
   ``customer_raw_event`` columns: ids, source, topic, type, JSON payload, times) written with
   one ``executemany`` into SQLite, or ``COPY`` into PostgreSQL, with no resolution at all.

The gap between the two is what identity resolution, order state and statistics cost.

3. the floor of any import of these events, measured once: the prepare stage alone (JSON
   decoding, the source adapters, identifier normalization, dedupe keys; no database), in this
   process on the first ``--prepare-sample`` events, as events/s on one core. Every event goes
   through it, so twice that figure bounds what the two cores of this machine could import
   even if writing cost nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psycopg

from constintel.db import migrate
from constintel.db.session import libpq_url, make_engine
from constintel.ingest.generator import GeneratorConfig, generate_jsonl

# psycopg takes a libpq URL: the SQLAlchemy form (postgresql+psycopg://) is accepted too.
PG_ADMIN = libpq_url(
    os.environ.get("CONSTINTEL_TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/postgres")
)
ENVELOPES_PER_ORDER_GUESS = 3.0
RAW_BATCH = 10_000


def write_events(path: Path, events: int, seed: int) -> int:
    """Generate at least ``events`` envelopes (stopping at exactly that many)."""
    orders = max(1, int(events / ENVELOPES_PER_ORDER_GUESS) + 1)
    written = 0
    with path.open("wb") as fh:
        while written < events:
            for line in generate_jsonl(GeneratorConfig(orders=orders, days=365, seed=seed)):
                fh.write(line)
                written += 1
                if written >= events:
                    break
            seed += 1  # a second pass (if the guess was short) must not repeat the first
    return written


def raw_rows(path: Path) -> Iterator[tuple[object, ...]]:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    with path.open("rb") as fh:
        for line in fh:
            env = orjson.loads(line)
            yield (
                str(uuid.uuid4()),
                env["source"],
                env.get("topic"),
                "purchase",
                orjson.dumps(env["payload"]).decode(),
                os.urandom(32).hex(),
                now,
                now,
            )


RAW_COLUMNS = "id, source, topic, event_type, payload, dedupe_key, occurred_at, created_at"


def raw_chunks(path: Path) -> Iterator[list[tuple[object, ...]]]:
    chunk: list[tuple[object, ...]] = []
    for row in raw_rows(path):
        chunk.append(row)
        if len(chunk) >= RAW_BATCH:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def raw_sqlite(path: Path, db: Path) -> float:
    """Seconds spent in executemany + commit only (rows are built outside the clock)."""
    import sqlite3

    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE raw_event (id TEXT PRIMARY KEY, source TEXT, topic TEXT, event_type TEXT,"
        " payload TEXT, dedupe_key TEXT UNIQUE, occurred_at TEXT, created_at TEXT)"
    )
    insert = f"INSERT INTO raw_event ({RAW_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)"
    elapsed = 0.0
    for chunk in raw_chunks(path):
        started = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany(insert, chunk)
        conn.execute("COMMIT")
        elapsed += time.perf_counter() - started
    conn.close()
    return elapsed


def raw_postgres(path: Path, url: str) -> float:
    """Seconds spent in COPY + commit only (rows are built outside the clock)."""
    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TABLE raw_event (id text PRIMARY KEY, source text, topic text,"
            " event_type text, payload jsonb, dedupe_key text UNIQUE,"
            " occurred_at timestamptz, created_at timestamptz)"
        )
        conn.commit()
        elapsed = 0.0
        for chunk in raw_chunks(path):
            started = time.perf_counter()
            with (
                conn.cursor() as cur,
                cur.copy(f"COPY raw_event ({RAW_COLUMNS}) FROM STDIN") as copy,
            ):
                for row in chunk:
                    copy.write_row(row)
            conn.commit()
            elapsed += time.perf_counter() - started
        return elapsed


def prepare_floor(path: Path, sample: int) -> tuple[int, float]:
    """(events, seconds) of decoding and preparing the first ``sample`` events in-process."""
    import gc
    import itertools

    from constintel.brands.models import Brand
    from constintel.bulk.reader import jsonl_lines, parse_jsonl_line
    from constintel.pipeline import BrandContext, Envelope, prepare_batch

    brand = Brand(
        id="bench", name="bench", default_region="US", currency="USD", settings={}, timezone="UTC"
    )
    ctx = BrandContext.of(brand)
    lines = list(itertools.islice(jsonl_lines(path), sample))
    gc.freeze()  # as the importer does: the cyclic collector has nothing to find here
    started = time.perf_counter()
    envelopes = [e for e in map(parse_jsonl_line, lines) if isinstance(e, Envelope)]
    for i in range(0, len(envelopes), 1000):
        prepare_batch(envelopes[i : i + 1000], ctx)
    elapsed = time.perf_counter() - started
    gc.unfreeze()
    return len(lines), elapsed


def import_with_cli(path: Path, url: str) -> tuple[float, int, str]:
    """(seconds, the child's own peak RSS in KiB, its summary output)."""
    env = {**os.environ, "CONSTINTEL_DATABASE_URL": url, "COLUMNS": "120"}
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "constintel", "import", str(path), "--quiet"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if child.returncode != 0:
        raise SystemExit(f"import failed ({child.returncode}):\n{text}")
    return elapsed, usage.ru_maxrss, text


def fresh_postgres() -> tuple[str, str]:
    name = f"constintel_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return name, PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def drop_postgres(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def report(backend: str, events: int, seconds: float, peak_kib: int, raw_seconds: float) -> str:
    rate, raw_rate = events / seconds, events / raw_seconds
    raw_kind = "executemany" if backend == "sqlite" else "COPY"
    return (
        f"{backend:<10} {events:>10,} events  import {rate:>9,.0f} events/s ({seconds:7.1f} s)  "
        f"peak RSS {peak_kib / 1024:7.1f} MiB  |  raw {raw_kind} "
        f"{raw_rate:>9,.0f} rows/s  ({rate / raw_rate:.1%} of raw)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--prepare-sample", type=int, default=50_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="constintel-bench-") as tmp:
        work = Path(tmp)
        data = work / "events.jsonl"
        t0 = time.perf_counter()
        events = write_events(data, args.events, args.seed)
        print(
            f"generated {events:,} envelopes ({data.stat().st_size / 2**20:.0f} MiB) "
            f"in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        lines: list[str] = []
        n, elapsed = prepare_floor(data, min(args.prepare_sample, events))
        lines.append(
            f"prepare only (decode, adapters, identifiers; no database) {n / elapsed:>9,.0f} "
            f"events/s on one core ({elapsed / n * 1e6:.1f} µs an event)"
        )
        print(lines[-1], flush=True)
        if args.backend in ("sqlite", "both"):
            url = f"sqlite:///{work / 'bench.db'}"
            migrate.upgrade(make_engine(url))
            seconds, peak, summary = import_with_cli(data, url)
            print(summary, flush=True)
            raw = raw_sqlite(data, work / "raw.db")
            lines.append(report("sqlite", events, seconds, peak, raw))
            print(lines[-1], flush=True)
        if args.backend in ("postgres", "both"):
            name, url = fresh_postgres()
            raw_name, raw_url = fresh_postgres()
            try:
                migrate.upgrade(make_engine(url))
                seconds, peak, summary = import_with_cli(data, url)
                print(summary, flush=True)
                raw = raw_postgres(data, raw_url)
                lines.append(report("postgresql", events, seconds, peak, raw))
                print(lines[-1], flush=True)
            finally:
                drop_postgres(name)
                drop_postgres(raw_name)
        print("\n".join(["", "summary:", *lines]))


if __name__ == "__main__":
    main()
