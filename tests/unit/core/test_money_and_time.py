"""Exact money and explicit UTC time."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from constintel.core.clock import parse_timestamp
from constintel.core.errors import PayloadError
from constintel.core.money import from_minor_units, normalize_currency, parse_amount


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        ("89.99", "USD", Decimal("89.99")),
        (125.50, "USD", Decimal("125.50")),  # a JSON number, through its shortest repr
        (0.1, "USD", Decimal("0.10")),
        (12, "USD", Decimal("12.00")),
        ("125.500", "USD", Decimal("125.50")),
        ("1500", "JPY", Decimal("1500")),
        ("1.234", "KWD", Decimal("1.234")),
    ],
)
def test_amounts_are_exact(value: object, currency: str, expected: Decimal) -> None:
    amount = parse_amount(value, "total", currency)
    assert amount == expected
    assert str(amount) == str(expected)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("-1.00", "negative"),
        ("abc", "not a number"),
        ("NaN", "finite"),
        ("1.001", "more decimals"),
        (True, "expected an amount"),
        (None, "expected an amount"),
    ],
)
def test_bad_amounts_name_the_field(value: object, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason) as info:
        parse_amount(value, "line_items[0].price", "USD")
    assert info.value.field == "line_items[0].price"


def test_minor_units_and_currencies() -> None:
    assert from_minor_units(1000, "amount_money.amount", "USD") == Decimal("10.00")
    assert from_minor_units(1000, "amount_money.amount", "JPY") == Decimal("1000")
    assert normalize_currency(" usd ", "currency") == "USD"
    with pytest.raises(PayloadError, match="unknown currency"):
        normalize_currency("XXX1", "currency")


def test_timestamps_are_aware_utc() -> None:
    assert parse_timestamp("2024-12-07T10:00:00-05:00", "created_at") == datetime(
        2024, 12, 7, 15, 0, tzinfo=UTC
    )
    assert parse_timestamp("2024-12-07T10:00:00Z", "t").tzinfo is UTC
    assert parse_timestamp("2024-12-07T10:00:00", "date_created_gmt", naive_is_utc=True) == (
        datetime(2024, 12, 7, 10, 0, tzinfo=UTC)
    )
    with pytest.raises(PayloadError, match="no UTC offset"):
        parse_timestamp("2024-12-07T10:00:00", "created_at")
    with pytest.raises(PayloadError, match="not a valid ISO-8601") as info:
        parse_timestamp("2024-02-30T10:00:00Z", "created_at")
    assert info.value.field == "created_at"
