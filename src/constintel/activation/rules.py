"""Automation rules (pure): triggers, conditions, quiet hours, and the built-in automations.

A trigger turns a stream message into at most one *occurrence* per profile, with a key that
makes it unique: a redelivered message, or the same order seen again, yields the same key, so
the delivery it leads to is created once.

- ``first_order``: a new order that is the profile's first; key ``first_order`` (once per
  profile);
- ``repeat_order``: a new order of a profile with 2+ orders; key: the order;
- ``vip``: a new order of at least ``min_order_value``, or the lifecycle becoming
  ``champion``; key ``vip`` (once per profile);
- ``cart_abandoned``: a ``cart_add`` with no purchase of that product within ``hours``; key:
  the cart event and product;
- ``churn_risk``: churn risk rising to ``threshold`` or above; key: the prediction change;
- ``order_delivered``: an order reaching ``delivered``, sent ``delay_hours`` later; key: the
  order;
- ``segment_changed``: the lifecycle label changing (to ``to`` if given); key: the change.

Only events that happened within ``max_event_age_hours`` (default 48) trigger anything, so
importing years of history sends nobody a welcome email.

Conditions: ``[{"field": "profile.total_orders", "op": ">=", "value": 2}, ...]``, all must
hold; fields are ``profile.*``, ``prediction.*``, ``order.*``, ``event.*`` of the context
the templates also see; ops ``== != > >= < <= in not_in contains``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from constintel.core.errors import PayloadError

from . import templates

__all__ = [
    "BUILT_INS",
    "CHANNELS",
    "TRIGGERS",
    "Occurrence",
    "conditions_hold",
    "next_allowed",
    "validate",
]

TRIGGERS = (
    "first_order",
    "repeat_order",
    "vip",
    "cart_abandoned",
    "churn_risk",
    "order_delivered",
    "segment_changed",
)
CHANNELS = ("email", "whatsapp", "webhook")
NEW_ORDER_EVENTS = ("purchase", "pos_transaction")
OPS = ("==", "!=", ">", ">=", "<", "<=", "in", "not_in", "contains")


@dataclass(frozen=True, slots=True)
class Occurrence:
    key: str
    not_before: datetime


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _lookup(context: dict[str, Any], path: str) -> Any:
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if op in ("in", "not_in"):
        inside = actual in (expected or [])
        return inside if op == "in" else not inside
    if op == "contains":
        return actual is not None and expected in actual
    a, b = _number(actual), _number(expected)
    if a is not None and b is not None:
        left: Any = a
        right: Any = b
    else:
        left, right = actual, expected
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        return bool(
            {">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right}[op]
        )
    except TypeError:
        return False


def conditions_hold(conditions: list[dict[str, Any]], context: dict[str, Any]) -> bool:
    return all(_compare(_lookup(context, c["field"]), c["op"], c.get("value")) for c in conditions)


def validate(
    trigger: dict[str, Any], conditions: list[dict[str, Any]], action: dict[str, Any]
) -> None:
    """Refuse a rule that cannot work, naming the field and the reason."""
    if not isinstance(trigger, dict):
        raise PayloadError("trigger", 'expected an object, e.g. {"type": "first_order"}')
    if not isinstance(action, dict):
        raise PayloadError("action", 'expected an object, e.g. {"channel": "email", ...}')
    kind = trigger.get("type")
    if kind not in TRIGGERS:
        raise PayloadError(
            "trigger.type", f"unknown trigger {kind!r}; one of {', '.join(TRIGGERS)}"
        )
    # (parameter, lowest, highest) per trigger type
    numeric = {
        "vip": (("min_order_value", 0, 10**9),),
        "cart_abandoned": (("hours", 0.1, 24 * 90),),
        "churn_risk": (("threshold", 0.01, 0.99),),
        "order_delivered": (("delay_hours", 0, 24 * 365),),
    }.get(kind, ())
    for name, low, high in numeric:
        if name in trigger:
            value = _number(trigger[name])
            if value is None or not value.is_finite() or not low <= value <= high:
                raise PayloadError(f"trigger.{name}", f"must be a number from {low} to {high}")
    for i, c in enumerate(conditions):
        if not isinstance(c, dict) or "field" not in c or c.get("op") not in OPS:
            raise PayloadError(
                f"conditions[{i}]", f"needs a field and an op (one of {' '.join(OPS)})"
            )
    channel = action.get("channel")
    if channel not in CHANNELS:
        raise PayloadError(
            "action.channel", f"unknown channel {channel!r}; one of {', '.join(CHANNELS)}"
        )
    if channel == "webhook" and not str(action.get("url", "")).startswith(("http://", "https://")):
        raise PayloadError("action.url", "a webhook action needs an http(s) url")
    if channel == "email" and not action.get("subject"):
        raise PayloadError("action.subject", "an email needs a subject")
    if channel != "webhook" and not action.get("body"):
        raise PayloadError("action.body", "the message needs a body")
    for name in ("subject", "body"):
        if action.get(name):
            templates.check(f"action.{name}", str(action[name]))


def _quiet_window(spec: str) -> tuple[time, time]:
    start, end = spec.split("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def next_allowed(at: datetime, quiet_hours: str | None, timezone: str) -> datetime:
    """``at`` if it is outside the brand's quiet hours ("21:00-08:00" in its timezone), else
    the end of the quiet period (in UTC)."""
    if not quiet_hours:
        return at
    start, end = _quiet_window(quiet_hours)
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    clock = local.time()
    overnight = start > end
    quiet = (clock >= start or clock < end) if overnight else (start <= clock < end)
    if not quiet:
        return at
    day = local.date()
    if overnight and clock >= start:
        day = day + timedelta(days=1)
    # On a day the clocks go back, the end of quiet hours may exist twice (fold 0 and 1):
    # the first instant after ``at`` is the one.
    candidates = [
        datetime.combine(day, end, zone).replace(fold=fold).astimezone(at.tzinfo) for fold in (0, 1)
    ]
    later = [c for c in candidates if c > at]
    return min(later) if later else max(candidates)


# The seed's built-ins, shipped disabled; `constintel automations defaults --enable` switches
# them on.
BUILT_INS: list[dict[str, Any]] = [
    {
        "name": "welcome",
        "trigger": {"type": "first_order"},
        "action": {
            "channel": "email",
            "subject": "Welcome, and thank you for your first order",
            "body": "Hi {{ profile.email }}, thank you for order {{ order.id }} "
            "({{ order.total }} {{ order.currency }}). Welcome!",
        },
    },
    {
        "name": "upsell",
        "trigger": {"type": "repeat_order"},
        # A large order gets the VIP message instead (the seed's Scenario 4).
        "conditions": [{"field": "order.total", "op": "<", "value": 500}],
        "action": {
            "channel": "email",
            "subject": "Something to go with it?",
            "body": "Thanks for coming back! Order {{ order.id }} is on its way; "
            "customers who bought it also liked our new arrivals.",
        },
    },
    {
        "name": "vip",
        "trigger": {"type": "vip", "min_order_value": 500},
        "action": {
            "channel": "email",
            "subject": "Welcome to our VIP program",
            "body": "You are now a VIP: enjoy an exclusive offer on your next order.",
        },
    },
    {
        "name": "cart_abandonment",
        "trigger": {"type": "cart_abandoned", "hours": 24},
        "action": {
            "channel": "email",
            "subject": "You left something in your cart",
            "body": "Still thinking about {{ event.product_id }}? It is waiting for you.",
        },
    },
    {
        "name": "churn_risk",
        "trigger": {"type": "churn_risk", "threshold": 0.5},
        "action": {
            "channel": "email",
            "subject": "We miss you",
            "body": "It has been a while. Here is 10% off your next order.",
        },
    },
    {
        "name": "post_purchase_follow_up",
        "trigger": {"type": "order_delivered", "delay_hours": 72},
        "action": {
            "channel": "email",
            "subject": "How was your order?",
            "body": "Your order {{ order.id }} arrived a few days ago. Tell us how you like it!",
        },
    },
]
