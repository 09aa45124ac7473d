"""Helpers for service tests: a brand with credentials, and a client that signs requests
the way each platform does."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import Engine, func, select

from constintel.brands import credentials
from constintel.brands import service as brands
from constintel.db.session import transaction
from constintel.ingest.models import RejectedPayload
from constintel.webhooks import signatures
from constintel.webhooks.models import WebhookDelivery

PAYLOADS = Path(__file__).resolve().parent.parent / "data" / "payloads"
MAX_BODY = 256 * 1024


# Four people, one identifier each, oldest first; EVERYONE then carries all four identifiers,
# which is more matches than the engine merges alone: one review item.
FOUR_PEOPLE: list[dict[str, Any]] = [
    {
        "event_type": "purchase",
        "email": "a@example.com",
        "occurred_at": "2024-01-01T00:00:00Z",
        "order": {"order_id": "o1", "total": "10.00"},
    },
    {
        "event_type": "purchase",
        "phone": "+12025550143",
        "occurred_at": "2024-01-02T00:00:00Z",
        "order": {"order_id": "o2", "total": "20.00"},
    },
    {
        "event_type": "purchase",
        "loyalty_id": "L-1",
        "occurred_at": "2024-01-03T00:00:00Z",
        "order": {"order_id": "o3", "total": "30.00"},
    },
    {
        "event_type": "purchase",
        "cookie_id": "c-1",
        "occurred_at": "2024-01-04T00:00:00Z",
        "order": {"order_id": "o4", "total": "40.00"},
    },
]
EVERYONE: dict[str, Any] = {
    "event_type": "cart_add",
    "email": "a@example.com",
    "phone": "+12025550143",
    "loyalty_id": "L-1",
    "cookie_id": "c-1",
}


@dataclass
class Live:
    url: str
    engine: Engine


@dataclass
class Tenant:
    """A brand with its credentials, and a client that signs like each platform does."""

    live: Live
    id: str
    key: str
    secrets: dict[str, str]
    client: httpx.Client

    # -- API ---------------------------------------------------------------------------------
    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.key}", **kw.pop("headers", {})}
        return self.client.request(method, f"/api/v1{path}", headers=headers, **kw)

    def profile_by(self, **query: str) -> dict[str, Any] | None:
        r = self.api("GET", "/profiles", params=query)
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items[0] if items else None

    def four_people(self) -> None:
        """FOUR_PEOPLE, one request each: four new profiles, oldest first."""
        for person in FOUR_PEOPLE:
            assert self.api("POST", "/events", json=person).json()["created_profiles"] == 1

    # -- webhooks ----------------------------------------------------------------------------
    def shopify(
        self,
        payload: Any,
        topic: str = "orders/create",
        *,
        delivery: str | None = None,
        secret: str | None = None,
        signature: str | None = None,
    ) -> httpx.Response:
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        sig = (
            signature
            if signature is not None
            else signatures.shopify_signature(secret or self.secrets["shopify"], body)
        )
        headers = {
            "X-Shopify-Topic": topic,
            "X-Shopify-Webhook-Id": delivery or uuid.uuid4().hex,
            "Content-Type": "application/json",
        }
        if sig:
            headers["X-Shopify-Hmac-Sha256"] = sig
        return self.client.post(f"/webhooks/shopify/{self.id}", content=body, headers=headers)

    def woocommerce(
        self, payload: Any, topic: str = "order.created", *, delivery: str | None = None
    ) -> httpx.Response:
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        headers = {
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Delivery-ID": delivery or uuid.uuid4().hex,
            "X-WC-Webhook-Signature": signatures.shopify_signature(
                self.secrets["woocommerce"], body
            ),
        }
        return self.client.post(f"/webhooks/woocommerce/{self.id}", content=body, headers=headers)

    def square(self, payload: Any, *, url: str | None = None) -> httpx.Response:
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        target = f"{self.live.url}/webhooks/square/{self.id}"
        sig = signatures.square_signature(self.secrets["square"], url or target, body)
        return self.client.post(
            target, content=body, headers={"x-square-hmacsha256-signature": sig}
        )

    def pos(
        self, payload: Any, *, delivery: str | None = None, ts: int | None = None
    ) -> httpx.Response:
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        stamp = ts if ts is not None else int(time.time())
        headers = {
            "X-ConstIntel-Timestamp": str(stamp),
            "X-ConstIntel-Signature": signatures.pos_signature(self.secrets["pos"], stamp, body),
        }
        if delivery:
            headers["X-ConstIntel-Delivery-Id"] = delivery
        return self.client.post(f"/webhooks/pos/{self.id}", content=body, headers=headers)

    # -- state -------------------------------------------------------------------------------
    def drained(self, timeout: float = 20.0) -> None:
        """Wait until the inbox drain has processed every stored delivery of this brand."""
        deadline = time.monotonic() + timeout
        while self.stored(pending_only=True):
            assert time.monotonic() < deadline, "the inbox did not drain"
            time.sleep(0.02)

    def stored(self, *, pending_only: bool = False) -> int:
        with transaction(self.live.engine) as s:
            stmt = (
                select(func.count())
                .select_from(WebhookDelivery)
                .where(WebhookDelivery.brand_id == self.id)
            )
            if pending_only:
                stmt = stmt.where(WebhookDelivery.processed_at.is_(None))
            return int(s.scalar(stmt) or 0)

    def rejected(self) -> list[Any]:
        with transaction(self.live.engine) as s:
            return list(
                s.execute(
                    select(RejectedPayload).where(RejectedPayload.brand_id == self.id)
                ).scalars()
            )


def make_tenant(live: Live, client: httpx.Client) -> Tenant:
    with transaction(live.engine) as session:
        brand = brands.create(session, name=f"http-{uuid.uuid4().hex[:10]}")
        key = credentials.issue_key(session, brand_id=brand.id).key
        secrets = {
            source: credentials.set_secret(session, brand_id=brand.id, source=source).secret
            for source in credentials.WEBHOOK_SOURCES
        }
        return Tenant(live, brand.id, key, secrets, client)


def payload(name: str) -> Any:
    return orjson.loads((PAYLOADS / name).read_bytes())


def raw(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()
