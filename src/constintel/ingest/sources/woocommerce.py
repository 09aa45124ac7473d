"""WooCommerce REST v3 order bodies (a webhook body is exactly the REST resource).

Topics (``X-WC-Webhook-Topic``): ``order.created`` -> ``PURCHASE``; ``order.updated`` ->
``ORDER_UPDATED``; ``order.deleted`` -> ``ORDER_UPDATED`` with status CANCELLED; ``None`` ->
``PURCHASE``. Anything else raises ``UnknownShapeError``.

Mapping decisions:

- Status: ``pending``/``on-hold``/``checkout-draft`` -> PENDING; ``processing`` -> PROCESSING;
  ``completed`` -> DELIVERED (WooCommerce's "completed" means fulfilled and done);
  ``cancelled`` -> CANCELLED; ``failed`` -> CANCELLED (the payment failed, no money was taken);
  ``refunded`` -> REFUNDED. Custom statuses added by plugins map to PENDING. The raw status is
  kept in ``properties["status"]`` (WooCommerce has no separate financial/fulfillment status).
- Money: ``total`` is a decimal string; line-item ``price`` is a JSON *number* computed by
  WooCommerce as subtotal / quantity, so it can be a repeating fraction (10.00 / 3). When it has
  more decimals than the currency allows, the unit price is derived from ``subtotal / quantity``
  rounded half-even (a derived value; the order total is never rounded).
- Refunds: embedded ``refunds[]`` entries are ``{id, reason, total}`` with a *negative*
  ``total`` (``"-10.00"``); the refund resource has a positive ``amount``. Both are accepted and
  stored as positive amounts. A bare refund resource (``amount`` + ``refunded_by``, no
  ``billing``) names no order and is rejected: WooCommerce has no refund webhook topic, refunds
  arrive inside ``order.updated``.
- Time: ``date_created_gmt`` / ``date_modified_gmt`` carry no offset but are documented UTC;
  ``date_created`` (site-local) is used only when it has an explicit offset.
- Identifiers: ``billing.email``; ``billing.phone`` (region hint ``billing.country``);
  ``shipping.phone`` (hint ``shipping.country``); ``customer_id`` as
  ``woocommerce_customer_id`` when > 0 (0 means guest checkout).
- Line-item names are HTML-unescaped (``&ndash;`` in the documented sample).
- ``order.deleted``: WooCommerce sends only ``{"id": N}`` for deleted resources. Such a body has
  no timestamp, so ``occurred_at`` is the time of normalization (the one documented clock read
  of this module) and ``source_updated_at`` stays None; ``total`` is None and the currency is the
  placeholder USD unless the body names one.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from constintel.core.clock import parse_timestamp, utcnow
from constintel.core.errors import PayloadError, UnknownShapeError
from constintel.core.money import parse_amount, quantize
from constintel.events.schemas import (
    CanonicalEvent,
    Channel,
    EventType,
    LineItem,
    OrderData,
    OrderStatus,
    RefundData,
)
from constintel.ingest.sources._common import (
    Identifiers,
    country_hint,
    currency_or_default,
    ensure_mapping,
    ext_id,
    join,
    list_of_mappings,
    mapping_at,
    quantity,
    require_id,
    text,
)

__all__ = ["SOURCE", "STATUSES", "TOPICS", "normalize"]

SOURCE = "woocommerce"

TOPICS: Mapping[str, EventType] = {
    "order.created": EventType.PURCHASE,
    "order.updated": EventType.ORDER_UPDATED,
    "order.deleted": EventType.ORDER_UPDATED,
}

STATUSES: Mapping[str, OrderStatus] = {
    "pending": OrderStatus.PENDING,
    "on-hold": OrderStatus.PENDING,
    "checkout-draft": OrderStatus.PENDING,
    "processing": OrderStatus.PROCESSING,
    "completed": OrderStatus.DELIVERED,
    "cancelled": OrderStatus.CANCELLED,
    "failed": OrderStatus.CANCELLED,
    "refunded": OrderStatus.REFUNDED,
}


def normalize(
    payload: Mapping[str, Any],
    *,
    topic: str | None = None,
    received_at: datetime | None = None,
) -> CanonicalEvent:
    body = ensure_mapping(payload, "WooCommerce")
    if topic is not None and topic not in TOPICS:
        accepted = ", ".join(TOPICS)
        raise UnknownShapeError(
            "", f"unsupported WooCommerce topic {topic!r}; accepted: {accepted}"
        )
    if "amount" in body and "refunded_by" in body and "billing" not in body:
        raise UnknownShapeError(
            "",
            "a bare WooCommerce refund resource names no order; WooCommerce has no refund "
            "webhook, refunds arrive inside the order.updated body (refunds[])",
        )
    event_type = TOPICS[topic] if topic is not None else EventType.PURCHASE
    deleted = topic == "order.deleted"
    is_order = "total" in body or "line_items" in body
    if deleted and not is_order:
        return _deleted_stub(body, require_id(body.get("id"), "id"), received_at)
    if not is_order:
        raise UnknownShapeError("", "not a WooCommerce order body (no total, no line_items)")
    external_id = require_id(body.get("id"), "id")

    currency = currency_or_default(body.get("currency"), "currency")
    total = parse_amount(body.get("total"), "total", currency)
    placed_at = _time(body, "date_created")
    if placed_at is None:
        raise PayloadError("date_created_gmt", "is required")
    updated_at = _time(body, "date_modified")
    occurred_at = placed_at
    if event_type is EventType.ORDER_UPDATED and updated_at is not None:
        occurred_at = updated_at

    raw_status = text(body.get("status"), "status")
    if deleted:
        status = OrderStatus.CANCELLED
    elif raw_status is None:
        raise PayloadError("status", "is required")
    else:
        status = STATUSES.get(raw_status.lower(), OrderStatus.PENDING)

    ids = Identifiers()
    properties: dict[str, Any] = {}
    if raw_status is not None:
        properties["status"] = raw_status
    billing = mapping_at(body, "billing", "billing") or {}
    shipping = mapping_at(body, "shipping", "shipping") or {}
    ids.add("email", billing.get("email"), "billing.email")
    ids.add("phone", billing.get("phone"), "billing.phone", country_hint(billing.get("country")))
    ids.add("phone", shipping.get("phone"), "shipping.phone", country_hint(shipping.get("country")))
    customer_id = body.get("customer_id")
    guest = customer_id in ("0", "") or (isinstance(customer_id, int) and customer_id <= 0)
    if not guest:
        ids.add("woocommerce_customer_id", customer_id, "customer_id")
    for key in ("first_name", "last_name"):
        name = text(billing.get(key), f"billing.{key}")
        if name is not None:
            properties[key] = name

    order = OrderData(
        external_id=external_id,
        currency=currency,
        total=total,
        status=status,
        placed_at=placed_at,
        source_updated_at=updated_at,
        refunds=_refunds(body, currency),
        channel=Channel.ONLINE,
        payment_method=text(body.get("payment_method"), "payment_method"),
        order_number=ext_id(body.get("number"), "number"),
        line_items=_line_items(body, currency),
    )
    return CanonicalEvent(
        source=SOURCE,
        event_type=event_type,
        occurred_at=occurred_at,
        identifiers=ids.to_list(),
        order=order,
        channel=Channel.ONLINE,
        properties=properties,
    )


def _deleted_stub(
    body: Mapping[str, Any], external_id: str, received_at: datetime | None
) -> CanonicalEvent:
    order = OrderData(
        external_id=external_id,
        currency=currency_or_default(body.get("currency"), "currency"),
        total=None,
        status=OrderStatus.CANCELLED,
        placed_at=None,
    )
    return CanonicalEvent(
        source=SOURCE,
        event_type=EventType.ORDER_UPDATED,
        occurred_at=received_at or utcnow(),
        order=order,
        channel=Channel.ONLINE,
        properties={"deleted": True},
    )


def _time(body: Mapping[str, Any], key: str) -> datetime | None:
    """``<key>_gmt`` (UTC without offset), else ``<key>`` only if it carries an offset."""
    gmt = body.get(f"{key}_gmt")
    if gmt not in (None, ""):
        return parse_timestamp(gmt, f"{key}_gmt", naive_is_utc=True)
    local = body.get(key)
    if local not in (None, ""):
        return parse_timestamp(local, key)
    return None


def _refunds(body: Mapping[str, Any], currency: str) -> list[RefundData]:
    refunds: list[RefundData] = []
    for index, refund in enumerate(list_of_mappings(body, "refunds", "refunds")):
        path = join("refunds", index)
        key = "amount" if refund.get("amount") not in (None, "") else "total"
        amount = parse_amount(refund.get(key), join(path, key), currency, allow_negative=True)
        created = _time(refund, "date_created")
        refunds.append(
            RefundData(
                refund_id=require_id(refund.get("id"), join(path, "id")),
                amount=abs(amount),
                created_at=created,
            )
        )
    return refunds


def _unit_price(item: Mapping[str, Any], path: str, currency: str, qty: int) -> Decimal:
    price = item.get("price")
    if isinstance(price, float) and qty > 0:
        exact = Decimal(repr(price))
        if exact.is_finite() and quantize(exact, currency) != exact:
            subtotal = parse_amount(item.get("subtotal"), join(path, "subtotal"), currency)
            return quantize(subtotal / qty, currency)
    return parse_amount(price, join(path, "price"), currency)


def _line_items(body: Mapping[str, Any], currency: str) -> list[LineItem]:
    items: list[LineItem] = []
    for index, item in enumerate(list_of_mappings(body, "line_items", "line_items")):
        path = join("line_items", index)
        qty = quantity(item.get("quantity"), join(path, "quantity"))
        name = text(item.get("name"), join(path, "name"))
        product_id = item.get("product_id")
        variation_id = item.get("variation_id")
        items.append(
            LineItem(
                product_id=None
                if product_id in (0, "0")
                else ext_id(product_id, join(path, "product_id")),
                name=html.unescape(name) if name is not None else None,
                quantity=qty,
                unit_price=_unit_price(item, path, currency, qty),
                sku=text(item.get("sku"), join(path, "sku")),
                variant_id=None
                if variation_id in (0, "0")
                else ext_id(variation_id, join(path, "variation_id")),
            )
        )
    return items
