"""Fitted models per brand, each profile's current prediction, and its history."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from constintel.db.base import Base
from constintel.db.types import JSONDoc, Money, UTCDateTime

__all__ = ["PredictionChange", "PredictionModel", "ProfilePrediction"]


class PredictionModel(Base):
    """One fit of a brand's models. The newest version is the one that scores."""

    __tablename__ = "prediction_model"
    __table_args__ = (UniqueConstraint("brand_id", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(36), ForeignKey("brand.id"))
    version: Mapped[int] = mapped_column(Integer)
    # "fitted" | "insufficient_data"
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The day the history was summarized at (T is measured to it).
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # FittedModels.as_dict(): parameters, log-likelihoods, RFM cuts, horizon, discount rate.
    params: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)


class ProfilePrediction(Base):
    """A profile's current prediction (one row per scored profile)."""

    __tablename__ = "profile_prediction"
    __table_args__ = (
        Index("ix_profile_prediction_brand_lifecycle", "brand_id", "lifecycle"),
        Index("ix_profile_prediction_brand_segment", "brand_id", "rfm_segment"),
    )

    customer_profile_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("customer_profile.id"), primary_key=True
    )
    brand_id: Mapped[str] = mapped_column(String(36))
    model_version: Mapped[int] = mapped_column(Integer)
    # "scored" | "insufficient_data" (then only lifecycle is set, by the fallback rules)
    status: Mapped[str] = mapped_column(String(20))
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime)
    churn_risk: Mapped[float | None] = mapped_column(Float, nullable=True)
    p_alive: Mapped[float | None] = mapped_column(Float, nullable=True)
    expected_orders_30: Mapped[float | None] = mapped_column(Float, nullable=True)
    expected_orders_90: Mapped[float | None] = mapped_column(Float, nullable=True)
    next_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Estimates, rounded to the brand currency's minor unit.
    expected_order_value: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    predicted_ltv: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    rfm_recency: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rfm_frequency: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rfm_monetary: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rfm_segment: Mapped[str | None] = mapped_column(String(30), nullable=True)
    lifecycle: Mapped[str | None] = mapped_column(String(20), nullable=True)


class PredictionChange(Base):
    """What changed in a profile's prediction, when, why and under which model version."""

    __tablename__ = "prediction_change"
    __table_args__ = (Index("ix_prediction_change_profile", "customer_profile_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    customer_profile_id: Mapped[str] = mapped_column(String(36))
    brand_id: Mapped[str] = mapped_column(String(36))
    model_version: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # e.g. "profiles.updated:order", "refit"
    cause: Mapped[str] = mapped_column(String(60))
    # {field: [old, new]} for the fields that changed (old is null on the first prediction).
    changes: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
