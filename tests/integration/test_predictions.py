"""Predictions against both databases: refit and rescore a real customer base (CDNOW), the
"insufficient data" answer of a small brand, and the seed's Scenarios 2 and 4 moving segments
through the real stream path (outbox -> relay -> Redis -> predictions worker)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from constintel.db.session import transaction
from constintel.predictions import service as predictions
from constintel.predictions.models import PredictionChange, PredictionModel, ProfilePrediction
from constintel.streams.apply import apply_batch
from constintel.streams.handlers import HANDLERS, Message
from constintel.streams.redis_io import StreamNames, connect
from constintel.streams.relay import relay_once
from constintel.streams.worker import Worker
from integration.cdnow import ingest_cdnow
from integration.helpers import profile_by

TODAY = datetime.now(UTC).date()


def count(engine: Engine, model: Any, brand_id: str, **where: Any) -> int:
    with transaction(engine) as s:
        q = select(func.count()).select_from(model).where(model.brand_id == brand_id)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return int(s.execute(q).scalar_one())


@pytest.fixture
def cdnow_brand(engine: Engine, ctx: Any, ingest: Any) -> Any:
    assert ingest_cdnow(ingest, TODAY - timedelta(days=1)) == 6919
    return ctx


def test_refit_scores_every_customer_and_a_second_refit_changes_nothing(
    engine: Engine, cdnow_brand: Any
) -> None:
    brand_id = cdnow_brand.brand_id
    steps: list[str] = []
    first = predictions.refit(engine, brand_id, progress=lambda s, _d, _t: steps.append(s))
    assert first is not None
    assert (first.version, first.status, first.profiles) == (1, "fitted", 2357)
    assert {"fitting BG/NBD", "fitting MBG/NBD", "fitting Gamma-Gamma", "scoring profiles"} <= set(
        steps
    )
    assert first.models is not None
    # The whole 78 weeks now (not the paper's 39-week calibration): same population, so
    # the per-week purchase rate r / alpha stays near the published 0.243 / 4.414.
    bg = first.models.frequency
    assert bg.r / (bg.alpha / 7) == pytest.approx(0.243 / 4.414, rel=0.35)
    assert count(engine, ProfilePrediction, brand_id) == 2357
    assert count(engine, ProfilePrediction, brand_id, status="scored") == 2357
    assert count(engine, PredictionChange, brand_id, cause="refit") == 2357  # first prediction
    with transaction(engine) as s:
        rows = list(
            s.execute(
                select(ProfilePrediction).where(ProfilePrediction.brand_id == brand_id)
            ).scalars()
        )
    risks = [r.churn_risk for r in rows if r.churn_risk is not None]
    values = [r.predicted_ltv for r in rows if r.predicted_ltv is not None]
    assert len(risks) == len(values) == len(rows)
    assert all(0.0 <= r <= 1.0 for r in risks)
    assert all(v >= 0 for v in values)
    assert all(v == v.quantize(Decimal("0.01")) for v in values)
    assert {r.lifecycle for r in rows} <= {
        "new",
        "active",
        "loyal",
        "champion",
        "at_risk",
        "churned",
    }
    # CDNOW's customers last bought a year ago or more: most are at risk or churned.
    lapsed = sum(r.lifecycle in ("at_risk", "churned") for r in rows)
    assert lapsed > len(rows) / 2

    again = predictions.refit(engine, brand_id)
    assert again is not None
    assert (again.version, again.changed) == (2, 0)  # same data, same day: nothing changed
    assert count(engine, PredictionModel, brand_id) == 2
    assert count(engine, PredictionChange, brand_id) == 2357


def test_a_small_brand_gets_insufficient_data_not_nonsense(
    engine: Engine, ctx: Any, ingest: Any
) -> None:
    day = (TODAY - timedelta(days=3)).isoformat()
    ingest(
        *[
            (
                "csv",
                None,
                {
                    "order_id": f"o{k}",
                    "total": "40.00",
                    "ordered_at": day,
                    "email": f"p{k}@example.com",
                },
            )
            for k in range(5)
        ]
    )
    result = predictions.refit(engine, ctx.brand_id)
    assert result is not None
    assert result.status == "insufficient_data"
    assert result.reason == "5 customers with orders; at least 100 are needed to fit the models"
    with transaction(engine) as s:
        rows = list(
            s.execute(
                select(ProfilePrediction).where(ProfilePrediction.brand_id == ctx.brand_id)
            ).scalars()
        )
    assert len(rows) == 5
    for r in rows:
        assert r.status == "insufficient_data"
        assert (r.churn_risk, r.predicted_ltv, r.rfm_segment) == (None, None, None)
        assert r.lifecycle == "new"  # the fallback rules still label them


def shopify(order_id: int, total: str, at: datetime) -> tuple[str, str, dict[str, Any]]:
    return (
        "shopify",
        "orders/create",
        {
            "id": order_id,
            "email": "customer@example.com",
            "total_price": total,
            "currency": "USD",
            "financial_status": "paid",
            "line_items": [],
            "created_at": at.isoformat(),
        },
    )


def run_predictions_worker(engine: Engine, client: Any, names: StreamNames) -> int:
    while relay_once(engine, client, names) > 0:
        pass
    worker = Worker(
        engine, client, names, HANDLERS["predictions"], consumer="p1", claim_idle_ms=0, block_ms=10
    )
    worker.ensure_groups()
    handled = 0
    for _ in range(100):
        n = worker.run_once()
        handled += n
        if n == 0:
            return handled
    raise AssertionError("the predictions worker did not finish")


def prediction(engine: Engine, profile_id: str) -> dict[str, Any]:
    with transaction(engine) as s:
        found = predictions.prediction_of(s, profile_id)
    assert found is not None, "the profile was not scored"
    return found


def test_seed_scenarios_2_and_4_move_segments_through_the_stream_path(
    engine: Engine, cdnow_brand: Any, ingest: Any, redis_url: str, stream_names: StreamNames
) -> None:
    assert predictions.refit(engine, cdnow_brand.brand_id) is not None
    client = connect(redis_url)
    names = stream_names
    now = datetime.now(UTC)
    run_predictions_worker(engine, client, names)  # the base's own import messages

    # Scenario 1 (day 1): a first order. Scenario 2 (day 15): a second. Scenario 4 (day 20,
    # today): a large third one.
    ingest(shopify(5001, "89.99", now - timedelta(days=19)))
    assert run_predictions_worker(engine, client, names) == 1
    pid = profile_by(engine, cdnow_brand, "email", "customer@example.com").id
    s1 = prediction(engine, pid)
    assert s1["lifecycle"] == "new"
    assert s1["status"] == "scored"

    ingest(shopify(5002, "150.00", now - timedelta(days=5)))
    assert run_predictions_worker(engine, client, names) == 1
    s2 = prediction(engine, pid)
    assert s2["lifecycle"] == "loyal"  # "Segment: Changed from new to loyal"
    assert s2["churn_risk"] < s1["churn_risk"]  # "Churn risk: Decreased (active customer)"

    ingest(shopify(5003, "500.00", now - timedelta(hours=1)))
    assert run_predictions_worker(engine, client, names) == 1
    s4 = prediction(engine, pid)
    assert s4["lifecycle"] == "champion"  # "Segment: Changed to champion"
    assert s4["rfm_segment"] == "champions"
    assert s4["predicted_ltv"] > s2["predicted_ltv"] * Decimal("1.5")  # "Increased significantly"

    with transaction(engine) as s:
        history = list(
            s.execute(
                select(PredictionChange)
                .where(PredictionChange.customer_profile_id == pid)
                .order_by(PredictionChange.id)
            ).scalars()
        )
    assert [h.changes["lifecycle"] for h in history] == [
        [None, "new"],
        ["new", "loyal"],
        ["loyal", "champion"],
    ]
    assert all(h.cause.startswith("profiles.updated:") for h in history)
    assert {h.model_version for h in history} == {1}

    # A redelivered message changes nothing twice.
    message = Message(
        "profiles.updated",
        "0-1",
        10**12,
        cdnow_brand.brand_id,
        pid,
        {"profile_id": pid, "reason": "order"},
    )
    assert apply_batch(engine, HANDLERS["predictions"], [message]) == 1
    assert apply_batch(engine, HANDLERS["predictions"], [message]) == 0
    assert count(engine, PredictionChange, cdnow_brand.brand_id) == 2357 + 3


def test_scheduled_refit_fits_brands_that_are_due(engine: Engine, cdnow_brand: Any) -> None:
    every = timedelta(hours=24)
    with transaction(engine) as s:
        assert cdnow_brand.brand_id in predictions.due_for_refit(
            s, every=every, now=datetime.now(UTC)
        )
    predictions.refit_due(engine, every=every, horizon_months=12, annual_discount_rate=0.1)
    assert count(engine, PredictionModel, cdnow_brand.brand_id) == 1
    with transaction(engine) as s:
        assert cdnow_brand.brand_id not in predictions.due_for_refit(
            s, every=every, now=datetime.now(UTC)
        )
        later = datetime.now(UTC) + timedelta(hours=25)
        assert cdnow_brand.brand_id in predictions.due_for_refit(s, every=every, now=later)


def test_a_profile_merged_away_loses_its_prediction(engine: Engine, ctx: Any, ingest: Any) -> None:
    day = (TODAY - timedelta(days=2)).isoformat()
    ingest(
        ("csv", None, {"order_id": "a", "total": "10", "ordered_at": day, "email": "a@example.com"})
    )
    ingest(
        ("csv", None, {"order_id": "b", "total": "20", "ordered_at": day, "phone": "+12125550199"})
    )
    a = profile_by(engine, ctx, "email", "a@example.com").id
    b = profile_by(engine, ctx, "phone", "+12125550199").id
    with transaction(engine) as s:
        predictions.rescore(s, ctx.brand_id, [a, b], cause="test", as_of=TODAY)
    assert count(engine, ProfilePrediction, ctx.brand_id) == 2
    # One order carrying both identifiers merges the two people.
    ingest(
        (
            "csv",
            None,
            {
                "order_id": "c",
                "total": "30",
                "ordered_at": day,
                "email": "a@example.com",
                "phone": "+12125550199",
            },
        )
    )
    survivor = profile_by(engine, ctx, "email", "a@example.com").id
    gone = b if survivor == a else a
    with transaction(engine) as s:
        predictions.rescore(s, ctx.brand_id, [a, b], cause="test")
        assert predictions.prediction_of(s, gone) is None
        merged = predictions.prediction_of(s, survivor)
    assert merged is not None
    assert merged["lifecycle"] == "loyal"  # 3 orders, 60.00: loyal, not champion (fallback)


def test_history_that_cannot_identify_the_models_is_insufficient_not_a_crash(
    engine: Engine, ctx: Any, ingest: Any
) -> None:
    day = (TODAY - timedelta(days=20)).isoformat()
    orders = [
        (
            "csv",
            None,
            {"order_id": f"o{k}", "total": "20", "ordered_at": day, "email": f"c{k}@example.com"},
        )
        for k in range(150)
    ] + [
        (
            "csv",
            None,
            {"order_id": f"r{k}", "total": "30", "ordered_at": day, "email": f"c{k}@example.com"},
        )
        for k in range(40)
    ]
    ingest(*orders)  # every order on one day: no repeat timing to learn from
    result = predictions.refit(engine, ctx.brand_id)
    assert result is not None
    assert result.status == "insufficient_data"
    assert result.reason is not None
    assert "does not identify the models" in result.reason


def test_a_past_as_of_is_refused_rather_than_fitted_on_its_future(
    engine: Engine, ctx: Any, ingest: Any
) -> None:
    from constintel.core.errors import ConfigurationError

    ingest(
        (
            "csv",
            None,
            {
                "order_id": "x",
                "total": "5",
                "ordered_at": TODAY.isoformat(),
                "email": "p@example.com",
            },
        )
    )
    with pytest.raises(ConfigurationError, match="before the brand's latest order"):
        predictions.refit(engine, ctx.brand_id, as_of=TODAY - timedelta(days=30))


def test_refunded_to_zero_is_worth_nothing_and_erasure_removes_predictions(
    engine: Engine, cdnow_brand: Any, ingest: Any
) -> None:
    from constintel.brands import service as brands
    from constintel.privacy import service as privacy

    when = (TODAY - timedelta(days=3)).isoformat()
    ingest(
        (
            "csv",
            None,
            {
                "order_id": "refunded",
                "total": "80.00",
                "refunded": "80.00",
                "ordered_at": when,
                "email": "back@example.com",
            },
        )
    )
    assert predictions.refit(engine, cdnow_brand.brand_id) is not None
    pid = profile_by(engine, cdnow_brand, "email", "back@example.com").id
    p = prediction(engine, pid)
    assert (p["expected_order_value"], p["predicted_ltv"]) == (Decimal("0.00"), Decimal("0.00"))
    with transaction(engine) as s:
        brand = brands.get(s, ref=cdnow_brand.brand_id)
        exported = privacy.export(s, brand=brand, profile_id=pid)
        assert exported["prediction"][0]["lifecycle"] == p["lifecycle"]
        assert len(exported["prediction_history"]) == 1
        privacy.erase(s, brand=brand, profile_id=pid)
    with transaction(engine) as s:
        assert predictions.prediction_of(s, pid) is None
        assert predictions.history_of(s, pid) == []
