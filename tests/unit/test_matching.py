"""The seed's Step 4 match decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from constintel.identity.matching import MatchAction, decide

T0 = datetime(2025, 1, 1, tzinfo=UTC)
AGES = {f"p{i}": (T0 + timedelta(days=i), f"p{i}") for i in range(6)}


def test_no_match_creates() -> None:
    assert decide([], AGES).action is MatchAction.CREATE


def test_one_profile_attaches_even_through_several_identifiers() -> None:
    decision = decide([("email", "p2"), ("phone", "p2")], AGES)
    assert (decision.action, decision.target) == (MatchAction.ATTACH, "p2")


def test_two_or_three_merge_into_the_oldest() -> None:
    decision = decide([("email", "p3"), ("phone", "p1"), ("loyalty_id", "p2")], AGES)
    assert decision.action is MatchAction.MERGE
    assert decision.target == "p1"
    assert decision.merge == ("p2", "p3")


def test_more_than_three_goes_to_review_on_the_phone_match() -> None:
    matches = [
        ("cookie_id", "p0"),
        ("email", "p1"),
        ("phone", "p4"),
        ("loyalty_id", "p3"),
        ("device_id", "p2"),
    ]
    decision = decide(matches, AGES)
    assert decision.action is MatchAction.REVIEW
    assert decision.target == "p4"  # phone > email > loyalty_id > device_id > cookie_id
    assert decision.merge == ()
    assert decision.candidates == ("p0", "p1", "p2", "p3", "p4")


def test_review_without_phone_prefers_email_then_oldest() -> None:
    matches = [("cookie_id", "p0"), ("email", "p3"), ("email", "p2"), ("loyalty_id", "p1")]
    assert decide(matches, AGES).target == "p2"
