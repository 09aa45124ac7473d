"""The overview's numbers, from the orders and profiles (pure arithmetic over query rows).

Days are the brand's calendar days (its timezone). Revenue is the orders' ``net`` (total
minus refunds, 0 when cancelled or test), the same figure lifetime value sums, so the
dashboard agrees with the profiles to the cent.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from constintel.orders import repository as orders_repo
from constintel.orders.models import CustomerOrder
from constintel.predictions.models import ProfilePrediction
from constintel.profiles.models import CustomerProfile

__all__ = ["Cohort", "Overview", "bucket_of", "cohorts", "overview"]

O = cast(Table, CustomerOrder.__table__)  # noqa: E741
P = cast(Table, CustomerProfile.__table__)
PP = cast(Table, ProfilePrediction.__table__)
ZERO = Decimal("0.00")  # money shown to the cent, empty days too


def bucket_of(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


@dataclass
class Overview:
    start: date
    end: date
    granularity: str
    currency: str
    revenue: Decimal = ZERO
    orders: int = 0
    customers: int = 0
    new_customers: int = 0
    returning_customers: int = 0
    series: list[tuple[date, Decimal, int]] = field(default_factory=list)
    channels: dict[str, Decimal] = field(default_factory=dict)
    lifecycles: dict[str, int] = field(default_factory=dict)
    repeat_rate: float = 0.0
    top: list[Any] = field(default_factory=list)
    ltv_histogram: list[tuple[str, int]] = field(default_factory=list)

    @property
    def average_order_value(self) -> Decimal:
        if not self.orders:
            return ZERO
        return (self.revenue / self.orders).quantize(Decimal("0.01"))


def overview(
    session: Session,
    *,
    brand_id: str,
    currency: str,
    timezone: str,
    start: date,
    end: date,
    granularity: str = "day",
) -> Overview:
    """Revenue and orders per day/week/month over [start, end] (brand days), new vs returning
    customers in the range, channel and lifecycle mix, repeat-purchase rate, top customers."""
    zone = ZoneInfo(timezone)
    lo = datetime.combine(start, time(0), zone).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), time(0), zone).astimezone(UTC)
    out = Overview(start, end, granularity, currency)
    # Revenue and orders per bucket and channel from the order_day rollup (a few hundred rows
    # for a year), which the write path keeps equal to the orders.
    per: dict[date, list[Any]] = {}
    channels: dict[str, Decimal] = {}
    for (day, channel), (value, count) in orders_repo.day_totals(
        session, brand_id=brand_id, start=start, end=end
    ).items():
        if not count and not value:
            continue
        entry = per.setdefault(bucket_of(day, granularity), [ZERO, 0])
        entry[0] += value
        entry[1] += count
        channels[channel] = channels.get(channel, ZERO) + value
    for value, count in per.values():
        out.revenue += value
        out.orders += count
    day = bucket_of(start, granularity)
    while day <= end:  # every bucket, the empty ones too
        value, count = per.get(day, [ZERO, 0])
        out.series.append((day, value, count))
        day = (
            day + timedelta(days=1)
            if granularity == "day"
            else day + timedelta(days=7)
            if granularity == "week"
            else (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        )
    out.channels = dict(sorted(channels.items()))
    # One pass over the profiles: new customers (first order in the range; the other buyers
    # of the range are returning), the repeat-purchase rate, the lifetime-value histogram.
    active = (P.c.brand_id == brand_id) & (P.c.status == "active") & (P.c.total_orders > 0)
    buyers = (P.c.brand_id == brand_id) & (P.c.status != "merged") & (P.c.total_orders > 0)
    edges = [Decimal(v) for v in ("0", "50", "100", "250", "500", "1000", "2500")]
    uppers = [*edges[1:], None]
    ltv = P.c.lifetime_value
    in_range = (P.c.last_order_at >= lo) & (P.c.first_order_at < hi)
    counted = session.execute(
        select(
            func.count().filter(P.c.status == "active"),
            func.count().filter(P.c.status == "active", P.c.total_orders >= 2),
            func.count().filter(P.c.first_order_at >= lo, P.c.first_order_at < hi),
            func.count().filter(in_range),
            func.max(P.c.last_order_at),
            *(
                func.count().filter(
                    P.c.status == "active", ltv >= low if high is None else ltv < high, ltv >= low
                )
                for low, high in zip(edges, uppers, strict=True)
            ),
        ).where(buyers)
    ).one()
    total, repeat, new, ordered_in_range = (int(v) for v in counted[:4])
    latest = counted[4]
    # A customer ordered in [lo, hi) exactly when their first order is before hi and their
    # last one at or after lo, as long as no order is at or after hi (a range that ends
    # today). A range in the past counts the distinct buyers of its orders instead.
    out.customers = (
        ordered_in_range
        if latest is None or latest < hi
        else _buyers(session, brand_id=brand_id, lo=lo, hi=hi)
    )
    out.new_customers = new
    out.returning_customers = out.customers - new
    out.repeat_rate = (repeat / total) if total else 0.0
    labels = [f"{edges[i]} to {edges[i + 1]}" for i in range(len(edges) - 1)] + [f"{edges[-1]}+"]
    out.ltv_histogram = list(zip(labels, (int(c) for c in counted[5:]), strict=True))
    out.lifecycles = dict(
        Counter(
            dict(
                session.execute(
                    select(PP.c.lifecycle, func.count())
                    .where(PP.c.brand_id == brand_id, PP.c.lifecycle.is_not(None))
                    .group_by(PP.c.lifecycle)
                ).all()
            )
        ).most_common()
    )
    out.top = list(
        session.execute(
            select(P.c.id, P.c.identifiers, P.c.lifetime_value, P.c.total_orders)
            .where(active)
            .order_by(P.c.lifetime_value.desc(), P.c.id)
            .limit(10)
        )
    )
    return out


def _buyers(session: Session, *, brand_id: str, lo: datetime, hi: datetime) -> int:
    """Distinct customers with a counted order placed in [lo, hi)."""
    return int(
        session.execute(
            select(func.count(func.distinct(O.c.customer_profile_id))).where(
                O.c.brand_id == brand_id,
                O.c.counted.is_(True),
                O.c.placed_at >= lo,
                O.c.placed_at < hi,
            )
        ).scalar_one()
    )


@dataclass
class Cohort:
    month: date
    size: int
    # Per month since acquisition (0 = the first order's month): the share of the cohort that
    # ordered in that month, and the cumulative revenue per customer of the cohort.
    retention: list[float] = field(default_factory=list)
    revenue_per_customer: list[Decimal] = field(default_factory=list)


def _month(d: date) -> date:
    return d.replace(day=1)


def _months_between(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + (b.month - a.month)


def cohorts(session: Session, *, brand_id: str, timezone: str, months: int = 12) -> list[Cohort]:
    """Monthly acquisition cohorts of the last ``months`` months (brand months): size,
    retention and cumulative revenue per customer, month by month."""
    zone = ZoneInfo(timezone)
    today = datetime.now(UTC).astimezone(zone).date()
    first_month = _month(today)
    for _ in range(months - 1):
        first_month = _month(first_month - timedelta(days=1))
    lo = datetime.combine(first_month, time(0), zone).astimezone(UTC)
    active = (P.c.brand_id == brand_id) & (P.c.status == "active") & (P.c.first_order_at >= lo)
    buyers_n: dict[tuple[date, int], int] = {}
    revenue: dict[tuple[date, int], Decimal] = {}
    sizes: Counter[date] = Counter()
    orders_of_cohorts = (
        O.join(P, P.c.id == O.c.customer_profile_id),
        [active, O.c.counted.is_(True), O.c.placed_at >= lo],
    )
    if session.get_bind().dialect.name == "postgresql":
        # Grouped in the database by (cohort month, order month).
        def month_of(column: Any) -> Any:
            return func.date(func.date_trunc("month", func.timezone(timezone, column)))

        cohort_col = month_of(P.c.first_order_at).label("c")
        for month, n in session.execute(
            select(cohort_col, func.count()).where(active).group_by(cohort_col)
        ):
            sizes[month] = int(n)
        order_col = month_of(O.c.placed_at).label("m")
        for month, at, n, value in session.execute(
            select(
                cohort_col,
                order_col,
                func.count(func.distinct(O.c.customer_profile_id)),
                func.sum(O.c.net),
            )
            .select_from(orders_of_cohorts[0])
            .where(*orders_of_cohorts[1])
            .group_by(cohort_col, order_col)
        ):
            k = _months_between(month, at)
            if k >= 0:
                buyers_n[(month, k)] = int(n)
                revenue[(month, k)] = value
    else:
        cohort_of: dict[str, date] = {}
        for pid, first in session.execute(select(P.c.id, P.c.first_order_at).where(active)):
            cohort_of[pid] = _month(first.astimezone(zone).date())
        sizes = Counter(cohort_of.values())
        seen: dict[tuple[date, int], set[str]] = {}
        rows = session.execute(
            select(O.c.customer_profile_id, O.c.placed_at, O.c.net)
            .select_from(orders_of_cohorts[0])
            .where(*orders_of_cohorts[1])
        )
        for pid, placed_at, net in rows:
            start = cohort_of.get(pid)
            if start is None:
                continue
            k = _months_between(start, placed_at.astimezone(zone).date())
            if k < 0:
                continue
            seen.setdefault((start, k), set()).add(pid)
            revenue[(start, k)] = revenue.get((start, k), ZERO) + net
        buyers_n = {key: len(v) for key, v in seen.items()}
    out = []
    for month in sorted(sizes):
        size = sizes[month]
        span = _months_between(month, today) + 1
        c = Cohort(month, size)
        total = ZERO
        for k in range(span):
            c.retention.append(buyers_n.get((month, k), 0) / size)
            total += revenue.get((month, k), ZERO)
            c.revenue_per_customer.append((total / size).quantize(Decimal("0.01")))
        out.append(c)
    return out
