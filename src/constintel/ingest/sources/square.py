"""Square: webhook envelopes and the API's ``{"payment"|"refund"|"order"|"customer": {...}}``.

Envelope: ``{merchant_id, type, event_id, created_at, data: {type, id, object: {...}}}``. The
event type is the body's ``type`` (a ``topic`` given by the caller must agree with it); for a
bare API object the topic, if any, is ignored and the wrapper key decides. Envelopes use
``event_id`` as ``CanonicalEvent.external_id``. Every Square event has channel STORE and
``store_id = location_id``.

- ``payment.created`` / ``payment.updated`` and ``{"payment": ...}`` -> ``POS_TRANSACTION``.
  Total = ``total_money`` (integer minor units). Status: COMPLETED -> DELIVERED (a completed
  in-store sale is handed over), APPROVED/PENDING -> PENDING, CANCELED/FAILED -> CANCELLED.
  Identifiers: ``customer_id`` (``square_customer_id``), ``buyer_email_address``, and a
  ``phone`` on ``billing_address``/``shipping_address`` if one is ever present (Square's
  ``Address`` object has no phone field, so on documented payloads this finds nothing).
- ``refund.created`` / ``refund.updated`` and ``{"refund": ...}`` -> ``REFUND``. Only a
  COMPLETED refund is counted; PENDING, REJECTED and FAILED ones give an empty refunds list.
  Refunds are kept downstream as a union by refund id, so a pending refund that is later
  rejected could never be withdrawn; Square sends ``refund.updated`` once it completes.
- ``order.created`` / ``order.updated`` notifications carry only ``order_id``/``state``/
  ``version``: they raise ``UnknownShapeError`` (the order must be fetched with RetrieveOrder
  and the API response ingested instead; no network access here).
- ``{"order": ...}`` (a full ``Order``) -> ``POS_TRANSACTION``: state OPEN/DRAFT -> PENDING,
  COMPLETED -> DELIVERED, CANCELED -> CANCELLED; ``customer_id`` and ``tenders[].customer_id``;
  line items with string ``quantity`` and ``base_price_money``. Fractional quantities (items
  sold by weight) are rejected: ``LineItem.quantity`` is whole.
- ``customer.created`` / ``customer.updated`` and ``{"customer": ...}`` -> ``CUSTOMER_UPDATE``
  with ``email_address``, ``phone_number`` and the customer ``id``.

Order key (``OrderData.external_id``): the **payment id**. A ``PaymentRefund`` names its payment
(``payment_id``) but its ``order_id`` is the *return order* Square creates for the refund, not
the order of the original sale (Square Refunds API docs; the two API samples share payment id
``R2B3Z8WMVt3EAmzYWLZvz7Y69EbZY`` but show different order ids). Keying sales by payment id is
the only way a refund finds its sale without a lookup. A full ``Order`` body is keyed by the
id of its single tender (Square's tender id is the payment id) and by the order id when it has
no tender or several (split tender: such an order and its payments are then two views of one
sale, so ingest one or the other). The Square order id, payment id and refund order id are
kept in ``properties`` for tracing.

Timestamps: ``occurred_at`` is the object's ``updated_at``, else its ``created_at``, else the
envelope's ``created_at`` (the documented envelopes are older than the objects they carry).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from constintel.core.clock import parse_timestamp
from constintel.core.errors import PayloadError, UnknownShapeError
from constintel.core.money import from_minor_units, normalize_currency
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
    ensure_mapping,
    ext_id,
    first_present,
    join,
    list_of_mappings,
    lookup,
    mapping_at,
    quantity,
    require_id,
    require_text,
    text,
)

__all__ = ["PAYMENT_STATUSES", "SOURCE", "normalize"]

SOURCE = "square"

PAYMENT_STATUSES: Mapping[str, OrderStatus] = {
    "completed": OrderStatus.DELIVERED,
    "approved": OrderStatus.PENDING,
    "pending": OrderStatus.PENDING,
    "canceled": OrderStatus.CANCELLED,
    "failed": OrderStatus.CANCELLED,
}
ORDER_STATES: Mapping[str, OrderStatus] = {
    "open": OrderStatus.PENDING,
    "draft": OrderStatus.PENDING,
    "completed": OrderStatus.DELIVERED,
    "canceled": OrderStatus.CANCELLED,
}
COUNTED_REFUND_STATUSES = frozenset({"COMPLETED"})

_ENVELOPE_OBJECTS = {
    "payment.created": "payment",
    "payment.updated": "payment",
    "refund.created": "refund",
    "refund.updated": "refund",
    "customer.created": "customer",
    "customer.updated": "customer",
}
_THIN_ORDER_TYPES = frozenset({"order.created", "order.updated", "order.fulfillment.updated"})
_BARE_KINDS = ("payment", "refund", "order", "customer")


def normalize(
    payload: Mapping[str, Any],
    *,
    topic: str | None = None,
    received_at: datetime | None = None,
) -> CanonicalEvent:
    body = ensure_mapping(payload, "Square")
    if "data" in body and "type" in body:
        return _envelope(body, topic)
    if len(body) == 1:
        (kind,) = body
        if kind in _BARE_KINDS and isinstance(body[kind], Mapping):
            return _dispatch(kind, body[kind], kind, envelope_time=None, event_id=None)
    raise UnknownShapeError(
        "", 'not a Square webhook envelope or an API object ({"payment"|"refund"|"order"|...})'
    )


def _envelope(body: Mapping[str, Any], topic: str | None) -> CanonicalEvent:
    event_type = require_text(body.get("type"), "type")
    if topic is not None and topic != event_type:
        raise PayloadError("type", f"body type {event_type!r} does not match topic {topic!r}")
    if event_type in _THIN_ORDER_TYPES:
        raise UnknownShapeError(
            "data.object",
            f"{event_type} is a thin notification (order_id, state, version only): fetch the "
            "order with RetrieveOrder and ingest the API response instead",
        )
    kind = _ENVELOPE_OBJECTS.get(event_type)
    if kind is None:
        accepted = ", ".join(_ENVELOPE_OBJECTS)
        raise UnknownShapeError(
            "type", f"unsupported Square event type {event_type!r}; accepted: {accepted}"
        )
    data = mapping_at(body, "data", "data")
    obj = mapping_at(data, "object", "data.object") if data is not None else None
    inner = mapping_at(obj, kind, f"data.object.{kind}") if obj is not None else None
    if inner is None:
        raise PayloadError(f"data.object.{kind}", "is required")
    created = body.get("created_at")
    envelope_time = parse_timestamp(created, "created_at") if created is not None else None
    event_id = ext_id(body.get("event_id"), "event_id")
    event = _dispatch(kind, inner, f"data.object.{kind}", envelope_time, event_id)
    merchant_id = text(body.get("merchant_id"), "merchant_id")
    if merchant_id is not None:
        event.properties["merchant_id"] = merchant_id
    return event


def _dispatch(
    kind: str,
    obj: Mapping[str, Any],
    path: str,
    envelope_time: datetime | None,
    event_id: str | None,
) -> CanonicalEvent:
    created_at = _optional_time(obj, "created_at", path)
    updated_at = _optional_time(obj, "updated_at", path)
    occurred_at = updated_at or created_at or envelope_time
    if occurred_at is None:
        raise PayloadError(join(path, "created_at"), "is required")
    if kind == "payment":
        event_type, order, identifiers, properties = _payment(obj, path)
    elif kind == "refund":
        event_type, order, identifiers, properties = _refund(obj, path)
    elif kind == "order":
        event_type, order, identifiers, properties = _order(obj, path)
    else:
        return CanonicalEvent(
            source=SOURCE,
            event_type=EventType.CUSTOMER_UPDATE,
            occurred_at=occurred_at,
            identifiers=_customer_identifiers(obj, path),
            channel=Channel.STORE,
            external_id=event_id,
            properties=_customer_names(obj, path),
        )
    if order.placed_at is None and kind != "refund":
        order.placed_at = created_at or occurred_at
    if kind != "refund":
        order.source_updated_at = updated_at
    return CanonicalEvent(
        source=SOURCE,
        event_type=event_type,
        occurred_at=occurred_at,
        identifiers=identifiers,
        order=order,
        channel=Channel.STORE,
        external_id=event_id,
        properties=properties,
    )


_Parts = tuple[EventType, OrderData, list[RawIdentifier], dict[str, Any]]


def _payment(payment: Mapping[str, Any], path: str) -> _Parts:
    payment_id = require_id(payment.get("id"), join(path, "id"))
    total, currency = _money(payment, "total_money", path)
    status_raw = require_text(payment.get("status"), join(path, "status"))
    ids = Identifiers()
    ids.add("email", payment.get("buyer_email_address"), join(path, "buyer_email_address"))
    for key in ("billing_address", "shipping_address"):
        address = mapping_at(payment, key, join(path, key))
        if address is not None:
            hint = country_hint(address.get("country"))
            ids.add("phone", address.get("phone"), join(path, key, "phone"), hint)
    ids.add("square_customer_id", payment.get("customer_id"), join(path, "customer_id"))
    properties: dict[str, Any] = {"square_payment_id": payment_id, "payment_status": status_raw}
    square_order_id = text(payment.get("order_id"), join(path, "order_id"))
    if square_order_id is not None:
        properties["square_order_id"] = square_order_id
    order = OrderData(
        external_id=payment_id,
        currency=currency,
        total=total,
        status=lookup(status_raw, PAYMENT_STATUSES, join(path, "status")),
        placed_at=None,
        channel=Channel.STORE,
        store_id=text(payment.get("location_id"), join(path, "location_id")),
        payment_method=text(payment.get("source_type"), join(path, "source_type")),
        order_number=text(payment.get("receipt_number"), join(path, "receipt_number")),
    )
    return EventType.POS_TRANSACTION, order, ids.to_list(), properties


def _refund(refund: Mapping[str, Any], path: str) -> _Parts:
    refund_id = require_id(refund.get("id"), join(path, "id"))
    payment_id = require_id(refund.get("payment_id"), join(path, "payment_id"))
    amount, currency = _money(refund, "amount_money", path)
    status = require_text(refund.get("status"), join(path, "status")).upper()
    refunds: list[RefundData] = []
    if status in COUNTED_REFUND_STATUSES:
        created = _optional_time(refund, "created_at", path)
        refunds.append(RefundData(refund_id=refund_id, amount=amount, created_at=created))
    properties: dict[str, Any] = {
        "square_payment_id": payment_id,
        "square_refund_id": refund_id,
        "refund_status": status,
    }
    refund_order_id = text(refund.get("order_id"), join(path, "order_id"))
    if refund_order_id is not None:
        properties["square_refund_order_id"] = refund_order_id
    order = OrderData(
        external_id=payment_id,
        currency=currency,
        total=None,
        status=None,
        placed_at=None,
        refunds=refunds,
        channel=Channel.STORE,
        store_id=text(refund.get("location_id"), join(path, "location_id")),
    )
    return EventType.REFUND, order, [], properties


def _order(order_obj: Mapping[str, Any], path: str) -> _Parts:
    order_id = require_id(order_obj.get("id"), join(path, "id"))
    total, currency = _money(order_obj, "total_money", path)
    state = lookup(order_obj.get("state"), ORDER_STATES, join(path, "state"))
    ids = Identifiers()
    ids.add("square_customer_id", order_obj.get("customer_id"), join(path, "customer_id"))
    tenders = list_of_mappings(order_obj, "tenders", join(path, "tenders"))
    for index, tender in enumerate(tenders):
        tender_path = join(path, "tenders", index, "customer_id")
        ids.add("square_customer_id", tender.get("customer_id"), tender_path)
    key = order_id
    properties: dict[str, Any] = {"square_order_id": order_id}
    if len(tenders) == 1:
        hit = first_present(tenders[0], "payment_id", "id")
        if hit is not None:
            key = require_id(hit[1], join(path, "tenders", 0, hit[0]))
            properties["square_payment_id"] = key
    line_items: list[LineItem] = []
    for index, item in enumerate(
        list_of_mappings(order_obj, "line_items", join(path, "line_items"))
    ):
        item_path = join(path, "line_items", index)
        unit_price, item_currency = _money(item, "base_price_money", item_path)
        if item_currency != currency:
            raise PayloadError(
                join(item_path, "base_price_money", "currency"),
                f"line item in {item_currency} but the order is in {currency}",
            )
        line_items.append(
            LineItem(
                product_id=text(
                    item.get("catalog_object_id"), join(item_path, "catalog_object_id")
                ),
                name=text(item.get("name"), join(item_path, "name")),
                quantity=quantity(item.get("quantity"), join(item_path, "quantity")),
                unit_price=unit_price,
            )
        )
    order = OrderData(
        external_id=key,
        currency=currency,
        total=total,
        status=state,
        placed_at=None,
        channel=Channel.STORE,
        store_id=text(order_obj.get("location_id"), join(path, "location_id")),
        order_number=text(order_obj.get("reference_id"), join(path, "reference_id")),
        line_items=line_items,
    )
    return EventType.POS_TRANSACTION, order, ids.to_list(), properties


def _customer_identifiers(customer: Mapping[str, Any], path: str) -> list[RawIdentifier]:
    ids = Identifiers()
    address = mapping_at(customer, "address", join(path, "address")) or {}
    ids.add("email", customer.get("email_address"), join(path, "email_address"))
    ids.add(
        "phone",
        customer.get("phone_number"),
        join(path, "phone_number"),
        country_hint(address.get("country")),
    )
    ids.add(
        "square_customer_id", require_id(customer.get("id"), join(path, "id")), join(path, "id")
    )
    return ids.to_list()


def _customer_names(customer: Mapping[str, Any], path: str) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for source_key, key in (("given_name", "first_name"), ("family_name", "last_name")):
        value = text(customer.get(source_key), join(path, source_key))
        if value is not None:
            properties[key] = value
    return properties


def _money(obj: Mapping[str, Any], key: str, path: str) -> tuple[Decimal, str]:
    """A required Square ``Money`` object: integer minor units and its currency."""
    money_path = join(path, key)
    money = mapping_at(obj, key, money_path)
    if money is None:
        raise PayloadError(money_path, "is required")
    currency = normalize_currency(money.get("currency"), join(money_path, "currency"))
    amount = from_minor_units(money.get("amount"), join(money_path, "amount"), currency)
    return amount, currency


def _optional_time(obj: Mapping[str, Any], key: str, path: str) -> datetime | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    return parse_timestamp(value, join(path, key))
