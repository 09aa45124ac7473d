"""Signed webhooks through real HTTP: documented platform payloads become the right profiles;
redeliveries are stored once; bad bodies are answered with the field and kept for replay."""

from __future__ import annotations

from decimal import Decimal

import orjson
from sqlalchemy import update

from constintel.brands import service as brands
from constintel.brands.models import Brand
from constintel.db.session import transaction
from constintel.ingest.replay import replay_rejected
from constintel.pipeline import BrandContext
from integration.test_seed_scenarios import SEED_POS_TRANSACTION, SEED_SHOPIFY_ORDER
from service.live import MAX_BODY, Tenant, payload, raw


def test_documented_shopify_samples_make_one_customer(tenant: Tenant) -> None:
    r1 = tenant.shopify(raw("shopify/webhook_orders_create_official_sample_2019.json"))
    r2 = tenant.shopify(raw("shopify/webhook_orders_create_official_sample_2025.json"))
    assert (r1.status_code, r2.status_code) == (200, 200), (r1.text, r2.text)
    assert r1.json()["status"] == "accepted"
    tenant.drained()
    # Both samples carry customer id 115310627314723954: one person, every email of both.
    person = tenant.profile_by(email="JON@doe.ca ")
    assert person is not None
    assert person == tenant.profile_by(email="john@example.com")
    emails = {i["value"] for i in person["identifiers"]["email"]}
    assert emails == {"jon@doe.ca", "john@test.com", "jon@example.com", "john@example.com"}
    # Both samples are cancelled test orders: they count for nothing.
    assert (person["lifetime_value"], person["total_orders"]) == ("0.00", 0)


def test_documented_woocommerce_order(tenant: Tenant) -> None:
    r = tenant.woocommerce(raw("woocommerce/order_create_response.json"))
    assert r.status_code == 200, r.text
    tenant.drained()
    person = tenant.profile_by(email="john.doe@example.com")
    assert person is not None
    assert (person["lifetime_value"], person["total_orders"]) == ("29.35", 1)


def test_woocommerce_ping_is_answered_and_not_stored(tenant: Tenant) -> None:
    r = tenant.client.post(
        f"/webhooks/woocommerce/{tenant.id}",
        content=b"webhook_id=17",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (r.status_code, r.json()["status"]) == (200, "ping")
    assert tenant.stored() == 0


def test_documented_square_customer(tenant: Tenant) -> None:
    r = tenant.square(raw("square/webhook_customer_created.json"))
    assert r.status_code == 200, r.text
    tenant.drained()
    person = tenant.profile_by(phone="(212) 666-8929")
    assert person is not None
    assert person["identifiers"]["email"][0]["value"] == "jenkins+smorly@squareup.com"


def test_square_signature_covers_the_notification_url(tenant: Tenant) -> None:
    body = raw("square/webhook_customer_created.json")
    assert tenant.square(body, url="https://elsewhere.example/hook").status_code == 401
    assert tenant.stored() == 0


def test_square_test_notification_is_acknowledged(tenant: Tenant) -> None:
    r = tenant.square(raw("square/webhook_test_notification_signed.json"))
    assert (r.status_code, r.json()["status"]) == (200, "ignored")
    assert tenant.stored() == 0


def test_seed_scenario_3_as_signed_webhooks(tenant: Tenant) -> None:
    assert tenant.shopify(SEED_SHOPIFY_ORDER).status_code == 200
    assert tenant.pos(SEED_POS_TRANSACTION).status_code == 200
    tenant.drained()
    message = {
        "event_type": "message",
        "channel": "whatsapp",
        "phone": "+1-555-0123",
        "text": "Do you have the sneakers in size 10?",
        "occurred_at": "2024-12-11T09:15:00Z",
    }
    r = tenant.api("POST", "/events", json=message)
    assert r.status_code == 200, r.text
    person = tenant.profile_by(loyalty_id="LOY-789456")
    assert person is not None
    assert person == tenant.profile_by(email="customer@example.com")
    assert person["lifetime_value"] == "215.49"
    assert person["total_orders"] == 2
    assert person["event_count"] == 3
    assert person["profile_strength"] == 75
    assert sorted(person["identifiers"]) == ["email", "loyalty_id", "phone"]


def test_redelivery_is_stored_once_and_counted_once(tenant: Tenant) -> None:
    first = tenant.shopify(SEED_SHOPIFY_ORDER, delivery="same-delivery")
    again = [tenant.shopify(SEED_SHOPIFY_ORDER, delivery="same-delivery") for _ in range(3)]
    assert first.json()["status"] == "accepted"
    assert {r.json()["status"] for r in again} == {"duplicate"}
    # A second delivery id with the same order (Shopify resends orders/create) changes nothing.
    assert tenant.shopify(SEED_SHOPIFY_ORDER).json()["status"] == "accepted"
    tenant.drained()
    assert tenant.stored() == 2
    person = tenant.profile_by(email="customer@example.com")
    assert person is not None
    assert (Decimal(person["lifetime_value"]), person["total_orders"]) == (Decimal("89.99"), 1)


def test_refund_webhook_nets_out(tenant: Tenant) -> None:
    order = {**SEED_SHOPIFY_ORDER, "id": 777, "total_price": "89.99", "currency": "USD"}
    order.pop("total_spent")
    tenant.shopify(order)
    refund = {
        "id": 9001,
        "order_id": 777,
        "created_at": "2024-12-08T10:00:00Z",
        "transactions": [{"kind": "refund", "status": "success", "amount": "30.00"}],
    }
    r = tenant.shopify(refund, topic="refunds/create")
    assert r.status_code == 200, r.text
    tenant.drained()
    person = tenant.profile_by(email="customer@example.com")
    assert person is not None
    assert person["lifetime_value"] == "59.99"


def test_malformed_json_is_400_and_kept(tenant: Tenant) -> None:
    r = tenant.shopify(b'{"id": 1, "email": ')
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "body"
    kept = tenant.rejected()
    assert [k.body for k in kept] == ['{"id": 1, "email": ']
    assert tenant.stored() == 0


def test_unknown_shape_is_422_naming_the_field_and_kept(tenant: Tenant) -> None:
    r = tenant.pos({"store_id": "S1", "total": "-5.00", "customer": {"phone": "+15551234567"}})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["status"] == 422
    assert problem["errors"][0]["field"]
    assert problem["errors"][0]["field"] in problem["detail"]
    assert len(tenant.rejected()) == 1


def test_body_over_the_limit_is_413_and_not_stored(tenant: Tenant) -> None:
    big = orjson.dumps({**SEED_SHOPIFY_ORDER, "note": "x" * (MAX_BODY + 10)})
    r = tenant.shopify(big)
    assert r.status_code == 413
    assert tenant.stored() == 0
    assert tenant.rejected() == []


def test_rejected_body_replays_after_a_fix(tenant: Tenant) -> None:
    """A EUR sale on a USD brand is refused (LTV is kept in one currency); once the brand is
    set to EUR, `events replay` ingests the kept body."""
    sale = {**SEED_POS_TRANSACTION, "currency": "EUR"}
    r = tenant.pos(sale)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "currency"
    engine = tenant.live.engine
    with transaction(engine) as s:
        s.execute(update(Brand).where(Brand.id == tenant.id).values(currency="EUR"))
    with transaction(engine) as s:
        ctx = BrandContext.of(brands.get(s, ref=tenant.id))
    result = replay_rejected(engine, ctx)
    assert (result.examined, result.accepted, result.ingest.imported) == (1, 1, 1)
    person = tenant.profile_by(loyalty_id="LOY-789456")
    assert person is not None
    assert person["lifetime_value"] == "125.50"
    assert replay_rejected(engine, ctx).examined == 0  # replayed once, marked


def test_rotated_secret_keeps_working_for_the_grace_period(tenant: Tenant) -> None:
    from datetime import timedelta

    from constintel.brands import credentials

    old = tenant.secrets["shopify"]
    with transaction(tenant.live.engine) as s:
        new = credentials.set_secret(
            s, brand_id=tenant.id, source="shopify", grace=timedelta(hours=1)
        ).secret
    assert tenant.shopify(SEED_SHOPIFY_ORDER, secret=new).status_code == 200
    assert tenant.shopify(SEED_SHOPIFY_ORDER, secret=old).status_code == 200
    with transaction(tenant.live.engine) as s:
        credentials.set_secret(s, brand_id=tenant.id, source="shopify", grace=timedelta(0))
    # Both earlier secrets are now expired; replicas see it once their cache (1 s here) ages.
    import time

    time.sleep(1.1)
    assert tenant.shopify(SEED_SHOPIFY_ORDER, secret=old).status_code == 401
    assert tenant.shopify(SEED_SHOPIFY_ORDER, secret=new).status_code == 401


def test_unknown_brand_is_404(tenant: Tenant) -> None:
    r = tenant.client.post("/webhooks/shopify/no-such-brand", content=b"{}")
    assert r.status_code == 404
    assert payload("shopify/webhook_orders_create_official_sample_2019.json")["id"]
