"""``constintel brands``: tenants and their credentials."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import orjson
import typer
from pydantic import ValidationError
from rich.table import Table
from sqlalchemy import select

from constintel.brands import credentials
from constintel.brands import service as brands
from constintel.brands.models import Brand
from constintel.brands.settings import BrandSettings
from constintel.core.errors import ConstIntelError
from constintel.db.session import transaction

from .common import command_group, console, fail, print_json, state

__all__ = ["brands_app"]

brands_app = command_group("Brands (tenants) and their credentials.")

SETUP = {
    "shopify": "Shopify admin > Settings > Notifications > Webhooks (or your app's secret)",
    "woocommerce": "WooCommerce > Settings > Advanced > Webhooks > Secret",
    "square": "Square Developer > Webhooks: set the signature key Square shows with "
    "`brands set-secret --source square --secret KEY --notification-url URL`",
    "pos": "your POS integration (X-ConstIntel-Signature, see the README)",
}


@brands_app.command("create")
def brands_create(
    name: str,
    region: Annotated[str, typer.Option(help="Default phone region, ISO 3166 alpha-2.")] = "US",
    currency: Annotated[str, typer.Option(help="Reporting currency, ISO 4217.")] = "USD",
    timezone: Annotated[
        str,
        typer.Option(help="IANA time zone of the brand's days (dashboard, quiet hours)."),
    ] = "UTC",
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a brand; print its id, an API key (shown only now) and a webhook secret per
    platform, with the webhook address to paste into each."""
    try:
        with transaction(state.app().engine) as session:
            brand = brands.create(
                session, name=name, default_region=region, currency=currency, timezone=timezone
            )
            key = credentials.issue_key(session, brand_id=brand.id)
            secrets = {
                source: credentials.set_secret(session, brand_id=brand.id, source=source).secret
                for source in credentials.WEBHOOK_SOURCES
            }
    except ConstIntelError as exc:
        raise fail(str(exc)) from exc
    if json:
        print_json({"id": brand.id, "name": brand.name, "api_key": key.key, "secrets": secrets})
        return
    # Plain lines, never wrapped or cut to the terminal's width: the key and the secrets are
    # shown this once, and must survive a narrow terminal or a pipe intact.
    lines = [
        f"brand {brand.name}: id {brand.id}",
        f"API key (shown once; store it now): {key.key}",
    ]
    for source, secret in secrets.items():
        lines += [
            "",
            source,
            f"  webhook address  /webhooks/{source}/{brand.id}",
            f"  secret           {secret}",
            f"  where it goes    {SETUP[source]}",
        ]
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


@brands_app.command("list")
def brands_list() -> None:
    """List brands."""
    with transaction(state.app().engine) as session:
        rows = session.scalars(select(Brand).order_by(Brand.created_at)).all()
        table = Table("id", "name", "region", "currency", "timezone")
        for b in rows:
            table.add_row(b.id, b.name, b.default_region, b.currency, b.timezone)
    console.print(table)


@brands_app.command("rotate-key")
def brands_rotate_key(brand: Annotated[str, typer.Argument(help="Brand name or id.")]) -> None:
    """Issue a new API key; every earlier key of the brand stops working at once."""
    try:
        with transaction(state.app().engine) as session:
            row = brands.get(session, ref=brand)
            key = credentials.rotate_key(session, brand_id=row.id)
    except ConstIntelError as exc:
        raise fail(str(exc)) from exc
    console.print(f"new API key for {row.name} (shown once): [bold]{key.key}[/]")


@brands_app.command("set-secret")
def brands_set_secret(
    brand: Annotated[str, typer.Argument(help="Brand name or id.")],
    source: Annotated[str, typer.Option(help="shopify, woocommerce, square or pos.")],
    secret: Annotated[
        str | None, typer.Option(help="The platform's secret (default: generate one).")
    ] = None,
    notification_url: Annotated[
        str | None,
        typer.Option(help="Square only: the notification URL exactly as registered."),
    ] = None,
    grace_minutes: Annotated[
        int, typer.Option(min=0, help="How long the previous secret keeps verifying.")
    ] = 60,
) -> None:
    """Set (rotate) a webhook signing secret; the previous one stays valid for the grace
    period, since platforms switch over gradually (Shopify takes up to an hour)."""
    try:
        with transaction(state.app().engine) as session:
            row = brands.get(session, ref=brand)
            stored = credentials.set_secret(
                session,
                brand_id=row.id,
                source=source,
                secret=secret,
                notification_url=notification_url,
                grace=timedelta(minutes=grace_minutes),
            )
    except ConstIntelError as exc:
        raise fail(str(exc)) from exc
    console.print(f"{source} secret for {row.name}: [bold]{stored.secret}[/]")
    console.print(f"the previous secret keeps verifying for {grace_minutes} minutes")


SECRET_SETTINGS = ("smtp_url", "whatsapp_token", "webhook_secret")


@brands_app.command("settings")
def brands_settings(
    brand: Annotated[str, typer.Argument(help="Brand name or id.")],
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="KEY=VALUE, repeatable, e.g. --set quiet_hours=21:00-08:00 "
            "--set smtp_url=smtp://user:pass@mail:587 --set frequency_cap_per_day=1 "
            "(an empty VALUE resets the key to its default).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show the brand's settings (secrets masked), or change some: every value is validated
    before anything is saved."""
    try:
        with transaction(state.app().engine) as session:
            row = brands.get(session, ref=brand)
            current = dict(row.settings or {})
            for item in set_ or []:
                key, sep, value = item.partition("=")
                if not sep or key not in BrandSettings.model_fields:
                    known = ", ".join(BrandSettings.model_fields)
                    raise fail(f"--set {item!r}: expected KEY=VALUE with KEY one of {known}", 2)
                if value == "":
                    current.pop(key, None)
                else:
                    current[key] = _parse_setting(value)
            try:
                checked = BrandSettings.model_validate(current)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise fail(f"{where}: {first['msg']}", 2) from exc
            if set_:
                row.settings = checked.model_dump(exclude_defaults=True)
    except ConstIntelError as exc:
        raise fail(str(exc)) from exc
    shown = {
        k: ("***" if k in SECRET_SETTINGS and v else v) for k, v in checked.model_dump().items()
    }
    if as_json:
        print_json(shown)
        return
    table = Table("setting", "value", title=f"Settings of {row.name}")
    for k, v in shown.items():
        table.add_row(k, "-" if v is None else str(v))
    console.print(table)


def _parse_setting(value: str) -> object:
    """Numbers, booleans, JSON lists/objects as such; anything else as text."""
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        return value
    return parsed if not isinstance(parsed, str) else value
