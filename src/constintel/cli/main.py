"""``constintel``: the command line. Each group lives in its own module; this one assembles."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.exc import OperationalError

from constintel import __version__
from constintel.core.errors import ConstIntelError
from constintel.db import migrate

from .activation import (
    automations_app,
    campaigns_app,
    consent_app,
    deliveries_app,
    intents_app,
    stores_app,
)
from .brands import brands_app
from .common import MARKUP_MODE, command_group, console, err, fail, state
from .ingest import generate_orders, import_files
from .predict import predict_app
from .profiles import events_app, profiles_app, review_app, stats_app
from .serve import drain, serve
from .streams import relay, streams_app, worker

__all__ = ["app", "run"]

app = typer.Typer(
    help="ConstIntel: every order and transaction resolved to one exact customer profile.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=MARKUP_MODE,
)
db_app = command_group("Database schema.")


@app.callback()
def main(
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="CONSTINTEL_DATABASE_URL",
            help="sqlite:///file.db (default: sqlite:///constintel.db) or postgresql://user@host/db.",
        ),
    ] = None,
) -> None:
    state.database_url = database_url
    state._app = None


@app.command()
def version() -> None:
    """Print the version."""
    console.print(__version__)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the latest schema (needed once per release on PostgreSQL;
    SQLite is migrated automatically)."""
    try:
        engine = state.engine_unchecked()
        migrate.upgrade(engine)
        console.print(f"schema at {migrate.current_revision(engine)}")
    except ConstIntelError as exc:
        raise fail(str(exc)) from exc


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the database and of the code."""
    engine = state.engine_unchecked()
    console.print(
        f"database: {migrate.current_revision(engine)}  code: {migrate.head_revision(engine)}"
    )


app.command("import")(import_files)
app.command("generate-orders")(generate_orders)
app.command("serve")(serve)
app.command("drain")(drain)
app.command("relay")(relay)
app.command("worker")(worker)
app.add_typer(streams_app, name="streams")
app.add_typer(profiles_app, name="profiles")
app.add_typer(review_app, name="review")
app.add_typer(events_app, name="events")
app.add_typer(stats_app, name="stats")
app.add_typer(predict_app, name="predict")
app.add_typer(automations_app, name="automations")
app.add_typer(deliveries_app, name="deliveries")
app.add_typer(consent_app, name="consent")
app.add_typer(campaigns_app, name="campaigns")
app.add_typer(intents_app, name="intents")
app.add_typer(stores_app, name="stores")
app.add_typer(db_app, name="db")
app.add_typer(brands_app, name="brands")


def run() -> None:
    """The console entry point: the app, with database connection failures reported in one
    line instead of a traceback."""
    try:
        app()
    except OperationalError as exc:
        err.print(f"[bold red]error:[/] cannot use the database: {exc.orig or exc}")
        raise SystemExit(1) from None
