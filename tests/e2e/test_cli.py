"""The CLI as a user runs it: a real process, a real database (SQLite file and PostgreSQL)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from constintel.brands import credentials
from constintel.db import migrate
from constintel.db.session import make_engine, transaction


def run(url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONSTINTEL_DATABASE_URL": url, "COLUMNS": "200", "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "constintel", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def show(url: str, *args: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(run(url, "profiles", "show", *args, "--json").stdout)
    return out


@pytest.fixture
def cli_url(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh brand-free database per test: a new SQLite file, or a PostgreSQL URL whose
    tests use a brand of their own (the default brand is per database, so PostgreSQL tests use
    --brand)."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    engine.dispose()
    return db_url


def test_seed_scenario_3_through_the_cli(cli_url: str, tmp_path: Path) -> None:
    brand = f"b-{os.urandom(4).hex()}"
    run(cli_url, "brands", "create", brand)
    envelopes = [
        {
            "source": "shopify",
            "topic": "orders/create",
            "payload": {
                "id": 12345,
                "email": "customer@example.com",
                "phone": "+1-555-0123",
                "total_spent": "89.99",
                "line_items": [],
                "created_at": "2024-12-07T10:00:00Z",
            },
        },
        {
            "source": "pos",
            "topic": None,
            "payload": {
                "transaction_id": "TXN-98765",
                "store_id": "STORE-001",
                "customer": {"phone": "+1-555-0123", "loyalty_id": "LOY-789456"},
                "total": 125.50,
                "items": [],
                "timestamp": "2024-12-09T14:30:00Z",
            },
        },
        {
            "source": "api",
            "topic": None,
            "payload": {
                "event_type": "message",
                "channel": "whatsapp",
                "phone": "+1-555-0123",
                "text": "hi",
                "occurred_at": "2024-12-11T09:00:00Z",
            },
        },
    ]
    path = tmp_path / "scenario3.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in envelopes) + "\n")
    out = run(cli_url, "import", str(path), "--brand", brand, "-q").stdout
    assert "imported" in out
    profile = show(cli_url, "--phone", "+1 555 0123", "--brand", brand)
    assert profile["lifetime_value"] == "215.49"  # a decimal string, never a float
    assert profile["total_orders"] == 2
    assert profile["profile_strength"] == 75
    assert sorted(profile["identifiers"]) == ["email", "loyalty_id", "phone"]
    assert profile["event_count"] == 3
    # importing the same file again changes nothing
    again = run(cli_url, "import", str(path), "--brand", brand, "-q").stdout
    assert re.search(r"imported\s*│\s*0\b", again), again
    assert re.search(r"duplicates \(already ingested\)\s*│\s*3\b", again), again
    assert show(cli_url, "--email", "Customer@Example.com", "--brand", brand) == profile


def test_bad_lines_are_reported_and_the_rest_imports(cli_url: str, tmp_path: Path) -> None:
    brand = f"b-{os.urandom(4).hex()}"
    run(cli_url, "brands", "create", brand)
    lines = [
        json.dumps(
            {
                "source": "api",
                "payload": {
                    "event_type": "purchase",
                    "email": "a@b.co",
                    "occurred_at": "2025-01-01T00:00:00Z",
                    "order": {"order_id": "1", "total": "10.00"},
                },
            }
        ),
        '{"source": "api", "payload": {broken json',
        json.dumps(
            {
                "source": "api",
                "payload": {
                    "event_type": "purchase",
                    "email": "a@b.co",
                    "occurred_at": "2025-01-02T00:00:00Z",
                    "order": {"order_id": "2", "total": "-5.00"},
                },
            }
        ),
        json.dumps({"source": "nope", "payload": {}}),
        json.dumps(
            {
                "source": "api",
                "payload": {
                    "event_type": "purchase",
                    "email": "a@b.co",
                    "occurred_at": "2025-02-30T00:00:00Z",
                    "order": {"order_id": "3", "total": "1.00"},
                },
            }
        ),
        json.dumps(
            {
                "source": "api",
                "payload": {
                    "event_type": "purchase",
                    "email": "a@b.co",
                    "occurred_at": "2025-01-03T00:00:00Z",
                    "order": {"order_id": "4", "total": "2.50"},
                },
            }
        ),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    proc = run(cli_url, "import", str(path), "--brand", brand, "-q")
    assert "mixed.jsonl:2: line: invalid JSON" in proc.stderr
    assert "mixed.jsonl:3: order.total:" in proc.stderr
    assert "negative" in proc.stderr
    assert "mixed.jsonl:4: source: unknown source 'nope'" in proc.stderr
    assert "mixed.jsonl:5: occurred_at:" in proc.stderr
    assert show(cli_url, "--email", "a@b.co", "--brand", brand)["lifetime_value"] == "12.50"
    rejected = json.loads(run(cli_url, "events", "rejected", "--json", "--brand", brand).stdout)
    assert sorted(r["origin"] for r in rejected) == [
        "mixed.jsonl:2",
        "mixed.jsonl:3",
        "mixed.jsonl:4",
        "mixed.jsonl:5",
    ]


def test_csv_import_and_inspection_commands(cli_url: str, tmp_path: Path) -> None:
    brand = f"b-{os.urandom(4).hex()}"
    run(cli_url, "brands", "create", brand)
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,email,phone,loyalty_id,total,currency,ordered_at,refunded,first_name,last_name\n"
        "M-1,Ann@Shop.example,,,40.00,USD,2025-01-05,,Ann,Lee\n"
        "M-2,,(212) 555-0142,L-9,60.00,USD,2025-01-06T12:00:00+02:00,10.00,,\n"
        "M-3,ann@shop.example,212.555.0142,,5.00,USD,2025-01-07,,,\n"
        "M-4,,,,7.00,USD,2025-01-08,,,\n"
    )
    run(cli_url, "import", str(path), "--brand", brand, "-q")
    profile = show(cli_url, "--loyalty-id", "l-9", "--brand", brand)
    assert profile["lifetime_value"] == "95.00"  # 40 + (60 - 10) + 5
    assert profile["total_orders"] == 3
    top = json.loads(
        run(cli_url, "profiles", "list", "--top", "5", "--json", "--brand", brand).stdout
    )
    assert [(p["lifetime_value"], p["name"]) for p in top] == [("95.00", "Ann Lee")]
    unattached = json.loads(run(cli_url, "events", "unattached", "--json", "--brand", brand).stdout)
    assert len(unattached) == 1
    run(cli_url, "events", "link", unattached[0]["id"], profile["id"], "--brand", brand)
    linked = show(cli_url, "--id", profile["id"], "--brand", brand)
    assert (linked["lifetime_value"], linked["total_orders"]) == ("102.00", 4)
    recompute = run(cli_url, "stats", "recompute", "--brand", brand).stdout
    assert "0 drifting values" in recompute


def test_helpful_errors(cli_url: str, tmp_path: Path) -> None:
    missing = run(cli_url, "profiles", "show", "--email", "ghost@x.com", check=False)
    assert missing.returncode == 1
    assert "no profile with email ghost@x.com" in missing.stderr
    both = run(cli_url, "profiles", "show", "--email", "a@b.c", "--phone", "1", check=False)
    assert both.returncode == 2
    assert "exactly one of" in both.stderr
    bad_source = run(cli_url, "import", str(tmp_path), "--source", "ebay", check=False)
    assert bad_source.returncode == 2
    unreachable = run(
        "postgresql://root@127.0.0.1:5432/no_such_database_x", "profiles", "list", check=False
    )
    assert unreachable.returncode == 1
    assert "error: cannot use the database" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr


def test_review_approve_and_unmerge_through_the_cli(cli_url: str, tmp_path: Path) -> None:
    brand = f"b-{os.urandom(4).hex()}"
    run(cli_url, "brands", "create", brand)

    def purchase(order_id: str, total: str, day: int, **ids: Any) -> str:
        return json.dumps(
            {
                "source": "api",
                "payload": {
                    "event_type": "purchase",
                    "occurred_at": f"2025-01-{day:02d}T12:00:00Z",
                    "order": {"order_id": order_id, "total": total},
                    **ids,
                },
            }
        )

    first = tmp_path / "four.jsonl"
    first.write_text(
        "\n".join(
            [
                purchase("o1", "10.00", 1, email="one@shop.com"),
                purchase("o2", "20.00", 2, email="two@shop.com"),
                purchase("o3", "30.00", 3, phone="+1 212 555 0103"),
                purchase("o4", "40.00", 4, loyalty_id="L-4"),
            ]
        )
        + "\n"
    )
    run(cli_url, "import", str(first), "--brand", brand, "-q")
    before = {
        k: show(cli_url, f"--{k}", v, "--brand", brand)
        for k, v in (("email", "two@shop.com"), ("phone", "2125550103"), ("loyalty-id", "L-4"))
    }
    second = tmp_path / "bridge.jsonl"
    second.write_text(
        purchase(
            "o5",
            "5.00",
            5,
            email="one@shop.com",
            phone="2125550103",
            loyalty_id="L-4",
            identifiers={"email": "two@shop.com"},
        )
        + "\n"
    )
    run(cli_url, "import", str(second), "--brand", brand, "-q")
    [item] = json.loads(run(cli_url, "review", "list", "--json", "--brand", brand).stdout)
    assert item["reason"] == "too_many_matches"
    assert len(item["profile_ids"]) == 4
    before["phone"] = show(cli_url, "--phone", "2125550103", "--brand", brand)  # got o5

    run(cli_url, "review", "approve", item["id"], "--brand", brand)
    merged = show(cli_url, "--loyalty-id", "L-4", "--brand", brand)
    assert merged["lifetime_value"] == "105.00"
    assert merged["total_orders"] == 5
    assert len(merged["merged_from"]) == 3
    assert json.loads(run(cli_url, "review", "list", "--json", "--brand", brand).stdout) == []

    for merged_id in merged["merged_from"]:
        run(cli_url, "profiles", "unmerge", merged_id, "--brand", brand)
    for key, value in (("email", "two@shop.com"), ("phone", "2125550103"), ("loyalty-id", "L-4")):
        assert show(cli_url, f"--{key}", value, "--brand", brand) == before[key]
    assert show(cli_url, "--email", "one@shop.com", "--brand", brand)["lifetime_value"] == "10.00"


def test_brands_create_prints_the_key_and_secrets_whole_on_a_narrow_terminal(
    tmp_path: Path,
) -> None:
    """The API key and the webhook secrets are shown once: at 60 columns (or piped into a
    log) every one is printed whole, and each is the one stored."""
    url = f"sqlite:///{tmp_path / 'brands.db'}"
    env = {**os.environ, "CONSTINTEL_DATABASE_URL": url, "COLUMNS": "60", "NO_COLOR": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "constintel", "brands", "create", "acme"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    ).stdout
    assert "…" not in out
    brand_id = re.search(r"^brand acme: id (\S+)$", out, re.M)
    api_key = re.search(r"^API key \(shown once; store it now\): (\S+)$", out, re.M)
    assert brand_id is not None, out
    assert api_key is not None, out
    block = r"^(\w+)\n  webhook address  /webhooks/\1/" + brand_id[1] + r"\n  secret +(\S+)$"
    printed = dict(re.findall(block, out, re.M))
    assert set(printed) == {"shopify", "woocommerce", "square", "pos"}, out

    engine = make_engine(url)
    with transaction(engine) as session:
        live = credentials.live_secrets(session, brand_id=brand_id[1])
        key_brand = credentials.brand_for_key(session, api_key[1])
    engine.dispose()
    assert printed == {secret.source: secret.secret for secret in live}
    assert key_brand is not None
    assert key_brand.id == brand_id[1]
