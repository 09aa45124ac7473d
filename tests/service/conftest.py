"""A real ConstIntel service on a random port (uvicorn in a thread), on SQLite and on the
real PostgreSQL (one service per test module and database), and a fresh brand with its API
key and webhook secrets per test."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn

from constintel.bootstrap import bootstrap
from constintel.core.config import Settings
from constintel.web.app import create_app
from service.live import MAX_BODY, Live, Tenant, make_tenant


@contextmanager
def serve_in_thread(settings: Settings) -> Iterator[Live]:
    """The service for ``settings`` on a random port, in a thread of this process."""
    app = bootstrap(settings)
    server = uvicorn.Server(
        uvicorn.Config(create_app(app), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Live(f"http://127.0.0.1:{port}", app.engine)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        app.engine.dispose()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    db_url: str = request.getfixturevalue(
        "sqlite_url" if request.param == "sqlite" else "postgres_url"
    )
    settings = Settings(
        database_url=db_url,
        max_body_bytes=MAX_BODY,
        webhook_cache_seconds=1.0,  # a revoked secret stops verifying within a second
        data_dir=str(tmp_path_factory.mktemp("data")),
    )
    with serve_in_thread(settings) as live:
        yield live


@pytest.fixture
def client(live: Live) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=30) as c:
        yield c


@pytest.fixture
def tenant(live: Live, client: httpx.Client) -> Tenant:
    return make_tenant(live, client)


@pytest.fixture
def other(live: Live, client: httpx.Client) -> Tenant:
    """A second brand, for isolation tests."""
    return make_tenant(live, client)
