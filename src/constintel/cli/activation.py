"""``constintel automations | deliveries | consent | campaigns | intents | stores``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
import yaml

from constintel.activation import automations as autos
from constintel.activation import campaigns as camps
from constintel.activation import intents as intent
from constintel.activation import service as activation
from constintel.activation import stores as store
from constintel.activation.sender import activation_step
from constintel.core.clock import parse_timestamp
from constintel.core.errors import ConstIntelError
from constintel.profiles import service as profiles

from .common import BrandOpt, command_group, console, emit, fail, print_json, session_for, state

__all__ = [
    "automations_app",
    "campaigns_app",
    "consent_app",
    "deliveries_app",
    "intents_app",
    "stores_app",
]

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]

automations_app = command_group(
    "Automations: when something happens to a customer, send a message."
)
deliveries_app = command_group("The delivery log, and sending what is due.")
consent_app = command_group("Customers' consent per channel.")
campaigns_app = command_group("One-off or scheduled sends to an audience.")
intents_app = command_group("Product intent: who wants what.")
stores_app = command_group("Store visits, in-store alerts and store webhooks.")


def _json_arg(value: str, name: str) -> Any:
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise fail(f"{name}: not valid JSON: {exc}", 2) from exc


def _profile_id(
    session: Any, brand: Any, email: str | None, phone: str | None, pid: str | None
) -> str:
    given = [(k, v) for k, v in (("email", email), ("phone", phone), ("id", pid)) if v]
    if len(given) != 1:
        raise fail("give exactly one of --email, --phone, --id", 2)
    kind, value = given[0]
    if kind == "id":
        return str(profiles.get(session, brand=brand, profile_id=value).id)
    return str(profiles.find_by_identifier(session, brand=brand, kind=kind, value=value).id)


# -- automations ----------------------------------------------------------------------------


@automations_app.command("list")
def automations_list(brand: BrandOpt = None, as_json: JsonOpt = False) -> None:
    """Every automation with its trigger, channel and whether it is on."""
    with session_for(brand) as (session, b):
        rows = autos.list_automations(session, b.id)
    if as_json:
        print_json(
            [{k: (str(v) if isinstance(v, datetime) else v) for k, v in r.items()} for r in rows]
        )
        return
    emit(
        [
            {
                "name": r["name"],
                "enabled": "on" if r["enabled"] else "off",
                "trigger": orjson.dumps(r["trigger"]).decode(),
                "channel": r["action"]["channel"],
                "conditions": len(r["conditions"] or []),
            }
            for r in rows
        ],
        title="Automations",
        columns=["name", "enabled", "trigger", "channel", "conditions"],
        as_json=False,
    )


@automations_app.command("defaults")
def automations_defaults(
    brand: BrandOpt = None,
    enable: Annotated[bool, typer.Option("--enable", help="Switch them on now.")] = False,
) -> None:
    """Add the seed's built-ins (welcome, upsell, VIP, cart abandonment, churn risk,
    post-purchase follow-up); off unless --enable. Existing ones of those names stay."""
    with session_for(brand) as (session, b):
        added = autos.install_defaults(session, b.id, enable=enable)
    console.print(
        f"added {', '.join(added) or 'nothing (all present)'}"
        + (" (enabled)" if enable and added else "")
    )


def _switch(name: str, brand: str | None, on: bool) -> None:
    with session_for(brand) as (session, b):
        try:
            autos.set_enabled(session, b.id, name, on)
        except ConstIntelError as exc:
            raise fail(str(exc)) from exc
    console.print(f"{name}: {'on' if on else 'off'}")


@automations_app.command("enable")
def automations_enable(name: str, brand: BrandOpt = None) -> None:
    """Switch an automation on."""
    _switch(name, brand, True)


@automations_app.command("disable")
def automations_disable(name: str, brand: BrandOpt = None) -> None:
    """Switch an automation off."""
    _switch(name, brand, False)


@automations_app.command("export")
def automations_export(
    file: Annotated[
        Path | None,
        typer.Argument(help="Write here (.yaml/.yml or .json); default stdout as YAML."),
    ] = None,
    brand: BrandOpt = None,
) -> None:
    """Export every automation (to edit, review or copy to another brand)."""
    with session_for(brand) as (session, b):
        specs = activation.export_automations(session, b.id)
    text = (
        orjson.dumps(specs, option=orjson.OPT_INDENT_2).decode()
        if file is not None and file.suffix == ".json"
        else yaml.safe_dump(specs, sort_keys=False, allow_unicode=True)
    )
    if file is None:
        typer.echo(text)
    else:
        file.write_text(text)
        console.print(f"wrote {len(specs)} automations to {file}")


@automations_app.command("import")
def automations_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="YAML or JSON list.")],
    brand: BrandOpt = None,
) -> None:
    """Create or replace automations from a file (all or nothing: the first invalid one is
    reported with its position and field, and none is saved)."""
    try:
        specs = yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        raise fail(f"{file}: not valid YAML/JSON: {exc}", 2) from exc
    with session_for(brand) as (session, b):
        names = activation.import_automations(session, b.id, specs)
    console.print(f"imported {len(names)}: {', '.join(names)}")


# -- deliveries -----------------------------------------------------------------------------


@deliveries_app.command("list")
def deliveries_list(
    status: Annotated[
        str | None, typer.Option(help="pending, deferred, sending, sent, skipped, failed, unknown.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    brand: BrandOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The delivery log, newest first: what was sent to whom, or why not."""
    statuses = ("pending", "deferred", "sending", "sent", "skipped", "failed", "unknown")
    if status is not None and status not in statuses:
        raise fail(f"--status: one of {', '.join(statuses)}", 2)
    with session_for(brand) as (session, b):
        rows = activation.list_deliveries(session, brand_id=b.id, status=status, limit=limit)
    if as_json:
        print_json(
            [
                {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()}
                for r in rows
            ]
        )
        return
    emit(
        [{**r, "created_at": r["created_at"].strftime("%Y-%m-%d %H:%M")} for r in rows],
        title="Deliveries",
        columns=["id", "created_at", "channel", "recipient", "subject", "status", "reason"],
        as_json=False,
    )


@deliveries_app.command("send")
def deliveries_send() -> None:
    """One pass of the activation clock: fire abandoned carts, start scheduled campaigns and
    send what is due (the service and workers do this every second)."""
    engine = state.app().engine
    sent = activation_step(engine)
    console.print(f"sent {sent}")


@deliveries_app.command("retry")
def deliveries_retry(delivery_id: int, brand: BrandOpt = None) -> None:
    """Send a failed, skipped or unknown delivery again (an unknown one may have arrived)."""
    with session_for(brand) as (session, b):
        try:
            activation.retry_delivery(session, brand_id=b.id, delivery_id=delivery_id)
        except ConstIntelError as exc:
            raise fail(str(exc)) from exc
    console.print(f"delivery {delivery_id}: pending")


# -- consent --------------------------------------------------------------------------------


@consent_app.command("set")
def consent_set(
    channel: Annotated[str, typer.Argument(help="email or whatsapp")],
    status: Annotated[str, typer.Argument(help="opted_in or unsubscribed")],
    email: Annotated[str | None, typer.Option()] = None,
    phone: Annotated[str | None, typer.Option()] = None,
    profile_id: Annotated[str | None, typer.Option("--id")] = None,
    brand: BrandOpt = None,
) -> None:
    """Record a customer's consent on a channel (honoured before every send)."""
    with session_for(brand) as (session, b):
        pid = _profile_id(session, b, email, phone, profile_id)
        activation.set_consent(
            session, brand_id=b.id, profile_id=pid, channel=channel, status=status, source="cli"
        )
    console.print(f"{pid}: {channel} {status}")


# -- campaigns ------------------------------------------------------------------------------

AudienceOpt = Annotated[
    str,
    typer.Option("--audience", help='JSON, e.g. \'{"lifecycle": ["at_risk"], "has": ["email"]}\'.'),
]


@campaigns_app.command("preview")
def campaigns_preview(
    audience: AudienceOpt,
    channel: Annotated[str, typer.Option(help="email, whatsapp or webhook.")] = "email",
    brand: BrandOpt = None,
) -> None:
    """How many customers the audience holds, and how many the channel can reach."""
    with session_for(brand) as (session, b):
        counts = camps.preview(
            session, brand_id=b.id, audience=_json_arg(audience, "--audience"), channel=channel
        )
    console.print(f"audience {counts['audience']}, reachable on {channel} {counts['reachable']}")


@campaigns_app.command("create")
def campaigns_create(
    name: str,
    audience: AudienceOpt,
    body: Annotated[str, typer.Option(help="Message template (Jinja2).")],
    subject: Annotated[str | None, typer.Option(help="Email subject template.")] = None,
    channel: Annotated[str, typer.Option()] = "email",
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="Send at this time (ISO-8601 with offset); default: by `campaigns send`.",
        ),
    ] = None,
    attribution_days: Annotated[int, typer.Option(min=1, max=365)] = 7,
    brand: BrandOpt = None,
) -> None:
    """Create a campaign (scheduled with --at, else a draft to send by hand)."""
    when = parse_timestamp(at, "--at") if at else None
    action = {"channel": channel, "subject": subject, "body": body}
    with session_for(brand) as (session, b):
        c = camps.create(
            session,
            brand_id=b.id,
            name=name,
            audience=_json_arg(audience, "--audience"),
            action=action,
            attribution_days=attribution_days,
            scheduled_at=when,
        )
    console.print(f"campaign {c['id']} ({c['status']})")


@campaigns_app.command("send")
def campaigns_send(campaign_id: str, brand: BrandOpt = None) -> None:
    """Queue the campaign's messages now (once per customer, whatever happens)."""
    with session_for(brand) as (_session, b):
        brand_id = b.id
    try:
        n = camps.send(state.app().engine, brand_id=brand_id, campaign_id=campaign_id)
    except ConstIntelError as exc:
        raise fail(str(exc)) from exc
    console.print(f"queued {n} messages; they go out under the delivery rules")


@campaigns_app.command("report")
def campaigns_report(campaign_id: str, brand: BrandOpt = None, as_json: JsonOpt = False) -> None:
    """Sent, deferred, skipped (consent, caps), failed, and revenue from orders placed within
    the attribution window after each send."""
    with session_for(brand) as (session, b):
        try:
            r = camps.report(session, brand_id=b.id, campaign_id=campaign_id)
        except ConstIntelError as exc:
            raise fail(str(exc)) from exc
    if as_json:
        print_json(r)
        return
    for k, v in r.items():
        console.print(f"{k:>20}: {v}")


# -- intents and stores ---------------------------------------------------------------------


@intents_app.command("top")
def intents_top(
    email: Annotated[str | None, typer.Option()] = None,
    phone: Annotated[str | None, typer.Option()] = None,
    profile_id: Annotated[str | None, typer.Option("--id")] = None,
    product: Annotated[str | None, typer.Option(help="Who wants this product most.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 10,
    brand: BrandOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The strongest product intents of a customer, or of a product's customers."""
    with session_for(brand) as (session, b):
        pid = None if product else _profile_id(session, b, email, phone, profile_id)
        rows = intent.top_intents(
            session, brand_id=b.id, profile_id=pid, product_id=product, limit=limit
        )
    emit(
        [{**r, "converted": "yes" if r["converted"] else "no"} for r in rows],
        title="Product intent",
        columns=[
            "profile_id",
            "product_id",
            "score",
            "views",
            "cart_adds",
            "purchases",
            "converted",
        ],
        as_json=as_json,
    ) if not as_json else print_json(
        [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()} for r in rows]
    )


@stores_app.command("alerts")
def stores_alerts(
    store_id: Annotated[str | None, typer.Option("--store")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Acknowledged ones too.")] = False,
    brand: BrandOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Open in-store alerts (newest first)."""
    with session_for(brand) as (session, b):
        rows = store.list_alerts(
            session, brand_id=b.id, store_id=store_id, status=None if all_ else "open"
        )
    if as_json:
        print_json(
            [
                {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()}
                for r in rows
            ]
        )
        return
    emit(
        [{**r, "products": ", ".join(p["product_id"] for p in r["products"])} for r in rows],
        title="In-store alerts",
        columns=["id", "store_id", "customer_profile_id", "products", "status", "created_at"],
        as_json=False,
    )


@stores_app.command("ack")
def stores_ack(
    alert_id: int,
    by: Annotated[str, typer.Option(help="Who handled it.")] = "cli",
    brand: BrandOpt = None,
) -> None:
    """Acknowledge an alert."""
    with session_for(brand) as (session, b):
        store.acknowledge(session, brand_id=b.id, alert_id=alert_id, by=by)
    console.print(f"alert {alert_id}: acknowledged")


@stores_app.command("subscribe")
def stores_subscribe(store_id: str, url: str, brand: BrandOpt = None) -> None:
    """Send the store's alerts to a webhook; prints the secret that signs them."""
    with session_for(brand) as (session, b):
        sub = store.subscribe(session, brand_id=b.id, store_id=store_id, url=url)
    console.print(f"{store_id} -> {url}; signing secret (shown once): {sub['secret']}")
