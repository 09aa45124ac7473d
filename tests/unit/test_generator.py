"""Tests of the synthetic multi-channel order/event generator."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from itertools import islice
from typing import Any

import orjson
import phonenumbers
import pytest

from constintel.ingest.generator import (
    PURCHASE_TOPICS,
    GeneratorConfig,
    generate,
    generate_jsonl,
    is_purchase,
    purchase_key,
)

END = datetime(2026, 1, 1, tzinfo=UTC)
JUNK_EMAILS = {"test@test.com", "none", "null", "", "n/a"}
JUNK_PHONES = {"0000000000", "1234567890", "000-000-0000", "N/A"}
SOURCES = {"shopify", "woocommerce", "square", "pos", "api"}


@cache
def _envelopes(orders: int, seed: int = 0, truth: bool = False) -> tuple[dict[str, Any], ...]:
    return tuple(generate(GeneratorConfig(orders=orders, seed=seed, include_truth=truth)))


@cache
def _lines(orders: int, seed: int = 0) -> tuple[bytes, ...]:
    return tuple(generate_jsonl(GeneratorConfig(orders=orders, seed=seed)))


def _first_deliveries(lines: tuple[bytes, ...]) -> Iterator[dict[str, Any]]:
    """Envelopes in stream order, skipping byte-identical redeliveries."""
    seen: set[bytes] = set()
    for line in lines:
        if line not in seen:
            seen.add(line)
            yield orjson.loads(line)


def _is_junk_email(value: str | None) -> bool:
    if value is None:
        return False
    v = value.strip().lower()
    return v in JUNK_EMAILS or v.startswith(("noreply@", "orders@"))


# ---- determinism and streaming ---------------------------------------------------------------


def test_same_seed_gives_byte_identical_output() -> None:
    config = GeneratorConfig(orders=400, seed=7)
    first = b"".join(generate_jsonl(config))
    second = b"".join(generate_jsonl(GeneratorConfig(orders=400, seed=7)))
    assert first == second
    assert len(first) > 100_000


def test_different_seed_gives_different_output() -> None:
    a = b"".join(generate_jsonl(GeneratorConfig(orders=200, seed=1)))
    b = b"".join(generate_jsonl(GeneratorConfig(orders=200, seed=2)))
    assert a != b
    # ... but both are the same kind of world.
    assert abs(a.count(b'"orders/create"') - b.count(b'"orders/create"')) < 60


def test_jsonl_is_generate_encoded_one_per_line() -> None:
    config = GeneratorConfig(orders=150, seed=3)
    lines = list(generate_jsonl(config))
    envelopes = list(generate(config))
    assert len(lines) == len(envelopes)
    for line, envelope in zip(lines, envelopes, strict=True):
        assert line.endswith(b"\n")
        assert line.count(b"\n") == 1
        assert orjson.loads(line) == envelope
        assert line == orjson.dumps(envelope) + b"\n"


def _scramble(node: Any) -> None:
    """Destroy a decoded JSON tree in place, as a careless consumer might."""
    if isinstance(node, dict):
        for value in node.values():
            _scramble(value)
        node.clear()
        node["scrambled"] = True
    elif isinstance(node, list):
        for item in node:
            _scramble(item)
        node.clear()


def test_mutating_yielded_envelopes_does_not_change_the_stream() -> None:
    config = GeneratorConfig(orders=500, seed=4)
    expected = list(generate_jsonl(config))
    got = []
    for envelope in generate(config):
        got.append(orjson.dumps(envelope, option=orjson.OPT_APPEND_NEWLINE))
        _scramble(envelope)
    assert got == expected
    assert len(set(got)) < len(got)  # redeliveries were part of it


def test_generate_is_lazy() -> None:
    # Fifty million orders: only a streaming generator returns its first envelopes at once
    # (it plans about one day of orders ahead, here ~1,400).
    stream = generate(GeneratorConfig(orders=50_000_000, days=36_500))
    first = list(islice(stream, 50))
    assert len(first) == 50
    assert {env["source"] for env in first} <= SOURCES


def test_default_end_is_fixed_and_custom_end_is_respected() -> None:
    def newest(config: GeneratorConfig) -> datetime:
        stamps = [
            datetime.fromisoformat(env["payload"]["occurred_at"])
            for env in generate(config)
            if env["source"] == "api"
        ]
        return max(stamps)

    assert END - timedelta(days=2) < newest(GeneratorConfig(orders=300)) <= END
    end = datetime(2024, 6, 1, 12, tzinfo=UTC)
    latest = newest(GeneratorConfig(orders=300, days=10, end=end))
    assert end - timedelta(days=2) < latest <= end


@pytest.mark.parametrize(
    "kwargs",
    [
        {"orders": -1},
        {"days": 0},
        {"refund_rate": 1.5},
        {"redelivery_rate": -0.1},
        {"end": datetime(2026, 1, 1)},  # noqa: DTZ001 - naive on purpose
        {"source_weights": (("amazon", 1.0),)},
        {"source_weights": (("shopify", 0.0),)},
    ],
)
def test_invalid_config_is_rejected(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"."):
        GeneratorConfig(**kwargs)


# ---- orders ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("orders", "days", "seed"),
    [(0, 90, 0), (1, 90, 0), (7, 1, 5), (333, 3, 11), (2000, 90, 0)],
)
def test_exact_number_of_distinct_orders(orders: int, days: int, seed: int) -> None:
    envelopes = list(generate(GeneratorConfig(orders=orders, days=days, seed=seed)))
    keys = {purchase_key(env) for env in envelopes if is_purchase(env)}
    assert len(keys) == orders
    if orders == 0:
        assert envelopes == []


def test_every_source_and_topic_appears() -> None:
    envelopes = _envelopes(200)
    assert {env["source"] for env in envelopes} == SOURCES
    topics = {(env["source"], env["topic"]) for env in envelopes}
    assert topics >= PURCHASE_TOPICS
    assert {
        ("shopify", "orders/updated"),
        ("shopify", "refunds/create"),
        ("woocommerce", "order.updated"),
    } <= topics
    api_types = {env["payload"]["event_type"] for env in envelopes if env["source"] == "api"}
    assert api_types == {"cart_add", "product_view", "page_view", "message"}
    # Topics that are None exactly for POS and API.
    assert all((env["topic"] is None) == (env["source"] in ("pos", "api")) for env in envelopes)


def test_shopify_lifecycle_follows_its_order() -> None:
    created: set[int] = set()
    refund_ids: set[int] = set()
    statuses: Counter[str] = Counter()
    embedded_seen_before = 0
    for env in _first_deliveries(_lines(3000)):
        if env["source"] != "shopify":
            continue
        payload, topic = env["payload"], env["topic"]
        if topic in ("orders/create", "orders/paid"):
            created.add(payload["id"])
            assert payload["refunds"] == []
            assert payload["financial_status"] == "paid"
            continue
        if topic == "refunds/create":
            assert payload["order_id"] in created
            refund_ids.add(payload["id"])
            continue
        assert payload["id"] in created, f"{topic} before orders/create"
        statuses[payload["financial_status"]] += 1
        for refund in payload["refunds"]:
            assert refund["id"] in refund_ids, "embedded refund without refunds/create"
            embedded_seen_before += 1
        refunded = sum(Decimal(r["transactions"][0]["amount"]) for r in payload["refunds"])
        total = Decimal(payload["total_price"])
        assert Decimal(payload["current_total_price"]) == total - refunded >= 0
        if topic == "orders/cancelled":
            assert payload["cancelled_at"] is not None
            assert payload["financial_status"] in ("voided", "refunded")
        else:
            assert payload["cancelled_at"] is None
    assert embedded_seen_before > 0
    assert {"paid", "partially_refunded", "refunded", "voided"} <= set(statuses)


def test_woocommerce_lifecycle() -> None:
    statuses: dict[int, list[str]] = defaultdict(list)
    refund_ids: dict[int, list[int]] = defaultdict(list)
    config = GeneratorConfig(orders=3000, refund_rate=0.5, redelivery_rate=0.0)
    for env in generate(config):
        if env["source"] != "woocommerce":
            continue
        payload = env["payload"]
        if env["topic"] == "order.created":
            assert payload["id"] not in statuses
            assert payload["status"] in ("processing", "on-hold")
        else:
            assert payload["id"] in statuses, "order.updated before order.created"
        statuses[payload["id"]].append(payload["status"])
        ids = [r["id"] for r in payload["refunds"]]
        assert ids == sorted(ids, reverse=True), "WooCommerce lists refunds newest first"
        assert set(refund_ids[payload["id"]]) <= set(ids), "an embedded refund disappeared"
        refund_ids[payload["id"]] = ids
        refunded = sum(-Decimal(r["total"]) for r in payload["refunds"])
        assert refunded <= Decimal(payload["total"])
        if payload["status"] == "refunded":
            assert refunded == Decimal(payload["total"])
    finals = Counter(history[-1] for history in statuses.values())
    assert {"processing", "completed", "cancelled", "refunded"} <= set(finals)
    assert finals["completed"] > finals["cancelled"]
    assert any(len(ids) == 2 for ids in refund_ids.values())


def test_orders_paid_repeats_orders_create_byte_for_byte() -> None:
    creates = {}
    pairs = 0
    for env in _envelopes(1000):
        if env["topic"] == "orders/create":
            creates[env["payload"]["id"]] = orjson.dumps(env["payload"])
        elif env["topic"] == "orders/paid":
            assert creates[env["payload"]["id"]] == orjson.dumps(env["payload"])
            pairs += 1
    assert pairs > 50


def test_redeliveries_are_byte_identical_and_later() -> None:
    lines = _lines(3000)
    first_seen: dict[bytes, int] = {}
    repeats = []
    for i, line in enumerate(lines):
        if line in first_seen:
            repeats.append((first_seen[line], i))
        else:
            first_seen[line] = i
    share = len(repeats) / len(lines)
    assert 0.015 < share < 0.05
    assert all(first < later for first, later in repeats)
    sources = {orjson.loads(lines[later])["source"] for _, later in repeats}
    assert {"shopify", "api"} <= sources
    # Some redeliveries arrive after other envelopes of the same stream (not just adjacent).
    assert any(later - first > 10 for first, later in repeats)


# ---- money -----------------------------------------------------------------------------------


def _amount(value: Any, *, negative: bool = False) -> Decimal:
    """A money value as exact Decimal, asserting it has at most two decimals."""
    assert not isinstance(value, bool)
    if isinstance(value, float):
        text = repr(value)
    else:
        assert isinstance(value, int | str), value
        text = str(value)
        if isinstance(value, str):
            assert re.fullmatch(r"-?\d+\.\d\d", value), f"not a 2-decimal string: {value!r}"
    amount = Decimal(text)
    assert amount.is_finite()
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)
    assert exponent >= -2, f"{value!r} has more than two decimals"
    assert (amount < 0) == negative or amount == 0
    return amount


def test_money_is_exact_and_totals_reconcile() -> None:
    checked = Counter[str]()
    for env in _envelopes(2000):
        payload, source = env["payload"], env["source"]
        if source == "shopify" and env["topic"] == "refunds/create":
            for tx in payload["transactions"]:
                assert _amount(tx["amount"]) > 0
            checked["shopify_refund"] += 1
        elif source == "shopify":
            sub = _amount(payload["subtotal_price"])
            lines = sum(_amount(li["price"]) * li["quantity"] for li in payload["line_items"])
            shipping = sum(_amount(s["price"]) for s in payload["shipping_lines"])
            assert sub == lines == _amount(payload["total_line_items_price"])
            total = _amount(payload["total_price"])
            assert total == sub + _amount(payload["total_tax"]) + shipping
            _amount(payload["current_total_price"])
            checked["shopify"] += 1
        elif source == "woocommerce":
            lines = Decimal(0)
            for li in payload["line_items"]:
                assert isinstance(li["price"], int | float)  # a JSON number, as WooCommerce
                assert _amount(li["total"]) == _amount(li["price"]) * li["quantity"]
                lines += _amount(li["subtotal"])
            total = _amount(payload["total"])
            expected = lines + _amount(payload["total_tax"]) + _amount(payload["shipping_total"])
            assert total == expected
            for refund in payload["refunds"]:
                assert _amount(refund["total"], negative=True) < 0
            checked["woocommerce"] += 1
        elif source == "square":
            p = payload["data"]["object"]["payment"]
            for key in ("amount_money", "total_money"):
                assert type(p[key]["amount"]) is int
                assert p[key]["amount"] > 0
                assert p[key]["currency"] == "USD"
            checked["square"] += 1
        elif source == "pos":
            total = _amount(payload["total"])
            assert total == _amount(payload["subtotal"]) + _amount(payload["tax"])
            items = sum(_amount(i["price"]) * i["quantity"] for i in payload["items"])
            assert items == _amount(payload["subtotal"])
            checked["pos"] += 1
        elif "price" in payload:
            assert _amount(payload["price"]) > 0
            checked["api"] += 1
    assert all(checked[k] > 10 for k in ("shopify", "woocommerce", "square", "pos", "api"))
    assert checked["shopify_refund"] > 0


def test_pos_totals_come_as_strings_and_as_numbers() -> None:
    kinds = {type(env["payload"]["total"]) for env in _envelopes(1000) if env["source"] == "pos"}
    assert str in kinds
    assert kinds & {int, float}


# ---- time ------------------------------------------------------------------------------------

_OFFSET_FIELDS = {
    "created_at",
    "updated_at",
    "processed_at",
    "closed_at",
    "cancelled_at",
    "occurred_at",
    "timestamp",
}


def _timestamps(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str) and (key in _OFFSET_FIELDS or key.startswith("date_")):
                yield key, value
            else:
                yield from _timestamps(value, f"{path}.{key}")
    elif isinstance(node, list):
        for item in node:
            yield from _timestamps(item, path)


def test_timestamps_have_offsets_and_lie_in_the_window() -> None:
    start = END - timedelta(days=90)
    naive_gmt = 0
    for env in _envelopes(1500):
        for key, value in _timestamps(env["payload"]):
            parsed = datetime.fromisoformat(value)
            if env["source"] == "woocommerce":
                assert key.startswith("date_")
                assert parsed.tzinfo is None, "WooCommerce dates carry no offset"
                if key.endswith("_gmt"):
                    parsed = parsed.replace(tzinfo=UTC)
                    naive_gmt += 1
                else:
                    continue  # site-local time: only *_gmt is usable
            else:
                assert parsed.tzinfo is not None, f"{env['source']}.{key}={value!r} lacks offset"
            assert start <= parsed <= END + timedelta(seconds=1), (key, value)
    assert naive_gmt > 100


def test_stream_is_chronological_apart_from_redeliveries() -> None:
    def when(env: dict[str, Any]) -> datetime:
        p = env["payload"]
        source = env["source"]
        if source == "api":
            value = p["occurred_at"]
        elif source == "pos":
            value = p["timestamp"]
        elif source == "square":
            value = p["data"]["object"]["payment"]["created_at"]
        elif source == "woocommerce":
            return datetime.fromisoformat(p["date_modified_gmt"]).replace(tzinfo=UTC)
        elif env["topic"] == "refunds/create":
            value = p["created_at"]
        else:
            value = p["updated_at"]
        return datetime.fromisoformat(value)

    previous = END - timedelta(days=365)
    checked = 0
    for env in _first_deliveries(_lines(3000)):
        if env["topic"] == "orders/paid":  # same body as orders/create, delivered seconds later
            continue
        current = when(env).replace(microsecond=0)
        assert current >= previous, (env["source"], env["topic"], current, previous)
        previous = current
        checked += 1
    assert checked > 7000


# ---- people and identifiers ------------------------------------------------------------------


def _phones(env: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    """(phone as written, region hint) for every phone in an envelope."""
    p, source = env["payload"], env["source"]
    if source == "shopify" and env["topic"] != "refunds/create":
        country = p["billing_address"]["country_code"]
        for value in (p["phone"], p["customer"]["phone"], p["billing_address"]["phone"]):
            if value:
                yield value, country
    elif source == "woocommerce" and p["billing"]["phone"]:
        yield p["billing"]["phone"], p["billing"]["country"]
    elif source == "pos" and isinstance(p.get("customer"), dict) and p["customer"].get("phone"):
        yield p["customer"]["phone"], "US"
    elif source == "api" and "phone" in p:
        yield p["phone"], None


def _emails(env: dict[str, Any]) -> Iterator[str]:
    p, source = env["payload"], env["source"]
    if source == "shopify" and env["topic"] != "refunds/create":
        yield from (e for e in (p["email"], p["customer"]["email"]) if e is not None)
    elif source == "woocommerce":
        yield p["billing"]["email"]
    elif source == "square":
        payment = p["data"]["object"]["payment"]
        if "buyer_email_address" in payment:
            yield payment["buyer_email_address"]
    elif source == "api" and "email" in p:
        yield p["email"]


def test_phones_are_valid_or_known_junk_and_written_many_ways() -> None:
    formats: set[str] = set()
    raws: set[str] = set()
    valid = 0
    for env in _envelopes(2000):
        for raw, region in _phones(env):
            if raw in JUNK_PHONES:
                continue
            number = phonenumbers.parse(raw, region)
            assert phonenumbers.is_valid_number(number), f"{raw!r} ({region}) is not valid"
            valid += 1
            formats.add(re.sub(r"\d", "9", raw))
            raws.add(raw)
    assert valid > 1000
    assert {"+99999999999", "(999) 999-9999", "999.999.9999", "+9 999-999-9999"} <= formats
    assert any(f.startswith("+99 9999 999999") for f in formats)  # UK
    assert any(r.startswith("077") for r in raws)  # UK national form, with country GB


def test_emails_are_written_many_ways() -> None:
    emails = [e for env in _envelopes(2000) for e in _emails(env) if not _is_junk_email(e)]
    assert any(e != e.strip() for e in emails)
    assert any(e.strip() != e.strip().lower() for e in emails)
    assert all(re.fullmatch(r"[a-z0-9._]+@[a-z0-9.-]+\.[a-z]+", e.strip().lower()) for e in emails)


def test_identifiers_resolve_to_the_true_person_or_household() -> None:
    people_by_email: dict[str, set[int]] = defaultdict(set)
    households_by_phone: dict[str, set[int]] = defaultdict(set)
    people_by_phone: dict[str, set[int]] = defaultdict(set)
    for env in _envelopes(4000, truth=True):
        truth = env["truth"]
        if truth["person"] is None:
            continue
        for email in _emails(env):
            if not _is_junk_email(email):
                people_by_email[email.strip().lower()].add(truth["person"])
        for raw, region in _phones(env):
            if raw not in JUNK_PHONES:
                e164 = phonenumbers.format_number(
                    phonenumbers.parse(raw, region), phonenumbers.PhoneNumberFormat.E164
                )
                households_by_phone[e164].add(truth["household"])
                people_by_phone[e164].add(truth["person"])
    assert len(people_by_email) > 1000
    assert all(len(people) == 1 for people in people_by_email.values())
    assert all(len(households) == 1 for households in households_by_phone.values())
    # Households: several people with different emails behind one phone.
    assert any(len(people) >= 2 for people in people_by_phone.values())


def test_order_counts_per_person_follow_a_power_law() -> None:
    per_person = Counter(
        env["truth"]["person"] for env in _envelopes(4000, truth=True) if is_purchase(env)
    )
    # orders/paid repeats a purchase; count distinct orders per person.
    orders_by_person: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for env in _envelopes(4000, truth=True):
        if is_purchase(env):
            orders_by_person[env["truth"]["person"]].add(purchase_key(env))
    counts = Counter(len(keys) for keys in orders_by_person.values())
    assert len(per_person) == len(orders_by_person)
    assert counts[1] / len(orders_by_person) > 0.6  # most people buy once
    assert max(counts) >= 8  # a few buy many times


def test_a_cart_token_links_a_cookie_to_a_later_shopify_order() -> None:
    carts: dict[str, tuple[int, datetime]] = {}
    ordered: set[str] = set()
    linked = 0
    seen: set[bytes] = set()
    for env in _envelopes(1000, truth=True):
        encoded = orjson.dumps(env)
        if encoded in seen:  # a redelivery may come after the order
            continue
        seen.add(encoded)
        p = env["payload"]
        if env["source"] == "api" and p["event_type"] == "cart_add":
            assert p["cart_token"] not in ordered, "cart_add after the order that used the cart"
            assert ("cookie_id" in p) != ("device_id" in p)
            carts[p["cart_token"]] = (
                env["truth"]["person"],
                datetime.fromisoformat(p["occurred_at"]),
            )
        elif env["topic"] == "orders/create":
            ordered.add(p["cart_token"])
            if p["cart_token"] in carts:
                person, added_at = carts[p["cart_token"]]
                assert person == env["truth"]["person"]
                assert added_at < datetime.fromisoformat(p["created_at"])
                linked += 1
    assert linked > 200


def test_pos_sales_use_phone_loyalty_or_nothing() -> None:
    shapes = Counter[str]()
    for env in _envelopes(3000):
        if env["source"] != "pos":
            continue
        customer = env["payload"].get("customer", "missing")
        if not isinstance(customer, dict):
            shapes[str(customer)] += 1
        else:
            shapes["+".join(sorted(k for k, v in customer.items() if v))] += 1
    assert shapes["loyalty_id+phone"] > 0.2 * sum(shapes.values())
    assert shapes["phone"] > 0.2 * sum(shapes.values())
    assert shapes["loyalty_id"] > 0
    assert shapes["missing"] + shapes["None"] + shapes[""] > 0  # anonymous sales


def test_junk_identifiers_appear() -> None:
    envelopes = _envelopes(3000)
    junk_emails = {e for env in envelopes for e in _emails(env) if _is_junk_email(e)}
    junk_phones = {raw for env in envelopes for raw, _ in _phones(env) if raw in JUNK_PHONES}
    assert len(junk_emails) >= 3
    assert "noreply@example-shop.com" in junk_emails or "orders@example-shop.com" in junk_emails
    assert junk_phones


def test_shopify_ids_are_64_bit_integers() -> None:
    customer_ids = set()
    for env in _envelopes(2000):
        if env["source"] == "shopify" and env["topic"] != "refunds/create":
            p = env["payload"]
            assert type(p["id"]) is int
            assert 4_500_000_000_000 <= p["id"] < 2**63
            assert p["name"] == f"#{p['order_number']}"
            customer_ids.add(p["customer"]["id"])
    assert all(type(c) is int and 0 < c < 2**63 for c in customer_ids)
    assert any(c > 2**53 for c in customer_ids)
    assert any(c < 2**53 for c in customer_ids)
