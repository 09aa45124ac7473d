"""Predictions through the real HTTP service (embedded mode: the outbox is dispatched to the
predictions handler inside `serve`): on the profile, and as segment filters."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from constintel.predictions import service as predictions
from integration.cdnow import cdnow_orders
from service.live import Tenant


def shopify(order_id: int, total: str, at: datetime) -> dict[str, Any]:
    return {
        "source": "shopify",
        "topic": "orders/create",
        "payload": {
            "id": order_id,
            "email": "customer@example.com",
            "total_price": total,
            "currency": "USD",
            "financial_status": "paid",
            "line_items": [],
            "created_at": at.isoformat(),
        },
    }


def wait_for(tenant: Tenant, pid: str, lifecycle: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        profile = tenant.api("GET", f"/profiles/{pid}").json()
        prediction = profile["prediction"]
        if prediction is not None and prediction["lifecycle"] == lifecycle:
            found: dict[str, Any] = profile
            return found
        assert time.monotonic() < deadline, f"still {prediction}"
        time.sleep(0.05)


def test_profile_shows_its_prediction_and_lists_filter_by_segment(tenant: Tenant) -> None:
    today = datetime.now(UTC).date()
    orders = [
        {"source": source, "payload": payload}
        for source, _, payload in cdnow_orders(today - timedelta(days=1))
    ]
    for start in range(0, len(orders), 1000):
        r = tenant.api("POST", "/events", json=orders[start : start + 1000])
        assert r.status_code == 200, r.text
    result = predictions.refit(tenant.live.engine, tenant.id)
    assert result is not None
    assert result.status == "fitted"

    now = datetime.now(UTC)
    first = tenant.api("POST", "/events", json=shopify(9001, "89.99", now - timedelta(days=19)))
    (pid,) = first.json()["profile_ids"]
    profile = wait_for(tenant, pid, "new")
    p = profile["prediction"]
    assert p["status"] == "scored"
    assert p["model_version"] == result.version
    assert 0 < p["churn_risk"] < 0.5
    assert p["predicted_ltv"] == f"{float(p['predicted_ltv']):.2f}"  # a decimal string
    assert p["rfm"]["recency"] == 5

    tenant.api("POST", "/events", json=shopify(9002, "150.00", now - timedelta(days=5)))
    wait_for(tenant, pid, "loyal")
    tenant.api("POST", "/events", json=shopify(9003, "500.00", now - timedelta(hours=1)))
    champion = wait_for(tenant, pid, "champion")
    assert champion["prediction"]["rfm"]["segment"] == "champions"

    history = tenant.api("GET", f"/profiles/{pid}/prediction-history").json()["items"]
    assert [h["changes"]["lifecycle"] for h in history] == [
        ["loyal", "champion"],
        ["new", "loyal"],
        [None, "new"],
    ]
    assert {h["model_version"] for h in history} == {result.version}
    assert history[0]["cause"].startswith("profiles.updated:")

    listed = tenant.api("GET", "/profiles", params={"segment": "champion", "limit": 200}).json()
    assert pid in [item["id"] for item in listed["items"]]
    assert {item["prediction"]["lifecycle"] for item in listed["items"]} == {"champion"}
    by_rfm = tenant.api("GET", "/profiles", params={"rfm_segment": "champions"}).json()
    assert pid in [item["id"] for item in by_rfm["items"]]
    lapsed = tenant.api("GET", "/profiles", params={"segment": "churned", "limit": 5}).json()
    assert len(lapsed["items"]) == 5
    assert {i["prediction"]["lifecycle"] for i in lapsed["items"]} == {"churned"}


def test_an_unknown_segment_is_a_422_naming_the_field(tenant: Tenant) -> None:
    r = tenant.api("GET", "/profiles", params={"segment": "vip"})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    (error,) = r.json()["errors"]
    assert error["field"] == "segment"
    assert "champion" in error["reason"]
    r = tenant.api("GET", "/profiles", params={"rfm_segment": "champion"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "rfm_segment"
