"""RFM scores, the 11 conventional RFM segments and the seed's lifecycle labels (pure).

RFM scores are 1-5 quintiles of the brand's customers with at least one order, cut at refit
time and kept with the model, so scoring one customer is a look-up:

- R(ecency): days since the last order, fewer is better (5 = most recent fifth);
- F(requency): counted orders;
- M(onetary): lifetime value (net of refunds).

A value scores 1 + the number of the four cut points (the 20/40/60/80th percentiles) below
it, so tied values (most customers have one order) share a score. R is reversed.

Segments are read off R and FM = ceil((F + M) / 2) with this grid (R rows, FM columns)::

            FM 1            FM 2                 FM 3               FM 4             FM 5
    R 5  new_customers  potential_loyalists  potential_loyalists  champions        champions
    R 4  promising      potential_loyalists  loyal_customers      champions        champions
    R 3  about_to_sleep need_attention       need_attention       loyal_customers  loyal_customers
    R 2  hibernating    about_to_sleep       at_risk              at_risk          cant_lose_them
    R 1  lost           hibernating          at_risk              cant_lose_them   cant_lose_them

Lifecycle labels (the seed's new, active, loyal, champion, at_risk, churned), first rule that
holds wins:

1. ``churned``: churn risk >= 0.8, or the RFM segment is ``lost``;
2. ``at_risk``: churn risk >= 0.5, or the segment is at_risk, cant_lose_them, hibernating or
   about_to_sleep;
3. ``champion``: the segment is ``champions`` and the customer has at least 3 orders (a second
   order makes a customer ``loyal`` first, as in the seed's Scenario 2; a third, large one
   makes them a champion, Scenario 4);
4. ``loyal``: at least 2 orders;
5. ``new``: one order, placed within the last 30 days;
6. ``active``: one order, longer ago.

Without a fitted model (a brand with too little history) there is no churn risk and no RFM;
the same labels then come from the profile alone: churned after 365 days without an order,
at_risk after 180, champion at 3+ orders worth at least 500 in the brand's currency, then
rules 4-6.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from .summary import Floats

__all__ = [
    "LIFECYCLES",
    "SEGMENTS",
    "Cuts",
    "LifecycleRules",
    "lifecycle",
    "quintile_cuts",
    "rfm_scores",
    "segment",
]

SEGMENTS = (
    "champions",
    "loyal_customers",
    "potential_loyalists",
    "new_customers",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cant_lose_them",
    "hibernating",
    "lost",
)
LIFECYCLES = ("new", "active", "loyal", "champion", "at_risk", "churned")

_GRID: dict[int, tuple[str, str, str, str, str]] = {
    5: ("new_customers", "potential_loyalists", "potential_loyalists", "champions", "champions"),
    4: ("promising", "potential_loyalists", "loyal_customers", "champions", "champions"),
    3: ("about_to_sleep", "need_attention", "need_attention", "loyal_customers", "loyal_customers"),
    2: ("hibernating", "about_to_sleep", "at_risk", "at_risk", "cant_lose_them"),
    1: ("lost", "hibernating", "at_risk", "cant_lose_them", "cant_lose_them"),
}
_AT_RISK_SEGMENTS = frozenset({"at_risk", "cant_lose_them", "hibernating", "about_to_sleep"})


@dataclass(frozen=True, slots=True)
class Cuts:
    """The four quintile cut points of recency (days), frequency and monetary value."""

    recency: tuple[float, ...]
    frequency: tuple[float, ...]
    monetary: tuple[float, ...]

    def as_dict(self) -> dict[str, list[float]]:
        return {
            "recency": list(self.recency),
            "frequency": list(self.frequency),
            "monetary": list(self.monetary),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Sequence[float]]) -> Cuts:
        return cls(
            tuple(float(v) for v in data["recency"]),
            tuple(float(v) for v in data["frequency"]),
            tuple(float(v) for v in data["monetary"]),
        )


def quintile_cuts(recency: Floats, frequency: Floats, monetary: Floats) -> Cuts:
    qs = [20, 40, 60, 80]

    def cut(values: Floats) -> tuple[float, ...]:
        return tuple(float(v) for v in np.percentile(values, qs, method="lower"))

    return Cuts(cut(recency), cut(frequency), cut(monetary))


def _score(cuts: tuple[float, ...], value: float) -> int:
    return 1 + bisect_left(cuts, value)


def rfm_scores(
    cuts: Cuts, recency_days: float, orders: float, value: float
) -> tuple[int, int, int]:
    return (
        6 - _score(cuts.recency, recency_days),
        _score(cuts.frequency, orders),
        _score(cuts.monetary, value),
    )


def segment(r: int, f: int, m: int) -> str:
    fm = (f + m + 1) // 2
    return _GRID[r][fm - 1]


@dataclass(frozen=True, slots=True)
class LifecycleRules:
    churned_risk: float = 0.8
    at_risk_risk: float = 0.5
    champion_min_orders: int = 3
    new_days: int = 30
    # Used only without a fitted model.
    fallback_at_risk_days: int = 180
    fallback_churned_days: int = 365
    fallback_champion_value: Decimal = Decimal("500")


def lifecycle(
    *,
    orders: int,
    days_since_first: int,
    days_since_last: int,
    value: Decimal,
    churn_risk: float | None,
    rfm_segment: str | None,
    rules: LifecycleRules = LifecycleRules(),
) -> str | None:
    """The seed's lifecycle label; None for a profile without orders."""
    if orders < 1:
        return None
    if churn_risk is not None and rfm_segment is not None:
        if churn_risk >= rules.churned_risk or rfm_segment == "lost":
            return "churned"
        if churn_risk >= rules.at_risk_risk or rfm_segment in _AT_RISK_SEGMENTS:
            return "at_risk"
        if rfm_segment == "champions" and orders >= rules.champion_min_orders:
            return "champion"
    else:
        if days_since_last > rules.fallback_churned_days:
            return "churned"
        if days_since_last > rules.fallback_at_risk_days:
            return "at_risk"
        if orders >= rules.champion_min_orders and value >= rules.fallback_champion_value:
            return "champion"
    if orders >= 2:
        return "loyal"
    return "new" if days_since_first <= rules.new_days else "active"
