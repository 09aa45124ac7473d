"""The activation commands as a user runs them."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from e2e.test_cli import cli_url, run  # noqa: F401 - the fixture is used by name


def test_automations_consent_campaigns_and_the_delivery_log(cli_url: str, tmp_path: Path) -> None:  # noqa: F811
    brand = f"b-{os.urandom(4).hex()}"
    run(cli_url, "brands", "create", brand)
    out = run(cli_url, "automations", "defaults", "--enable", "--brand", brand).stdout
    assert "welcome" in out
    assert "(enabled)" in out
    listed = json.loads(run(cli_url, "automations", "list", "--json", "--brand", brand).stdout)
    assert {a["name"] for a in listed} >= {"welcome", "upsell", "vip"}
    assert all(a["enabled"] for a in listed)

    exported = tmp_path / "automations.yaml"
    run(cli_url, "automations", "export", str(exported), "--brand", brand)
    specs = yaml.safe_load(exported.read_text())
    specs[0]["action"]["subject"] = "Changed subject"
    specs.append(
        {"name": "broken", "trigger": {"type": "birthday"}, "action": {"channel": "email"}}
    )
    exported.write_text(yaml.safe_dump(specs))
    bad = run(cli_url, "automations", "import", str(exported), "--brand", brand, check=False)
    assert bad.returncode == 1
    assert f"[{len(specs) - 1}].trigger.type" in bad.stderr
    specs.pop()
    exported.write_text(yaml.safe_dump(specs))
    run(cli_url, "automations", "import", str(exported), "--brand", brand)
    again = json.loads(run(cli_url, "automations", "list", "--json", "--brand", brand).stdout)
    assert {a["action"].get("subject") for a in again} >= {"Changed subject"}
    run(cli_url, "automations", "disable", "churn_risk", "--brand", brand)

    now = datetime.now(UTC)
    events = tmp_path / "events.jsonl"
    events.write_text(
        json.dumps(
            {
                "source": "shopify",
                "topic": "orders/create",
                "payload": {
                    "id": 1,
                    "email": "ann@example.com",
                    "total_price": "20.00",
                    "currency": "USD",
                    "line_items": [],
                    "created_at": (now - timedelta(hours=1)).isoformat(),
                },
            }
        )
        + "\n"
    )
    run(cli_url, "import", str(events), "--brand", brand)
    run(
        cli_url,
        "consent",
        "set",
        "email",
        "unsubscribed",
        "--email",
        "ann@example.com",
        "--brand",
        brand,
    )
    preview = run(
        cli_url, "campaigns", "preview", "--audience", '{"has": ["email"]}', "--brand", brand
    ).stdout
    assert "audience 1, reachable on email 0" in preview
    bad = run(cli_url, "campaigns", "preview", "--audience", "{oops", "--brand", brand, check=False)
    assert bad.returncode == 2
    assert "--audience: not valid JSON" in bad.stderr
    state = json.loads(run(cli_url, "automations", "list", "--json", "--brand", brand).stdout)
    assert {a["name"]: a["enabled"] for a in state}["churn_risk"] is False
    missing = run(cli_url, "automations", "enable", "nope", "--brand", brand, check=False)
    assert missing.returncode == 1
    assert "no automation named 'nope'" in missing.stderr
