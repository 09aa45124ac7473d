"""The seed spec's generic POS transaction.

Two customer layouts are accepted, also mixed: nested ``customer{phone, loyalty_id, email}``
("POS Event Arrives") and flat top-level ``phone`` / ``loyalty_id`` / ``email`` ("Example 2").
Other fields: ``transaction_id`` (required), ``store_id``, ``store_name``, ``total`` (required;
a JSON number or a decimal string, both exact), ``currency`` (default USD), ``items[]``
(``product_id``, ``product_name``, ``price``, ``quantity``), ``payment_method``, ``timestamp``,
optional ``status``, ``refunds[]`` (``{refund_id, amount}``), ``device_id``.

Mapping decisions:

- Always ``POS_TRANSACTION`` on channel STORE; the transaction id is both the order key and
  ``CanonicalEvent.external_id``.
- ``timestamp`` is required unless the transport gives an arrival time (``received_at``, a
  live webhook): an event without time cannot be ordered against other updates, and
  adapters do not read the clock. (The seed's "Example 2" abbreviates it away.)
- Status: ``completed`` (default) -> DELIVERED (the goods left the store with the customer);
  ``pending`` -> PENDING; ``voided``/``void``/``cancelled``/``canceled`` -> CANCELLED;
  ``refunded`` -> REFUNDED. Anything else is a PayloadError naming the accepted values.
- ``device_id`` is the POS terminal, not the shopper's device: it is kept as
  ``properties["pos_device_id"]`` and never used as an identifier (it would link every customer
  served at that till).
- Item ``quantity`` defaults to 1 when absent.
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
    RefundData,
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

__all__ = ["SOURCE", "STATUSES", "normalize"]

SOURCE = "pos"

STATUSES: Mapping[str, OrderStatus] = {
    "completed": OrderStatus.DELIVERED,
    "pending": OrderStatus.PENDING,
    "voided": OrderStatus.CANCELLED,
    "void": OrderStatus.CANCELLED,
    "cancelled": OrderStatus.CANCELLED,
    "canceled": OrderStatus.CANCELLED,
    "refunded": OrderStatus.REFUNDED,
}
_IDENTIFIER_KEYS = (("phone", "phone"), ("email", "email"), ("loyalty_id", "loyalty_id"))


def normalize(
    payload: Mapping[str, Any],
    *,
    topic: str | None = None,
    received_at: datetime | None = None,
) -> CanonicalEvent:
    body = ensure_mapping(payload, "POS")
    transaction_id = require_id(body.get("transaction_id"), "transaction_id")
    currency = currency_or_default(body.get("currency"), "currency")
    total = parse_amount(body.get("total"), "total", currency)
    raw_time = body.get("timestamp")
    if raw_time is None or raw_time == "":
        if received_at is None:
            raise PayloadError("timestamp", "is required (bulk imports have no arrival time)")
        occurred_at = received_at  # a live POS push without a time happened when it arrived
    else:
        occurred_at = parse_timestamp(raw_time, "timestamp")
    status_raw = body.get("status")
    status = (
        OrderStatus.DELIVERED
        if status_raw is None or status_raw == ""
        else lookup(status_raw, STATUSES, "status")
    )

    ids = Identifiers()
    customer = mapping_at(body, "customer", "customer") or {}
    for kind, key in _IDENTIFIER_KEYS:
        ids.add(kind, customer.get(key), f"customer.{key}")
        ids.add(kind, body.get(key), key)

    properties: dict[str, Any] = {}
    device_id = ext_id(body.get("device_id"), "device_id")
    if device_id is not None:
        properties["pos_device_id"] = device_id

    order = OrderData(
        external_id=transaction_id,
        currency=currency,
        total=total,
        status=status,
        placed_at=occurred_at,
        refunds=_refunds(body, currency),
        channel=Channel.STORE,
        store_id=ext_id(body.get("store_id"), "store_id"),
        store_name=text(body.get("store_name"), "store_name"),
        payment_method=text(body.get("payment_method"), "payment_method"),
        line_items=_items(body, currency),
    )
    return CanonicalEvent(
        source=SOURCE,
        event_type=EventType.POS_TRANSACTION,
        occurred_at=occurred_at,
        identifiers=ids.to_list(),
        order=order,
        channel=Channel.STORE,
        external_id=transaction_id,
        properties=properties,
    )


def _items(body: Mapping[str, Any], currency: str) -> list[LineItem]:
    items: list[LineItem] = []
    for index, item in enumerate(list_of_mappings(body, "items", "items")):
        path = join("items", index)
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
    return items


def _refunds(body: Mapping[str, Any], currency: str) -> list[RefundData]:
    refunds: list[RefundData] = []
    for index, refund in enumerate(list_of_mappings(body, "refunds", "refunds")):
        path = join("refunds", index)
        time_hit = first_present(refund, "created_at", "timestamp")
        refunds.append(
            RefundData(
                refund_id=require_id(refund.get("refund_id"), join(path, "refund_id")),
                amount=parse_amount(refund.get("amount"), join(path, "amount"), currency),
                created_at=parse_timestamp(time_hit[1], join(path, time_hit[0]))
                if time_hit
                else None,
            )
        )
    return refunds
