"""The activation API through the real HTTP service (embedded mode: the outbox is dispatched
to the handlers and the sender runs inside `serve`), with a real local SMTP server."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from constintel.brands.models import Brand
from constintel.db.session import transaction
from integration.receivers import smtp_server
from service.live import Tenant


def order(order_id: int, total: str, email: str, hours_ago: float) -> dict[str, Any]:
    at = datetime.now(UTC) - timedelta(hours=hours_ago)
    return {
        "source": "shopify",
        "topic": "orders/create",
        "payload": {
            "id": order_id,
            "email": email,
            "total_price": total,
            "currency": "USD",
            "line_items": [
                {"id": 1, "product_id": "SKU-1", "title": "Mug", "quantity": 1, "price": total}
            ],
            "created_at": at.isoformat(),
        },
    }


def eventually(check: Any, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_an_automation_made_over_the_api_sends_through_serve(tenant: Tenant) -> None:
    with smtp_server() as (url, box):
        with transaction(tenant.live.engine) as s:
            s.execute(update(Brand).where(Brand.id == tenant.id).values(settings={"smtp_url": url}))
        bad = tenant.api(
            "POST",
            "/automations",
            json={"name": "x", "trigger": {"type": "nope"}, "action": {"channel": "email"}},
        )
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "trigger.type"
        r = tenant.api(
            "POST",
            "/automations",
            json={
                "name": "welcome",
                "trigger": {"type": "first_order"},
                "action": {
                    "channel": "email",
                    "subject": "Hi {{ profile.email }}",
                    "body": "Thanks for {{ order.id }}",
                },
            },
        )
        assert r.status_code == 200, r.text
        assert [a["name"] for a in tenant.api("GET", "/automations").json()] == ["welcome"]

        first = tenant.api("POST", "/events", json=order(1, "30.00", "ann@example.com", 1)).json()
        (pid,) = first["profile_ids"]
        eventually(lambda: box.messages)
        assert box.subjects() == ["Hi ann@example.com"]
        log = eventually(
            lambda: [d for d in tenant.api("GET", "/deliveries").json() if d["status"] == "sent"]
        )
        assert log[0]["customer_profile_id"] == pid

        consent = tenant.api(
            "PUT", f"/profiles/{pid}/consent", json={"channel": "email", "status": "unsubscribed"}
        )
        assert consent.json() == [{"channel": "email", "status": "unsubscribed"}]
        assert (
            tenant.api(
                "PUT", f"/profiles/{pid}/consent", json={"channel": "sms", "status": "x"}
            ).status_code
            == 422
        )

        journey = eventually(lambda: tenant.api("GET", f"/profiles/{pid}/journey").json())
        assert journey["stage"] == "purchase"
        intents = tenant.api("GET", "/products/SKU-1/intents").json()
        assert intents == [] or intents[0]["converted"] is True

        preview = tenant.api(
            "POST", "/campaigns/preview", json={"audience": {"has": ["email"]}}
        ).json()
        assert preview == {"audience": 1, "reachable": 0}
        made = tenant.api(
            "POST",
            "/campaigns",
            json={
                "name": "c",
                "audience": {"has": ["email"]},
                "action": {"channel": "email", "subject": "s", "body": "b"},
            },
        ).json()
        assert tenant.api("POST", f"/campaigns/{made['id']}/send").json() == {"queued": 1}
        assert tenant.api("POST", f"/campaigns/{made['id']}/send").status_code == 409
        report = eventually(
            lambda: (
                (r := tenant.api("GET", f"/campaigns/{made['id']}/report").json())[
                    "skipped_consent"
                ]
                and r
            )
        )
        assert (report["sent"], report["skipped_consent"]) == (0, 1)
        assert len(box.messages) == 1  # the unsubscribed customer got nothing more

        assert tenant.api("GET", "/stores/STORE-1/alerts").json() == []
        sub = tenant.api(
            "PUT", "/stores/STORE-1/subscription", json={"url": "http://127.0.0.1:9/x"}
        ).json()
        assert sub["store_id"] == "STORE-1"
        assert len(sub["secret"]) > 20
        assert tenant.api("POST", "/alerts/424242/acknowledge").status_code == 404


def test_other_brands_see_nothing(tenant: Tenant, other: Tenant) -> None:
    first = tenant.api("POST", "/events", json=order(1, "30.00", "bo@example.com", 1)).json()
    (pid,) = first["profile_ids"]
    assert other.api("GET", f"/profiles/{pid}/journey").status_code == 404
    assert (
        other.api(
            "PUT", f"/profiles/{pid}/consent", json={"channel": "email", "status": "opted_in"}
        ).status_code
        == 404
    )
    assert other.api("GET", f"/profiles/{pid}/intents").status_code == 404
