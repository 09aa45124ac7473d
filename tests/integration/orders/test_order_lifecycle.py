"""Orders are entities: redelivery never double-counts, refunds and cancellations net out."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from constintel.db.session import transaction
from constintel.ingest.models import CustomerRawEvent
from constintel.orders.models import CustomerOrder
from constintel.pipeline import Envelope, ingest_batch
from integration.helpers import count, profile_by


def order(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": 5_000_000_000_001,
        "name": "#1001",
        "email": "ana@example.com",
        "currency": "USD",
        "total_price": "89.99",
        "financial_status": "paid",
        "fulfillment_status": None,
        "cancelled_at": None,
        "test": False,
        "created_at": "2025-03-01T10:00:00-05:00",
        "updated_at": "2025-03-01T10:00:00-05:00",
        "line_items": [
            {"id": 1, "product_id": 7, "title": "Jacket", "quantity": 1, "price": "89.99"}
        ],
        "refunds": [],
    }
    body.update(overrides)
    return body


def refund(refund_id: int, amount: str) -> dict[str, Any]:
    return {
        "id": refund_id,
        "order_id": 5_000_000_000_001,
        "created_at": "2025-03-05T12:00:00Z",
        "refund_line_items": [],
        "transactions": [
            {
                "id": refund_id + 1,
                "kind": "refund",
                "status": "success",
                "amount": amount,
                "currency": "USD",
            }
        ],
    }


def ltv(engine, ctx) -> tuple[Decimal, int]:
    p = profile_by(engine, ctx, "email", "ana@example.com")
    return p.lifetime_value, p.total_orders


def test_same_webhook_twice_is_a_duplicate(engine, ctx, ingest) -> None:
    first = ingest(("shopify", "orders/create", order()))
    second = ingest(("shopify", "orders/create", order()))
    assert (first.imported, second.imported, second.duplicates) == (1, 0, 1)
    assert ltv(engine, ctx) == (Decimal("89.99"), 1)
    assert count(engine, ctx, CustomerRawEvent) == 1


def test_same_order_through_other_topics_counts_once(engine, ctx, ingest) -> None:
    ingest(("shopify", "orders/create", order()), ("shopify", "orders/paid", order()))
    ingest(
        (
            "shopify",
            "orders/updated",
            order(fulfillment_status="fulfilled", updated_at="2025-03-02T09:00:00Z"),
        )
    )
    assert ltv(engine, ctx) == (Decimal("89.99"), 1)
    assert count(engine, ctx, CustomerOrder) == 1
    assert count(engine, ctx, CustomerRawEvent) == 3  # history keeps every delivery


def test_ten_concurrent_deliveries_count_once(engine, ctx) -> None:
    barrier = threading.Barrier(10)
    errors: list[BaseException] = []

    def deliver(topic: str) -> None:
        try:
            barrier.wait()
            with transaction(engine) as session:
                ingest_batch(session, ctx, [Envelope("shopify", topic, order())])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=deliver, args=("orders/create" if i % 2 else "orders/paid",))
        for i in range(10)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert ltv(engine, ctx) == (Decimal("89.99"), 1)
    assert count(engine, ctx, CustomerOrder) == 1
    assert count(engine, ctx, CustomerRawEvent) == 2  # one per distinct delivery


def test_partial_refund_lowers_ltv_exactly_once(engine, ctx, ingest) -> None:
    ingest(("shopify", "orders/create", order()))
    ingest(("shopify", "refunds/create", refund(900, "30.00")))
    assert ltv(engine, ctx) == (Decimal("59.99"), 1)
    ingest(("shopify", "refunds/create", refund(900, "30.00")))  # redelivered
    embedded = order(
        financial_status="partially_refunded",
        updated_at="2025-03-05T12:00:01Z",
        refunds=[refund(900, "30.00")],
    )
    ingest(("shopify", "orders/updated", embedded))  # the same refund embedded again
    assert ltv(engine, ctx) == (Decimal("59.99"), 1)
    ingest(("shopify", "refunds/create", refund(950, "9.99")))
    assert ltv(engine, ctx) == (Decimal("50.00"), 1)


def test_cancelled_order_counts_zero(engine, ctx, ingest) -> None:
    ingest(("shopify", "orders/create", order()))
    ingest(("shopify", "orders/create", order(id=5_000_000_000_002, total_price="10.00")))
    assert ltv(engine, ctx) == (Decimal("99.99"), 2)
    cancelled = order(
        cancelled_at="2025-03-02T08:00:00Z",
        financial_status="voided",
        updated_at="2025-03-02T08:00:00Z",
    )
    ingest(("shopify", "orders/cancelled", cancelled))
    profile = profile_by(engine, ctx, "email", "ana@example.com")
    assert (profile.lifetime_value, profile.total_orders) == (Decimal("10.00"), 1)
    # the cancelled order held the first order date: it moves to the remaining order
    assert profile.first_order_at == profile.last_order_at


def test_late_redelivery_cannot_undo_a_cancellation(engine, ctx, ingest) -> None:
    ingest(
        (
            "shopify",
            "orders/cancelled",
            order(
                cancelled_at="2025-03-02T08:00:00Z",
                financial_status="voided",
                updated_at="2025-03-02T08:00:00Z",
            ),
        )
    )
    ingest(("shopify", "orders/paid", order()))  # older updated_at, arrives late
    assert ltv(engine, ctx) == (Decimal("0.00"), 0)


def test_refund_arriving_before_its_order(engine, ctx, ingest) -> None:
    result = ingest(("shopify", "refunds/create", refund(900, "30.00")))
    assert result.unattached == 1  # a refund names no customer
    ingest(("shopify", "orders/create", order()))
    assert ltv(engine, ctx) == (Decimal("59.99"), 1)
    assert count(engine, ctx, CustomerOrder) == 1


def test_woocommerce_lifecycle(engine, ctx, ingest) -> None:
    woo = {
        "id": 727,
        "status": "processing",
        "currency": "USD",
        "date_created_gmt": "2025-03-01T10:00:00",
        "date_modified_gmt": "2025-03-01T10:00:00",
        "total": "120.00",
        "customer_id": 0,
        "billing": {"email": "ana@example.com", "phone": "(555) 555-5555", "country": "US"},
        "line_items": [],
        "refunds": [],
    }
    ingest(("woocommerce", "order.created", woo))
    refunded = dict(
        woo,
        date_modified_gmt="2025-03-03T10:00:00",
        refunds=[{"id": 730, "reason": "damaged", "total": "-20.00"}],
    )
    ingest(("woocommerce", "order.updated", refunded))
    assert ltv(engine, ctx) == (Decimal("100.00"), 1)
    cancelled = dict(refunded, status="cancelled", date_modified_gmt="2025-03-04T10:00:00")
    ingest(("woocommerce", "order.updated", cancelled))
    assert ltv(engine, ctx) == (Decimal("0.00"), 0)


def test_order_in_another_currency_is_rejected_and_kept(engine, ctx, ingest) -> None:
    result = ingest(("shopify", "orders/create", order(currency="EUR")))
    assert result.rejected == 1
    assert result.rejections[0].field == "currency"
    from constintel.ingest.models import RejectedPayload

    assert count(engine, ctx, RejectedPayload) == 1


def test_an_adapter_bug_rejects_one_payload_not_the_batch(engine, ctx, ingest, monkeypatch) -> None:
    from constintel.ingest import sources

    real = sources.NORMALIZERS["api"]

    def flaky(payload: Any, **kwargs: Any) -> Any:
        if payload.get("boom"):
            raise KeyError("boom")
        return real(payload, **kwargs)

    monkeypatch.setitem(sources.NORMALIZERS, "api", flaky)
    result = ingest(("api", None, {"boom": True}), ("shopify", "orders/create", order()))
    assert (result.imported, result.rejected) == (1, 1)
    assert "internal error" in result.rejections[0].reason
    assert ltv(engine, ctx) == (Decimal("89.99"), 1)
    from constintel.ingest.models import RejectedPayload

    assert count(engine, ctx, RejectedPayload) == 1
