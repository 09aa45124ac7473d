"""The REST API through real HTTP: events, lookups, timelines, the review queue, unmerge,
unattached events, import jobs, problem+json errors and the OpenAPI document."""

from __future__ import annotations

import time

import orjson

from constintel.db import migrate
from integration.test_seed_scenarios import SEED_POS_TRANSACTION, SEED_SHOPIFY_ORDER
from service.live import EVERYONE, Tenant


def test_post_one_event_and_read_the_profile(tenant: Tenant) -> None:
    envelope = {"source": "shopify", "topic": "orders/create", "payload": SEED_SHOPIFY_ORDER}
    r = tenant.api("POST", "/events", json=envelope)
    assert r.status_code == 200, r.text
    summary = r.json()
    assert (summary["imported"], summary["created_profiles"], summary["rejected"]) == (1, 1, 0)
    (pid,) = summary["profile_ids"]
    profile = tenant.api("GET", f"/profiles/{pid}").json()
    assert profile["lifetime_value"] == "89.99"  # a decimal string, never a float
    assert profile["identifiers"]["email"][0]["value"] == "customer@example.com"
    # Lookups normalize like ingestion: any formatting of the same phone finds the person.
    for phone in ("+1-555-0123", "+1 (555) 0123", "+15550123"):
        found = tenant.profile_by(phone=phone)
        assert found is not None
        assert found["id"] == pid
    assert tenant.profile_by(email="nobody@example.com") is None


def test_same_event_twice_changes_nothing(tenant: Tenant) -> None:
    envelope = {"source": "pos", "payload": SEED_POS_TRANSACTION}
    first = tenant.api("POST", "/events", json=envelope).json()
    again = tenant.api("POST", "/events", json=[envelope, envelope]).json()
    assert (first["imported"], again["imported"], again["duplicates"]) == (1, 0, 2)
    person = tenant.profile_by(loyalty_id="LOY-789456")
    assert person is not None
    assert (person["lifetime_value"], person["total_orders"]) == ("125.50", 1)


def test_a_bad_event_in_a_batch_is_reported_and_the_rest_stored(tenant: Tenant) -> None:
    good = {"event_type": "cart_add", "email": "shopper@example.com", "product_id": "P1"}
    bad = {"event_type": "teleport", "email": "x@example.com"}
    r = tenant.api("POST", "/events", json=[good, bad])
    assert r.status_code == 200
    summary = r.json()
    assert (summary["imported"], summary["rejected"]) == (1, 1)
    (rejection,) = summary["rejections"]
    assert (rejection["index"], rejection["field"]) == (1, "event_type")
    assert tenant.profile_by(email="shopper@example.com") is not None
    assert len(tenant.rejected()) == 1  # kept for replay


def test_a_single_bad_event_is_a_422_problem(tenant: Tenant) -> None:
    r = tenant.api(
        "POST",
        "/events",
        json={"source": "pos", "payload": {**SEED_POS_TRANSACTION, "total": "abc"}},
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["errors"] == [{"field": "total", "reason": problem["errors"][0]["reason"]}]
    assert "abc" in problem["errors"][0]["reason"] or "number" in problem["errors"][0]["reason"]


def test_query_validation_names_the_parameter(tenant: Tenant) -> None:
    r = tenant.api("GET", "/profiles", params={"limit": 0, "sort": "shoe_size"})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"limit", "sort"}


def test_listing_sorted_and_paginated(tenant: Tenant) -> None:
    orders = [
        {
            "source": "shopify",
            "topic": "orders/create",
            "payload": {
                **SEED_SHOPIFY_ORDER,
                "id": n,
                "email": f"c{n}@example.com",
                "phone": None,
                "total_spent": f"{n}0.00",
            },
        }
        for n in range(1, 6)
    ]
    assert tenant.api("POST", "/events", json=orders).json()["created_profiles"] == 5
    first = tenant.api("GET", "/profiles", params={"limit": 2}).json()
    assert [p["lifetime_value"] for p in first["items"]] == ["50.00", "40.00"]
    assert first["next_offset"] == 2
    rest = tenant.api("GET", "/profiles", params={"limit": 3, "offset": 2}).json()
    assert [p["lifetime_value"] for p in rest["items"]] == ["30.00", "20.00", "10.00"]
    last = tenant.api("GET", "/profiles", params={"limit": 3, "offset": 5}).json()
    assert last == {"items": [], "next_offset": None}


def test_timeline_and_orders(tenant: Tenant) -> None:
    events = [
        {"source": "shopify", "topic": "orders/create", "payload": SEED_SHOPIFY_ORDER},
        {"source": "pos", "payload": SEED_POS_TRANSACTION},
        {
            "event_type": "message",
            "phone": "+1-555-0123",
            "text": "hi",
            "occurred_at": "2024-12-11T09:15:00Z",
        },
    ]
    (pid,) = tenant.api("POST", "/events", json=events).json()["profile_ids"]
    page = tenant.api("GET", f"/profiles/{pid}/events", params={"limit": 2}).json()
    assert [e["event_type"] for e in page["items"]] == ["purchase", "pos_transaction"]
    assert page["next_offset"] == 2
    tail = tenant.api("GET", f"/profiles/{pid}/events", params={"offset": 2}).json()
    assert [e["event_type"] for e in tail["items"]] == ["message"]
    orders = tenant.api("GET", f"/profiles/{pid}/orders").json()["items"]
    assert [(o["source"], o["net"]) for o in orders] == [("shopify", "89.99"), ("pos", "125.50")]


def test_review_approve_and_unmerge_over_the_api(tenant: Tenant) -> None:
    tenant.four_people()
    ids = [
        tenant.api("GET", "/profiles", params=q).json()["items"][0]["id"]
        for q in ({"email": "a@example.com"}, {"phone": "+12025550143"}, {"loyalty_id": "L-1"})
    ]
    summary = tenant.api("POST", "/events", json=EVERYONE).json()
    assert (summary["merges"], summary["reviews"]) == (0, 1)
    (item,) = tenant.api("GET", "/review").json()
    assert item["attached_profile_id"] == ids[1]  # the phone match wins
    approved = tenant.api("POST", f"/review/{item['id']}/approve")
    assert approved.status_code == 200, approved.text
    survivor = approved.json()["survivor_id"]
    assert survivor == ids[0]  # the oldest
    merged = tenant.api("GET", f"/profiles/{ids[2]}").json()  # a merged id follows
    assert merged["id"] == survivor
    assert (merged["lifetime_value"], merged["total_orders"]) == ("100.00", 4)
    again = tenant.api("POST", f"/review/{item['id']}/approve")
    assert again.status_code == 409
    r = tenant.api("POST", f"/profiles/{ids[2]}/unmerge")
    assert r.status_code == 200, r.text
    assert r.json() == {"survivor_id": survivor, "restored_id": ids[2]}
    restored = tenant.api("GET", f"/profiles/{ids[2]}").json()
    assert (restored["lifetime_value"], restored["total_orders"]) == ("30.00", 1)
    assert tenant.api("GET", f"/profiles/{survivor}").json()["lifetime_value"] == "70.00"


def test_unattached_event_linked_over_the_api(tenant: Tenant) -> None:
    anonymous = {"source": "pos", "payload": {**SEED_POS_TRANSACTION, "customer": {}}}
    summary = tenant.api("POST", "/events", json=anonymous).json()
    assert summary["unattached"] == 1
    (event,) = tenant.api("GET", "/events/unattached").json()["items"]
    (pid,) = tenant.api(
        "POST", "/events", json={"event_type": "customer_update", "email": "walkin@example.com"}
    ).json()["profile_ids"]
    r = tenant.api("POST", f"/events/{event['id']}/link", json={"profile_id": pid})
    assert r.status_code == 200, r.text
    assert tenant.api("GET", f"/profiles/{pid}").json()["lifetime_value"] == "125.50"
    assert tenant.api("GET", "/events/unattached").json()["items"] == []
    twice = tenant.api("POST", f"/events/{event['id']}/link", json={"profile_id": pid})
    assert twice.status_code == 409


def test_import_job_with_progress(tenant: Tenant) -> None:
    lines = [
        orjson.dumps(
            {
                "source": "shopify",
                "topic": "orders/create",
                "payload": {
                    **SEED_SHOPIFY_ORDER,
                    "id": n,
                    "email": f"i{n}@example.com",
                    "phone": None,
                },
            }
        )
        for n in range(1, 51)
    ]
    lines.insert(10, b"{not json")
    body = b"\n".join(lines) + b"\n"
    r = tenant.api(
        "POST", "/imports", params={"format": "jsonl", "filename": "orders.jsonl"}, content=body
    )
    assert r.status_code == 202, r.text
    job = r.json()
    assert (job["status"], job["total_lines"], job["total_bytes"]) == ("queued", 51, len(body))
    deadline = time.monotonic() + 30
    while job["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
        job = tenant.api("GET", f"/imports/{job['id']}").json()
    assert job["status"] == "done", job
    assert (job["received"], job["result"]["imported"], job["result"]["rejected"]) == (51, 50, 1)
    assert job["result"]["rejections"][0]["line"] == 11
    assert tenant.profile_by(email="i50@example.com") is not None


def test_import_job_is_per_brand(tenant: Tenant, other: Tenant) -> None:
    r = other.api("POST", "/imports", params={"format": "jsonl"}, content=b"\n")
    assert r.status_code == 202
    assert tenant.api("GET", f"/imports/{r.json()['id']}").status_code == 404


def test_openapi_is_served_and_complete(tenant: Tenant) -> None:
    assert tenant.client.get("/docs").status_code == 200
    spec = tenant.client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/webhooks/shopify/{brand_id}",
        "/webhooks/woocommerce/{brand_id}",
        "/webhooks/square/{brand_id}",
        "/webhooks/pos/{brand_id}",
        "/api/v1/events",
        "/api/v1/imports",
        "/api/v1/profiles",
        "/api/v1/profiles/{profile_id}",
        "/api/v1/profiles/{profile_id}/events",
        "/api/v1/profiles/{profile_id}/orders",
        "/api/v1/profiles/{profile_id}/export",
        "/api/v1/profiles/{profile_id}/unmerge",
        "/api/v1/review",
        "/api/v1/events/unattached",
        "/healthz",
        "/readyz",
    ):
        assert path in paths, path
    assert "delete" in paths["/api/v1/profiles/{profile_id}"]
    schemes = spec["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}


def test_health_and_readiness(tenant: Tenant) -> None:
    assert tenant.client.get("/healthz").json() == {"status": "ok"}
    ready = tenant.client.get("/readyz").json()
    assert ready["status"] == "ready"
    # The database is at the newest migration the package ships.
    assert ready["schema_revision"] == migrate.head_revision(tenant.live.engine)
    assert ready["schema_revision"] is not None
    # HEAD too (load balancers probe with it): the status and type, no body.
    for path, media_type in (
        ("/healthz", "application/json"),
        ("/readyz", "application/json"),
        ("/metrics", "text/plain"),
    ):
        head = tenant.client.head(path)
        assert (head.status_code, head.content) == (200, b""), path
        assert head.headers["content-type"].startswith(media_type), path


def test_metrics_count_deliveries_and_backlogs(tenant: Tenant) -> None:
    from integration.test_seed_scenarios import SEED_SHOPIFY_ORDER as order

    assert tenant.shopify(order).status_code == 200
    assert tenant.shopify(order, signature="bad").status_code == 401
    tenant.drained()
    text = tenant.client.get("/metrics").text
    accepted = 'constintel_webhook_deliveries_total{outcome="accepted",source="shopify"}'
    refused = 'constintel_webhook_deliveries_total{outcome="unauthorized",source="shopify"}'
    values = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert values[accepted] >= 1
    assert values[refused] >= 1
    assert "constintel_outbox_backlog" in values
    assert "constintel_inbox_backlog" in values


def test_downstream_handlers_run_in_process_without_redis(tenant: Tenant) -> None:
    """Embedded mode: the outbox is dispatched to the handlers inside `serve`."""
    from sqlalchemy import select

    from constintel.db.session import transaction
    from constintel.streams.handlers import ProductIntent

    events = [{"event_type": "cart_add", "email": "e@example.com", "product_id": "SKU-9"}] * 1
    (pid,) = tenant.api("POST", "/events", json=events).json()["profile_ids"]
    deadline = time.monotonic() + 10
    while True:
        with transaction(tenant.live.engine) as s:
            row = s.scalar(select(ProductIntent).where(ProductIntent.customer_profile_id == pid))
        if row is not None:
            break
        assert time.monotonic() < deadline, "the in-process dispatcher did not run"
        time.sleep(0.05)
    assert (row.product_id, row.cart_adds) == ("SKU-9", 1)
