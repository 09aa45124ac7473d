"""Shared adapter helpers and the adapter registry."""

from __future__ import annotations

import pytest

from constintel.core.errors import PayloadError
from constintel.events.schemas import SOURCES
from constintel.ingest.sources import NORMALIZERS
from constintel.ingest.sources._common import Identifiers, ext_id, join, quantity


def test_registry_covers_every_source() -> None:
    assert set(NORMALIZERS) == set(SOURCES)


def test_join() -> None:
    assert join("", "line_items", 0, "price") == "line_items[0].price"
    assert join("order", "refunds", 2, "transactions", 0) == "order.refunds[2].transactions[0]"


def test_ext_id_keeps_big_ints_exact_and_refuses_floats() -> None:
    assert ext_id(2**63 - 1, "id") == "9223372036854775807"
    assert ext_id("  abc ", "id") == "abc"
    assert ext_id("", "id") is None
    with pytest.raises(PayloadError) as info:
        ext_id(1e17, "customer.id")
    assert info.value.field == "customer.id"
    with pytest.raises(PayloadError):
        ext_id(True, "id")


@pytest.mark.parametrize(("value", "expected"), [(3, 3), ("2", 2), ("2.0", 2), (" 7 ", 7)])
def test_quantity(value: object, expected: int) -> None:
    assert quantity(value, "q") == expected


@pytest.mark.parametrize("value", [None, True, 1.0, "1.5", "-1", -1, "", "NaN", "Infinity"])
def test_bad_quantity(value: object) -> None:
    with pytest.raises(PayloadError) as info:
        quantity(value, "items[0].quantity")
    assert info.value.field == "items[0].quantity"


def test_identifiers_skip_empty_and_duplicates_and_fill_country() -> None:
    ids = Identifiers()
    ids.add("email", "", "email")
    ids.add("email", None, "email")
    ids.add("phone", "555-0100", "phone")
    ids.add("phone", "555-0100", "billing.phone", "US")
    ids.add("email", "a@example.com", "email")
    ids.add("email", "a@example.com", "customer.email")
    ids.add("loyalty_id", 42, "loyalty_id")
    assert [(i.kind, i.value, i.country) for i in ids.to_list()] == [
        ("phone", "555-0100", "US"),
        ("email", "a@example.com", None),
        ("loyalty_id", "42", None),
    ]
