"""Automation rules, quiet hours, journeys and intent decay (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from constintel.activation.intents import _anchor as anchor
from constintel.activation.intents import current_score
from constintel.activation.journeys import stage_of
from constintel.activation.rules import conditions_hold, next_allowed, validate
from constintel.core.errors import PayloadError

CONTEXT = {"profile": {"total_orders": 2, "lifetime_value": "239.99"}, "order": {"total": "150.00"}}


@pytest.mark.parametrize(
    ("conditions", "holds"),
    [
        ([{"field": "profile.total_orders", "op": ">=", "value": 2}], True),
        ([{"field": "profile.lifetime_value", "op": ">", "value": "239.99"}], False),
        ([{"field": "order.total", "op": "<", "value": 500}], True),
        ([{"field": "profile.missing", "op": ">", "value": 1}], False),
        ([{"field": "profile.total_orders", "op": "in", "value": [1, 2]}], True),
        ([{"field": "order.total", "op": "==", "value": "150"}], True),  # numbers, not strings
        ([], True),
    ],
)
def test_conditions(conditions, holds) -> None:
    assert conditions_hold(conditions, CONTEXT) is holds


@pytest.mark.parametrize(
    ("trigger", "action", "field"),
    [
        ({"type": "birthday"}, {"channel": "email", "subject": "s", "body": "b"}, "trigger.type"),
        (
            {"type": "churn_risk", "threshold": 2},
            {"channel": "email", "subject": "s", "body": "b"},
            "trigger.threshold",
        ),
        (
            {"type": "vip", "min_order_value": "lots"},
            {"channel": "email", "subject": "s", "body": "b"},
            "trigger.min_order_value",
        ),
        ({"type": "first_order"}, {"channel": "sms", "body": "b"}, "action.channel"),
        ({"type": "first_order"}, {"channel": "webhook", "url": "ftp://x"}, "action.url"),
        ({"type": "first_order"}, {"channel": "email", "body": "b"}, "action.subject"),
        (
            {"type": "first_order"},
            {"channel": "email", "subject": "s", "body": "{{ oops"},
            "action.body",
        ),
    ],
)
def test_invalid_rules_name_the_field(trigger, action, field) -> None:
    with pytest.raises(PayloadError) as exc:
        validate(trigger, [], action)
    assert exc.value.field == field


def test_quiet_hours_overnight_and_same_day() -> None:
    at = datetime(2026, 1, 10, 22, 30, tzinfo=UTC)
    assert next_allowed(at, "21:00-08:00", "UTC") == datetime(2026, 1, 11, 8, 0, tzinfo=UTC)
    early = datetime(2026, 1, 10, 6, 0, tzinfo=UTC)
    assert next_allowed(early, "21:00-08:00", "UTC") == datetime(2026, 1, 10, 8, 0, tzinfo=UTC)
    noon = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    assert next_allowed(noon, "21:00-08:00", "UTC") == noon
    assert next_allowed(noon, "12:00-13:00", "UTC") == datetime(2026, 1, 10, 13, 0, tzinfo=UTC)
    assert next_allowed(noon, None, "UTC") == noon
    # In the brand's timezone: 22:30 UTC is 17:30 in New York, not quiet.
    assert next_allowed(at, "21:00-08:00", "America/New_York") == at


@given(
    st.integers(min_value=0, max_value=5 * 365 * 86400).map(
        lambda sec: datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=sec)
    )
)
def test_next_allowed_is_never_earlier_and_never_quiet(at: datetime) -> None:
    allowed = next_allowed(at, "21:00-08:00", "Europe/Berlin")
    assert allowed >= at
    assert allowed - at <= timedelta(hours=11, minutes=1)
    assert next_allowed(allowed, "21:00-08:00", "Europe/Berlin") == allowed


def test_journey_moves_forward_and_shows_risk() -> None:
    assert (
        stage_of(
            None, event_type="product_view", status=None, orders=0, lifecycle=None, strength=20
        )[1]
        == "awareness"
    )
    assert (
        stage_of(
            "awareness", event_type="cart_add", status=None, orders=0, lifecycle=None, strength=20
        )[1]
        == "consideration"
    )
    assert stage_of(
        "consideration", event_type="purchase", status=None, orders=1, lifecycle="new", strength=20
    )[:2] == ("purchase", "purchase")
    assert (
        stage_of(
            "purchase",
            event_type="order_updated",
            status="delivered",
            orders=1,
            lifecycle="new",
            strength=20,
        )[1]
        == "retention"
    )
    funnel, shown, score = stage_of(
        "retention", event_type="page_view", status=None, orders=1, lifecycle="at_risk", strength=50
    )
    assert (funnel, shown, score) == ("retention", "at_risk", 40)
    assert stage_of(
        "retention",
        event_type="purchase",
        status=None,
        orders=3,
        lifecycle="champion",
        strength=100,
    )[1:] == ("advocacy", 100)


def test_intent_score_halves_every_fourteen_days() -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    stored = 3.0 * anchor(at)
    assert current_score(stored, at) == pytest.approx(3.0)
    assert current_score(stored, at + timedelta(days=14)) == pytest.approx(1.5)
    assert current_score(
        stored + 1.0 * anchor(at + timedelta(days=14)), at + timedelta(days=14)
    ) == pytest.approx(2.5)
