"""How a prediction is shown (API and CLI)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from constintel.profiles.schemas import ProfileRead

__all__ = [
    "PredictionChangeRead",
    "PredictionHistoryPage",
    "PredictionRead",
    "ProfileWithPrediction",
    "RFMRead",
]


class RFMRead(BaseModel):
    recency: int = Field(ge=1, le=5, description="5 = ordered most recently.")
    frequency: int = Field(ge=1, le=5)
    monetary: int = Field(ge=1, le=5)
    segment: str


class PredictionRead(BaseModel):
    """Estimates, not ledger values: money is rounded to the currency's minor unit."""

    status: str = Field(
        description="scored | insufficient_data (the brand's history is too short to fit "
        "the models; only the lifecycle label, from rules) | not_fitted"
    )
    model_version: int
    scored_at: datetime
    lifecycle: str | None = Field(
        description="new | active | loyal | champion | at_risk | churned (null: no orders)"
    )
    churn_risk: float | None = Field(description="1 - P(alive) under MBG/NBD.")
    p_alive: float | None
    expected_orders_30: float | None = Field(description="Expected orders in the next 30 days.")
    expected_orders_90: float | None
    next_order_at: datetime | None = Field(
        description="The day by which the next order is more likely than not; null if never."
    )
    expected_order_value: Decimal | None
    predicted_ltv: Decimal | None = Field(description="Discounted value over the horizon.")
    currency: str
    rfm: RFMRead | None

    @classmethod
    def of(cls, row: dict[str, Any]) -> PredictionRead:
        rfm = None
        if row.get("rfm_segment") is not None:
            rfm = RFMRead(
                recency=row["rfm_recency"],
                frequency=row["rfm_frequency"],
                monetary=row["rfm_monetary"],
                segment=row["rfm_segment"],
            )
        return cls(
            status=row["status"],
            model_version=row["model_version"],
            scored_at=row["scored_at"],
            lifecycle=row["lifecycle"],
            churn_risk=row["churn_risk"],
            p_alive=row["p_alive"],
            expected_orders_30=row["expected_orders_30"],
            expected_orders_90=row["expected_orders_90"],
            next_order_at=row["next_order_at"],
            expected_order_value=row["expected_order_value"],
            predicted_ltv=row["predicted_ltv"],
            currency=row["currency"],
            rfm=rfm,
        )


class ProfileWithPrediction(ProfileRead):
    prediction: PredictionRead | None = Field(
        default=None, description="Null until the predictions consumer has scored the profile."
    )


class PredictionChangeRead(BaseModel):
    changed_at: datetime
    model_version: int
    cause: str = Field(description='e.g. "profiles.updated:order" or "refit"')
    changes: dict[str, list[Any]] = Field(
        description="{field: [old, new]} for the fields that changed (old null at first)."
    )


class PredictionHistoryPage(BaseModel):
    items: list[PredictionChangeRead]
    next_offset: int | None
