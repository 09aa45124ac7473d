"""Customer journeys: a stage, a score and a next best action per profile, updated on every
event and every prediction change.

Rules (documented, in order):
- the funnel stage only moves forward: awareness (browsing only) -> consideration (a cart
  add or a message) -> purchase (one order) -> retention (a second order, or an order
  delivered, as in the seed's "Order Status Flow") -> advocacy (3+ orders and the lifecycle
  label ``champion``);
- the stage shown is ``churned`` or ``at_risk`` while the prediction's lifecycle says so, and
  the funnel stage again once it does not;
- score = the stage's base (awareness 10, consideration 30, purchase 50, retention 70,
  advocacy 90; at_risk 35, churned 15) + profile strength / 10, capped at 100.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from constintel.core.clock import utcnow
from constintel.db.chunks import in_values
from constintel.db.upsert import insert_for
from constintel.predictions.models import ProfilePrediction
from constintel.profiles.models import CustomerProfile
from constintel.streams.message import Message

from .models import JourneyState

__all__ = ["FUNNEL", "NEXT_BEST_ACTION", "apply_journeys", "stage_of"]

J = cast(Table, JourneyState.__table__)
P = cast(Table, CustomerProfile.__table__)
PP = cast(Table, ProfilePrediction.__table__)

FUNNEL = ("awareness", "consideration", "purchase", "retention", "advocacy")
BASE = {
    "awareness": 10,
    "consideration": 30,
    "purchase": 50,
    "retention": 70,
    "advocacy": 90,
    "at_risk": 35,
    "churned": 15,
}
NEXT_BEST_ACTION = {
    "awareness": "show best-sellers and invite them to sign up",
    "consideration": "remind them of what they looked at; offer help choosing",
    "purchase": "follow up on the first order; ask for a review",
    "retention": "recommend complementary products",
    "advocacy": "invite them to the VIP and referral program",
    "at_risk": "send a win-back offer",
    "churned": "run a reactivation campaign",
}


def _funnel(event_type: str | None, status: str | None, orders: int, lifecycle: str | None) -> str:
    if orders >= 3 and lifecycle == "champion":
        return "advocacy"
    if orders >= 2 or (orders >= 1 and status == "delivered"):
        return "retention"
    if orders == 1:
        return "purchase"
    if event_type in ("cart_add", "message"):
        return "consideration"
    return "awareness"


def stage_of(
    previous_funnel: str | None,
    *,
    event_type: str | None,
    status: str | None,
    orders: int,
    lifecycle: str | None,
    strength: int,
) -> tuple[str, str, int]:
    """(funnel stage, shown stage, score)."""
    funnel = _funnel(event_type, status, orders, lifecycle)
    if previous_funnel in FUNNEL and FUNNEL.index(previous_funnel) > FUNNEL.index(funnel):
        funnel = previous_funnel
    shown = lifecycle if lifecycle in ("at_risk", "churned") else funnel
    return funnel, shown, min(100, BASE[shown] + strength // 10)


def apply_journeys(session: Session, messages: Sequence[Message]) -> None:
    ids = {m.data["profile_id"] for m in messages if m.data.get("profile_id")}
    if not ids:
        return
    profiles: dict[str, Any] = {}
    lifecycles: dict[str, str | None] = {}
    states: dict[str, Any] = {}
    for cond in in_values(session, P.c.id, sorted(ids)):
        for row in session.execute(
            select(P.c.id, P.c.brand_id, P.c.status, P.c.total_orders, P.c.profile_strength).where(
                cond
            )
        ):
            profiles[row.id] = row
    for cond in in_values(session, PP.c.customer_profile_id, sorted(ids)):
        for lrow in session.execute(select(PP.c.customer_profile_id, PP.c.lifecycle).where(cond)):
            lifecycles[lrow.customer_profile_id] = lrow.lifecycle
    for cond in in_values(session, J.c.customer_profile_id, sorted(ids)):
        for srow in session.execute(select(J).where(cond)):
            states[srow.customer_profile_id] = srow
    funnel: dict[str, str | None] = {pid: s.funnel_stage for pid, s in states.items()}
    out: dict[str, dict[str, Any]] = {}
    now = utcnow()
    for m in messages:
        pid = m.data.get("profile_id")
        profile = profiles.get(pid or "")
        if profile is None or profile.status != "active":
            continue
        lifecycle = lifecycles.get(profile.id)
        if m.stream == "predictions.changed" and "lifecycle" in m.data.get("changes", {}):
            lifecycle = m.data["changes"]["lifecycle"][1]
        f, shown, score = stage_of(
            funnel.get(profile.id),
            event_type=m.data.get("event_type"),
            status=m.data.get("status"),
            orders=profile.total_orders,
            lifecycle=lifecycle,
            strength=profile.profile_strength,
        )
        funnel[profile.id] = f
        out[profile.id] = {
            "customer_profile_id": profile.id,
            "brand_id": profile.brand_id,
            "stage": shown,
            "funnel_stage": f,
            "score": score,
            "next_best_action": NEXT_BEST_ACTION[shown],
            "updated_at": now,
        }
    if not out:
        return
    stmt = insert_for(session, J)
    stmt = stmt.on_conflict_do_update(
        index_elements=["customer_profile_id"],
        set_={
            c: stmt.excluded[c]
            for c in ("stage", "funnel_stage", "score", "next_best_action", "updated_at")
        },
    )
    session.execute(stmt, [out[k] for k in sorted(out)])
