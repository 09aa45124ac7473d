"""Matching, merging, the review queue and unmerge (the seed's Step 4 with DESIGN's rules)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from constintel.brands import service as brands
from constintel.core.errors import ConflictError
from constintel.db.session import transaction
from constintel.profiles import service as profiles
from integration.helpers import active_profiles, pending_requests, profile_by, profile_id


def pos(txn: str, total: str, day: int, **customer: str) -> dict[str, Any]:
    return {
        "transaction_id": txn,
        "store_id": "S1",
        "customer": customer,
        "total": total,
        "items": [],
        "timestamp": f"2025-01-{day:02d}T12:00:00Z",
    }


def api_purchase(order_id: str, total: str, day: int, **ids: Any) -> dict[str, Any]:
    return {
        "event_type": "purchase",
        "occurred_at": f"2025-01-{day:02d}T12:00:00Z",
        "order": {"order_id": order_id, "total": total, "currency": "USD"},
        **ids,
    }


def test_two_profiles_merge_into_the_oldest(engine, ctx, ingest) -> None:
    ingest(("api", None, api_purchase("o1", "10.00", 1, email="a@shop.com")))
    ingest(("pos", None, pos("t1", "20.00", 2, phone="+1 212 555 0101")))
    older = profile_by(engine, ctx, "email", "a@shop.com")
    younger = profile_by(engine, ctx, "phone", "+12125550101")
    assert older.id != younger.id
    assert active_profiles(engine, ctx) == 2

    result = ingest(
        ("api", None, api_purchase("o2", "5.00", 3, email="a@shop.com", phone="212-555-0101"))
    )
    assert result.merges == 1
    merged = profile_by(engine, ctx, "phone", "+12125550101")
    assert merged.id == older.id
    assert merged.merged_from == [younger.id]
    assert (merged.lifetime_value, merged.total_orders) == (Decimal("35.00"), 3)
    assert merged.event_count == 3
    assert profile_id(engine, ctx, younger.id).id == older.id  # merged ids keep resolving
    assert active_profiles(engine, ctx) == 1


def _four_profiles(ingest) -> None:
    ingest(("api", None, api_purchase("o1", "10.00", 1, email="one@shop.com")))
    ingest(("api", None, api_purchase("o2", "20.00", 2, email="two@shop.com")))
    ingest(("pos", None, pos("t3", "30.00", 3, phone="+1 212 555 0103")))
    ingest(("pos", None, pos("t4", "40.00", 4, loyalty_id="L-4")))


def _snapshot(engine, ctx, pid: str) -> dict[str, Any]:
    read = profile_id(engine, ctx, pid).model_dump()
    read.pop("merged_from")
    return read


def test_four_matches_go_to_review_then_approve_then_unmerge(engine, ctx, ingest) -> None:
    _four_profiles(ingest)
    ids = [
        profile_by(engine, ctx, "email", "one@shop.com").id,
        profile_by(engine, ctx, "email", "two@shop.com").id,
        profile_by(engine, ctx, "phone", "+12125550103").id,
        profile_by(engine, ctx, "loyalty_id", "L-4").id,
    ]
    result = ingest(
        (
            "api",
            None,
            api_purchase(
                "o5",
                "50.00",
                5,
                email="one@shop.com",
                phone="+12125550103",
                loyalty_id="L-4",
                identifiers={"email": "two@shop.com"},
            ),
        )
    )
    assert (result.merges, result.reviews) == (0, 1)
    assert active_profiles(engine, ctx) == 4
    phone_owner = profile_by(engine, ctx, "phone", "+12125550103")
    assert phone_owner.id == ids[2]  # the event went to the phone match (highest priority)
    assert (phone_owner.lifetime_value, phone_owner.total_orders) == (Decimal("80.00"), 2)
    [request] = pending_requests(engine, ctx)
    assert request.reason == "too_many_matches"
    assert sorted(request.profile_ids) == sorted(ids)
    before = {pid: _snapshot(engine, ctx, pid) for pid in ids}

    with transaction(engine) as session:
        brand = brands.get(session, ref=ctx.brand_id)
        survivor = profiles.approve_request(session, brand=brand, request_id=request.id)
    assert survivor == ids[0]  # the oldest
    merged = profile_by(engine, ctx, "loyalty_id", "L-4")
    assert merged.id == ids[0]
    assert (merged.lifetime_value, merged.total_orders) == (Decimal("150.00"), 5)
    assert sorted(merged.identifiers) == ["email", "loyalty_id", "phone"]
    assert merged.profile_strength == 75
    assert sorted(merged.merged_from) == sorted(ids[1:])
    assert active_profiles(engine, ctx) == 1
    assert pending_requests(engine, ctx) == []

    with transaction(engine) as session:
        brand = brands.get(session, ref=ctx.brand_id)
        for pid in ids[1:]:
            profiles.unmerge(session, brand=brand, merged_id=pid)
        with pytest.raises(Exception, match="not merged"):
            profiles.unmerge(session, brand=brand, merged_id=ids[1])
    assert active_profiles(engine, ctx) == 4
    after = {pid: _snapshot(engine, ctx, pid) for pid in ids}
    assert after == before


def test_reject_keeps_profiles_apart_and_cannot_be_decided_twice(engine, ctx, ingest) -> None:
    _four_profiles(ingest)
    ingest(
        (
            "api",
            None,
            api_purchase(
                "o5",
                "1.00",
                5,
                email="one@shop.com",
                phone="+12125550103",
                loyalty_id="L-4",
                identifiers={"email": "two@shop.com"},
            ),
        )
    )
    [request] = pending_requests(engine, ctx)
    with transaction(engine) as session:
        brand = brands.get(session, ref=ctx.brand_id)
        profiles.reject_request(session, brand=brand, request_id=request.id)
    with transaction(engine) as session:
        brand = brands.get(session, ref=ctx.brand_id)
        with pytest.raises(ConflictError):
            profiles.approve_request(session, brand=brand, request_id=request.id)
    assert active_profiles(engine, ctx) == 4


def test_unmerge_after_auto_merge_restores_both(engine, ctx, ingest) -> None:
    ingest(("api", None, api_purchase("o1", "10.00", 1, email="a@shop.com")))
    ingest(("pos", None, pos("t1", "20.00", 2, phone="+1 212 555 0101")))
    a = profile_by(engine, ctx, "email", "a@shop.com")
    b = profile_by(engine, ctx, "phone", "+12125550101")
    before = (_snapshot(engine, ctx, a.id), _snapshot(engine, ctx, b.id))
    ingest(
        (
            "api",
            None,
            {
                "event_type": "page_view",
                "email": "a@shop.com",
                "phone": "+12125550101",
                "occurred_at": "2025-01-03T00:00:00Z",
            },
        )
    )
    assert active_profiles(engine, ctx) == 1
    with transaction(engine) as session:
        brand = brands.get(session, ref=ctx.brand_id)
        profiles.unmerge(session, brand=brand, merged_id=b.id)
    restored_b = _snapshot(engine, ctx, b.id)
    assert restored_b == before[1]
    a_after = _snapshot(engine, ctx, a.id)
    # the page view that caused the merge stays with the survivor
    assert a_after["event_count"] == before[0]["event_count"] + 1
    assert a_after["lifetime_value"] == before[0]["lifetime_value"]


def test_shared_family_phone_stops_linking(engine, ctx, ingest) -> None:
    family = "+1 212 555 0142"
    ingest(("api", None, api_purchase("o1", "10.00", 1, email="mom@home.com", phone=family)))
    ingest(("api", None, api_purchase("o2", "20.00", 2, email="dad@home.com", phone=family)))
    # two emails on one phone are within the default cap (2): one household profile
    assert active_profiles(engine, ctx) == 1
    result = ingest(
        ("api", None, api_purchase("o3", "30.00", 3, email="kid@home.com", phone=family))
    )
    assert result.reviews == 1
    kid = profile_by(engine, ctx, "email", "kid@home.com")
    parents = profile_by(engine, ctx, "email", "mom@home.com")
    assert kid.id != parents.id
    assert (kid.lifetime_value, parents.lifetime_value) == (Decimal("30.00"), Decimal("30.00"))
    assert parents.identifiers["phone"][0].shared is True
    assert "phone" not in kid.identifiers
    [request] = pending_requests(engine, ctx)
    assert request.reason == "shared_identifier"
    assert sorted(request.profile_ids) == sorted([parents.id, kid.id])
    # the shared phone alone no longer identifies anyone
    lone = ingest(
        (
            "api",
            None,
            {
                "event_type": "message",
                "phone": family,
                "text": "hi",
                "occurred_at": "2025-01-04T00:00:00Z",
            },
        )
    )
    assert lone.unattached == 1


def test_junk_identifiers_never_link(engine, ctx, ingest) -> None:
    junk = api_purchase("o1", "10.00", 1, email="test@test.com", phone="0000000000")
    result = ingest(
        ("api", None, junk), ("api", None, api_purchase("o2", "5.00", 2, email="NoReply@shop.com"))
    )
    assert (result.unattached, result.created_profiles) == (2, 0)
    assert active_profiles(engine, ctx) == 0


def test_brand_junk_additions(engine, ctx, ingest) -> None:
    with transaction(engine) as session:
        brand = brands.get(session, ref=ctx.brand_id)
        brand.settings = {**brand.settings, "junk_phones": ["(212) 555-0100"]}
    from constintel.pipeline import BrandContext

    with transaction(engine) as session:
        ingest.ctx = BrandContext.of(brands.get(session, ref=ctx.brand_id))
    ingest(("pos", None, pos("t1", "10.00", 1, phone="+12125550100", loyalty_id="L1")))
    ingest(("pos", None, pos("t2", "10.00", 2, phone="212 555 0100", loyalty_id="L2")))
    assert active_profiles(engine, ingest.ctx) == 2  # the store's own phone linked no one


def test_unattached_event_can_be_linked(engine, ctx, ingest) -> None:
    ingest(("api", None, api_purchase("o1", "10.00", 1, email="a@shop.com")))
    result = ingest(
        (
            "pos",
            None,
            {
                "transaction_id": "t9",
                "total": "15.00",
                "items": [],
                "timestamp": "2025-01-02T10:00:00Z",
            },
        )
    )
    assert result.unattached == 1
    owner = profile_by(engine, ctx, "email", "a@shop.com")
    with transaction(engine) as session:
        brand = brands.get(session, ref=ctx.brand_id)
        from constintel.ingest import repository as events_repo

        [event] = events_repo.list_unattached(session, brand_id=brand.id)
        profiles.link_event(session, brand=brand, event_id=event.id, profile_id=owner.id)
        with pytest.raises(ConflictError):
            profiles.link_event(session, brand=brand, event_id=event.id, profile_id=owner.id)
    linked = profile_by(engine, ctx, "email", "a@shop.com")
    assert (linked.lifetime_value, linked.total_orders, linked.event_count) == (
        Decimal("25.00"),
        2,
        2,
    )
    assert "store" in linked.channels


def test_the_name_follows_merges_and_unmerges(engine, ctx, ingest) -> None:
    ingest(("api", None, api_purchase("o1", "10.00", 1, email="a@shop.com")))
    named = api_purchase("o2", "20.00", 2, phone="+1 212 555 0101")
    ingest(("api", None, {**named, "first_name": " Bea ", "last_name": "Lin"}))
    a = profile_by(engine, ctx, "email", "a@shop.com")
    b = profile_by(engine, ctx, "phone", "+12125550101")
    assert (a.name, b.name) == (None, "Bea Lin")
    ingest(("api", None, api_purchase("o3", "5.00", 3, email="a@shop.com", phone="2125550101")))
    merged = profile_by(engine, ctx, "email", "a@shop.com")
    assert (merged.id, merged.name) == (a.id, "Bea Lin")  # the survivor had none: it takes b's
    with transaction(engine) as session:
        brand = brands.get(session, ref=ctx.brand_id)
        profiles.unmerge(session, brand=brand, merged_id=b.id)
    assert profile_id(engine, ctx, b.id).name == "Bea Lin"
    assert profile_id(engine, ctx, a.id).name is None  # and gives it back
    # A later event with another name renames the profile.
    ingest(("api", None, {**api_purchase("o4", "1.00", 4, email="a@shop.com"), "first_name": "Al"}))
    assert profile_by(engine, ctx, "email", "a@shop.com").name == "Al"
