"""Shopify orders and refunds, as Shopify really sends them.

Accepted bodies: the bare webhook body (``{"id": ...}``) and the REST API wrapper
(``{"order": {...}}`` / ``{"refund": {...}}``); error paths keep the ``order.`` prefix when the
body was wrapped. Also the seed spec's simplified order (``total_spent``, no currency,
``line_items[].product_name``).

Topics (``X-Shopify-Topic``):

- ``orders/create``, ``orders/paid`` -> ``PURCHASE``;
- ``orders/updated``, ``orders/cancelled``, ``orders/fulfilled``, ``orders/partially_fulfilled``,
  ``orders/edited`` -> ``ORDER_UPDATED`` (``occurred_at`` is then ``updated_at``);
- ``refunds/create`` -> ``REFUND``: an ``OrderData`` that only names the order (``total`` and
  ``status`` None) and carries the one refund;
- ``None``: an order body is a ``PURCHASE``, a refund body (``order_id`` plus
  ``refund_line_items``/``transactions``) a ``REFUND``.

Any other topic, or a body that does not match its topic, raises ``UnknownShapeError``.

Mapping decisions:

- Gross total: ``total_price``, else ``total_spent`` (seed), else ``current_total_price``. Currency:
  ``currency`` (shop), else ``presentment_currency``, else USD (the seed shape has none).
- Status: ``cancelled_at`` set or financial ``voided`` -> CANCELLED; financial ``refunded`` ->
  REFUNDED; fulfillment ``fulfilled`` -> SHIPPED (Shopify does not know about delivery);
  financial ``paid``/``partially_paid``/``partially_refunded`` -> PROCESSING; else PENDING. The
  raw ``financial_status`` / ``fulfillment_status`` strings are kept as well.
- A refund's amount is the sum of its transactions with ``kind == "refund"`` whose ``status`` is
  ``success`` (or absent). A refund that has transactions but none of them succeeded moved no
  money yet and is left out (refunds are kept as a union by id downstream, so a pending amount
  could never be withdrawn). A refund with no transactions at all falls back to the sum of
  ``refund_line_items[].subtotal``. Refund transactions in another currency than the order's
  (multi-currency shops) are rejected rather than mixed.
- Identifiers (raw, deduplicated): emails from ``email``, ``contact_email``, ``customer.email``
  (they often differ: all are kept); phones from ``phone``, ``customer.phone``,
  ``billing_address.phone``, ``shipping_address.phone``, ``customer.default_address.phone`` (an
  address phone carries its ``country_code`` as the region hint); ``customer.id`` as
  ``shopify_customer_id`` (64-bit, kept exact); ``cart_token`` as ``cart_token``. The order's
  ``device_id`` is a POS terminal, not a customer, and is never an identifier.
- ``source_name == "pos"`` -> channel STORE with ``store_id = location_id``; otherwise ONLINE
  (a draft order's ``location_id`` is not a store).
- ``CanonicalEvent.external_id`` stays None: Shopify's per-delivery id is a header
  (``X-Shopify-Webhook-Id``), not part of the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from constintel.core.clock import parse_timestamp
from constintel.core.errors import PayloadError, UnknownShapeError
from constintel.core.money import normalize_currency, parse_amount
from constintel.events.schemas import (
    CanonicalEvent,
    Channel,
    EventType,
    LineItem,
    OrderData,
    OrderStatus,
    RawIdentifier,
    RefundData,
)
from constintel.ingest.sources._common import (
    Identifiers,
    country_hint,
    currency_or_default,
    ensure_mapping,
    ext_id,
    first_present,
    join,
    list_of_mappings,
    mapping_at,
    quantity,
    require_id,
    text,
)

__all__ = ["ORDER_TOPICS", "REFUND_TOPIC", "SOURCE", "normalize"]

SOURCE = "shopify"

ORDER_TOPICS: Mapping[str, EventType] = {
    "orders/create": EventType.PURCHASE,
    "orders/paid": EventType.PURCHASE,
    "orders/updated": EventType.ORDER_UPDATED,
    "orders/cancelled": EventType.ORDER_UPDATED,
    "orders/fulfilled": EventType.ORDER_UPDATED,
    "orders/partially_fulfilled": EventType.ORDER_UPDATED,
    "orders/edited": EventType.ORDER_UPDATED,
}
REFUND_TOPIC = "refunds/create"

_PROCESSING_FINANCIAL = frozenset({"paid", "partially_paid", "partially_refunded"})
_TOTAL_KEYS = ("total_price", "total_spent", "current_total_price")


def normalize(
    payload: Mapping[str, Any],
    *,
    topic: str | None = None,
    received_at: datetime | None = None,
) -> CanonicalEvent:
    body = ensure_mapping(payload, "Shopify")
    base = ""
    wrapped: str | None = None
    if len(body) == 1:
        (key,) = body
        if key in ("order", "refund") and isinstance(body[key], Mapping):
            wrapped, base, body = key, key, body[key]

    if wrapped is not None:
        shape = wrapped
    elif "order_id" in body and ("refund_line_items" in body or "transactions" in body):
        shape = "refund"
    elif "id" in body and ("line_items" in body or any(k in body for k in _TOTAL_KEYS)):
        shape = "order"
    else:
        raise UnknownShapeError("", "not a Shopify order or refund body")

    if topic is None:
        wanted = shape
    elif topic in ORDER_TOPICS:
        wanted = "order"
    elif topic == REFUND_TOPIC:
        wanted = "refund"
    else:
        accepted = ", ".join([*ORDER_TOPICS, REFUND_TOPIC])
        raise UnknownShapeError("", f"unsupported Shopify topic {topic!r}; accepted: {accepted}")
    if wanted != shape:
        raise UnknownShapeError("", f"topic {topic!r} expects a {wanted} body, got a {shape} body")

    if shape == "refund":
        return _refund_event(body, base)
    event_type = ORDER_TOPICS[topic] if topic is not None else EventType.PURCHASE
    return _order_event(body, base, event_type)


def _order_event(body: Mapping[str, Any], base: str, event_type: EventType) -> CanonicalEvent:
    external_id = require_id(body.get("id"), join(base, "id"))
    currency_hit = first_present(body, "currency", "presentment_currency")
    currency = (
        normalize_currency(currency_hit[1], join(base, currency_hit[0]))
        if currency_hit
        else currency_or_default(None, join(base, "currency"))
    )

    total_hit = first_present(body, *_TOTAL_KEYS)
    if total_hit is None:
        raise PayloadError(join(base, "total_price"), "is required (or total_spent)")
    total = parse_amount(total_hit[1], join(base, total_hit[0]), currency)

    placed_hit = first_present(body, "created_at", "processed_at")
    if placed_hit is None:
        raise PayloadError(join(base, "created_at"), "is required")
    placed_at = parse_timestamp(placed_hit[1], join(base, placed_hit[0]))
    updated_raw = body.get("updated_at")
    updated_at = (
        parse_timestamp(updated_raw, join(base, "updated_at")) if updated_raw is not None else None
    )
    occurred_at = placed_at
    if event_type is EventType.ORDER_UPDATED and updated_at is not None:
        occurred_at = updated_at

    financial = text(body.get("financial_status"), join(base, "financial_status"))
    fulfillment = text(body.get("fulfillment_status"), join(base, "fulfillment_status"))
    cancelled = body.get("cancelled_at") not in (None, "")
    status = _status(financial, fulfillment, cancelled=cancelled)

    refunds: list[RefundData] = []
    for index, refund in enumerate(list_of_mappings(body, "refunds", join(base, "refunds"))):
        data, _ = _refund(refund, join(base, "refunds", index), currency)
        if data is not None:
            refunds.append(data)

    source_name = text(body.get("source_name"), join(base, "source_name"))
    channel = Channel.STORE if source_name == "pos" else Channel.ONLINE
    store_id = (
        ext_id(body.get("location_id"), join(base, "location_id"))
        if channel is Channel.STORE
        else None
    )
    order_number_hit = first_present(body, "name", "order_number")
    order_number = (
        ext_id(order_number_hit[1], join(base, order_number_hit[0])) if order_number_hit else None
    )
    gateway_hit = first_present(body, "gateway")
    payment_method = text(gateway_hit[1], join(base, "gateway")) if gateway_hit else None

    identifiers, properties = _order_identifiers(body, base)
    if source_name is not None:
        properties["source_name"] = source_name

    order = OrderData(
        external_id=external_id,
        currency=currency,
        total=total,
        status=status,
        placed_at=placed_at,
        source_updated_at=updated_at,
        refunds=refunds,
        financial_status=financial,
        fulfillment_status=fulfillment,
        channel=channel,
        store_id=store_id,
        payment_method=payment_method,
        order_number=order_number,
        test=body.get("test") is True,
        line_items=_line_items(body, base, currency),
    )
    return CanonicalEvent(
        source=SOURCE,
        event_type=event_type,
        occurred_at=occurred_at,
        identifiers=identifiers,
        order=order,
        channel=channel,
        properties=properties,
    )


def _status(financial: str | None, fulfillment: str | None, *, cancelled: bool) -> OrderStatus:
    financial = financial.lower() if financial else None
    if cancelled or financial == "voided":
        return OrderStatus.CANCELLED
    if financial == "refunded":
        return OrderStatus.REFUNDED
    if fulfillment is not None and fulfillment.lower() == "fulfilled":
        return OrderStatus.SHIPPED
    if financial in _PROCESSING_FINANCIAL:
        return OrderStatus.PROCESSING
    return OrderStatus.PENDING


def _order_identifiers(
    body: Mapping[str, Any], base: str
) -> tuple[list[RawIdentifier], dict[str, Any]]:
    """Identifiers in a stable order, plus the customer's name (from ``customer``, else the
    billing address) as properties."""
    ids = Identifiers()
    customer_path = join(base, "customer")
    customer = mapping_at(body, "customer", customer_path) or {}
    ids.add("email", body.get("email"), join(base, "email"))
    ids.add("email", body.get("contact_email"), join(base, "contact_email"))
    ids.add("email", customer.get("email"), join(customer_path, "email"))
    ids.add("phone", body.get("phone"), join(base, "phone"))
    ids.add("phone", customer.get("phone"), join(customer_path, "phone"))
    default_path = join(customer_path, "default_address")
    billing_path = join(base, "billing_address")
    billing = mapping_at(body, "billing_address", billing_path)
    addresses = (
        (billing, billing_path),
        (
            mapping_at(body, "shipping_address", join(base, "shipping_address")),
            join(base, "shipping_address"),
        ),
        (mapping_at(customer, "default_address", default_path), default_path),
    )
    for address, path in addresses:
        if address is not None:
            country = country_hint(address.get("country_code"))
            ids.add("phone", address.get("phone"), join(path, "phone"), country)
    # A customer record with neither email nor phone is an anonymous bucket (Shopify files
    # email-less draft and junk orders under one): its id is no evidence of a person.
    if text(customer.get("email"), join(customer_path, "email")) or text(
        customer.get("phone"), join(customer_path, "phone")
    ):
        ids.add("shopify_customer_id", customer.get("id"), join(customer_path, "id"))
    ids.add("cart_token", body.get("cart_token"), join(base, "cart_token"))

    properties: dict[str, Any] = {}
    for holder, path in ((customer, customer_path), (billing or {}, billing_path)):
        for key in ("first_name", "last_name"):
            value = text(holder.get(key), join(path, key))
            if value is not None:
                properties[key] = value
        if properties:  # never mix the customer's first name with the billing last name
            break
    return ids.to_list(), properties


def _line_items(body: Mapping[str, Any], base: str, currency: str) -> list[LineItem]:
    items: list[LineItem] = []
    for index, item in enumerate(list_of_mappings(body, "line_items", join(base, "line_items"))):
        path = join(base, "line_items", index)
        name_hit = first_present(item, "title", "name", "product_name")
        items.append(
            LineItem(
                product_id=ext_id(item.get("product_id"), join(path, "product_id")),
                name=text(name_hit[1], join(path, name_hit[0])) if name_hit else None,
                quantity=quantity(item.get("quantity"), join(path, "quantity")),
                unit_price=parse_amount(item.get("price"), join(path, "price"), currency),
                sku=text(item.get("sku"), join(path, "sku")),
                variant_id=ext_id(item.get("variant_id"), join(path, "variant_id")),
            )
        )
    return items


def _refund(
    refund: Mapping[str, Any], path: str, currency: str | None
) -> tuple[RefundData | None, str | None]:
    """One Shopify refund -> ``RefundData`` (None when no money moved) and its currency.

    ``currency`` is the order's currency when known: every counted transaction must match it.
    When None (a bare refund body), the first counted transaction's currency is adopted.
    """
    refund_id = require_id(refund.get("id"), join(path, "id"))
    created_hit = first_present(refund, "created_at", "processed_at")
    created_at: datetime | None = (
        parse_timestamp(created_hit[1], join(path, created_hit[0])) if created_hit else None
    )
    transactions = list_of_mappings(refund, "transactions", join(path, "transactions"))
    amount = Decimal(0)
    if transactions:
        counted = False
        for index, transaction in enumerate(transactions):
            tpath = join(path, "transactions", index)
            kind = text(transaction.get("kind"), join(tpath, "kind"))
            status = text(transaction.get("status"), join(tpath, "status"))
            if kind != "refund" or status not in (None, "success"):
                continue
            raw_currency = transaction.get("currency")
            if raw_currency in (None, ""):
                tx_currency = currency or currency_or_default(None, join(tpath, "currency"))
            else:
                tx_currency = normalize_currency(raw_currency, join(tpath, "currency"))
            if currency is None:
                currency = tx_currency
            elif tx_currency != currency:
                raise PayloadError(
                    join(tpath, "currency"),
                    f"refund transaction in {tx_currency} but the order is in {currency}",
                )
            amount += parse_amount(transaction.get("amount"), join(tpath, "amount"), currency)
            counted = True
        if not counted:
            return None, currency
    else:
        currency = currency or currency_or_default(None, join(path, "currency"))
        lines = list_of_mappings(refund, "refund_line_items", join(path, "refund_line_items"))
        for index, line in enumerate(lines):
            lpath = join(path, "refund_line_items", index, "subtotal")
            amount += parse_amount(line.get("subtotal"), lpath, currency)
        if not lines:
            return None, currency
    return RefundData(refund_id=refund_id, amount=amount, created_at=created_at), currency


def _refund_event(body: Mapping[str, Any], base: str) -> CanonicalEvent:
    order_id = require_id(body.get("order_id"), join(base, "order_id"))
    occurred_hit = first_present(body, "created_at", "processed_at")
    if occurred_hit is None:
        raise PayloadError(join(base, "created_at"), "is required")
    occurred_at = parse_timestamp(occurred_hit[1], join(base, occurred_hit[0]))
    refund, currency = _refund(body, base, None)
    order = OrderData(
        external_id=order_id,
        currency=currency or currency_or_default(None, join(base, "currency")),
        total=None,
        status=None,
        placed_at=None,
        refunds=[refund] if refund is not None else [],
    )
    return CanonicalEvent(
        source=SOURCE,
        event_type=EventType.REFUND,
        occurred_at=occurred_at,
        order=order,
        channel=Channel.ONLINE,
    )
