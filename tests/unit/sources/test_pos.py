"""Generic POS adapter, on the seed spec's two POS shapes."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from constintel.core.errors import PayloadError, UnknownShapeError
from constintel.events.schemas import Channel, EventType, OrderStatus
from constintel.ingest.sources import pos

# "POS Event Arrives": nested customer, total as a JSON number.
SEED_NESTED: dict[str, Any] = {
    "transaction_id": "TXN-98765",
    "store_id": "STORE-001",
    "store_name": "Downtown Location",
    "customer": {"phone": "+1-555-0123", "loyalty_id": "LOY-789456"},
    "total": 125.50,
    "items": [
        {"product_id": "PROD-002", "product_name": "Sneakers", "price": "125.50", "quantity": 1}
    ],
    "payment_method": "credit_card",
    "timestamp": "2024-12-07T14:30:00Z",
}

# "Example 2": flat identifiers, total here as a string.
SEED_FLAT: dict[str, Any] = {
    "transaction_id": "TXN-98765",
    "store_id": "STORE-001",
    "phone": "+1-555-0123",
    "loyalty_id": "LOY-789456",
    "total": "125.50",
    "items": [{"product_id": "PROD-002", "product_name": "Sneakers", "price": 125.5}],
    "timestamp": "2024-12-07T14:30:00Z",
}


def seed(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(base), **changes}


def test_seed_nested_shape() -> None:
    event = pos.normalize(seed(SEED_NESTED))
    assert event.source == "pos"
    assert event.event_type is EventType.POS_TRANSACTION
    assert event.channel is Channel.STORE
    assert event.external_id == "TXN-98765"
    assert event.occurred_at == datetime(2024, 12, 7, 14, 30, tzinfo=UTC)
    order = event.order
    assert order is not None
    assert order.external_id == "TXN-98765"
    assert order.total == Decimal("125.50")
    assert str(order.total) == "125.50"
    assert order.currency == "USD"
    assert order.status is OrderStatus.DELIVERED
    assert order.channel is Channel.STORE
    assert (order.store_id, order.store_name, order.payment_method) == (
        "STORE-001",
        "Downtown Location",
        "credit_card",
    )
    assert order.placed_at == event.occurred_at
    assert [(i.kind, i.value) for i in event.identifiers] == [
        ("phone", "+1-555-0123"),
        ("loyalty_id", "LOY-789456"),
    ]
    (item,) = order.line_items
    assert (item.product_id, item.name, item.quantity, item.unit_price) == (
        "PROD-002",
        "Sneakers",
        1,
        Decimal("125.50"),
    )


def test_seed_flat_shape_string_total() -> None:
    event = pos.normalize(seed(SEED_FLAT))
    order = event.order
    assert order is not None
    assert order.total == Decimal("125.50")
    assert order.store_name is None
    assert [(i.kind, i.value) for i in event.identifiers] == [
        ("phone", "+1-555-0123"),
        ("loyalty_id", "LOY-789456"),
    ]
    assert order.line_items[0].quantity == 1  # default
    assert order.line_items[0].unit_price == Decimal("125.50")  # JSON number 125.5


def test_nested_and_flat_together_are_deduplicated() -> None:
    body = seed(SEED_FLAT, customer={"phone": "+1-555-0123", "email": "a@example.com"})
    event = pos.normalize(body)
    assert [(i.kind, i.value) for i in event.identifiers] == [
        ("phone", "+1-555-0123"),
        ("email", "a@example.com"),
        ("loyalty_id", "LOY-789456"),
    ]


def test_anonymous_sale_has_no_identifiers() -> None:
    body = seed(SEED_NESTED)
    del body["customer"]
    assert pos.normalize(body).identifiers == []


def test_device_id_is_not_a_customer_identifier() -> None:
    event = pos.normalize(seed(SEED_NESTED, device_id="TILL-3"))
    assert all(i.kind != "device_id" for i in event.identifiers)
    assert event.properties["pos_device_id"] == "TILL-3"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("completed", OrderStatus.DELIVERED),
        ("voided", OrderStatus.CANCELLED),
        ("cancelled", OrderStatus.CANCELLED),
        ("REFUNDED", OrderStatus.REFUNDED),
        ("pending", OrderStatus.PENDING),
    ],
)
def test_status(status: str, expected: OrderStatus) -> None:
    order = pos.normalize(seed(SEED_NESTED, status=status)).order
    assert order is not None
    assert order.status is expected


def test_refunds() -> None:
    body = seed(
        SEED_NESTED,
        refunds=[
            {"refund_id": "R-1", "amount": "25.50", "created_at": "2024-12-08T09:00:00+01:00"},
            {"refund_id": 2, "amount": 10},
        ],
    )
    order = pos.normalize(body).order
    assert order is not None
    assert [(r.refund_id, r.amount, r.created_at) for r in order.refunds] == [
        ("R-1", Decimal("25.50"), datetime(2024, 12, 8, 8, 0, tzinfo=UTC)),
        ("2", Decimal("10.00"), None),
    ]


def test_currency() -> None:
    order = pos.normalize(seed(SEED_NESTED, currency="eur")).order
    assert order is not None
    assert order.currency == "EUR"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"transaction_id": None}, "transaction_id"),
        ({"transaction_id": ""}, "transaction_id"),
        ({"total": -125.5}, "total"),
        ({"total": "a lot"}, "total"),
        ({"total": None}, "total"),
        ({"timestamp": "2024-02-30T10:00:00Z"}, "timestamp"),
        ({"timestamp": None}, "timestamp"),
        ({"currency": "XXX1"}, "currency"),
        ({"status": "lost"}, "status"),
        ({"customer": ["+1-555-0123"]}, "customer"),
        ({"items": [{"price": "x"}]}, "items[0].price"),
        ({"refunds": [{"refund_id": "R", "amount": "-1"}]}, "refunds[0].amount"),
        ({"refunds": [{"amount": "1"}]}, "refunds[0].refund_id"),
    ],
)
def test_bad_input_names_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(PayloadError) as info:
        pos.normalize(seed(SEED_NESTED, **change))
    assert info.value.field == field


def test_status_error_lists_accepted_values() -> None:
    with pytest.raises(PayloadError, match="voided"):
        pos.normalize(seed(SEED_NESTED, status="lost"))


def test_not_an_object() -> None:
    with pytest.raises(UnknownShapeError):
        pos.normalize(None)  # type: ignore[arg-type]
