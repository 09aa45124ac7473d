"""Predictions against the database: refit a brand's models and rescore every profile, and
rescore the profiles a batch of stream messages says changed.

A refit writes a new model version, replaces the brand's predictions and records what changed
per profile, all in one transaction. Rescoring a changed profile reads the newest model (cached
in-process by version) and upserts the profile's row; a row already written under a newer
model is never overwritten by an older one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Engine, Table, delete, func, select, text
from sqlalchemy.orm import Session

from constintel.brands.models import Brand
from constintel.core.clock import utcnow
from constintel.core.errors import ConfigurationError
from constintel.core.ids import new_id
from constintel.core.money import quantize
from constintel.db.bulk import insert_rows
from constintel.db.chunks import chunked, in_values
from constintel.db.session import transaction
from constintel.db.upsert import insert_for
from constintel.profiles.models import CustomerProfile
from constintel.streams import outbox

from .models import PredictionChange, PredictionModel, ProfilePrediction
from .scoring import Customers, FittedModels, InsufficientData, fit_models, score
from .segments import LifecycleRules, lifecycle

log = logging.getLogger(__name__)

__all__ = [
    "HISTORY_FIELDS",
    "RefitResult",
    "current_model",
    "prediction_of",
    "refit",
    "rescore",
]

P = cast(Table, CustomerProfile.__table__)
PM = cast(Table, PredictionModel.__table__)
PP = cast(Table, ProfilePrediction.__table__)
PC = cast(Table, PredictionChange.__table__)

# The prediction fields whose changes are recorded in the history.
HISTORY_FIELDS = (
    "status",
    "churn_risk",
    "expected_orders_30",
    "expected_orders_90",
    "next_order_at",
    "expected_order_value",
    "predicted_ltv",
    "rfm_recency",
    "rfm_frequency",
    "rfm_monetary",
    "rfm_segment",
    "lifecycle",
)

# A refit rescores every profile, and time alone moves churn risk and expected orders a
# little every day: its history records only the changes of label (what a person would call a
# change), so a daily refit of a million profiles does not write a million history rows.
REFIT_HISTORY_FIELDS = ("status", "rfm_segment", "lifecycle")

_FITTED: dict[str, FittedModels] = {}  # model id -> parsed parameters


@dataclass(frozen=True, slots=True)
class Model:
    version: int
    status: str  # fitted | insufficient_data | not_fitted
    reason: str | None
    fitted: FittedModels | None


def current_model(session: Session, brand_id: str) -> Model:
    row = session.execute(
        select(PM.c.id, PM.c.version, PM.c.status, PM.c.reason, PM.c.params)
        .where(PM.c.brand_id == brand_id)
        .order_by(PM.c.version.desc())
        .limit(1)
    ).one_or_none()
    if row is None:
        return Model(0, "not_fitted", "no model fitted yet: run `constintel predict fit`", None)
    fitted = None
    if row.status == "fitted":
        fitted = _FITTED.get(row.id)
        if fitted is None:
            fitted = _FITTED[row.id] = FittedModels.from_dict(row.params)
    return Model(row.version, row.status, row.reason, fitted)


def _customers(
    session: Session, brand_id: str, ids: Sequence[str] | None
) -> tuple[list[str], Customers]:
    cols = (
        P.c.id,
        P.c.total_orders,
        P.c.first_order_at,
        P.c.last_order_at,
        P.c.lifetime_value,
        P.c.average_order_value,
    )
    base = select(*cols).where(
        P.c.brand_id == brand_id,
        P.c.status == "active",
        P.c.total_orders > 0,
        P.c.first_order_at.is_not(None),
    )
    rows: list[Any] = []
    if ids is None:
        rows = list(session.execute(base.order_by(P.c.id)))
    else:
        for condition in in_values(session, P.c.id, sorted(set(ids))):
            rows.extend(session.execute(base.where(condition)))
    return [r.id for r in rows], Customers.of(
        [
            (
                r.total_orders,
                r.first_order_at.date(),
                r.last_order_at.date(),
                r.lifetime_value,
                r.average_order_value,
            )
            for r in rows
        ]
    )


def _round(value: float, places: int = 4) -> float:
    return round(value, places)


def _rows(
    brand_id: str,
    currency: str,
    model: Model,
    ids: list[str],
    customers: Customers,
    as_of: date,
    now: datetime,
) -> list[dict[str, Any]]:
    """Prediction rows for the customers, scored by the model or by the fallback rules."""
    midnight = datetime.combine(as_of, time(0), UTC)
    base = {
        "brand_id": brand_id,
        "model_version": model.version,
        "scored_at": now,
        "currency": currency,
    }
    if model.fitted is None:
        _, _, T, recency = customers.summary(as_of)
        rules = LifecycleRules()
        return [
            {
                **base,
                **_EMPTY,
                "customer_profile_id": pid,
                "status": model.status,
                "lifecycle": lifecycle(
                    orders=int(customers.orders[i]),
                    days_since_first=int(T[i]),
                    days_since_last=int(recency[i]),
                    value=Decimal(str(customers.value[i])),
                    churn_risk=None,
                    rfm_segment=None,
                    rules=rules,
                ),
            }
            for i, pid in enumerate(ids)
        ]
    out = []
    for pid, s in zip(ids, score(model.fitted, customers, as_of), strict=True):
        numbers = (s.churn_risk, s.expected_orders_30, s.expected_orders_90, s.predicted_ltv)
        if not all(math.isfinite(v) for v in numbers):
            out.append(
                {
                    **base,
                    **_EMPTY,
                    "customer_profile_id": pid,
                    "status": "insufficient_data",
                    "lifecycle": s.lifecycle,
                }
            )
            continue
        out.append(
            {
                **base,
                "customer_profile_id": pid,
                "status": "scored",
                "churn_risk": _round(s.churn_risk),
                "p_alive": _round(s.p_alive),
                "expected_orders_30": _round(s.expected_orders_30),
                "expected_orders_90": _round(s.expected_orders_90),
                "next_order_at": None
                if s.next_order_in_days is None
                else midnight + timedelta(days=s.next_order_in_days),
                "expected_order_value": quantize(Decimal(repr(s.expected_order_value)), currency),
                "predicted_ltv": quantize(Decimal(repr(s.predicted_ltv)), currency),
                "rfm_recency": s.rfm[0],
                "rfm_frequency": s.rfm[1],
                "rfm_monetary": s.rfm[2],
                "rfm_segment": s.rfm_segment,
                "lifecycle": s.lifecycle,
            }
        )
    return out


_EMPTY: dict[str, Any] = {
    "churn_risk": None,
    "p_alive": None,
    "expected_orders_30": None,
    "expected_orders_90": None,
    "next_order_at": None,
    "expected_order_value": None,
    "predicted_ltv": None,
    "rfm_recency": None,
    "rfm_frequency": None,
    "rfm_monetary": None,
    "rfm_segment": None,
}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _changes(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    cause: str,
    now: datetime,
    fields: tuple[str, ...] = HISTORY_FIELDS,
) -> dict[str, Any] | None:
    diff = {
        f: [_jsonable(old.get(f) if old else None), _jsonable(new[f])]
        for f in fields
        if ((old.get(f) != new[f]) if old is not None else (new[f] is not None))
    }
    if not diff:
        return None
    return {
        "customer_profile_id": new["customer_profile_id"],
        "brand_id": new["brand_id"],
        "model_version": new["model_version"],
        "changed_at": now,
        "cause": cause[:60],
        "changes": diff,
    }


def _existing(
    session: Session,
    ids: Iterable[str] | None,
    brand_id: str,
    fields: tuple[str, ...] = HISTORY_FIELDS,
) -> dict[str, dict[str, Any]]:
    cols = [PP.c.customer_profile_id, PP.c.model_version, *(PP.c[f] for f in fields)]
    out: dict[str, dict[str, Any]] = {}
    if ids is None:
        for row in session.execute(select(*cols).where(PP.c.brand_id == brand_id)):
            out[row.customer_profile_id] = dict(row._mapping)
        return out
    for condition in in_values(session, PP.c.customer_profile_id, sorted(set(ids))):
        for row in session.execute(select(*cols).where(condition)):
            out[row.customer_profile_id] = dict(row._mapping)
    return out


def _brand(session: Session, brand_id: str) -> Any:
    return session.execute(select(Brand.id, Brand.currency).where(Brand.id == brand_id)).one()


def rescore(
    session: Session,
    brand_id: str,
    profile_ids: Sequence[str],
    *,
    cause: str,
    as_of: date | None = None,
) -> int:
    """Rescore these profiles (inside the caller's transaction); profiles that are no longer
    active or have no orders lose their prediction. Returns how many rows changed."""
    _hold_predictions(session, brand_id, exclusive=False)
    now = utcnow()
    day = as_of or now.date()
    model = current_model(session, brand_id)
    currency = _brand(session, brand_id).currency
    ids, customers = _customers(session, brand_id, profile_ids)
    gone = sorted(set(profile_ids) - set(ids))
    for chunk in chunked(gone):
        session.execute(delete(PP).where(PP.c.customer_profile_id.in_(chunk)))
    if not ids:
        return len(gone)
    rows = _rows(brand_id, currency, model, ids, customers, day, now)
    old = _existing(session, ids, brand_id)
    fresh = [
        r
        for r in rows
        if old.get(r["customer_profile_id"], {}).get("model_version", 0) <= model.version
    ]
    history = []
    changed_rows = []
    for r in fresh:
        before = old.get(r["customer_profile_id"])
        change = _changes(before, r, cause, now)
        # Unchanged (same fields, same model): the stored row stays, scored_at included.
        if change is None and before is not None and before["model_version"] == r["model_version"]:
            continue
        changed_rows.append(r)
        if change is not None:
            history.append(change)
    _upsert(session, changed_rows)
    insert_rows(session, PC, history)
    outbox.write(session, _announcements(history, now))
    return len(history) + len(gone)


# Changes worth telling downstream consumers (automations, journeys) about.
ANNOUNCED = ("lifecycle", "rfm_segment", "churn_risk", "status")


def _announcements(history: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    out = []
    for h in history:
        changes = {k: v for k, v in h["changes"].items() if k in ANNOUNCED}
        if changes:
            out.append(
                outbox.prediction_changed(
                    h["brand_id"], h["customer_profile_id"], changes, h["model_version"], now
                )
            )
    return out


def _moved(change: dict[str, Any]) -> bool:
    old, new = change["changes"].get("churn_risk", [None, None])
    return old is not None and new is not None and abs(float(new) - float(old)) >= 0.01


def _hold_predictions(session: Session, brand_id: str, *, exclusive: bool) -> None:
    """PostgreSQL: rescorers of a brand share this lock, a refit holds it alone, so a refit
    (which replaces every row) never interleaves with rescoring (which upserts some)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    session.execute(text(f"SELECT {fn}(hashtextextended(:k, 2))"), {"k": f"predictions:{brand_id}"})


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert or update, in profile id order so concurrent rescorers lock rows in one order."""
    if not rows:
        return
    rows = sorted(rows, key=lambda r: str(r["customer_profile_id"]))
    stmt = insert_for(session, PP)
    columns = [c.name for c in PP.columns if c.name != "customer_profile_id"]
    stmt = stmt.on_conflict_do_update(
        index_elements=["customer_profile_id"],
        set_={c: stmt.excluded[c] for c in columns},
        where=PP.c.model_version <= stmt.excluded.model_version,
    )
    session.execute(stmt, rows)


@dataclass(frozen=True, slots=True)
class RefitResult:
    brand_id: str
    version: int
    status: str
    reason: str | None
    profiles: int
    changed: int
    models: FittedModels | None


def _try_refit_lock(session: Session, brand_id: str) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        session.connection()  # SQLite: BEGIN IMMEDIATE, one writer at a time
        return True
    return bool(
        session.execute(
            text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 1))"),
            {"k": f"predict:{brand_id}"},
        ).scalar()
    )


def refit(
    engine: Engine,
    brand_id: str,
    *,
    as_of: date | None = None,
    horizon_months: int = 12,
    annual_discount_rate: float = 0.10,
    progress: Callable[[str, int, int], None] | None = None,
) -> RefitResult | None:
    """Fit the brand's models on its whole history and rescore every profile, in one
    transaction. None if another process is refitting the brand right now."""
    report = progress or (lambda _step, _done, _total: None)
    now = utcnow()
    day = as_of or now.date()
    with transaction(engine) as session:
        if not _try_refit_lock(session, brand_id):
            return None
        _hold_predictions(session, brand_id, exclusive=True)
        currency = _brand(session, brand_id).currency
        report("loading profiles", 0, 0)
        ids, customers = _customers(session, brand_id, None)
        epoch_day = (day - date(1970, 1, 1)).days
        if customers.last_day.size and float(customers.last_day.max()) > epoch_day:
            latest = date(1970, 1, 1) + timedelta(days=int(customers.last_day.max()))
            raise ConfigurationError(
                f"as-of {day} is before the brand's latest order ({latest}): profiles hold their "
                "whole history, so a past as-of would fit on orders from its future"
            )
        version = 1 + int(
            session.execute(
                select(func.coalesce(func.max(PM.c.version), 0)).where(PM.c.brand_id == brand_id)
            ).scalar_one()
        )
        try:
            fitted: FittedModels | None = fit_models(
                customers,
                day,
                horizon_months=horizon_months,
                annual_discount_rate=annual_discount_rate,
                progress=lambda step: report(step, 0, 0),
            )
            status, reason = "fitted", None
        except InsufficientData as exc:
            fitted, status, reason = None, "insufficient_data", str(exc)
        model_id = new_id()
        if fitted is not None:
            _FITTED[model_id] = fitted
        insert_rows(
            session,
            PM,
            [
                {
                    "id": model_id,
                    "brand_id": brand_id,
                    "version": version,
                    "status": status,
                    "reason": reason,
                    "as_of": datetime.combine(day, time(0), UTC),
                    "fitted_at": now,
                    "params": fitted.as_dict() if fitted else {},
                }
            ],
        )
        model = Model(version, status, reason, fitted)
        old = _existing(session, None, brand_id, fields=ANNOUNCED)
        session.execute(delete(PP).where(PP.c.brand_id == brand_id))
        total, changed = len(ids), 0
        chunk = 50_000
        for start in range(0, total, chunk):
            part = Customers(
                *(getattr(customers, f)[start : start + chunk] for f in Customers.__slots__)
            )
            rows = _rows(brand_id, currency, model, ids[start : start + chunk], part, day, now)
            history, moved = [], []
            for r in rows:
                before = old.get(r["customer_profile_id"])
                if c := _changes(before, r, "refit", now, fields=REFIT_HISTORY_FIELDS):
                    history.append(c)
                # Downstream hears of label changes and of churn risk moving by 0.01 or more
                # (an automation may wait for it to cross its threshold); a first prediction
                # is no change (a brand's first fit would otherwise flood the streams).
                a = _changes(before, r, "refit", now, fields=ANNOUNCED)
                real = a is not None and (set(a["changes"]) - {"churn_risk"} or _moved(a))
                if before is not None and a is not None and real:
                    moved.append(a)
            changed += len(history)
            insert_rows(session, PP, rows)
            insert_rows(session, PC, history)
            outbox.write(session, _announcements(moved, now))
            report("scoring profiles", min(start + chunk, total), total)
        return RefitResult(brand_id, version, status, reason, total, changed, fitted)


def prediction_of(session: Session, profile_id: str) -> dict[str, Any] | None:
    row = session.execute(select(PP).where(PP.c.customer_profile_id == profile_id)).one_or_none()
    return None if row is None else dict(row._mapping)


def history_of(
    session: Session, profile_id: str, *, limit: int = 20, offset: int = 0
) -> list[dict[str, Any]]:
    """The profile's prediction changes, newest first."""
    rows = session.execute(
        select(PC)
        .where(PC.c.customer_profile_id == profile_id)
        .order_by(PC.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [dict(r._mapping) for r in rows]


def predictions_for(session: Session, profile_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for condition in in_values(session, PP.c.customer_profile_id, sorted(set(profile_ids))):
        for row in session.execute(select(PP).where(condition)):
            out[row.customer_profile_id] = dict(row._mapping)
    return out


def segment_filter(*, lifecycle: str | None, rfm_segment: str | None) -> tuple[Any, list[Any]]:
    """(join, where) for ``profiles.repository.list_page``: profiles whose current prediction
    has this lifecycle label and/or RFM segment."""
    where: list[Any] = []
    if lifecycle is not None:
        where.append(PP.c.lifecycle == lifecycle)
    if rfm_segment is not None:
        where.append(PP.c.rfm_segment == rfm_segment)
    return (PP, PP.c.customer_profile_id == P.c.id), where


def order_days(session: Session, brand_id: str) -> tuple[list[str], list[int]]:
    """(profile id, UTC day number) of every counted order of the brand's active profiles:
    the transaction history the holdout check reads."""
    from constintel.orders.models import CustomerOrder

    O = cast(Table, CustomerOrder.__table__)  # noqa: E741
    rows = session.execute(
        select(O.c.customer_profile_id, O.c.placed_at)
        .join(P, P.c.id == O.c.customer_profile_id)
        .where(
            O.c.brand_id == brand_id,
            O.c.counted.is_(True),
            O.c.placed_at.is_not(None),
            P.c.status == "active",
        )
    )
    epoch = date(1970, 1, 1)
    ids: list[str] = []
    days: list[int] = []
    for pid, placed in rows:
        ids.append(pid)
        days.append((placed.date() - epoch).days)
    return ids, days


def due_for_refit(session: Session, *, every: timedelta, now: datetime) -> list[str]:
    """Brands whose newest model is older than ``every``, or that have never been fitted but
    have a customer with an order."""
    newest = (
        select(PM.c.brand_id, func.max(PM.c.fitted_at).label("fitted_at"))
        .group_by(PM.c.brand_id)
        .subquery()
    )
    has_orders = (
        select(P.c.id)
        .where(P.c.brand_id == Brand.id, P.c.total_orders > 0, P.c.status == "active")
        .exists()
    )
    rows = session.execute(
        select(Brand.id)
        .outerjoin(newest, newest.c.brand_id == Brand.id)
        .where((newest.c.fitted_at < now - every) | (newest.c.fitted_at.is_(None) & has_orders))
        .order_by(Brand.id)
    )
    return [r[0] for r in rows]


def refit_due(
    engine: Engine, *, every: timedelta, horizon_months: int, annual_discount_rate: float
) -> int:
    """One pass of the scheduled refit: refit every brand that is due. Returns 0 so the
    calling pump waits for its interval (a refit is never "more work right away")."""
    with transaction(engine) as session:
        due = due_for_refit(session, every=every, now=utcnow())
    for brand_id in due:
        try:
            refit(
                engine,
                brand_id,
                horizon_months=horizon_months,
                annual_discount_rate=annual_discount_rate,
            )
        except Exception:  # one brand's failure must not stop the others' refits
            log.exception("scheduled refit of brand %s failed", brand_id)
    return 0
