"""`constintel predict fit / report` and the prediction in `profiles show`, as a user runs
them on a real database."""

from __future__ import annotations

import csv
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from e2e.test_cli import cli_url, run  # noqa: F401 - the fixture is used by name
from integration.cdnow import cdnow_orders


def write_cdnow_csv(path: Path) -> None:
    rows = [payload for _, _, payload in cdnow_orders(datetime.now(UTC).date() - timedelta(days=1))]
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_fit_report_and_show(cli_url: str, tmp_path: Path) -> None:  # noqa: F811
    brand = f"b-{os.urandom(4).hex()}"
    run(cli_url, "brands", "create", brand)
    # A brand without orders: a clear answer, not a crash.
    empty = json.loads(run(cli_url, "predict", "fit", "--brand", brand, "--json").stdout)
    assert empty[0]["status"] == "insufficient_data"
    assert "0 customers with orders" in empty[0]["reason"]

    orders = tmp_path / "cdnow.csv"
    write_cdnow_csv(orders)
    run(cli_url, "import", str(orders), "--brand", brand)
    fitted = run(cli_url, "predict", "fit", "--brand", brand)
    assert "model v2 fitted on 2357 customers" in fitted.stdout
    assert "BG/NBD (frequency)" in fitted.stdout
    assert "Gamma-Gamma (spend)" in fitted.stdout

    image = tmp_path / "report.png"
    report = run(
        cli_url,
        "predict",
        "report",
        "--brand",
        brand,
        "--holdout-days",
        "182",
        "--image",
        str(image),
    )
    assert "Holdout: repeat orders" in report.stdout
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.stat().st_size > 10_000
    data = json.loads(
        run(
            cli_url, "predict", "report", "--brand", brand, "--holdout-days", "182", "--json"
        ).stdout
    )
    holdout = data["holdout"]
    assert data["model_version"] == 2
    assert holdout["customers"] > 2000
    assert sum(b["customers"] for b in holdout["buckets"]) == holdout["customers"]
    assert holdout["actual_total"] > 0

    shown = json.loads(
        run(
            cli_url, "profiles", "show", "--email", "cdnow4@example.com", "--brand", brand, "--json"
        ).stdout
    )
    prediction = shown["prediction"]
    assert prediction["status"] == "scored"
    assert prediction["model_version"] == 2
    assert prediction["lifecycle"] in {"at_risk", "churned", "loyal", "active", "champion", "new"}
    # Scored at import (model v1: insufficient data, no orders) then by the refit (v2).
    assert shown["prediction_history"][0]["model_version"] == 2
    table = run(cli_url, "profiles", "show", "--email", "cdnow4@example.com", "--brand", brand)
    assert "churn risk" in table.stdout
    assert "predicted LTV" in table.stdout

    bad = run(cli_url, "predict", "fit", "--brand", brand, "--as-of", "yesterday", check=False)
    assert bad.returncode == 2
    assert "--as-of" in bad.stderr
