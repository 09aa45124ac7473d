"""CSV upload adapter: one row of strings per order."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from constintel.core.errors import PayloadError, UnknownShapeError
from constintel.events.schemas import Channel, EventType, OrderStatus
from constintel.ingest.sources import csv_upload

CSV_TEXT = """\
order_id,email,phone,loyalty_id,total,currency,ordered_at,status,country,first_name,last_name,\
product_id,product_name,quantity,unit_price,refunded,channel,store_id,notes
A-1,ann@example.com,020 7946 0000,,45.00,gbp,2024-03-01,,GB,Ann,Lee,SKU-1,Scarf,2,22.50,5.00,,,gift
A-2,,,,19.99,,2024-03-02T12:30:00+02:00,shipped,,,,,,,,,store,STORE-7,
"""


def rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(CSV_TEXT)))


def test_full_row() -> None:
    event = csv_upload.normalize(rows()[0])
    assert event.source == "csv"
    assert event.event_type is EventType.PURCHASE
    assert event.channel is Channel.ONLINE
    assert event.external_id is None
    order = event.order
    assert order is not None
    assert order.external_id == "A-1"
    assert order.total == Decimal("45.00")
    assert order.currency == "GBP"
    assert order.status is OrderStatus.DELIVERED  # default
    assert order.placed_at == datetime(2024, 3, 1, tzinfo=UTC)  # a date is midnight UTC
    assert event.occurred_at == order.placed_at
    assert [(i.kind, i.value, i.country) for i in event.identifiers] == [
        ("email", "ann@example.com", None),
        ("phone", "020 7946 0000", "GB"),
    ]
    assert [(r.refund_id, r.amount) for r in order.refunds] == [("A-1:csv-refund", Decimal("5.00"))]
    (item,) = order.line_items
    assert (item.product_id, item.name, item.quantity, item.unit_price) == (
        "SKU-1",
        "Scarf",
        2,
        Decimal("22.50"),
    )
    assert event.properties == {"first_name": "Ann", "last_name": "Lee"}  # "notes" ignored


def test_row_without_identifiers_store_channel() -> None:
    event = csv_upload.normalize(rows()[1])
    order = event.order
    assert order is not None
    assert event.identifiers == []  # stored unattached downstream
    assert order.currency == "USD"
    assert order.status is OrderStatus.SHIPPED
    assert order.placed_at == datetime(2024, 3, 2, 10, 30, tzinfo=UTC)
    assert event.channel is Channel.STORE
    assert order.channel is Channel.STORE
    assert order.store_id == "STORE-7"
    assert order.line_items == []
    assert order.refunds == []


def test_minimal_row_and_single_item_price_defaults_to_total() -> None:
    row = {"order_id": "B-9", "total": "10", "ordered_at": "2024-01-05", "product_name": "Mug"}
    order = csv_upload.normalize(row).order
    assert order is not None
    assert order.total == Decimal("10.00")
    assert order.line_items[0].quantity == 1
    assert order.line_items[0].unit_price == Decimal("10.00")


def test_zero_refund_is_no_refund() -> None:
    row = {"order_id": "B-9", "total": "10", "ordered_at": "2024-01-05", "refunded": "0"}
    order = csv_upload.normalize(row).order
    assert order is not None
    assert order.refunds == []


def test_short_and_long_rows_from_dictreader() -> None:
    text = "order_id,total,ordered_at,email\nC-1,5.00,2024-01-01,c@example.com,extra\nC-2,6.00\n"
    long_row, short_row = csv.DictReader(io.StringIO(text))
    event = csv_upload.normalize(long_row)  # surplus cell under the key None: ignored
    assert [i.value for i in event.identifiers] == ["c@example.com"]
    with pytest.raises(PayloadError) as info:
        csv_upload.normalize(short_row)  # missing cells are None
    assert info.value.field == "ordered_at"


BASE = {"order_id": "D-1", "total": "20.00", "ordered_at": "2024-01-01T00:00:00Z"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"order_id": ""}, "order_id"),
        ({"total": ""}, "total"),
        ({"total": "-20.00"}, "total"),
        ({"total": "twenty"}, "total"),
        ({"total": "20,00"}, "total"),
        ({"ordered_at": "2024-02-30T10:00:00Z"}, "ordered_at"),
        ({"ordered_at": "2024-02-30"}, "ordered_at"),
        ({"ordered_at": "2024-01-01 10:00"}, "ordered_at"),  # no offset
        ({"currency": "XXX1"}, "currency"),
        ({"status": "lost"}, "status"),
        ({"channel": "phone"}, "channel"),
        ({"refunded": "25.00"}, "refunded"),  # more than the total
        ({"product_id": "P", "quantity": "2"}, "unit_price"),
        ({"product_id": "P", "quantity": "1.5", "unit_price": "1"}, "quantity"),
    ],
)
def test_bad_input_names_the_field(change: dict[str, str], field: str) -> None:
    with pytest.raises(PayloadError) as info:
        csv_upload.normalize({**BASE, **change})
    assert info.value.field == field


def test_non_string_cell_is_refused() -> None:
    with pytest.raises(PayloadError) as info:
        csv_upload.normalize({**BASE, "total": 20.0})
    assert info.value.field == "total"


def test_not_an_object() -> None:
    with pytest.raises(UnknownShapeError):
        csv_upload.normalize(["D-1", "20.00"])  # type: ignore[arg-type]
