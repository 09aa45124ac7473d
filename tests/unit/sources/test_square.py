"""Square adapter, on the OpenAPI spec's examples."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from constintel.core.errors import PayloadError, UnknownShapeError
from constintel.events.schemas import Channel, EventType, OrderStatus
from constintel.ingest.sources import square

DATA = Path(__file__).parents[2] / "data" / "payloads" / "square"
PAYMENT_PATH = "data.object.payment"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def test_payment_created() -> None:
    event = square.normalize(load("webhook_payment_created.json"))
    assert event.source == "square"
    assert event.event_type is EventType.POS_TRANSACTION
    assert event.channel is Channel.STORE
    assert event.external_id == "13b867cf-db3d-4b1c-90b6-2f32a9d78124"  # event_id
    order = event.order
    assert order is not None
    assert order.external_id == "hYy9pRFVxpDsO1FB05SunFWUe9JZY"  # keyed by payment id
    assert order.total == Decimal("1.00")  # 100 cents
    assert order.currency == "USD"
    assert order.status is OrderStatus.PENDING  # APPROVED
    assert order.channel is Channel.STORE
    assert order.store_id == "S8GWD5R9QB376"
    assert order.payment_method == "CARD"
    assert order.placed_at == datetime(2020, 11, 22, 21, 16, 51, 86000, tzinfo=UTC)
    assert event.identifiers == []  # no customer_id, no buyer email in this example
    assert event.properties["square_order_id"] == "03O3USaPaAaFnI6kkwB1JxGgBsUZY"
    assert event.properties["merchant_id"] == "6SSW7HV8K2ST5"


def test_payment_updated_completes_the_same_order() -> None:
    created = square.normalize(load("webhook_payment_created.json"))
    updated = square.normalize(load("webhook_payment_updated.json"), topic="payment.updated")
    assert created.order is not None
    assert updated.order is not None
    assert updated.order.external_id == created.order.external_id
    assert updated.order.status is OrderStatus.DELIVERED  # COMPLETED
    assert updated.order.source_updated_at == datetime(2020, 11, 22, 21, 19, 0, 831000, tzinfo=UTC)
    assert updated.occurred_at == updated.order.source_updated_at
    assert created.order.source_updated_at is not None
    assert created.order.source_updated_at < updated.order.source_updated_at


def test_api_payment_with_customer() -> None:
    event = square.normalize(load("api_create_payment_response.json"))
    order = event.order
    assert order is not None
    assert order.total == Decimal("10.00")  # amount 1000 USD minor units
    assert order.status is OrderStatus.DELIVERED
    assert event.external_id is None  # no envelope, no event id
    assert [(i.kind, i.value) for i in event.identifiers] == [
        ("square_customer_id", "W92WH6P11H4Z77CTET0RNTGFW8")
    ]


def test_refund_finds_the_payment_it_refunds() -> None:
    payment = square.normalize(load("api_create_payment_response.json"))
    refund = square.normalize(load("api_refund_payment_response.json"))
    assert payment.order is not None
    assert refund.order is not None
    assert refund.event_type is EventType.REFUND
    # the refund's own order_id is the return order Square creates, not the sale's order
    assert refund.properties["square_refund_order_id"] != payment.properties["square_order_id"]
    assert refund.order.external_id == payment.order.external_id
    assert refund.order.total is None
    assert refund.order.status is None
    assert refund.order.refunds == []  # PENDING is not counted yet


def test_refund_created_webhook_pending_then_completed() -> None:
    body = load("webhook_refund_created.json")
    event = square.normalize(body, topic="refund.created")
    assert event.event_type is EventType.REFUND
    assert event.external_id == "bc316346-6691-4243-88ed-6d651a0d0c47"
    assert event.order is not None
    assert event.order.external_id == "KkAkhdMsgzn59SM8A89WgKwekxLZY"
    assert event.order.refunds == []
    assert event.properties["refund_status"] == "PENDING"

    body["type"] = "refund.updated"
    body["data"]["object"]["refund"]["status"] = "COMPLETED"
    event = square.normalize(body)
    assert event.order is not None
    (refund,) = event.order.refunds
    assert refund.refund_id.startswith("KkAkhdMsgzn59SM8A89WgKwekxLZY_")
    assert refund.amount == Decimal("10.00")
    assert refund.created_at == datetime(2020, 2, 6, 21, 27, 41, 836000, tzinfo=UTC)


@pytest.mark.parametrize("status", ["REJECTED", "FAILED"])
def test_failed_refunds_are_not_counted(status: str) -> None:
    body = load("webhook_refund_created.json")
    body["data"]["object"]["refund"]["status"] = status
    event = square.normalize(body)
    assert event.order is not None
    assert event.order.refunds == []


@pytest.mark.parametrize("name", ["webhook_order_created.json", "webhook_order_updated.json"])
def test_thin_order_notification_needs_enrichment(name: str) -> None:
    with pytest.raises(UnknownShapeError) as info:
        square.normalize(load(name))
    assert "RetrieveOrder" in info.value.reason


def test_customer_created() -> None:
    event = square.normalize(load("webhook_customer_created.json"))
    assert event.event_type is EventType.CUSTOMER_UPDATE
    assert event.order is None
    assert event.external_id == "e12b5591-e0b6-4967-810a-307c7efcb1a7"
    assert [(i.kind, i.value) for i in event.identifiers] == [
        ("email", "jenkins+smorly@squareup.com"),  # raw, plus-address kept
        ("phone", "+12126668929"),
        ("square_customer_id", "QPTXM8PQNX3Q726ZYHPMNP46XC"),
    ]
    assert event.properties["first_name"] == "Jenkins"
    assert event.occurred_at == datetime(2022, 11, 9, 21, 23, 25, tzinfo=UTC)


def test_retrieved_order_anonymous_counter_sale() -> None:
    event = square.normalize(load("api_retrieve_order_response.json"))
    assert event.event_type is EventType.POS_TRANSACTION
    order = event.order
    assert order is not None
    assert order.external_id == "CAISENgvlJ6jLWAzERDzjyHVybY"  # no tender: the order id
    assert order.total == Decimal("5.50")
    assert order.status is OrderStatus.PENDING  # OPEN
    assert order.store_id == "D7AVYMEAPJ3A3"
    assert event.identifiers == []
    assert [(i.name, i.quantity, i.unit_price) for i in order.line_items] == [
        ("Item 1", 1, Decimal("5.00")),
        ("Item 2", 2, Decimal("3.00")),  # quantity "2" is a string in Square
    ]


def test_created_order_with_modifiers() -> None:
    order = square.normalize(load("api_create_order_response.json")).order
    assert order is not None
    assert order.total == Decimal("61.76")
    assert order.order_number == "my-order-001"
    steak = order.line_items[1]
    assert (steak.product_id, steak.quantity, steak.unit_price) == (
        "BEMYCSMIJL46OCDV4KYIKXIB",
        2,
        Decimal("22.00"),
    )


def test_order_with_one_tender_is_keyed_by_its_payment() -> None:
    body = load("api_retrieve_order_response.json")
    body["order"]["state"] = "COMPLETED"
    body["order"]["tenders"] = [
        {"id": "PAY-1", "customer_id": "CUST-9", "type": "CARD"},
    ]
    event = square.normalize(body)
    assert event.order is not None
    assert event.order.external_id == "PAY-1"
    assert event.order.status is OrderStatus.DELIVERED
    assert [(i.kind, i.value) for i in event.identifiers] == [("square_customer_id", "CUST-9")]


def test_minor_units_follow_the_currency() -> None:
    body = load("api_create_payment_response.json")
    body["payment"]["total_money"] = {"amount": 1000, "currency": "JPY"}
    order = square.normalize(body).order
    assert order is not None
    assert order.total == Decimal("1000")
    assert order.currency == "JPY"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("COMPLETED", OrderStatus.DELIVERED),
        ("APPROVED", OrderStatus.PENDING),
        ("PENDING", OrderStatus.PENDING),
        ("CANCELED", OrderStatus.CANCELLED),
        ("FAILED", OrderStatus.CANCELLED),
    ],
)
def test_payment_status_mapping(status: str, expected: OrderStatus) -> None:
    body = load("webhook_payment_updated.json")
    body["data"]["object"]["payment"]["status"] = status
    order = square.normalize(body).order
    assert order is not None
    assert order.status is expected


def test_test_notification_is_unknown() -> None:
    with pytest.raises(UnknownShapeError):
        square.normalize(load("webhook_test_notification_signed.json"))


def test_topic_must_match_body_type() -> None:
    with pytest.raises(PayloadError) as info:
        square.normalize(load("webhook_payment_created.json"), topic="refund.created")
    assert info.value.field == "type"


def test_unknown_bare_shape() -> None:
    with pytest.raises(UnknownShapeError):
        square.normalize({"payments": []})


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("total_money", {"amount": -100, "currency": "USD"}, "total_money.amount"),
        ("total_money", {"amount": "100", "currency": "USD"}, "total_money.amount"),
        ("total_money", {"amount": 1.5, "currency": "USD"}, "total_money.amount"),
        ("total_money", {"amount": 100, "currency": "XXX1"}, "total_money.currency"),
        ("total_money", None, "total_money"),
        ("created_at", "2024-02-30T10:00:00Z", "created_at"),
        ("status", "EXPLODED", "status"),
        ("id", None, "id"),
    ],
)
def test_bad_payment_names_the_field(key: str, value: Any, field: str) -> None:
    body = load("webhook_payment_created.json")
    body["data"]["object"]["payment"][key] = value
    with pytest.raises(PayloadError) as info:
        square.normalize(body)
    assert info.value.field == f"{PAYMENT_PATH}.{field}"


def test_fractional_quantity_is_refused() -> None:
    body = load("api_retrieve_order_response.json")
    body["order"]["line_items"][0]["quantity"] = "1.5"
    with pytest.raises(PayloadError) as info:
        square.normalize(body)
    assert info.value.field == "order.line_items[0].quantity"
