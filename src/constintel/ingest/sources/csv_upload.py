"""Manual orders from a CSV upload: one row (a dict of strings) -> one ``PURCHASE``.

Columns (header names; an empty cell means missing; unknown columns are ignored):

==============  ========  ==================================================================
column          required  meaning
==============  ========  ==================================================================
order_id        yes       the brand's order id (the order key)
total           yes       gross order total, a decimal string (``"89.99"``), not negative
ordered_at      yes       ISO-8601 timestamp with offset (``2024-12-07T10:00:00Z``) or a date
                          ``YYYY-MM-DD`` meaning midnight UTC
currency        no        ISO 4217 code, default ``USD``
status          no        pending | processing | shipped | delivered | cancelled | refunded
                          (default ``delivered``: uploads are usually past orders)
email           no        customer email
phone           no        customer phone, any format
loyalty_id      no        loyalty card / member number
country         no        ISO 3166 alpha-2 region hint for ``phone`` (e.g. ``US``)
first_name      no        kept in ``properties``
last_name       no        kept in ``properties``
product_id      no        one line item when ``product_id`` or ``product_name`` is given
product_name    no
quantity        no        whole number, default 1
unit_price      no        default: ``total`` when quantity is 1, else required
refunded        no        total refunded amount; becomes one refund with id
                          ``<order_id>:csv-refund`` (so re-uploading never adds it twice);
                          must not exceed ``total``; 0 means no refund
channel         no        ``online`` (default) or ``store``
store_id        no        the store, for ``channel=store``
==============  ========  ==================================================================

None of email/phone/loyalty_id is required: a row without any becomes an event with no
identifiers, which is stored unattached downstream.

``ordered_at`` is required because an event needs a time and adapters do not read the clock.
``CanonicalEvent.external_id`` stays None: a corrected row re-uploaded must update the order,
not be dropped as a duplicate event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
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
    country_hint,
    currency_or_default,
    ensure_mapping,
    lookup,
    quantity,
    require_text,
    text,
)

__all__ = ["CHANNELS", "COLUMNS", "SOURCE", "STATUSES", "normalize"]

SOURCE = "csv"

COLUMNS = (
    "order_id",
    "email",
    "phone",
    "loyalty_id",
    "total",
    "currency",
    "ordered_at",
    "status",
    "country",
    "first_name",
    "last_name",
    "product_id",
    "product_name",
    "quantity",
    "unit_price",
    "refunded",
    "channel",
    "store_id",
)

STATUSES: Mapping[str, OrderStatus] = {
    **{status.value: status for status in OrderStatus},
    "canceled": OrderStatus.CANCELLED,
}
CHANNELS: Mapping[str, Channel] = {"online": Channel.ONLINE, "store": Channel.STORE}

_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def normalize(
    payload: Mapping[str, Any],
    *,
    topic: str | None = None,
    received_at: datetime | None = None,
) -> CanonicalEvent:
    raw = ensure_mapping(payload, "CSV")
    # csv.DictReader puts surplus cells under the key None and fills short rows with None.
    row = {key: raw.get(key) for key in COLUMNS}
    for key, value in row.items():
        if value is not None and not isinstance(value, str):
            raise PayloadError(key, f"expected a string cell, got {type(value).__name__}")
    cells = {key: text(value, key) for key, value in row.items()}

    order_id = require_text(cells["order_id"], "order_id")
    currency = currency_or_default(cells["currency"], "currency")
    total = parse_amount(require_text(cells["total"], "total"), "total", currency)
    placed_at = _ordered_at(require_text(cells["ordered_at"], "ordered_at"))
    status = (
        OrderStatus.DELIVERED
        if cells["status"] is None
        else lookup(cells["status"], STATUSES, "status")
    )
    channel = (
        Channel.ONLINE
        if cells["channel"] is None
        else lookup(cells["channel"], CHANNELS, "channel")
    )

    ids = Identifiers()
    ids.add("email", cells["email"], "email")
    ids.add("phone", cells["phone"], "phone", country_hint(cells["country"]))
    ids.add("loyalty_id", cells["loyalty_id"], "loyalty_id")

    refunds: list[RefundData] = []
    if cells["refunded"] is not None:
        refunded = parse_amount(cells["refunded"], "refunded", currency)
        if refunded > total:
            raise PayloadError("refunded", f"refunded {refunded} exceeds the total {total}")
        if refunded > 0:
            refunds.append(RefundData(refund_id=f"{order_id}:csv-refund", amount=refunded))

    line_items: list[LineItem] = []
    if cells["product_id"] is not None or cells["product_name"] is not None:
        qty = 1 if cells["quantity"] is None else quantity(cells["quantity"], "quantity")
        if cells["unit_price"] is not None:
            unit_price = parse_amount(cells["unit_price"], "unit_price", currency)
        elif qty == 1:
            unit_price = total
        else:
            raise PayloadError("unit_price", "is required when quantity is not 1")
        line_items.append(
            LineItem(
                product_id=cells["product_id"],
                name=cells["product_name"],
                quantity=qty,
                unit_price=unit_price,
            )
        )

    properties = {key: cells[key] for key in ("first_name", "last_name") if cells[key] is not None}
    order = OrderData(
        external_id=order_id,
        currency=currency,
        total=total,
        status=status,
        placed_at=placed_at,
        refunds=refunds,
        channel=channel,
        store_id=cells["store_id"] if channel is Channel.STORE else None,
        line_items=line_items,
    )
    return CanonicalEvent(
        source=SOURCE,
        event_type=EventType.PURCHASE,
        occurred_at=placed_at,
        identifiers=ids.to_list(),
        order=order,
        channel=channel,
        properties=properties,
    )


def _ordered_at(value: str) -> datetime:
    if _DATE_ONLY.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError as exc:
            raise PayloadError("ordered_at", f"not a valid date: {value!r}") from exc
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    return parse_timestamp(value, "ordered_at")
