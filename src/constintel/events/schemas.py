"""The canonical event every source adapter produces.

Adapters (``constintel.ingest.sources.*``) are pure functions ``payload -> CanonicalEvent``.
Everything downstream (identity, orders, statistics) reads only these types, never a
platform's payload. Money is ``Decimal`` with its currency; time is aware UTC.

These are plain slotted dataclasses rather than Pydantic models: they are built once per event
on the bulk-import hot path, where validation already happened in the adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

__all__ = [
    "SOURCES",
    "CanonicalEvent",
    "Channel",
    "EventType",
    "IdentifierKind",
    "LineItem",
    "OrderData",
    "OrderStatus",
    "RawIdentifier",
    "RefundData",
]

SOURCES = ("shopify", "woocommerce", "square", "pos", "csv", "api")


class EventType(StrEnum):
    PURCHASE = "purchase"
    POS_TRANSACTION = "pos_transaction"
    ORDER_UPDATED = "order_updated"
    REFUND = "refund"
    CART_ADD = "cart_add"
    PRODUCT_VIEW = "product_view"
    PAGE_VIEW = "page_view"
    MESSAGE = "message"
    CUSTOMER_UPDATE = "customer_update"
    CHECK_IN = "check_in"  # a known customer seen in a store (loyalty scan, appointment)


class OrderStatus(StrEnum):
    """The seed's order lifecycle: pending -> processing -> shipped -> delivered, or cancelled /
    refunded from any of them."""

    PENDING = "pending"
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class Channel(StrEnum):
    ONLINE = "online"  # web shop orders (Shopify, WooCommerce, API orders)
    STORE = "store"  # point of sale
    WEB = "web"  # browsing: carts, product and page views
    MESSAGING = "messaging"  # WhatsApp, SMS, chat


class IdentifierKind(StrEnum):
    """Well-known identifier kinds; adapters may also emit ``<source>_customer_id`` kinds
    (e.g. ``shopify_customer_id``) and ``cart_token``, weighted as "other"."""

    EMAIL = "email"
    PHONE = "phone"
    LOYALTY_ID = "loyalty_id"
    DEVICE_ID = "device_id"
    COOKIE_ID = "cookie_id"


@dataclass(slots=True)
class RawIdentifier:
    """An identifier as found in a payload, before normalization.

    ``country`` is an ISO 3166 alpha-2 hint for phones (e.g. the address country), used before
    the brand's default region.
    """

    kind: str
    value: str
    country: str | None = None


@dataclass(slots=True)
class LineItem:
    product_id: str | None
    name: str | None
    quantity: int
    unit_price: Decimal
    sku: str | None = None
    variant_id: str | None = None


@dataclass(slots=True)
class RefundData:
    """One refund of an order, keyed by the platform's refund id so redelivery never
    double-counts it."""

    refund_id: str
    amount: Decimal
    created_at: datetime | None = None


@dataclass(slots=True)
class OrderData:
    """The state of an order as this payload describes it.

    ``total`` is the gross amount the customer was charged (``None`` when the payload only
    refers to an order, e.g. a bare refund; such a payload also leaves ``status`` None).
    ``refunds`` lists every refund the payload knows
    of; the order keeps the union by refund id. ``source_updated_at`` orders competing updates:
    an update older than the stored state is ignored.
    """

    external_id: str
    currency: str
    total: Decimal | None
    status: OrderStatus | None  # None: this payload does not say (a bare refund)
    placed_at: datetime | None
    source_updated_at: datetime | None = None
    refunds: list[RefundData] = field(default_factory=list)
    financial_status: str | None = None
    fulfillment_status: str | None = None
    channel: Channel = Channel.ONLINE
    store_id: str | None = None
    store_name: str | None = None
    payment_method: str | None = None
    order_number: str | None = None
    test: bool = False
    line_items: list[LineItem] = field(default_factory=list)


@dataclass(slots=True)
class CanonicalEvent:
    """One normalized event.

    ``external_id`` is the platform's id for the event itself when it has one (Square
    ``event_id``, a POS ``transaction_id``); deduplication of deliveries uses the payload hash
    and, when present, this id.
    """

    source: str
    event_type: EventType
    occurred_at: datetime
    identifiers: list[RawIdentifier] = field(default_factory=list)
    order: OrderData | None = None
    channel: Channel = Channel.ONLINE
    external_id: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
