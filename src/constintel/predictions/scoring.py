"""Fit a brand's models from its customers' summaries and score customers with them (pure).

One scoring path serves a single changed profile (O(1): a handful of closed-form terms and one
2F1 per horizon month) and a full rescore of every profile after a refit (vectorized, the
hypergeometric terms once per distinct (x, T)).

- churn risk = 1 - P(alive) under MBG/NBD (a one-time buyer can have lapsed);
- expected orders in the next 30/90 days and predicted LTV under BG/NBD, as the issue asks;
- predicted LTV = sum over months i = 1..H of the expected orders in month i times the
  Gamma-Gamma expected order value, discounted at the monthly equivalent of the annual rate;
- next order: the day by which the next order is more likely than not (P(alive) times the
  chance an active customer with posterior rate Gamma(r+x, alpha+T) has bought), None when
  that never passes one half.

Time is in whole days (UTC dates); a month is 30 days.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np

from . import purchase, spend
from .purchase import PurchaseParams
from .segments import Cuts, LifecycleRules, lifecycle, quintile_cuts, rfm_scores, segment
from .spend import SpendParams
from .summary import Floats, compress

__all__ = [
    "MIN_CUSTOMERS",
    "MIN_REPEAT_CUSTOMERS",
    "Customers",
    "FittedModels",
    "InsufficientData",
    "Score",
    "fit_models",
    "score",
]

DAYS_PER_MONTH = 30
# Below these a brand gets "insufficient data" predictions instead of fitted nonsense.
MIN_CUSTOMERS = 100
MIN_REPEAT_CUSTOMERS = 20


class InsufficientData(Exception):
    """The brand's history is too short to fit the models; the message says what is missing."""


@dataclass(frozen=True, slots=True)
class Customers:
    """Per customer (with at least one order): counted orders, first/last order date, net
    lifetime value and average order value, all as arrays."""

    orders: Floats
    first_day: Floats  # days since the epoch (UTC dates)
    last_day: Floats
    value: Floats
    average: Floats

    @classmethod
    def of(
        cls,
        rows: list[tuple[int, date, date, Decimal, Decimal]],
    ) -> Customers:
        epoch = date(1970, 1, 1)
        n = len(rows)
        orders = np.empty(n)
        first = np.empty(n)
        last = np.empty(n)
        value = np.empty(n)
        average = np.empty(n)
        for i, (o, f, la, v, a) in enumerate(rows):
            orders[i] = o
            first[i] = (f - epoch).days
            last[i] = (la - epoch).days
            value[i] = float(v)
            average[i] = float(a)
        return cls(orders, first, last, value, average)

    def summary(self, as_of: date) -> tuple[Floats, Floats, Floats, Floats]:
        """(x, t_x, T, recency) in days at ``as_of``."""
        today = float((as_of - date(1970, 1, 1)).days)
        x = np.maximum(self.orders - 1, 0)
        t_x = np.where(x > 0, self.last_day - self.first_day, 0.0)
        T = np.maximum(today - self.first_day, t_x)
        recency = np.maximum(today - self.last_day, 0.0)
        return x, t_x, T, recency


@dataclass(frozen=True, slots=True)
class FittedModels:
    frequency: PurchaseParams  # BG/NBD
    churn: PurchaseParams  # MBG/NBD
    spend: SpendParams
    cuts: Cuts
    horizon_months: int = 12
    annual_discount_rate: float = 0.10
    customers: int = 0
    repeat_customers: int = 0
    fit_seconds: float = 0.0
    rules: LifecycleRules = field(default_factory=LifecycleRules)

    def as_dict(self) -> dict[str, Any]:
        return {
            "unit": "days",
            "bgnbd": self.frequency.as_dict(),
            "mbgnbd": self.churn.as_dict(),
            "gamma_gamma": self.spend.as_dict(),
            "rfm_cuts": self.cuts.as_dict(),
            "horizon_months": self.horizon_months,
            "annual_discount_rate": self.annual_discount_rate,
            "customers": self.customers,
            "repeat_customers": self.repeat_customers,
            "fit_seconds": self.fit_seconds,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FittedModels:
        return cls(
            frequency=PurchaseParams.from_dict(data["bgnbd"]),
            churn=PurchaseParams.from_dict(data["mbgnbd"]),
            spend=SpendParams.from_dict(data["gamma_gamma"]),
            cuts=Cuts.from_dict(data["rfm_cuts"]),
            horizon_months=int(data["horizon_months"]),
            annual_discount_rate=float(data["annual_discount_rate"]),
            customers=int(data.get("customers", 0)),
            repeat_customers=int(data.get("repeat_customers", 0)),
            fit_seconds=float(data.get("fit_seconds", 0.0)),
        )


def fit_models(
    customers: Customers,
    as_of: date,
    *,
    horizon_months: int = 12,
    annual_discount_rate: float = 0.10,
    progress: Callable[[str], None] | None = None,
) -> FittedModels:
    """Fit BG/NBD, MBG/NBD and Gamma-Gamma and cut the RFM quintiles; raises
    ``InsufficientData`` when the history cannot support them."""
    started = time.perf_counter()
    step = progress or (lambda _msg: None)
    x, t_x, T, recency = customers.summary(as_of)
    n = int(x.size)
    repeat = int(np.count_nonzero((x > 0) & (customers.average > 0)))
    if n < MIN_CUSTOMERS:
        raise InsufficientData(
            f"{n} customers with orders; at least {MIN_CUSTOMERS} are needed to fit the models"
        )
    if repeat < MIN_REPEAT_CUSTOMERS:
        raise InsufficientData(
            f"{repeat} customers with a repeat order; at least {MIN_REPEAT_CUSTOMERS} are needed"
        )
    if float(T.max()) <= 0:
        raise InsufficientData("every order was placed today; no time has passed to learn from")
    s = compress(x, t_x, T)
    try:
        step("fitting BG/NBD")
        frequency = purchase.fit(s, "bgnbd")
        step("fitting MBG/NBD")
        churn = purchase.fit(s, "mbgnbd")
        step("fitting Gamma-Gamma")
        # Over all of a customer's orders: n = orders and m = their average order value
        # (what the profile keeps), the same density with n in place of FHL's repeat count.
        spend_params = spend.fit(customers.orders, customers.average)
    except (ArithmeticError, ValueError) as exc:
        raise InsufficientData(f"the order history does not identify the models ({exc})") from exc
    if spend_params.q <= 1:
        raise InsufficientData(
            "order values are too heavy-tailed for the Gamma-Gamma model (q <= 1): "
            "the mean order value would be infinite"
        )
    cuts = quintile_cuts(recency, customers.orders, customers.value)
    return FittedModels(
        frequency,
        churn,
        spend_params,
        cuts,
        horizon_months=horizon_months,
        annual_discount_rate=annual_discount_rate,
        customers=n,
        repeat_customers=repeat,
        fit_seconds=time.perf_counter() - started,
    )


@dataclass(frozen=True, slots=True)
class Score:
    p_alive: float
    churn_risk: float
    expected_orders_30: float
    expected_orders_90: float
    next_order_in_days: int | None
    expected_order_value: float
    predicted_ltv: float
    rfm: tuple[int, int, int]
    rfm_segment: str
    lifecycle: str | None


def _next_order_in_days(churn: PurchaseParams, alive: Floats, x: Floats, T: Floats) -> Floats:
    """Days until the next order is more likely than not; NaN when it never is."""
    with np.errstate(divide="ignore", invalid="ignore"):
        share = 1.0 - 0.5 / alive
        days = (churn.alpha + T) * (np.power(share, -1.0 / (churn.r + x)) - 1.0)
    return np.where(alive > 0.5, np.ceil(days), np.nan)


def score_arrays(models: FittedModels, customers: Customers, as_of: date) -> dict[str, Floats]:
    """Vectorized scores of every customer."""
    x, t_x, T, recency = customers.summary(as_of)
    months = max(models.horizon_months, 3)
    horizons = np.arange(1, months + 1, dtype=np.float64) * DAYS_PER_MONTH
    # Everything per distinct (x, T) first; each customer then takes its row times P(alive).
    table, row = purchase.horizon_table(models.frequency, horizons, x, T)
    per_month = np.diff(table, axis=1, prepend=0.0)[:, : models.horizon_months]
    monthly_rate = (1.0 + models.annual_discount_rate) ** (1.0 / 12.0) - 1.0
    discount = (1.0 + monthly_rate) ** -np.arange(1, models.horizon_months + 1, dtype=np.float64)
    discounted_orders = (per_month * discount).sum(axis=1)
    frequency_alive = purchase.p_alive(models.frequency, x, t_x, T)
    value = spend.expected_average(models.spend, customers.orders, customers.average)
    alive = purchase.p_alive(models.churn, x, t_x, T)
    return {
        "p_alive": alive,
        "expected_orders_30": table[row, 0] * frequency_alive,
        "expected_orders_90": table[row, 2] * frequency_alive,
        "next_order_in_days": _next_order_in_days(models.churn, alive, x, T),
        "expected_order_value": value,
        "predicted_ltv": discounted_orders[row] * frequency_alive * value,
        "recency": recency,
        "days_since_first": T,
    }


def score(models: FittedModels, customers: Customers, as_of: date) -> list[Score]:
    arrays = score_arrays(models, customers, as_of)
    out: list[Score] = []
    for i in range(customers.orders.size):
        orders = int(customers.orders[i])
        rfm = rfm_scores(
            models.cuts, float(arrays["recency"][i]), orders, float(customers.value[i])
        )
        seg = segment(*rfm)
        alive = float(arrays["p_alive"][i])
        nxt = float(arrays["next_order_in_days"][i])
        out.append(
            Score(
                p_alive=alive,
                churn_risk=1.0 - alive,
                expected_orders_30=float(arrays["expected_orders_30"][i]),
                expected_orders_90=float(arrays["expected_orders_90"][i]),
                next_order_in_days=None if np.isnan(nxt) else int(nxt),
                expected_order_value=float(arrays["expected_order_value"][i]),
                predicted_ltv=max(float(arrays["predicted_ltv"][i]), 0.0),
                rfm=rfm,
                rfm_segment=seg,
                lifecycle=lifecycle(
                    orders=orders,
                    days_since_first=int(arrays["days_since_first"][i]),
                    days_since_last=int(arrays["recency"][i]),
                    value=Decimal(str(customers.value[i])),
                    churn_risk=1.0 - alive,
                    rfm_segment=seg,
                    rules=models.rules,
                ),
            )
        )
    return out
