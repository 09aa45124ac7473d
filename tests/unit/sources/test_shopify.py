"""Shopify adapter, on Shopify's own published payloads (tests/data/payloads/shopify)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from constintel.core.errors import PayloadError, UnknownShapeError
from constintel.events.schemas import Channel, EventType, OrderStatus
from constintel.ingest.sources import shopify

DATA = Path(__file__).parents[2] / "data" / "payloads" / "shopify"

BIG_CUSTOMER_ID = "115310627314723954"  # > 2**53: a float would change it


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def idents(event: Any) -> list[tuple[str, str, str | None]]:
    return [(i.kind, i.value, i.country) for i in event.identifiers]


SEED_ORDER: dict[str, Any] = {
    "id": 12345,
    "order_number": "#1001",
    "email": "customer@example.com",
    "phone": "+1-555-0123",
    "total_spent": "89.99",
    "line_items": [
        {"product_id": "PROD-001", "product_name": "T-Shirt", "quantity": 2, "price": "29.99"}
    ],
    "created_at": "2024-12-07T10:00:00Z",
}


# --- official webhook samples ---------------------------------------------------------------


def test_official_2025_sample() -> None:
    event = shopify.normalize(
        load("webhook_orders_create_official_sample_2025.json"), topic="orders/create"
    )
    assert event.source == "shopify"
    assert event.event_type is EventType.PURCHASE
    order = event.order
    assert order is not None
    assert order.external_id == "820982911946154508"
    # total_price, not current_total_price (414.95) nor total_line_items_price
    assert order.total == Decimal("404.95")
    assert order.currency == "USD"
    assert order.status is OrderStatus.CANCELLED  # cancelled_at set, financial_status voided
    assert order.financial_status == "voided"
    assert order.fulfillment_status is None
    assert order.test is True
    assert order.order_number == "#9999"
    assert order.channel is Channel.ONLINE
    assert order.store_id is None
    assert order.placed_at == datetime(2022, 1, 1, 0, 0, tzinfo=UTC)
    assert event.occurred_at == order.placed_at
    assert idents(event) == [
        ("email", "jon@example.com", None),  # email and contact_email: one identifier
        ("email", "john@example.com", None),  # the customer's own email differs: kept
        ("phone", "555-555-SHIP", "US"),  # billing and shipping share it: deduplicated
        ("phone", "123-123-1234", "CA"),  # customer.default_address, Canadian
        ("shopify_customer_id", BIG_CUSTOMER_ID, None),
    ]
    (item,) = order.line_items
    assert item.product_id == "788032119674292922"
    assert item.variant_id is None
    assert item.name == "Aviator sunglasses"
    assert item.quantity == 1
    assert item.unit_price == Decimal("89.99")
    assert item.sku == "SKU2006-001"
    assert order.refunds == []


def test_official_2019_sample() -> None:
    event = shopify.normalize(load("webhook_orders_create_official_sample_2019.json"))
    order = event.order
    assert order is not None
    assert event.event_type is EventType.PURCHASE
    assert order.total == Decimal("403.00")
    assert order.status is OrderStatus.CANCELLED
    assert order.fulfillment_status == "pending"  # raw value kept even if unusual
    assert order.test is True
    # processed_at is null here: placed_at comes from created_at (-04:00 -> UTC)
    assert order.placed_at == datetime(2019, 6, 4, 17, 53, 6, tzinfo=UTC)
    assert idents(event) == [
        ("email", "jon@doe.ca", None),
        ("email", "john@test.com", None),
        ("phone", "555-555-BILL", "US"),
        ("phone", "555-555-SHIP", "US"),
        ("phone", "123-123-1234", "CA"),
        ("shopify_customer_id", BIG_CUSTOMER_ID, None),
    ]
    assert [item.unit_price for item in order.line_items] == [Decimal("199.00")] * 2
    assert all(item.variant_id == "808950810" for item in order.line_items)


def test_customer_id_stays_exact_from_raw_json() -> None:
    raw = (DATA / "webhook_orders_create_official_sample_2019.json").read_text(encoding="utf-8")
    event = shopify.normalize(json.loads(raw))
    values = [i.value for i in event.identifiers if i.kind == "shopify_customer_id"]
    assert values == [BIG_CUSTOMER_ID]
    assert str(int(float(BIG_CUSTOMER_ID))) != BIG_CUSTOMER_ID  # what a float would have done


def test_float_customer_id_is_refused() -> None:
    body = load("webhook_orders_create_official_sample_2019.json")
    body["customer"]["id"] = float(body["customer"]["id"])
    with pytest.raises(PayloadError) as info:
        shopify.normalize(body)
    assert info.value.field == "customer.id"


def test_draft_order_without_any_identifier() -> None:
    event = shopify.normalize(
        load("webhook_orders_paid_devstore_no_customer.json"), topic="orders/paid"
    )
    order = event.order
    assert order is not None
    assert event.event_type is EventType.PURCHASE
    assert event.identifiers == []  # email "", contact_email null, no customer
    assert order.external_id == "5324830114101"
    assert order.total == Decimal("2629.95")
    assert order.status is OrderStatus.PROCESSING  # paid, not fulfilled
    assert order.test is False
    assert order.channel is Channel.ONLINE  # a draft order's location is not a store
    assert order.store_id is None
    assert event.properties["source_name"] == "shopify_draft_order"
    assert order.line_items[0].variant_id == "44872881439030"


# --- REST fixtures: wrapper vs bare ----------------------------------------------------------


def test_rest_wrapper_and_bare_body_are_the_same_order() -> None:
    wrapped = load("rest_order_python_api.json")
    assert shopify.normalize(wrapped) == shopify.normalize(wrapped["order"])


def test_rest_order_fields() -> None:
    event = shopify.normalize(load("rest_order_python_api.json"))
    order = event.order
    assert order is not None
    assert order.external_id == "450789469"
    assert order.total == Decimal("409.94")
    assert order.status is OrderStatus.PENDING  # financial_status "authorized"
    assert order.financial_status == "authorized"
    assert order.payment_method == "authorize_net"
    assert order.test is False
    assert idents(event) == [
        ("email", "bob.norman@hostmail.com", None),
        ("phone", "555-625-1199", "US"),
        ("shopify_customer_id", "207119551", None),
        ("cart_token", "68778783ad298f1c80c3bafcddeea02f", None),
    ]
    assert [item.sku for item in order.line_items] == [
        "IPOD2008GREEN",
        "IPOD2008RED",
        "IPOD2008BLACK",
    ]
    assert sum(item.unit_price * item.quantity for item in order.line_items) == Decimal("597")


def test_error_path_keeps_the_wrapper_prefix() -> None:
    wrapped = load("rest_order_python_api.json")
    wrapped["order"]["line_items"][0]["price"] = "12.3.4"
    with pytest.raises(PayloadError) as info:
        shopify.normalize(wrapped)
    assert info.value.field == "order.line_items[0].price"
    with pytest.raises(PayloadError) as info:
        shopify.normalize(wrapped["order"])
    assert info.value.field == "line_items[0].price"


def test_nested_object_line_item_property_is_harmless() -> None:
    event = shopify.normalize(load("rest_order_with_properties_ruby_api.json"))
    order = event.order
    assert order is not None
    first, second = order.line_items
    assert first.sku is None  # "" in the payload
    assert second.product_id == "288331137065"
    assert second.variant_id == "4107806867497"
    assert second.unit_price == Decimal("24.00")


def test_orders_updated_uses_updated_at() -> None:
    body = load("webhook_orders_paid_devstore_no_customer.json")
    event = shopify.normalize(body, topic="orders/updated")
    assert event.event_type is EventType.ORDER_UPDATED
    assert event.occurred_at == datetime(2023, 3, 24, 16, 37, 27, tzinfo=UTC)
    assert event.order is not None
    assert event.order.source_updated_at == event.occurred_at
    assert event.order.placed_at == datetime(2023, 3, 24, 16, 37, 26, tzinfo=UTC)


@pytest.mark.parametrize(
    "topic",
    [
        "orders/updated",
        "orders/cancelled",
        "orders/fulfilled",
        "orders/partially_fulfilled",
        "orders/edited",
    ],
)
def test_update_topics(topic: str) -> None:
    event = shopify.normalize(load("rest_order_python_api.json"), topic=topic)
    assert event.event_type is EventType.ORDER_UPDATED


# --- refunds ---------------------------------------------------------------------------------


@pytest.mark.parametrize("topic", ["refunds/create", None])
def test_refund_body(topic: str | None) -> None:
    event = shopify.normalize(load("rest_refund_python_api.json"), topic=topic)
    assert event.event_type is EventType.REFUND
    order = event.order
    assert order is not None
    assert order.external_id == "450789469"
    assert order.total is None
    assert order.status is None
    assert order.currency == "USD"
    (refund,) = order.refunds
    assert refund.refund_id == "509562969"
    # the transaction amount, not the two refunded line items (2 x 199.00)
    assert refund.amount == Decimal("209.00")
    assert refund.created_at == datetime(2016, 6, 20, 17, 35, 6, tzinfo=UTC)
    assert event.occurred_at == refund.created_at


def test_bare_refund_body_is_detected() -> None:
    event = shopify.normalize(load("rest_refund_python_api.json")["refund"])
    assert event.event_type is EventType.REFUND
    assert event.order is not None
    assert event.order.refunds[0].amount == Decimal("209.00")


def _with_refunds(*refunds: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = load("webhook_orders_create_official_sample_2019.json")
    body["refunds"] = list(refunds)
    return body


def _tx(amount: str, *, kind: str = "refund", status: str | None = "success") -> dict[str, Any]:
    tx: dict[str, Any] = {"amount": amount, "kind": kind, "currency": "USD"}
    if status is not None:
        tx["status"] = status
    return tx


def test_embedded_refund_from_the_fixture() -> None:
    refund = load("rest_refund_python_api.json")["refund"]
    event = shopify.normalize(_with_refunds(refund))
    assert event.order is not None
    assert [(r.refund_id, r.amount) for r in event.order.refunds] == [
        ("509562969", Decimal("209.00"))
    ]


def test_embedded_refund_sums_only_successful_refund_transactions() -> None:
    refund = {
        "id": 1,
        "created_at": "2024-01-02T00:00:00Z",
        "transactions": [
            _tx("5.00"),
            _tx("2.50", status=None),  # status missing counts
            _tx("100.00", status="failure"),
            _tx("7.00", kind="sale"),
        ],
    }
    event = shopify.normalize(_with_refunds(refund))
    assert event.order is not None
    assert [r.amount for r in event.order.refunds] == [Decimal("7.50")]


def test_refund_without_successful_transaction_is_left_out() -> None:
    refund = {"id": 2, "transactions": [_tx("9.00", status="pending")]}
    event = shopify.normalize(_with_refunds(refund))
    assert event.order is not None
    assert event.order.refunds == []


def test_refund_without_transactions_uses_line_subtotals() -> None:
    refund = {
        "id": 3,
        "transactions": [],
        "refund_line_items": [{"subtotal": "19.99"}, {"subtotal": 5}],
    }
    event = shopify.normalize(_with_refunds(refund))
    assert event.order is not None
    assert [(r.refund_id, r.amount) for r in event.order.refunds] == [("3", Decimal("24.99"))]


def test_refund_in_another_currency_is_refused() -> None:
    tx = _tx("5.00")
    tx["currency"] = "EUR"
    with pytest.raises(PayloadError) as info:
        shopify.normalize(_with_refunds({"id": 4, "transactions": [tx]}))
    assert info.value.field == "refunds[0].transactions[0].currency"


# --- status, channel -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("financial", "fulfillment", "expected"),
    [
        ("refunded", None, OrderStatus.REFUNDED),
        ("paid", "fulfilled", OrderStatus.SHIPPED),
        ("paid", None, OrderStatus.PROCESSING),
        ("partially_paid", "partial", OrderStatus.PROCESSING),
        ("partially_refunded", None, OrderStatus.PROCESSING),
        ("pending", None, OrderStatus.PENDING),
        ("authorized", None, OrderStatus.PENDING),
        ("voided", None, OrderStatus.CANCELLED),
        (None, None, OrderStatus.PENDING),
    ],
)
def test_status_mapping(
    financial: str | None, fulfillment: str | None, expected: OrderStatus
) -> None:
    body = load("webhook_orders_paid_devstore_no_customer.json")
    body["financial_status"] = financial
    body["fulfillment_status"] = fulfillment
    event = shopify.normalize(body)
    assert event.order is not None
    assert event.order.status is expected


def test_cancelled_at_wins_over_fulfilled() -> None:
    body = load("webhook_orders_paid_devstore_no_customer.json")
    body["fulfillment_status"] = "fulfilled"
    body["cancelled_at"] = "2023-03-25T10:00:00-04:00"
    event = shopify.normalize(body, topic="orders/cancelled")
    assert event.order is not None
    assert event.order.status is OrderStatus.CANCELLED


def test_pos_order_is_a_store_order() -> None:
    body = load("webhook_orders_paid_devstore_no_customer.json")
    body["source_name"] = "pos"
    event = shopify.normalize(body)
    assert event.order is not None
    assert event.channel is Channel.STORE
    assert event.order.channel is Channel.STORE
    assert event.order.store_id == "80901996854"


# --- the seed's simplified shape -------------------------------------------------------------


def test_seed_simplified_order() -> None:
    event = shopify.normalize(copy.deepcopy(SEED_ORDER), topic="orders/create")
    order = event.order
    assert order is not None
    assert order.total == Decimal("89.99")  # total_spent
    assert order.currency == "USD"  # no currency in the seed payload
    assert order.order_number == "#1001"
    assert idents(event) == [
        ("email", "customer@example.com", None),
        ("phone", "+1-555-0123", None),  # raw: normalization happens downstream
    ]
    (item,) = order.line_items
    assert (item.product_id, item.name, item.quantity, item.unit_price) == (
        "PROD-001",
        "T-Shirt",
        2,
        Decimal("29.99"),
    )


# --- shapes we refuse ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["rest_customer_python_api.json", "rest_transactions_python_api.json"]
)
def test_non_order_fixtures_are_unknown_shapes(name: str) -> None:
    with pytest.raises(UnknownShapeError):
        shopify.normalize(load(name))


def test_unknown_topic() -> None:
    with pytest.raises(UnknownShapeError, match="customers/create"):
        shopify.normalize(load("rest_order_python_api.json"), topic="customers/create")


def test_topic_body_mismatch() -> None:
    with pytest.raises(UnknownShapeError):
        shopify.normalize(load("rest_order_python_api.json"), topic="refunds/create")
    with pytest.raises(UnknownShapeError):
        shopify.normalize(load("rest_refund_python_api.json"), topic="orders/create")


def test_not_an_object() -> None:
    with pytest.raises(UnknownShapeError):
        shopify.normalize([SEED_ORDER])  # type: ignore[arg-type]


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"total_spent": "-1.00"}, "total_spent"),
        ({"total_spent": "eighty"}, "total_spent"),
        ({"total_spent": "89.999"}, "total_spent"),
        ({"created_at": "2024-02-30T10:00:00Z"}, "created_at"),
        ({"created_at": "2024-12-07T10:00:00"}, "created_at"),  # no offset
        ({"currency": "XXX1"}, "currency"),
        ({"id": None}, "id"),
        ({"id": 1.5}, "id"),
        ({"total_spent": None}, "total_price"),
        ({"created_at": None}, "created_at"),
        ({"customer": "bob"}, "customer"),
        ({"line_items": [{"price": "1.00"}]}, "line_items[0].quantity"),
        ({"line_items": [{"price": "1.00", "quantity": -1}]}, "line_items[0].quantity"),
        ({"line_items": [{"quantity": 1, "price": "-3.00"}]}, "line_items[0].price"),
        ({"line_items": "none"}, "line_items"),
    ],
)
def test_bad_input_names_the_field(change: dict[str, Any], field: str) -> None:
    body = {**copy.deepcopy(SEED_ORDER), **change}
    with pytest.raises(PayloadError) as info:
        shopify.normalize(body)
    assert info.value.field == field


def test_anonymous_customer_record_is_no_identifier() -> None:
    """Shopify files email-less orders under one customer record; its id must not link."""
    from constintel.ingest.sources import shopify

    body = {
        "id": 1,
        "email": "",
        "total_price": "5.00",
        "currency": "USD",
        "created_at": "2025-01-01T00:00:00Z",
        "customer": {"id": 5000000000003, "email": "", "phone": None},
        "line_items": [],
    }
    kinds = [i.kind for i in shopify.normalize(body, topic="orders/create").identifiers]
    assert "shopify_customer_id" not in kinds
    body["customer"] = {"id": 5000000000003, "email": None, "phone": "+12125550199"}
    kinds = [i.kind for i in shopify.normalize(body, topic="orders/create").identifiers]
    assert "shopify_customer_id" in kinds
