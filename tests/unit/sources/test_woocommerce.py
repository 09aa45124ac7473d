"""WooCommerce adapter, on the REST API docs' examples (= webhook bodies)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from constintel.core.errors import PayloadError, UnknownShapeError
from constintel.events.schemas import Channel, EventType, OrderStatus
from constintel.ingest.sources import woocommerce

DATA = Path(__file__).parents[2] / "data" / "payloads" / "woocommerce"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def test_order_created() -> None:
    event = woocommerce.normalize(load("order_create_response.json"), topic="order.created")
    assert event.source == "woocommerce"
    assert event.event_type is EventType.PURCHASE
    assert event.channel is Channel.ONLINE
    order = event.order
    assert order is not None
    assert order.external_id == "727"
    assert order.order_number == "727"
    assert order.total == Decimal("29.35")
    assert order.currency == "USD"
    assert order.status is OrderStatus.PROCESSING
    assert order.payment_method == "bacs"
    # date_created_gmt (UTC), not the site-local date_created 16:28:02
    assert order.placed_at == datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC)
    assert order.source_updated_at == datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC)
    assert event.occurred_at == order.placed_at
    assert event.properties["status"] == "processing"
    # customer_id 0 is a guest checkout: no woocommerce_customer_id identifier
    assert [(i.kind, i.value, i.country) for i in event.identifiers] == [
        ("email", "john.doe@example.com", None),
        ("phone", "(555) 555-5555", "US"),
    ]


def test_line_items_number_prices_and_names() -> None:
    order = woocommerce.normalize(load("order_create_response.json")).order
    assert order is not None
    first, second = order.line_items
    assert first.unit_price == Decimal("3.00")  # "price": 3, a JSON number
    assert first.quantity == 2
    assert first.product_id == "93"
    assert first.variant_id is None  # variation_id 0
    assert first.sku is None  # ""
    assert second.unit_price == Decimal("12.00")
    assert second.variant_id == "23"
    assert second.sku == "Bar3"
    assert second.name == "Ship Your Idea \u2013 Color: Black, Size: M Test"  # &ndash;


def test_order_updated_to_completed() -> None:
    event = woocommerce.normalize(load("order_update_response.json"), topic="order.updated")
    assert event.event_type is EventType.ORDER_UPDATED
    order = event.order
    assert order is not None
    assert order.status is OrderStatus.DELIVERED  # "completed"
    assert event.occurred_at == datetime(2017, 3, 22, 19, 30, 35, tzinfo=UTC)
    assert order.source_updated_at == event.occurred_at
    assert order.placed_at == datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC)


def test_registered_customer_id() -> None:
    body = load("order_create_response.json")
    body["customer_id"] = 25
    event = woocommerce.normalize(body)
    assert ("woocommerce_customer_id", "25") in [(i.kind, i.value) for i in event.identifiers]


def test_shipping_phone_with_its_country() -> None:
    body = load("order_create_response.json")
    body["shipping"]["phone"] = "020 7946 0000"
    body["shipping"]["country"] = "GB"
    event = woocommerce.normalize(body)
    assert ("phone", "020 7946 0000", "GB") in [
        (i.kind, i.value, i.country) for i in event.identifiers
    ]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("pending", OrderStatus.PENDING),
        ("on-hold", OrderStatus.PENDING),
        ("processing", OrderStatus.PROCESSING),
        ("completed", OrderStatus.DELIVERED),
        ("cancelled", OrderStatus.CANCELLED),
        ("failed", OrderStatus.CANCELLED),
        ("refunded", OrderStatus.REFUNDED),
        ("some-plugin-status", OrderStatus.PENDING),
    ],
)
def test_status_mapping(status: str, expected: OrderStatus) -> None:
    body = load("order_create_response.json")
    body["status"] = status
    order = woocommerce.normalize(body).order
    assert order is not None
    assert order.status is expected


def test_embedded_refunds_negative_totals_and_positive_amounts() -> None:
    body = load("order_update_response.json")
    refund_resource = load("order_refund_create_response.json")
    body["refunds"] = [{"id": 731, "reason": "damaged", "total": "-10.00"}, refund_resource]
    order = woocommerce.normalize(body, topic="order.updated").order
    assert order is not None
    assert [(r.refund_id, r.amount) for r in order.refunds] == [
        ("731", Decimal("10.00")),
        ("726", Decimal("10.00")),
    ]
    assert order.refunds[0].created_at is None
    assert order.refunds[1].created_at == datetime(2017, 3, 21, 20, 7, 11, tzinfo=UTC)


@pytest.mark.parametrize("topic", [None, "order.updated"])
def test_bare_refund_resource_is_refused(topic: str | None) -> None:
    with pytest.raises(UnknownShapeError, match=r"order\.updated"):
        woocommerce.normalize(load("order_refund_create_response.json"), topic=topic)


def test_customer_resource_is_not_an_order() -> None:
    with pytest.raises(UnknownShapeError):
        woocommerce.normalize(load("customer_create_response.json"))


def test_unknown_topic() -> None:
    with pytest.raises(UnknownShapeError, match=r"coupon\.created"):
        woocommerce.normalize(load("order_create_response.json"), topic="coupon.created")


def test_deleted_thin_body() -> None:
    before = datetime.now(UTC)
    event = woocommerce.normalize({"id": 727}, topic="order.deleted")
    assert event.event_type is EventType.ORDER_UPDATED
    order = event.order
    assert order is not None
    assert order.external_id == "727"
    assert order.status is OrderStatus.CANCELLED
    assert order.total is None
    assert order.source_updated_at is None
    assert before - timedelta(seconds=1) <= event.occurred_at <= datetime.now(UTC)


def test_deleted_full_body_is_cancelled() -> None:
    event = woocommerce.normalize(load("order_update_response.json"), topic="order.deleted")
    assert event.event_type is EventType.ORDER_UPDATED
    assert event.order is not None
    assert event.order.status is OrderStatus.CANCELLED
    assert event.order.total == Decimal("29.35")


def test_repeating_fraction_price_is_derived_from_subtotal() -> None:
    body = load("order_create_response.json")
    item = body["line_items"][0]
    item.update(quantity=3, subtotal="10.00", total="10.00", price=10 / 3)
    order = woocommerce.normalize(body).order
    assert order is not None
    assert order.line_items[0].unit_price == Decimal("3.33")
    assert order.total == Decimal("29.35")  # the order total is never rounded


def test_local_date_only_with_offset() -> None:
    body = load("order_create_response.json")
    del body["date_created_gmt"]
    with pytest.raises(PayloadError) as info:
        woocommerce.normalize(body)
    assert info.value.field == "date_created"  # site-local time without offset
    body["date_created"] = "2017-03-22T16:28:02-03:00"
    order = woocommerce.normalize(body).order
    assert order is not None
    assert order.placed_at == datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"total": "-5.00"}, "total"),
        ({"total": "twenty"}, "total"),
        ({"total": None}, "total"),
        ({"date_created_gmt": "2024-02-30T10:00:00"}, "date_created_gmt"),
        ({"currency": "XXX1"}, "currency"),
        ({"id": None}, "id"),
        ({"status": None}, "status"),
        ({"billing": "john"}, "billing"),
        ({"refunds": [{"id": 1, "total": "-x"}]}, "refunds[0].total"),
        ({"refunds": [{"total": "-1.00"}]}, "refunds[0].id"),
        ({"line_items": [{"quantity": 1, "price": -3}]}, "line_items[0].price"),
        ({"line_items": [{"quantity": "two", "price": 3}]}, "line_items[0].quantity"),
    ],
)
def test_bad_input_names_the_field(change: dict[str, Any], field: str) -> None:
    body = {**load("order_create_response.json"), **change}
    with pytest.raises(PayloadError) as info:
        woocommerce.normalize(body)
    assert info.value.field == field


def test_not_an_object() -> None:
    with pytest.raises(UnknownShapeError):
        woocommerce.normalize("webhook_id=12")  # type: ignore[arg-type]
