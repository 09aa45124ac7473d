"""Identifier normalization: E.164 phones, unverified numbers, junk, emails."""

from __future__ import annotations

import pytest

from constintel.events.schemas import RawIdentifier
from constintel.identity.normalize import (
    Identifier,
    JunkList,
    normalize_email,
    normalize_identifiers,
    normalize_phone,
)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(212) 555-0199", "US", ("+12125550199", True)),
        ("212.555.0199", "US", ("+12125550199", True)),
        ("1 212 555 0199", "US", ("+12125550199", True)),
        ("+1 212-555-0199", "GB", ("+12125550199", True)),  # the + wins over the region
        ("07911 123456", "GB", ("+447911123456", True)),
        ("+44 7911 123456", "US", ("+447911123456", True)),
        # the seed's own number cannot be validated: kept as +digits, marked unverified
        ("+1-555-0123", "US", ("+15550123", False)),
        ("555-555-SHIP", "US", ("+15555557447", False)),  # a vanity number from Shopify's sample
    ],
)
def test_phones(raw: str, region: str, expected: tuple[str, bool]) -> None:
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize("raw", ["0000000000", "1111111111", "1234567890", "null", "  ", "12345"])
def test_junk_phones(raw: str) -> None:
    assert normalize_phone(raw, "US") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Jane.Doe@Example.COM ", "jane.doe@example.com"),
        ("test@test.com", None),
        ("noreply@shop.com", None),
        ("No-Reply@shop.com", None),
        ("none", None),
        ("not-an-email", None),
        ("jenkins+smorly@squareup.com", "jenkins+smorly@squareup.com"),
    ],
)
def test_emails(raw: str, expected: str | None) -> None:
    assert normalize_email(raw) == expected


def test_identifiers_use_the_address_country_and_drop_duplicates() -> None:
    raw = [
        RawIdentifier("email", "ANN@x.com"),
        RawIdentifier("email", "ann@x.com "),
        RawIdentifier("phone", "07911 123456", country="GB"),
        RawIdentifier("loyalty_id", " loy-1 "),
        RawIdentifier("cookie_id", "undefined"),
    ]
    assert normalize_identifiers(raw, region="US") == [
        Identifier("email", "ann@x.com"),
        Identifier("phone", "+447911123456", True),
        Identifier("loyalty_id", "LOY-1"),
    ]


def test_brand_junk_additions_are_normalized_like_input() -> None:
    junk = JunkList(emails=["Store@Shop.com"], phones=["(212) 555-0100"], region="US")
    raw = [
        RawIdentifier("email", "store@shop.com"),
        RawIdentifier("phone", "+1 212 555 0100"),
        RawIdentifier("phone", "212-555-0101"),
    ]
    assert normalize_identifiers(raw, region="US", junk=junk) == [
        Identifier("phone", "+12125550101", True)
    ]


def test_a_junk_email_takes_its_platform_customer_id_with_it() -> None:
    raw = [
        RawIdentifier("email", "test@test.com"),
        RawIdentifier("shopify_customer_id", "5000000000003"),
        RawIdentifier("phone", "(212) 555-0199"),
    ]
    assert normalize_identifiers(raw, region="US") == [Identifier("phone", "+12125550199", True)]
