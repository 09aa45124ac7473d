"""Activation through the real stream path (outbox -> relay -> Redis -> workers), with a real
local SMTP server (aiosmtpd) and a real local HTTP server standing in for the WhatsApp Cloud
API and webhook receivers, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from sqlalchemy import Engine, select, update

from constintel.activation import automations, campaigns, intents, stores
from constintel.activation.models import Consent, Delivery, StoreVisit
from constintel.activation.sender import send_due
from constintel.brands.models import Brand
from constintel.core.errors import ConflictError
from constintel.db.session import transaction
from constintel.predictions import service as predictions
from constintel.streams.handlers import HANDLERS
from constintel.streams.redis_io import StreamNames, connect
from constintel.streams.relay import relay_once
from constintel.streams.worker import Worker
from integration.helpers import profile_by
from integration.receivers import Mailbox, http_receiver, smtp_server

NOW = datetime.now(UTC)


class StreamPath:
    """Relay the outbox and run every consumer group until nothing moves."""

    def __init__(self, engine: Engine, redis_url: str, names: StreamNames) -> None:
        self.engine = engine
        self.client = connect(redis_url)
        self.names = names
        self.workers = {
            g: Worker(engine, self.client, names, h, consumer="t1", claim_idle_ms=0, block_ms=5)
            for g, h in HANDLERS.items()
        }
        for w in self.workers.values():
            w.ensure_groups()

    def settle(self, groups: tuple[str, ...] | None = None) -> None:
        for _ in range(30):
            moved = 0
            while (n := relay_once(self.engine, self.client, self.names)) > 0:
                moved += n
            for g, w in self.workers.items():
                if groups is None or g in groups:
                    moved += w.run_once()
            if moved == 0:
                return
        raise AssertionError("the stream path did not settle")


@pytest.fixture
def path(engine: Engine, redis_url: str, stream_names: StreamNames) -> StreamPath:
    return StreamPath(engine, redis_url, stream_names)


@pytest.fixture
def mail() -> Iterator[tuple[str, Mailbox]]:
    with smtp_server() as server:
        yield server


def configure(engine: Engine, brand_id: str, **settings: Any) -> None:
    with transaction(engine) as s:
        brand = s.get(Brand, brand_id)
        assert brand is not None
        brand.settings = {**(brand.settings or {}), **settings}


def with_defaults(engine: Engine, brand_id: str, smtp_url: str, **settings: Any) -> None:
    configure(engine, brand_id, smtp_url=smtp_url, **settings)
    with transaction(engine) as s:
        added = automations.install_defaults(s, brand_id, enable=True)
    assert set(added) == {
        "welcome",
        "upsell",
        "vip",
        "cart_abandonment",
        "churn_risk",
        "post_purchase_follow_up",
    }


def order(
    order_id: int, total: str, at: datetime, email: str = "customer@example.com", **extra: Any
):
    payload = {
        "id": order_id,
        "email": email,
        "total_price": total,
        "currency": "USD",
        "financial_status": "paid",
        "line_items": extra.pop("line_items", []),
        "created_at": at.isoformat(),
        **extra,
    }
    return ("shopify", "orders/create", payload)


def first_order_webhook(engine: Engine, brand_id: str, url: str) -> None:
    """An automation posting each first order to ``url`` (a local receiver)."""
    with transaction(engine) as s:
        automations.save_automation(
            s,
            brand_id=brand_id,
            name="hook",
            trigger={"type": "first_order"},
            action={"channel": "webhook", "url": url},
        )


def deliveries(engine: Engine, brand_id: str) -> list[Any]:
    with transaction(engine) as s:
        return list(
            s.execute(
                select(Delivery).where(Delivery.brand_id == brand_id).order_by(Delivery.id)
            ).scalars()
        )


def test_seed_scenarios_1_2_4_send_one_welcome_one_upsell_one_vip(
    engine: Engine, ctx: Any, ingest: Any, path: StreamPath, mail: tuple[str, Mailbox]
) -> None:
    url, box = mail
    with_defaults(engine, ctx.brand_id, url)
    ingest(order(1001, "89.99", NOW - timedelta(hours=3)))  # Scenario 1
    path.settle()
    assert send_due(engine) == 1
    assert box.subjects() == ["Welcome, and thank you for your first order"]
    assert box.messages[0]["To"] == "customer@example.com"
    assert "order 1001 (89.99 USD)" in box.messages[0].get_payload()

    ingest(order(1002, "150.00", NOW - timedelta(hours=2)))  # Scenario 2
    path.settle()
    send_due(engine)
    assert box.subjects()[1:] == ["Something to go with it?"]

    ingest(order(1003, "500.00", NOW - timedelta(hours=1)))  # Scenario 4
    path.settle()
    send_due(engine)
    # One VIP message, though both the $500 order and becoming a champion trigger it; the
    # upsell leaves large orders to the VIP automation.
    assert box.subjects()[2:] == ["Welcome to our VIP program"]
    # Everything redelivered and replayed: nothing new.
    path.settle()
    assert send_due(engine) == 0
    assert len(box.messages) == 3
    log = deliveries(engine, ctx.brand_id)
    assert [d.status for d in log] == ["sent", "sent", "sent"]


def test_importing_history_sends_nothing(
    engine: Engine, ctx: Any, ingest: Any, path: StreamPath, mail: tuple[str, Mailbox]
) -> None:
    url, box = mail
    with_defaults(engine, ctx.brand_id, url)
    ingest(
        order(2001, "89.99", NOW - timedelta(days=40)), order(2002, "600", NOW - timedelta(days=39))
    )
    path.settle()
    assert send_due(engine) == 0
    assert deliveries(engine, ctx.brand_id) == []
    assert box.messages == []


CHILD = """
import os, signal, sys
from constintel.db.session import make_engine
from constintel.streams.handlers import HANDLERS
from constintel.streams.redis_io import StreamNames, connect
from constintel.streams.worker import Worker

db_url, redis_url, prefix = sys.argv[1:4]
client = connect(redis_url)
def die(*args):
    os.kill(os.getpid(), signal.SIGKILL)  # after the commit, before the acknowledgement
client.xack = die
w = Worker(make_engine(db_url), client, StreamNames(prefix), HANDLERS["automations"],
           consumer="doomed", claim_idle_ms=0, block_ms=5)
w.ensure_groups()
w.run_once()
"""

SENDER_CHILD = """
import os, signal, sys
from constintel.activation import channels
from constintel.activation.sender import send_due
from constintel.db.session import make_engine

def send_then_die(settings, out):
    channels.send(settings, out)
    os.kill(os.getpid(), signal.SIGKILL)  # the provider has it; our commit never happens

send_due(make_engine(sys.argv[1]), sender=send_then_die)
"""


def test_killed_workers_and_senders_still_give_exactly_one_send(
    engine: Engine,
    db_url: str,
    ctx: Any,
    ingest: Any,
    path: StreamPath,
    mail: tuple[str, Mailbox],
    redis_url: str,
    stream_names: StreamNames,
) -> None:
    url, box = mail
    with_defaults(engine, ctx.brand_id, url)
    ingest(order(3001, "89.99", NOW - timedelta(hours=1)))
    path.settle(groups=("intents",))
    while relay_once(engine, path.client, stream_names) > 0:
        pass
    # A worker commits the delivery and is killed before XACK: the message stays pending.
    child = subprocess.run(
        [sys.executable, "-c", CHILD, db_url, redis_url, stream_names.prefix], check=False
    )
    assert child.returncode == -signal.SIGKILL
    pending = path.client.xpending(stream_names.stream("events.normalized"), "automations")
    assert pending["pending"] > 0
    path.settle()  # another worker reclaims and redelivers it: the ledger skips it
    assert len(deliveries(engine, ctx.brand_id)) == 1
    # The sender is killed right after the SMTP server accepted the message.
    child = subprocess.run([sys.executable, "-c", SENDER_CHILD, db_url], check=False)
    assert child.returncode == -signal.SIGKILL
    assert len(box.messages) == 1
    # After the lease, the next sender finds it mid-send: it is not sent again.
    assert send_due(engine, now=datetime.now(UTC) + timedelta(minutes=10)) == 0
    (d,) = deliveries(engine, ctx.brand_id)
    assert d.status == "unknown"
    assert "not resent" in d.reason
    assert len(box.messages) == 1


def test_quiet_hours_defer_then_deliver(
    engine: Engine, ctx: Any, ingest: Any, path: StreamPath, mail: tuple[str, Mailbox]
) -> None:
    url, box = mail
    with_defaults(engine, ctx.brand_id, url, quiet_hours="21:00-08:00")
    with transaction(engine) as s:
        s.execute(update(Brand).where(Brand.id == ctx.brand_id).values(timezone="Europe/Berlin"))
    ingest(order(4001, "89.99", NOW - timedelta(hours=1)))
    path.settle()
    tomorrow = (NOW + timedelta(days=1)).date()
    night = datetime(
        tomorrow.year, tomorrow.month, tomorrow.day, 22, 30, tzinfo=UTC
    )  # 23:30 Berlin
    assert send_due(engine, now=night) == 0
    (d,) = deliveries(engine, ctx.brand_id)
    assert d.status == "deferred"
    resume = d.not_before.astimezone(UTC)
    berlin = ZoneInfo("Europe/Berlin")
    local = night.astimezone(berlin)
    day = local.date() if local.time() < time(8) else local.date() + timedelta(days=1)
    assert resume == datetime.combine(day, time(8), berlin).astimezone(UTC)  # 08:00 Berlin
    assert send_due(engine, now=resume - timedelta(minutes=1)) == 0
    assert box.messages == []
    assert send_due(engine, now=resume) == 1
    assert box.subjects() == ["Welcome, and thank you for your first order"]


def test_an_unsubscribed_customer_receives_nothing(
    engine: Engine, ctx: Any, ingest: Any, path: StreamPath, mail: tuple[str, Mailbox]
) -> None:
    url, box = mail
    with_defaults(engine, ctx.brand_id, url)
    ingest(
        (
            "api",
            None,
            {
                "event_type": "page_view",
                "email": "customer@example.com",
                "occurred_at": NOW.isoformat(),
            },
        )
    )
    pid = profile_by(engine, ctx, "email", "customer@example.com").id
    with transaction(engine) as s:
        automations_consent(s, ctx.brand_id, pid, "email", "unsubscribed")
    ingest(order(5001, "89.99", NOW - timedelta(minutes=30)))
    ingest(order(5002, "120.00", NOW - timedelta(minutes=20)))
    path.settle()
    send_due(engine)
    assert box.messages == []
    assert {(d.status, d.reason) for d in deliveries(engine, ctx.brand_id)} == {
        ("skipped", "unsubscribed from email")
    }


def automations_consent(s: Any, brand_id: str, pid: str, channel: str, status: str) -> None:
    s.add(
        Consent(
            brand_id=brand_id,
            customer_profile_id=pid,
            channel=channel,
            status=status,
            source="test",
            updated_at=datetime.now(UTC),
        )
    )


def test_a_frequency_cap_of_one_a_day_holds_across_automations(
    engine: Engine, ctx: Any, ingest: Any, path: StreamPath, mail: tuple[str, Mailbox]
) -> None:
    url, box = mail
    with_defaults(engine, ctx.brand_id, url, frequency_cap_per_day=1)
    ingest(order(6001, "89.99", NOW - timedelta(hours=2)))
    path.settle()
    send_due(engine)
    ingest(order(6002, "150.00", NOW - timedelta(hours=1)))  # upsell: a second automation
    path.settle()
    send_due(engine)
    assert box.subjects() == ["Welcome, and thank you for your first order"]
    statuses = [(d.status, d.reason) for d in deliveries(engine, ctx.brand_id)]
    assert statuses == [("sent", None), ("skipped", "frequency cap: 1 per 24 hours")]


def test_cart_abandonment_fires_after_the_window_unless_bought_inside_it(
    engine: Engine, ctx: Any, ingest: Any, path: StreamPath, mail: tuple[str, Mailbox]
) -> None:
    url, box = mail
    with_defaults(engine, ctx.brand_id, url)
    added = NOW - timedelta(hours=2)

    def cart(email: str, product: str) -> tuple[str, None, dict[str, Any]]:
        return (
            "api",
            None,
            {
                "event_type": "cart_add",
                "email": email,
                "product_id": product,
                "occurred_at": added.isoformat(),
            },
        )

    ingest(cart("left@example.com", "SKU-1"), cart("bought@example.com", "SKU-2"))
    ingest(
        order(
            7001,
            "40.00",
            added + timedelta(hours=1),
            email="bought@example.com",
            line_items=[
                {"id": 1, "product_id": "SKU-2", "title": "Mug", "quantity": 1, "price": "40.00"}
            ],
        )
    )
    path.settle()
    send_due(engine)
    box.messages.clear()  # the buyer's welcome email
    assert automations.scan_carts(engine, now=added + timedelta(hours=23)) == 0  # not yet
    assert automations.scan_carts(engine, now=added + timedelta(hours=25)) == 1
    send_due(engine, now=added + timedelta(hours=25))
    assert box.subjects() == ["You left something in your cart"]
    assert box.messages[0]["To"] == "left@example.com"
    assert "SKU-1" in box.messages[0].get_payload()
    assert automations.scan_carts(engine, now=added + timedelta(hours=30)) == 0


def test_whatsapp_and_webhook_actions_reach_local_providers(
    engine: Engine, ctx: Any, ingest: Any, path: StreamPath
) -> None:
    with http_receiver() as (base, got):
        configure(
            engine,
            ctx.brand_id,
            whatsapp_base_url=base + "/v21.0",
            whatsapp_token="tok",
            whatsapp_phone_number_id="1234",
            webhook_secret="hook-secret",
        )
        with transaction(engine) as s:
            automations.save_automation(
                s,
                brand_id=ctx.brand_id,
                name="wa-welcome",
                trigger={"type": "first_order"},
                action={"channel": "whatsapp", "body": "Thanks {{ profile.phone }}!"},
            )
            automations.save_automation(
                s,
                brand_id=ctx.brand_id,
                name="crm-hook",
                trigger={"type": "first_order"},
                action={"channel": "webhook", "url": base + "/hook"},
            )
        ingest(order(8001, "89.99", NOW - timedelta(hours=1), phone="+12125550199"))
        path.settle()
        assert send_due(engine) == 2
        by_path = {r.path: r for r in got}
    wa = by_path["/v21.0/1234/messages"]
    assert wa.headers["Authorization"] == "Bearer tok"
    assert orjson.loads(wa.body) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "12125550199",
        "type": "text",
        "text": {"preview_url": False, "body": "Thanks +12125550199!"},
    }
    hook = by_path["/hook"]
    ts = hook.headers["X-ConstIntel-Timestamp"]
    expected = hmac.new(b"hook-secret", f"{ts}.".encode() + hook.body, hashlib.sha256).hexdigest()
    assert hook.headers["X-ConstIntel-Signature"] == f"v1={expected}"
    assert orjson.loads(hook.body)["profile"]["email"] == "customer@example.com"


def test_provider_errors_retry_with_backoff_then_fail(
    engine: Engine, ctx: Any, ingest: Any, path: StreamPath
) -> None:
    with http_receiver(status=503) as (base, got):
        first_order_webhook(engine, ctx.brand_id, base + "/down")
        ingest(order(9001, "10.00", NOW - timedelta(hours=1)))
        path.settle()
        at = datetime.now(UTC)
        assert send_due(engine, now=at) == 0
        (d,) = deliveries(engine, ctx.brand_id)
        assert (d.status, d.attempts) == ("pending", 1)
        assert d.not_before.astimezone(UTC) == at + timedelta(seconds=30)
        assert "HTTP 503" in d.reason
        for _ in range(10):
            at += timedelta(hours=1)
            send_due(engine, now=at)
        (d,) = deliveries(engine, ctx.brand_id)
        assert (d.status, d.attempts) == ("failed", 6)
        assert len(got) == 6


def test_campaign_to_at_risk_reaches_that_audience_minus_the_unsubscribed_once_each(
    engine: Engine, ctx: Any, ingest: Any, mail: tuple[str, Mailbox]
) -> None:
    url, box = mail
    configure(engine, ctx.brand_id, smtp_url=url)
    long_ago = NOW - timedelta(days=200)  # no model (too few customers): at_risk after 180 days
    lapsed = [f"lapsed{k}@example.com" for k in range(5)]
    ingest(*[order(100 + k, "50.00", long_ago, email=e) for k, e in enumerate(lapsed)])
    ingest(
        *[
            order(200 + k, "50.00", NOW - timedelta(days=3), email=f"new{k}@example.com")
            for k in range(3)
        ]
    )
    assert predictions.refit(engine, ctx.brand_id) is not None
    gone = profile_by(engine, ctx, "email", lapsed[0]).id
    with transaction(engine) as s:
        automations_consent(s, ctx.brand_id, gone, "email", "unsubscribed")
    action = {
        "channel": "email",
        "subject": "We miss you",
        "body": "Come back, {{ profile.email }}",
    }
    with transaction(engine) as s:
        assert campaigns.preview(
            s, brand_id=ctx.brand_id, audience={"lifecycle": ["at_risk"]}, channel="email"
        ) == {
            "audience": 5,
            "reachable": 4,
        }
        c = campaigns.create(
            s,
            brand_id=ctx.brand_id,
            name="win-back",
            audience={"lifecycle": ["at_risk"]},
            action=action,
        )
    assert campaigns.send(engine, brand_id=ctx.brand_id, campaign_id=c["id"]) == 5
    with pytest.raises(ConflictError):
        campaigns.send(engine, brand_id=ctx.brand_id, campaign_id=c["id"])
    send_due(engine)
    send_due(engine)
    assert sorted(m["To"] for m in box.messages) == sorted(lapsed[1:])
    # A recipient orders again two days later: the campaign gets the credit.
    ingest(order(300, "75.25", datetime.now(UTC) + timedelta(seconds=1), email=lapsed[2]))
    with transaction(engine) as s:
        r = campaigns.report(s, brand_id=ctx.brand_id, campaign_id=c["id"])
    assert (r["audience"], r["sent"], r["skipped_consent"], r["failed"]) == (5, 4, 1, 0)
    assert (r["attributed_orders"], r["attributed_revenue"]) == (1, "75.25")


SEED_POS = {
    "transaction_id": "TXN-98765",
    "store_id": "STORE-001",
    "store_name": "Downtown Location",
    "customer": {"phone": "+1-555-0123", "loyalty_id": "LOY-789456"},
    "total": 125.50,
    "items": [
        {"product_id": "PROD-002", "product_name": "Sneakers", "price": "125.50", "quantity": 1}
    ],
    "payment_method": "credit_card",
}


def test_seed_pos_example_records_a_visit_converts_intent_and_alerts_the_store(
    engine: Engine, ctx: Any, ingest: Any, path: StreamPath
) -> None:
    before = NOW - timedelta(hours=3)

    def browse(kind: str, product: str) -> tuple[str, None, dict[str, Any]]:
        return (
            "api",
            None,
            {
                "event_type": kind,
                "phone": "+1-555-0123",
                "product_id": product,
                "occurred_at": before.isoformat(),
            },
        )

    ingest(
        browse("cart_add", "PROD-002"),
        browse("cart_add", "PROD-009"),
        browse("product_view", "PROD-009"),
    )
    path.settle()
    with http_receiver() as (base, got):
        with transaction(engine) as s:
            sub = stores.subscribe(
                s, brand_id=ctx.brand_id, store_id="STORE-001", url=base + "/alerts"
            )
        ingest(("pos", None, {**SEED_POS, "timestamp": (NOW - timedelta(minutes=5)).isoformat()}))
        path.settle()
        assert send_due(engine) == 1
    pid = profile_by(engine, ctx, "loyalty_id", "LOY-789456").id
    with transaction(engine) as s:
        (visit,) = s.execute(
            select(StoreVisit).where(StoreVisit.brand_id == ctx.brand_id)
        ).scalars()
        assert (visit.customer_profile_id, visit.store_id, visit.kind) == (
            pid,
            "STORE-001",
            "pos_transaction",
        )
        mine = {
            i["product_id"]: i
            for i in intents.top_intents(s, brand_id=ctx.brand_id, profile_id=pid)
        }
        assert mine["PROD-002"]["converted"] is True  # bought in the store
        assert mine["PROD-009"]["converted"] is False
        (alert,) = stores.list_alerts(s, brand_id=ctx.brand_id, store_id="STORE-001")
    assert [p["product_id"] for p in alert["products"]] == ["PROD-009"]
    assert "PROD-009" in alert["reason"]
    (hook,) = got
    body = orjson.loads(hook.body)
    assert (body["type"], body["alert_id"], body["store_id"]) == (
        "in_store_alert",
        alert["id"],
        "STORE-001",
    )
    ts = hook.headers["X-ConstIntel-Timestamp"]
    expected = hmac.new(
        sub["secret"].encode(), f"{ts}.".encode() + hook.body, hashlib.sha256
    ).hexdigest()
    assert hook.headers["X-ConstIntel-Signature"] == f"v1={expected}"
    with transaction(engine) as s:
        done = stores.acknowledge(s, brand_id=ctx.brand_id, alert_id=alert["id"], by="staff-7")
        assert done["status"] == "acknowledged"
        assert stores.list_alerts(s, brand_id=ctx.brand_id, store_id="STORE-001") == []


def test_journey_stages_follow_the_events(
    engine: Engine, ctx: Any, ingest: Any, path: StreamPath
) -> None:
    from constintel.activation.models import JourneyState

    def stage() -> tuple[str, str]:
        with transaction(engine) as s:
            j = s.get(JourneyState, profile_by(engine, ctx, "email", "j@example.com").id)
            assert j is not None
            return j.stage, j.next_best_action

    at = NOW - timedelta(hours=5)
    ingest(
        (
            "api",
            None,
            {
                "event_type": "product_view",
                "email": "j@example.com",
                "product_id": "A",
                "occurred_at": at.isoformat(),
            },
        )
    )
    path.settle()
    assert stage()[0] == "awareness"
    ingest(
        (
            "api",
            None,
            {
                "event_type": "cart_add",
                "email": "j@example.com",
                "product_id": "A",
                "occurred_at": (at + timedelta(minutes=5)).isoformat(),
            },
        )
    )
    path.settle()
    assert stage()[0] == "consideration"

    def csv_order(status: str) -> tuple[str, None, dict[str, Any]]:
        row = {"order_id": "j1", "total": "30.00", "email": "j@example.com", "status": status}
        return ("csv", None, {**row, "ordered_at": (at + timedelta(hours=1)).isoformat()})

    ingest(csv_order("processing"))
    path.settle()
    assert stage() == ("purchase", "follow up on the first order; ask for a review")
    ingest(csv_order("delivered"))  # the seed's Order Status Flow: delivered -> retention
    path.settle()
    assert stage()[0] == "retention"
    ingest(
        (
            "api",
            None,
            {
                "event_type": "page_view",
                "email": "j@example.com",
                "occurred_at": (at + timedelta(hours=4)).isoformat(),
            },
        )
    )
    path.settle()
    assert stage()[0] == "retention"  # never back to awareness


def test_a_check_in_is_a_store_visit(
    engine: Engine, ctx: Any, ingest: Any, path: StreamPath
) -> None:
    at = (NOW - timedelta(minutes=10)).isoformat()
    ingest(
        (
            "api",
            None,
            {"event_type": "check_in", "loyalty_id": "L-1", "store_id": "S-9", "occurred_at": at},
        )
    )
    path.settle()
    with transaction(engine) as s:
        (visit,) = s.execute(
            select(StoreVisit).where(StoreVisit.brand_id == ctx.brand_id)
        ).scalars()
    assert (visit.store_id, visit.kind) == ("S-9", "check_in")
    bad = ingest(("api", None, {"event_type": "check_in", "loyalty_id": "L-1", "occurred_at": at}))
    assert bad.rejected == 1


def test_post_purchase_follow_up_waits_for_its_delay(
    engine: Engine, ctx: Any, ingest: Any, path: StreamPath, mail: tuple[str, Mailbox]
) -> None:
    url, box = mail
    with_defaults(engine, ctx.brand_id, url)
    with transaction(engine) as s:
        automations.set_enabled(s, ctx.brand_id, "welcome", False)
    at = NOW - timedelta(hours=1)
    row = {"order_id": "d1", "total": "42.00", "email": "d@example.com", "status": "delivered"}
    ingest(("csv", None, {**row, "ordered_at": at.isoformat()}))
    path.settle()
    assert send_due(engine) == 0
    (d,) = deliveries(engine, ctx.brand_id)
    assert d.not_before.astimezone(UTC) == at + timedelta(hours=72)
    assert send_due(engine, now=at + timedelta(hours=73)) == 1
    assert box.subjects() == ["How was your order?"]


def test_prediction_changes_trigger_churn_and_segment_automations(
    engine: Engine, ctx: Any, ingest: Any, path: StreamPath
) -> None:
    from constintel.streams import outbox

    ingest(order(11, "30.00", NOW - timedelta(hours=1), email="p@example.com"))
    pid = profile_by(engine, ctx, "email", "p@example.com").id
    with transaction(engine) as s:
        automations.save_automation(
            s,
            brand_id=ctx.brand_id,
            name="churn",
            trigger={"type": "churn_risk", "threshold": 0.6},
            action={"channel": "webhook", "url": "http://127.0.0.1:9/churn"},
        )
        automations.save_automation(
            s,
            brand_id=ctx.brand_id,
            name="to-loyal",
            trigger={"type": "segment_changed", "to": "loyal"},
            action={"channel": "webhook", "url": "http://127.0.0.1:9/loyal"},
        )
        now = datetime.now(UTC)
        outbox.write(
            s,
            [
                outbox.prediction_changed(ctx.brand_id, pid, {"churn_risk": [0.3, 0.55]}, 1, now),
                outbox.prediction_changed(ctx.brand_id, pid, {"churn_risk": [0.55, 0.7]}, 1, now),
                outbox.prediction_changed(ctx.brand_id, pid, {"churn_risk": [0.7, 0.8]}, 1, now),
                outbox.prediction_changed(
                    ctx.brand_id, pid, {"lifecycle": ["new", "active"]}, 1, now
                ),
                outbox.prediction_changed(
                    ctx.brand_id, pid, {"lifecycle": ["active", "loyal"]}, 1, now
                ),
                # A first prediction is no change: nothing fires for it.
                outbox.prediction_changed(ctx.brand_id, pid, {"churn_risk": [None, 0.9]}, 1, now),
                outbox.prediction_changed(
                    ctx.brand_id, pid, {"lifecycle": [None, "loyal"]}, 1, now
                ),
            ],
        )
    path.settle()
    made = [
        (d.recipient, d.dedupe_key.rsplit(":", 2)[-2]) for d in deliveries(engine, ctx.brand_id)
    ]
    # Churn: only the crossing of 0.6 (0.55 -> 0.7), not the rise above it; segment: only "loyal".
    assert sorted(r for r, _ in made) == ["http://127.0.0.1:9/churn", "http://127.0.0.1:9/loyal"]


def test_a_scheduled_campaign_goes_out_when_due(engine: Engine, ctx: Any, ingest: Any) -> None:
    ingest(order(12, "30.00", NOW - timedelta(hours=1), email="s@example.com"))
    action = {"channel": "webhook", "url": "http://127.0.0.1:9/c"}
    when = datetime.now(UTC) + timedelta(hours=2)
    with transaction(engine) as s:
        c = campaigns.create(
            s,
            brand_id=ctx.brand_id,
            name="later",
            audience={"has": ["email"]},
            action=action,
            scheduled_at=when,
        )
    campaigns.send_scheduled(engine, now=when - timedelta(minutes=1))
    assert deliveries(engine, ctx.brand_id) == []
    campaigns.send_scheduled(engine, now=when)
    campaigns.send_scheduled(engine, now=when + timedelta(minutes=1))  # once, not twice
    (d,) = deliveries(engine, ctx.brand_id)
    assert d.campaign_id == c["id"]


def test_an_unsubscribe_survives_a_merge(
    engine: Engine, ctx: Any, ingest: Any, path: StreamPath, mail: tuple[str, Mailbox]
) -> None:
    url, box = mail
    with_defaults(engine, ctx.brand_id, url)
    at = (NOW - timedelta(hours=2)).isoformat()
    ingest(("api", None, {"event_type": "page_view", "phone": "+12125550111", "occurred_at": at}))
    ingest(("api", None, {"event_type": "page_view", "email": "m@example.com", "occurred_at": at}))
    emailed = profile_by(engine, ctx, "email", "m@example.com").id
    with transaction(engine) as s:
        automations_consent(s, ctx.brand_id, emailed, "email", "unsubscribed")
    # One order with both: the email profile merges into the older phone profile.
    ingest(order(1, "20.00", NOW - timedelta(hours=1), email="m@example.com", phone="+12125550111"))
    assert profile_by(engine, ctx, "email", "m@example.com").id != emailed
    path.settle()
    send_due(engine)
    assert box.messages == []
    assert {d.reason for d in deliveries(engine, ctx.brand_id)} == {"unsubscribed from email"}


def test_one_reminder_per_product_and_none_when_the_purchase_came_first(
    engine: Engine, ctx: Any, ingest: Any, path: StreamPath, mail: tuple[str, Mailbox]
) -> None:
    url, box = mail
    with_defaults(engine, ctx.brand_id, url)
    with transaction(engine) as s:
        automations.set_enabled(s, ctx.brand_id, "welcome", False)
    t0 = NOW - timedelta(hours=3)

    def cart(email: str, product: str, at: datetime) -> tuple[str, None, dict[str, Any]]:
        body = {"event_type": "cart_add", "email": email, "product_id": product}
        return ("api", None, {**body, "occurred_at": at.isoformat()})

    ingest(
        cart("twice@example.com", "SKU-7", t0),
        cart("twice@example.com", "SKU-7", t0 + timedelta(minutes=5)),
    )
    ingest(cart("twice@example.com", "SKU-7", t0 + timedelta(minutes=10)))
    # The purchase is stored and handled before a late-arriving cart event of the same window.
    item = [{"id": 1, "product_id": "SKU-8", "title": "Hat", "quantity": 1, "price": "15.00"}]
    ingest(
        order(77, "15.00", t0 + timedelta(minutes=30), email="late@example.com", line_items=item)
    )
    path.settle()
    ingest(cart("late@example.com", "SKU-8", t0 + timedelta(minutes=20)))
    path.settle()
    assert automations.scan_carts(engine, now=t0 + timedelta(hours=25)) == 1
    send_due(engine, now=t0 + timedelta(hours=25))
    assert [m["To"] for m in box.messages] == ["twice@example.com"]


def test_a_provider_that_answers_late_is_not_sent_twice(
    engine: Engine, ctx: Any, ingest: Any, path: StreamPath, monkeypatch: pytest.MonkeyPatch
) -> None:
    from constintel.activation import channels

    monkeypatch.setattr(channels, "TIMEOUT", 0.5)
    with http_receiver(delay=1.5) as (base, got):
        first_order_webhook(engine, ctx.brand_id, base + "/slow")
        ingest(order(88, "10.00", NOW - timedelta(hours=1)))
        path.settle()
        send_due(engine)
        for _ in range(3):
            send_due(engine, now=datetime.now(UTC) + timedelta(hours=1))
        assert len(got) == 1
    (d,) = deliveries(engine, ctx.brand_id)
    assert d.status == "unknown"
    assert "it may have arrived" in d.reason


def test_one_bad_delivery_fails_alone_and_webhooks_do_not_use_the_cap(
    engine: Engine, ctx: Any, ingest: Any, path: StreamPath, mail: tuple[str, Mailbox]
) -> None:
    from constintel.activation import channels

    url, box = mail
    with_defaults(engine, ctx.brand_id, url, frequency_cap_per_day=1)
    with transaction(engine) as s:
        automations.save_automation(
            s,
            brand_id=ctx.brand_id,
            name="crm",
            trigger={"type": "first_order"},
            action={"channel": "webhook", "url": "http://127.0.0.1:9/crm"},
        )
    ingest(order(1, "10.00", NOW - timedelta(hours=1), email="a@example.com"))
    ingest(order(2, "10.00", NOW - timedelta(hours=1), email="b@example.com"))
    path.settle()

    def picky(settings: Any, out: Any) -> None:
        if out.channel == "webhook":
            raise ValueError("boom")  # not a provider error: a bug of ours
        channels.send(settings, out)

    assert send_due(engine, sender=picky) == 2
    assert sorted(m["To"] for m in box.messages) == ["a@example.com", "b@example.com"]
    hooks = [d for d in deliveries(engine, ctx.brand_id) if d.channel == "webhook"]
    assert {(d.status, d.reason) for d in hooks} == {("failed", "ValueError: boom")}


def test_intents_accumulate_across_batches_as_an_independent_sum(engine: Engine) -> None:
    """Views, cart adds and purchases per (profile, product), the decaying score and the
    latest times, applied in batches with repeats inside a batch, equal a sum over all the
    events (PostgreSQL applies a batch as one array statement, SQLite row by row)."""
    from constintel.streams.message import Message

    kinds = ("product_view", "cart_add", "purchase")
    start = datetime(2026, 3, 1, tzinfo=UTC)
    events = [
        (kinds[k % 3], f"profile-{k % 4}", f"P{k % 7}", start + timedelta(hours=(k * 7) % 50))
        for k in range(60)
    ]
    messages = [
        Message(
            "events.normalized",
            f"{n}-0",
            n,
            "brand-x",
            pid,
            {
                "event_type": kind,
                "profile_id": pid,
                "occurred_at": at.isoformat(),
                "products": [product, product] if n % 5 == 0 else [product],
            },
        )
        for n, (kind, pid, product, at) in enumerate(events)
    ]
    for first in range(0, len(messages), 25):
        with transaction(engine) as session:
            intents.apply_intents(session, messages[first : first + 25])

    expected: dict[tuple[str, str], dict[str, Any]] = {}
    field = {"product_view": "views", "cart_add": "cart_adds", "purchase": "purchases"}
    for m in messages:
        at = datetime.fromisoformat(m.data["occurred_at"])
        for product in m.data["products"]:
            row = expected.setdefault(
                (m.data["profile_id"], product),
                {
                    "views": 0,
                    "cart_adds": 0,
                    "purchases": 0,
                    "score": 0.0,
                    "last_event_at": at,
                    "last_interest_at": None,
                    "converted_at": None,
                },
            )
            row[field[m.data["event_type"]]] += 1
            row["last_event_at"] = max(row["last_event_at"], at)
            if m.data["event_type"] == "purchase":
                row["converted_at"] = max(row["converted_at"] or at, at)
            else:
                row["score"] += intents.WEIGHTS[field[m.data["event_type"]]] * intents._anchor(at)
                row["last_interest_at"] = max(row["last_interest_at"] or at, at)
    with transaction(engine) as session:
        stored = session.execute(select(intents.I).where(intents.I.c.brand_id == "brand-x")).all()
    assert len(stored) == len(expected) == 28
    # Rows that mix a purchase with interest, in either order, and rows without a purchase.
    assert {
        (w["converted_at"] is None, w["last_interest_at"] is None) for w in expected.values()
    } >= {
        (False, False),
        (True, False),
    }
    for r in stored:
        want = expected[(r.customer_profile_id, r.product_id)]
        assert (r.views, r.cart_adds, r.purchases) == (
            want["views"],
            want["cart_adds"],
            want["purchases"],
        )
        assert r.score_anchored == pytest.approx(want["score"], rel=1e-12)
        assert (r.last_event_at, r.last_interest_at, r.converted_at) == (
            want["last_event_at"],
            want["last_interest_at"],
            want["converted_at"],
        )
