"""Security: only correctly signed deliveries are stored; one brand's key never reaches
another brand's data (404, like an id that does not exist); an erased person stays erased."""

from __future__ import annotations

import base64
from decimal import Decimal

import orjson
import pytest
from sqlalchemy import select

from constintel.brands import service as brands
from constintel.db.session import transaction
from constintel.ingest.models import CustomerRawEvent
from constintel.profiles import service as profiles
from constintel.profiles.models import CustomerProfile
from constintel.webhooks import signatures
from constintel.webhooks.models import WebhookDelivery
from integration.test_seed_scenarios import SEED_POS_TRANSACTION, SEED_SHOPIFY_ORDER
from service.live import Tenant, raw

BODY = orjson.dumps(SEED_SHOPIFY_ORDER)


NOWHERE = "01a20000-0000-7000-8000-000000000000"


def _good(tenant: Tenant) -> str:
    return signatures.shopify_signature(tenant.secrets["shopify"], BODY)


@pytest.mark.parametrize(
    "make_signature",
    [
        pytest.param(lambda t: "", id="missing"),
        pytest.param(lambda t: signatures.shopify_signature("wrong-secret", BODY), id="wrong"),
        pytest.param(lambda t: _good(t)[:20], id="truncated"),
        pytest.param(lambda t: "not base64 at all!", id="garbage"),
        pytest.param(
            lambda t: base64.b64encode(base64.b64decode(_good(t))[:-1] + b"\0").decode(),
            id="one-byte-off",
        ),
    ],
)
def test_bad_shopify_signatures_are_401_and_store_nothing(tenant: Tenant, make_signature) -> None:
    r = tenant.shopify(BODY, signature=make_signature(tenant))
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert tenant.stored() == 0
    assert tenant.rejected() == []


def test_replayed_signature_with_tampered_body_is_401(tenant: Tenant) -> None:
    signature = _good(tenant)
    assert tenant.shopify(BODY, signature=signature).status_code == 200
    tampered = BODY.replace(b"89.99", b"8999.99")
    assert tenant.shopify(tampered, signature=signature).status_code == 401
    tenant.drained()
    assert tenant.stored() == 1
    person = tenant.profile_by(email="customer@example.com")
    assert person is not None
    assert person["lifetime_value"] == "89.99"


def test_another_brands_secret_does_not_verify(tenant: Tenant, other: Tenant) -> None:
    r = tenant.shopify(BODY, signature=signatures.shopify_signature(other.secrets["shopify"], BODY))
    assert r.status_code == 401
    assert tenant.stored() == 0


@pytest.mark.parametrize("header", ["X-WC-Webhook-Signature", None])
def test_bad_woocommerce_signature_is_401(tenant: Tenant, header: str | None) -> None:
    body = raw("woocommerce/order_create_response.json")
    headers = {header: signatures.shopify_signature("nope", body)} if header else {}
    r = tenant.client.post(f"/webhooks/woocommerce/{tenant.id}", content=body, headers=headers)
    assert r.status_code == 401
    assert tenant.stored() == 0


def test_pos_signature_is_bound_to_its_timestamp(tenant: Tenant) -> None:
    import time

    body = orjson.dumps(SEED_POS_TRANSACTION)
    stale = int(time.time()) - 3600
    assert tenant.pos(body, ts=stale).status_code == 401  # a captured request, replayed later
    now = int(time.time())
    sig = signatures.pos_signature(tenant.secrets["pos"], now, body)
    r = tenant.client.post(
        f"/webhooks/pos/{tenant.id}",
        content=body,
        headers={"X-ConstIntel-Timestamp": str(now + 1), "X-ConstIntel-Signature": sig},
    )
    assert r.status_code == 401
    assert tenant.stored() == 0


def test_square_vector_from_the_sdk() -> None:
    body = raw("square/webhook_test_notification_signed.json")
    url = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9"
    expected = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="
    assert signatures.square_signature("Ibxx_5AKakO-3qeNVR61Dw", url, body) == expected
    macs = signatures.square_macs([("Ibxx_5AKakO-3qeNVR61Dw", url)], body)
    assert signatures.verify_base64(expected, macs)
    assert not signatures.verify_base64(expected, signatures.square_macs([("x", url)], body))
    second = signatures.square_signature(
        "signature-key",
        "https://webhook.site/webhooks",
        b'{"data":{"type":"webhooks","id":">id<"}}',
    )
    assert second == "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U="


def _seed(tenant: Tenant) -> str:
    r = tenant.api(
        "POST",
        "/events",
        json={"source": "shopify", "topic": "orders/create", "payload": SEED_SHOPIFY_ORDER},
    )
    assert r.status_code == 200, r.text
    (pid,) = r.json()["profile_ids"]
    return str(pid)


def test_api_requires_a_valid_key(tenant: Tenant) -> None:
    pid = _seed(tenant)
    assert tenant.client.get(f"/api/v1/profiles/{pid}").status_code == 401
    bad = {"Authorization": "Bearer ci_not-a-key"}
    assert tenant.client.get(f"/api/v1/profiles/{pid}", headers=bad).status_code == 401
    assert (
        tenant.client.get(f"/api/v1/profiles/{pid}", headers={"X-API-Key": tenant.key}).status_code
        == 200
    )


def test_rotated_key_stops_working_at_once(tenant: Tenant) -> None:
    from constintel.brands import credentials

    pid = _seed(tenant)
    with transaction(tenant.live.engine) as s:
        new = credentials.rotate_key(s, brand_id=tenant.id).key
    assert tenant.api("GET", f"/profiles/{pid}").status_code == 401
    tenant.key = new
    assert tenant.api("GET", f"/profiles/{pid}").status_code == 200


def test_brands_are_kept_apart(tenant: Tenant, other: Tenant) -> None:
    theirs = _seed(other)
    ours = _seed(tenant)
    # Same email in both brands: two separate people.
    assert theirs != ours
    for method, path in [
        ("GET", f"/profiles/{theirs}"),
        ("GET", f"/profiles/{theirs}/events"),
        ("GET", f"/profiles/{theirs}/orders"),
        ("GET", f"/profiles/{theirs}/export"),
        ("POST", f"/profiles/{theirs}/unmerge"),
        ("DELETE", f"/profiles/{theirs}"),
    ]:
        r = tenant.api(method, path)
        assert r.status_code == 404, (method, path, r.text)
        # Exactly what an id that exists nowhere gets: nothing tells the two apart.
        ghost = tenant.api(method, path.replace(theirs, NOWHERE))
        assert r.text.replace(theirs, NOWHERE) == ghost.text
    listed = tenant.api("GET", "/profiles").json()["items"]
    assert [p["id"] for p in listed] == [ours]
    found = tenant.profile_by(email="customer@example.com")
    assert found is not None
    assert found["id"] == ours
    r = tenant.api("POST", f"/events/{theirs}/link", json={"profile_id": ours})
    assert r.status_code == 404
    # Their data is untouched.
    still = other.api("GET", f"/profiles/{theirs}")
    assert still.status_code == 200
    assert still.json()["lifetime_value"] == "89.99"


def test_review_items_are_per_brand(tenant: Tenant, other: Tenant) -> None:
    people = [
        {"event_type": "customer_update", "email": "a@example.com"},
        {"event_type": "customer_update", "phone": "+12025550143"},
        {"event_type": "customer_update", "loyalty_id": "L-1"},
        {"event_type": "customer_update", "cookie_id": "c-1"},
    ]
    assert other.api("POST", "/events", json=people).json()["created_profiles"] == 4
    everyone = {
        "event_type": "cart_add",
        "email": "a@example.com",
        "phone": "+12025550143",
        "loyalty_id": "L-1",
        "cookie_id": "c-1",
    }
    assert other.api("POST", "/events", json=everyone).json()["reviews"] == 1
    (item,) = other.api("GET", "/review").json()
    assert tenant.api("POST", f"/review/{item['id']}/approve").status_code == 404
    assert tenant.api("POST", f"/review/{item['id']}/reject").status_code == 404
    assert tenant.api("GET", "/review?status=all").json() == []
    assert other.api("GET", "/review").json()[0]["status"] == "pending"


def test_erased_person_stays_erased(tenant: Tenant) -> None:
    assert tenant.shopify(SEED_SHOPIFY_ORDER, delivery="d-1").status_code == 200
    tenant.drained()
    person = tenant.profile_by(email="customer@example.com")
    assert person is not None
    pid = person["id"]
    named = {"event_type": "customer_update", "email": "customer@example.com", "first_name": "Sam"}
    assert tenant.api("POST", "/events", json=named).json()["profile_ids"] == [pid]
    export = tenant.api("GET", f"/profiles/{pid}/export")
    assert export.status_code == 200
    data = export.json()
    assert data["profile"]["name"] == "Sam"
    assert {i["value"] for i in data["identifiers"]} == {"customer@example.com", "+15550123"}
    assert [Decimal(str(o["net"])) for o in data["orders"]] == [Decimal("89.99")]
    assert data["events"][0]["payload"]["email"] == "customer@example.com"

    r = tenant.api("DELETE", f"/profiles/{pid}")
    assert r.status_code == 200, r.text
    assert r.json()["removed"]["identifiers"] == 2
    assert tenant.api("GET", f"/profiles/{pid}").status_code == 404
    assert tenant.api("GET", f"/profiles/{pid}/export").status_code == 404
    assert tenant.api("DELETE", f"/profiles/{pid}").status_code == 404
    assert tenant.profile_by(email="customer@example.com") is None
    # The old order comes again (Shopify retries with a new delivery id; a file is replayed),
    # and a POS sale with the erased phone and a loyalty id the person never had.
    assert tenant.shopify(SEED_SHOPIFY_ORDER, delivery="d-2").status_code == 200
    tenant.drained()
    r = tenant.api("POST", "/events", json={"source": "pos", "payload": SEED_POS_TRANSACTION})
    assert r.status_code == 200, r.text
    assert tenant.profile_by(email="customer@example.com") is None
    assert tenant.profile_by(phone="+1-555-0123") is None
    newcomer = tenant.profile_by(loyalty_id="LOY-789456")
    assert newcomer is not None
    assert sorted(newcomer["identifiers"]) == ["loyalty_id"]  # the phone stays suppressed
    assert newcomer["lifetime_value"] == "125.50"
    # Revenue stays right: the erased person's order is kept, anonymously, and counted once.
    with transaction(tenant.live.engine) as s:
        ltv, net = profiles.totals(s, brand=brands.get(s, ref=tenant.id))
    assert ltv == net == Decimal("215.49")
    # No personal data is left in the stored payloads of the erased profile.
    with transaction(tenant.live.engine) as s:
        bodies = s.scalars(
            select(CustomerRawEvent.payload).where(CustomerRawEvent.customer_profile_id == pid)
        ).all()
    assert len(bodies) == 2  # the redelivered order was a duplicate: nothing new stored
    assert bodies == [{"erased": True}] * 2
    with transaction(tenant.live.engine) as s:
        assert s.get(CustomerProfile, pid).name is None  # type: ignore[union-attr]
    with transaction(tenant.live.engine) as s:
        kept = s.scalars(select(WebhookDelivery.body).where(WebhookDelivery.brand_id == tenant.id))
        assert "customer@example.com" not in "".join(kept)
