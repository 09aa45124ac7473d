"""Our own generic API events (browsing, messages, purchases sent by the brand's systems).

Body::

    {"event_type": "cart_add", "occurred_at": "2024-12-07T10:00:00Z",   # or "timestamp"
     "event_id": "...",                                                  # optional
     "email": ..., "phone": ..., "cookie_id": ..., "device_id": ..., "loyalty_id": ...,
     "cart_token": ...,                       # and/or "identifiers": {"email": ..., ...}
     "product_id": ..., "product_name": ..., "price": "29.99", "currency": "USD",
     "quantity": 2, "channel": "whatsapp", "text": "...", "url": "...",
     "first_name": ..., "last_name": ...,     # the customer's name, display and search only
     "order": {"order_id": ..., "total": ..., "currency": ..., "status": ...,
               "items": [{"product_id", "product_name", "price", "quantity"}]}}

Mapping decisions:

- ``cart_add`` / ``product_view`` / ``page_view`` -> channel WEB; ``message`` -> MESSAGING;
  ``purchase`` -> ONLINE with an ``OrderData`` (``order`` is required, ``order_id`` and
  ``total`` too); ``customer_update`` (an "identify" call linking e.g. a cookie to an email) ->
  ONLINE without order; ``check_in`` (a known customer seen in a store; ``store_id``
  required) -> STORE. Any other ``event_type`` is a PayloadError listing the accepted ones.
- A purchase's ``status`` defaults to ``processing`` (placed and paid, not shipped yet); the
  currency is ``order.currency``, else the top-level ``currency``, else USD.
- ``identifiers`` accepts only the kinds listed above (this is our own API, so a misspelled
  kind is an error rather than a silently dropped identifier).
- ``properties`` keep ``product_id``, ``product_name``, ``price`` (the exact Decimal as a
  string, plus ``currency``), ``quantity``, ``url``, ``text``, ``channel`` (e.g.
  ``whatsapp``), ``first_name`` and ``last_name`` when present.
- ``event_id``, when given, becomes ``CanonicalEvent.external_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from constintel.core.clock import parse_timestamp
from constintel.core.errors import PayloadError
from constintel.core.money import parse_amount
from constintel.events.schemas import (
    CanonicalEvent,
    Channel,
    EventType,
    LineItem,
    OrderData,
    OrderStatus,
)
from constintel.ingest.sources._common import (
    Identifiers,
    currency_or_default,
    ensure_mapping,
    ext_id,
    first_present,
    join,
    list_of_mappings,
    lookup,
    mapping_at,
    quantity,
    require_id,
    text,
)

__all__ = ["EVENT_TYPES", "IDENTIFIER_KINDS", "SOURCE", "normalize"]

SOURCE = "api"

EVENT_TYPES: Mapping[str, tuple[EventType, Channel]] = {
    "cart_add": (EventType.CART_ADD, Channel.WEB),
    "product_view": (EventType.PRODUCT_VIEW, Channel.WEB),
    "page_view": (EventType.PAGE_VIEW, Channel.WEB),
    "message": (EventType.MESSAGE, Channel.MESSAGING),
    "purchase": (EventType.PURCHASE, Channel.ONLINE),
    "customer_update": (EventType.CUSTOMER_UPDATE, Channel.ONLINE),
    "check_in": (EventType.CHECK_IN, Channel.STORE),
}
IDENTIFIER_KINDS = ("email", "phone", "cookie_id", "device_id", "loyalty_id", "cart_token")
_STATUSES: Mapping[str, OrderStatus] = {status.value: status for status in OrderStatus}
_TEXT_PROPERTIES = (
    "product_name",
    "url",
    "text",
    "channel",
    "store_id",
    "first_name",
    "last_name",
)


def normalize(
    payload: Mapping[str, Any],
    *,
    topic: str | None = None,
    received_at: datetime | None = None,
) -> CanonicalEvent:
    body = ensure_mapping(payload, "API")
    event_type, channel = lookup(body.get("event_type"), EVENT_TYPES, "event_type")
    time_hit = first_present(body, "occurred_at", "timestamp")
    if time_hit is None:
        if received_at is None:
            raise PayloadError("occurred_at", "is required (or timestamp)")
        occurred_at = received_at
    else:
        occurred_at = parse_timestamp(time_hit[1], time_hit[0])

    ids = Identifiers()
    for kind in IDENTIFIER_KINDS:
        ids.add(kind, body.get(kind), kind)
    nested = mapping_at(body, "identifiers", "identifiers") or {}
    for kind, value in nested.items():
        if kind not in IDENTIFIER_KINDS:
            accepted = ", ".join(IDENTIFIER_KINDS)
            raise PayloadError(
                join("identifiers", kind), f"unknown identifier kind; expected one of: {accepted}"
            )
        ids.add(kind, value, join("identifiers", kind))

    top_currency = currency_or_default(body.get("currency"), "currency")
    properties: dict[str, Any] = {}
    product_id = ext_id(body.get("product_id"), "product_id")
    if product_id is not None:
        properties["product_id"] = product_id
    for key in _TEXT_PROPERTIES:
        value = text(body.get(key), key)
        if value is not None:
            properties[key] = value
    if body.get("price") not in (None, ""):
        properties["price"] = str(parse_amount(body.get("price"), "price", top_currency))
        properties["currency"] = top_currency
    if body.get("quantity") is not None:
        properties["quantity"] = quantity(body.get("quantity"), "quantity")

    if event_type is EventType.CHECK_IN and "store_id" not in properties:
        raise PayloadError("store_id", "is required for a check_in")
    order: OrderData | None = None
    if event_type is EventType.PURCHASE:
        order_body = mapping_at(body, "order", "order")
        if order_body is None:
            raise PayloadError("order", "is required for a purchase")
        order = _order(order_body, top_currency, placed_at=occurred_at)

    return CanonicalEvent(
        source=SOURCE,
        event_type=event_type,
        occurred_at=occurred_at,
        identifiers=ids.to_list(),
        order=order,
        channel=channel,
        external_id=ext_id(body.get("event_id"), "event_id"),
        properties=properties,
    )


def _order(order: Mapping[str, Any], default_currency: str, *, placed_at: datetime) -> OrderData:
    currency = currency_or_default(order.get("currency"), "order.currency", default_currency)
    status_raw = order.get("status")
    items: list[LineItem] = []
    for index, item in enumerate(list_of_mappings(order, "items", "order.items")):
        path = join("order.items", index)
        name_hit = first_present(item, "product_name", "name")
        raw_qty = item.get("quantity")
        items.append(
            LineItem(
                product_id=ext_id(item.get("product_id"), join(path, "product_id")),
                name=text(name_hit[1], join(path, name_hit[0])) if name_hit else None,
                quantity=1 if raw_qty is None else quantity(raw_qty, join(path, "quantity")),
                unit_price=parse_amount(item.get("price"), join(path, "price"), currency),
                sku=text(item.get("sku"), join(path, "sku")),
            )
        )
    return OrderData(
        external_id=require_id(order.get("order_id"), "order.order_id"),
        currency=currency,
        total=parse_amount(order.get("total"), "order.total", currency),
        status=OrderStatus.PROCESSING
        if status_raw in (None, "")
        else lookup(status_raw, _STATUSES, "order.status"),
        placed_at=placed_at,
        channel=Channel.ONLINE,
        line_items=items,
    )
