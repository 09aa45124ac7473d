"""`constintel serve` as a user runs it: a real process on a real port, credentials from
`brands create --json`, a signed webhook in, the profile out; `brands rotate-key`,
`brands set-secret` and `events replay` as commands."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from constintel.webhooks import signatures
from e2e.test_cli import run

ORDER = {
    "id": 4242,
    "email": "Serve.Test@Example.com",
    "total_price": "42.50",
    "currency": "USD",
    "line_items": [],
    "created_at": "2024-12-07T10:00:00Z",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_ready(base: str, log: Path, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert proc is None or proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"serve did not become ready: {log.read_text()}"
        time.sleep(0.1)


def _post_order(base: str, creds: dict[str, Any], secret: str, order: dict[str, Any]) -> None:
    body = orjson.dumps(order)
    r = httpx.post(
        f"{base}/webhooks/shopify/{creds['id']}",
        content=body,
        headers={
            "X-Shopify-Hmac-Sha256": signatures.shopify_signature(secret, body),
            "X-Shopify-Topic": "orders/create",
        },
    )
    assert r.status_code == 200, r.text


def _profiles_when_processed(
    base: str, creds: dict[str, Any], email: str, log: Path
) -> list[dict[str, Any]]:
    """The profiles found by ``email`` once the delivery is resolved (15 s at most)."""
    auth = {"Authorization": f"Bearer {creds['api_key']}"}
    deadline = time.monotonic() + 15
    while not (
        items := httpx.get(f"{base}/api/v1/profiles", params={"email": email}, headers=auth).json()[
            "items"
        ]
    ):
        assert time.monotonic() < deadline, f"the delivery was not processed: {log.read_text()}"
        time.sleep(0.05)
    found: list[dict[str, Any]] = items
    return found


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    port = _free_port()
    env = {**os.environ, "CONSTINTEL_DATABASE_URL": url, "CONSTINTEL_DATA_DIR": str(tmp_path)}
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "constintel", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    _wait_ready(base, tmp_path / "serve.log", proc)
    yield url, base
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


def test_serve_a_signed_webhook_end_to_end(served: tuple[str, str]) -> None:
    url, base = served
    creds = json.loads(run(url, "brands", "create", "acme", "--json").stdout)
    _post_order(base, creds, creds["secrets"]["shopify"], ORDER)
    items = _profiles_when_processed(
        base,
        creds,
        "serve.test@example.com",
        Path(url.removeprefix("sqlite:///")).with_name("serve.log"),
    )
    assert items[0]["lifetime_value"] == "42.50"
    auth = {"Authorization": f"Bearer {creds['api_key']}"}

    rotated = run(url, "brands", "rotate-key", "acme").stdout
    new_key = rotated.split()[-1]
    assert new_key.startswith("ci_")
    assert httpx.get(f"{base}/api/v1/profiles", headers=auth).status_code == 401
    ok = httpx.get(f"{base}/api/v1/profiles", headers={"X-API-Key": new_key})
    assert ok.status_code == 200

    run(url, "brands", "set-secret", "acme", "--source", "shopify", "--secret", "from-shopify")
    _post_order(base, creds, "from-shopify", {**ORDER, "id": 4243})  # the new secret signs


def test_events_replay_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'replay.db'}"
    run(url, "brands", "create", "euro-shop", "--currency", "EUR")
    line = {
        "source": "pos",
        "payload": {
            "transaction_id": "T1",
            "total": "10.00",
            "currency": "USD",
            "customer": {"loyalty_id": "L1"},
            "timestamp": "2024-12-09T14:30:00Z",
        },
    }
    f = tmp_path / "one.jsonl"
    f.write_text(json.dumps(line) + "\n")
    imported = run(url, "import", str(f), "--brand", "euro-shop", check=False)
    assert imported.returncode == 1  # something was rejected
    assert "currency" in imported.stdout + imported.stderr
    still = run(url, "events", "replay", "--brand", "euro-shop").stdout
    assert "1 still rejected" in still
    assert "currency" in still


@pytest.mark.postgres
def test_production_layout_serve_no_drain_beside_a_drain_process(
    postgres_url: str, redis_url: str, stream_names: Any, tmp_path: Path
) -> None:
    """`serve --no-drain` answers the webhook; `constintel drain` resolves it and publishes
    its stream messages to Redis right after the batch."""
    import redis

    env = {
        **os.environ,
        "CONSTINTEL_DATABASE_URL": postgres_url,
        "CONSTINTEL_REDIS_URL": redis_url,
        "CONSTINTEL_STREAM_PREFIX": stream_names.prefix,
        "CONSTINTEL_SERVE_OUTBOX": "false",
    }
    creds = json.loads(run(postgres_url, "brands", "create", "layout", "--json").stdout)
    port = _free_port()
    logs = [(tmp_path / f"{n}.log").open("wb") for n in ("serve", "drain")]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "constintel", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for args, log in (
            (["serve", "--no-drain", "--port", str(port)], logs[0]),
            (["drain"], logs[1]),
        )
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, tmp_path / "serve.log", procs[0])
        order = {**ORDER, "id": 5151, "email": "layout@example.com"}
        _post_order(base, creds, creds["secrets"]["shopify"], order)
        found = _profiles_when_processed(base, creds, "layout@example.com", tmp_path / "drain.log")
        assert found[0]["lifetime_value"] == "42.50"
        # Its events.normalized message reaches Redis (the session's database may hold other
        # tests' unsent messages too: the drain publishes those as well).
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        stream = stream_names.stream("events.normalized")
        deadline = time.monotonic() + 15
        while True:
            entries: list[Any] = client.xrange(stream)  # type: ignore[assignment]
            mine = [f for _, f in entries if found[0]["id"] in json.dumps(f)]
            if mine:
                break
            assert time.monotonic() < deadline, (tmp_path / "drain.log").read_text()
            time.sleep(0.05)
        client.close()
        assert len(mine) == 1
        assert "layout@example.com" not in json.dumps(mine)  # ids only, no personal data
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)
        for log in logs:
            log.close()
