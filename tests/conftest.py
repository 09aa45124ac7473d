"""Shared fixtures: every database test runs on SQLite and on the real PostgreSQL.

PostgreSQL: ``CONSTINTEL_TEST_POSTGRES_URL`` (default ``postgresql://root@127.0.0.1:5432/postgres``)
is the admin connection; each test run creates its own fresh database and drops it at the end.
Each test gets its own brand, so tests never see each other's rows. Without a reachable server
the PostgreSQL variants skip with the reason, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import redis
from sqlalchemy import Engine

from constintel.brands import service as brands
from constintel.db import migrate
from constintel.db.session import libpq_url, make_engine, transaction
from constintel.pipeline import BatchResult, BrandContext, Envelope, ingest_batch

ADMIN_URL = os.environ.get(
    "CONSTINTEL_TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def _admin_conninfo() -> str:
    return libpq_url(ADMIN_URL)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    try:
        admin = psycopg.connect(_admin_conninfo(), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true and is unreachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {ADMIN_URL}: {exc}")
    name = f"constintel_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = _admin_conninfo().rsplit("/", 1)[0]
    url = f"{base}/{name}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    with psycopg.connect(_admin_conninfo(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'constintel.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def ctx(engine: Engine) -> BrandContext:
    """A fresh brand for this test."""
    with transaction(engine) as session:
        brand = brands.create(session, name=f"test-{uuid.uuid4().hex[:10]}")
        return BrandContext.of(brand)


class Ingest:
    """Test helper: ingest envelopes, one batch per call."""

    def __init__(self, engine: Engine, ctx: BrandContext) -> None:
        self.engine = engine
        self.ctx = ctx

    def __call__(self, *items: tuple[str, str | None, Any]) -> BatchResult:
        envelopes = [Envelope(source, topic, payload) for source, topic, payload in items]
        with transaction(self.engine) as session:
            return ingest_batch(session, self.ctx, envelopes)


@pytest.fixture
def ingest(engine: Engine, ctx: BrandContext) -> Ingest:
    return Ingest(engine, ctx)


@pytest.fixture(scope="session")
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    """A session-wide SQLite engine for Hypothesis tests (each example makes its own brand)."""
    eng = make_engine(sqlite_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    eng = make_engine(postgres_url)
    yield eng
    eng.dispose()


REDIS_URL = os.environ.get("CONSTINTEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The real Redis; each test gets its own key prefix (``stream_names``)."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        if IN_CI:
            pytest.fail(f"Redis is required under CI=true and is unreachable: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    return REDIS_URL


@pytest.fixture
def stream_names(redis_url: str) -> Iterator[Any]:
    """A fresh key prefix for this test; its keys are deleted afterwards."""
    from constintel.streams.redis_io import StreamNames

    names = StreamNames(f"constintel-test-{uuid.uuid4().hex[:10]}:")
    yield names
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{names.prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def private_redis(tmp_path: Any) -> Iterator[tuple[str, Any]]:
    """A Redis of this test's own, so it can be stopped and started again."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    args = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp_path),
    ]
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        procs.append(subprocess.Popen(args, stdout=subprocess.DEVNULL))
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=port).ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.02)

    def stop() -> None:
        procs[-1].terminate()
        procs[-1].wait()

    start()
    yield f"redis://127.0.0.1:{port}/0", (start, stop)
    for p in procs:
        if p.poll() is None:
            p.terminate()
            p.wait()
