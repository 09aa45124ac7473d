"""`constintel relay`, `constintel worker` and `constintel streams status` as processes, on
the real Redis (a fresh key prefix)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from e2e.test_cli import run


def _status(url: str, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "constintel", "streams", "status", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, **env, "CONSTINTEL_DATABASE_URL": url},
        check=True,
    ).stdout
    data: dict[str, Any] = json.loads(out)
    return data


def _background(url: str, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "constintel", *args],
        env={**os.environ, **env, "CONSTINTEL_DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _until(check: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_relay_worker_and_status(tmp_path: Path, redis_url: str, stream_names: Any) -> None:
    url = f"sqlite:///{tmp_path / 'streams.db'}"
    env = {"CONSTINTEL_REDIS_URL": redis_url, "CONSTINTEL_STREAM_PREFIX": stream_names.prefix}
    lines = [
        {
            "source": "api",
            "payload": {
                "event_type": "cart_add",
                "email": f"p{n % 3}@example.com",
                "product_id": "SKU-1",
                "occurred_at": "2024-12-07T10:00:00Z",
                "event_id": f"e{n}",
            },
        }
        for n in range(12)
    ]
    f = tmp_path / "events.jsonl"
    f.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    run(url, "import", str(f))
    assert _status(url, env)["outbox_backlog"] > 0

    relay = _background(url, env, "relay")
    try:
        _until(lambda: _status(url, env)["outbox_backlog"] == 0, "the relay did not publish")
    finally:
        relay.terminate()
        relay.wait(timeout=20)
    lengths = {r["stream"]: r["length"] for r in _status(url, env)["streams"]}
    assert lengths["events.normalized"] == 12
    assert lengths["profiles.updated"] == 3  # one batch, three people

    worker = _background(url, env, "worker", "--group", "intents")
    try:

        def caught_up() -> bool:
            rows = _status(url, env)["streams"]
            return any(
                r["stream"] == "events.normalized"
                and r["group"] == "intents"
                and r["lag"] == 0
                and r["pending"] == 0
                for r in rows
            )

        _until(caught_up, "the worker did not catch up")
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    assert _status(url, env)["dead_letters"]["intents"] == 0
