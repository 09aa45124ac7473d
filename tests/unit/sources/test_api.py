"""Our own generic API events."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from constintel.core.errors import PayloadError, UnknownShapeError
from constintel.events.schemas import Channel, EventType, OrderStatus
from constintel.ingest.sources import api


def test_cart_add() -> None:
    event = api.normalize(
        {
            "event_type": "cart_add",
            "occurred_at": "2024-12-06T09:15:00+01:00",
            "cookie_id": "ck_123",
            "email": "customer@example.com",
            "product_id": "PROD-001",
            "product_name": "T-Shirt",
            "price": "29.99",
            "quantity": 2,
            "url": "https://shop.example.com/t-shirt",
        }
    )
    assert event.source == "api"
    assert event.event_type is EventType.CART_ADD
    assert event.channel is Channel.WEB
    assert event.order is None
    assert event.occurred_at == datetime(2024, 12, 6, 8, 15, tzinfo=UTC)
    assert [(i.kind, i.value) for i in event.identifiers] == [
        ("email", "customer@example.com"),
        ("cookie_id", "ck_123"),
    ]
    assert event.properties == {
        "product_id": "PROD-001",
        "product_name": "T-Shirt",
        "url": "https://shop.example.com/t-shirt",
        "price": "29.99",
        "currency": "USD",
        "quantity": 2,
    }


@pytest.mark.parametrize(
    ("event_type", "expected", "channel"),
    [
        ("product_view", EventType.PRODUCT_VIEW, Channel.WEB),
        ("page_view", EventType.PAGE_VIEW, Channel.WEB),
        ("customer_update", EventType.CUSTOMER_UPDATE, Channel.ONLINE),
    ],
)
def test_other_types(event_type: str, expected: EventType, channel: Channel) -> None:
    event = api.normalize(
        {"event_type": event_type, "timestamp": "2024-12-06T09:15:00Z", "device_id": "dev-1"}
    )
    assert event.event_type is expected
    assert event.channel is channel
    assert [(i.kind, i.value) for i in event.identifiers] == [("device_id", "dev-1")]


def test_message_with_identifiers_object() -> None:
    event = api.normalize(
        {
            "event_type": "message",
            "timestamp": "2024-12-12T18:00:00Z",
            "event_id": "msg-42",
            "identifiers": {"phone": "+1-555-0123", "email": "customer@example.com"},
            "email": "customer@example.com",
            "channel": "whatsapp",
            "text": "Are the sneakers back in stock?",
        }
    )
    assert event.event_type is EventType.MESSAGE
    assert event.channel is Channel.MESSAGING
    assert event.external_id == "msg-42"
    assert [(i.kind, i.value) for i in event.identifiers] == [
        ("email", "customer@example.com"),  # top-level and nested: one identifier
        ("phone", "+1-555-0123"),
    ]
    assert event.properties == {"channel": "whatsapp", "text": "Are the sneakers back in stock?"}


def test_purchase() -> None:
    event = api.normalize(
        {
            "event_type": "purchase",
            "occurred_at": "2024-12-07T10:00:00Z",
            "loyalty_id": "LOY-1",
            "order": {
                "order_id": 9001,
                "total": 59.98,
                "currency": "eur",
                "items": [{"product_id": "P-1", "name": "Tee", "price": "29.99", "quantity": 2}],
            },
        }
    )
    assert event.event_type is EventType.PURCHASE
    assert event.channel is Channel.ONLINE
    order = event.order
    assert order is not None
    assert order.external_id == "9001"
    assert order.total == Decimal("59.98")
    assert order.currency == "EUR"
    assert order.status is OrderStatus.PROCESSING  # default
    assert order.placed_at == event.occurred_at
    assert [(i.product_id, i.name, i.quantity, i.unit_price) for i in order.line_items] == [
        ("P-1", "Tee", 2, Decimal("29.99"))
    ]


def test_purchase_status() -> None:
    order = api.normalize(
        {
            "event_type": "purchase",
            "occurred_at": "2024-12-07T10:00:00Z",
            "order": {"order_id": "A", "total": "1.00", "status": "delivered"},
        }
    ).order
    assert order is not None
    assert order.status is OrderStatus.DELIVERED


def test_unknown_event_type_lists_the_accepted_ones() -> None:
    with pytest.raises(PayloadError) as info:
        api.normalize({"event_type": "wishlist_add", "occurred_at": "2024-12-07T10:00:00Z"})
    assert info.value.field == "event_type"
    assert "cart_add" in info.value.reason
    assert "purchase" in info.value.reason


BASE: dict[str, Any] = {"event_type": "product_view", "occurred_at": "2024-12-07T10:00:00Z"}
PURCHASE: dict[str, Any] = {
    "event_type": "purchase",
    "occurred_at": "2024-12-07T10:00:00Z",
    "order": {"order_id": "A", "total": "1.00"},
}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**BASE, "event_type": None}, "event_type"),
        ({**BASE, "occurred_at": None}, "occurred_at"),
        ({**BASE, "occurred_at": "2024-02-30T10:00:00Z"}, "occurred_at"),
        ({**BASE, "price": "cheap"}, "price"),
        ({**BASE, "price": "-1.00"}, "price"),
        ({**BASE, "price": "1.00", "currency": "XXX1"}, "currency"),
        ({**BASE, "quantity": "many"}, "quantity"),
        ({**BASE, "identifiers": {"twitter": "@a"}}, "identifiers.twitter"),
        ({**BASE, "identifiers": {"email": ["a@example.com"]}}, "identifiers.email"),
        ({**BASE, "identifiers": "a@example.com"}, "identifiers"),
        ({**PURCHASE, "order": None}, "order"),
        ({**PURCHASE, "order": {"total": "1.00"}}, "order.order_id"),
        ({**PURCHASE, "order": {"order_id": "A", "total": "-1.00"}}, "order.total"),
        ({**PURCHASE, "order": {"order_id": "A", "total": "1", "status": "x"}}, "order.status"),
        (
            {**PURCHASE, "order": {"order_id": "A", "total": "1", "items": [{"price": "x"}]}},
            "order.items[0].price",
        ),
    ],
)
def test_bad_input_names_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(PayloadError) as info:
        api.normalize(body)
    assert info.value.field == field


def test_not_an_object() -> None:
    with pytest.raises(UnknownShapeError):
        api.normalize("cart_add")  # type: ignore[arg-type]
