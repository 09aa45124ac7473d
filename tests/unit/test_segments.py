"""RFM scores, the 11 segments and the lifecycle rules (documented in
constintel.predictions.segments)."""

from __future__ import annotations

from decimal import Decimal
from itertools import product

import pytest

from constintel.predictions.segments import (
    LIFECYCLES,
    SEGMENTS,
    Cuts,
    lifecycle,
    rfm_scores,
    segment,
)

CUTS = Cuts(recency=(7, 30, 90, 180), frequency=(1, 1, 1, 2), monetary=(30, 60, 120, 300))


def test_scores_are_quintiles_with_recency_reversed() -> None:
    assert rfm_scores(CUTS, 0, 1, 10) == (5, 1, 1)
    assert rfm_scores(CUTS, 7, 2, 60) == (5, 4, 2)  # on a cut: the lower score
    assert rfm_scores(CUTS, 8, 3, 61) == (4, 5, 3)
    assert rfm_scores(CUTS, 400, 1, 1000) == (1, 1, 5)


def test_every_cell_maps_to_one_of_the_eleven_segments_and_each_is_reachable() -> None:
    seen = {segment(r, f, m) for r, f, m in product(range(1, 6), repeat=3)}
    assert seen == set(SEGMENTS)
    assert len(SEGMENTS) == 11
    assert segment(5, 5, 5) == "champions"
    assert segment(1, 1, 1) == "lost"
    assert segment(5, 1, 1) == "new_customers"
    assert segment(1, 5, 5) == "cant_lose_them"
    assert segment(2, 3, 3) == "at_risk"


def label(orders: int, *, first: int = 5, last: int = 5, value: str = "100", risk=0.1, seg="x"):
    return lifecycle(
        orders=orders,
        days_since_first=first,
        days_since_last=last,
        value=Decimal(value),
        churn_risk=risk,
        rfm_segment=seg,
    )


def test_lifecycle_rules_in_order() -> None:
    assert label(0) is None
    assert label(1, seg="potential_loyalists") == "new"
    assert label(1, first=45, last=45, seg="promising") == "active"
    assert label(2, seg="champions") == "loyal"  # Scenario 2: the second order
    assert label(3, seg="champions") == "champion"  # Scenario 4: the third, large one
    assert label(5, seg="champions", risk=0.55) == "at_risk"
    assert label(5, seg="cant_lose_them") == "at_risk"
    assert label(5, seg="champions", risk=0.85) == "churned"
    assert label(1, seg="lost", risk=0.2) == "churned"
    assert {label(n, seg=s) for n in (1, 2, 3) for s in SEGMENTS} <= set(LIFECYCLES)


@pytest.mark.parametrize(
    ("orders", "first", "last", "value", "expected"),
    [
        (1, 3, 3, "89.99", "new"),
        (2, 14, 0, "239.99", "loyal"),
        (3, 19, 0, "739.99", "champion"),
        (3, 19, 0, "120.00", "loyal"),  # three small orders: not a champion without a model
        (1, 60, 60, "50", "active"),
        (4, 400, 200, "900", "at_risk"),
        (4, 800, 400, "900", "churned"),
    ],
)
def test_fallback_rules_without_a_model(orders, first, last, value, expected) -> None:
    got = lifecycle(
        orders=orders,
        days_since_first=first,
        days_since_last=last,
        value=Decimal(value),
        churn_risk=None,
        rfm_segment=None,
    )
    assert got == expected
