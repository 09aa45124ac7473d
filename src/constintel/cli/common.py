"""Shared CLI plumbing: global options, the brand, error reporting, JSON output."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Final

import orjson
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from constintel.bootstrap import App, bootstrap
from constintel.brands import service as brands
from constintel.brands.models import Brand
from constintel.core.config import Settings
from constintel.core.errors import ConstIntelError
from constintel.core.pump import Pump
from constintel.db.session import transaction

__all__ = [
    "MARKUP_MODE",
    "BrandOpt",
    "Ctx",
    "command_group",
    "console",
    "emit",
    "err",
    "fail",
    "print_json",
    "run_until_stopped",
    "session_for",
    "state",
]

console = Console()
err = Console(stderr=True)
# Help text as markdown: a docstring's wrapped lines read as one paragraph (Typer's "rich"
# mode keeps each line break, which cut descriptions mid-sentence in the command lists).
MARKUP_MODE: Final = "markdown"


def command_group(help: str) -> typer.Typer:
    """A group of subcommands (``constintel profiles ...``), with the CLI's conventions: help
    rendered as markdown, and the group's help shown when it is run without a command."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=MARKUP_MODE)


BrandOpt = Annotated[
    str | None,
    typer.Option("--brand", help="Brand name or id (default: $CONSTINTEL_BRAND, else 'default')."),
]


@dataclass
class Ctx:
    database_url: str | None = None
    _app: App | None = None

    def settings(self) -> Settings:
        settings = Settings()
        if self.database_url:
            settings = settings.model_copy(update={"database_url": self.database_url})
        return settings

    def app(self) -> App:
        """The application, with the schema checked (SQLite is migrated on first use)."""
        if self._app is None:
            self._app = bootstrap(self.settings())
        return self._app

    def engine_unchecked(self) -> Engine:
        """An engine for schema commands, which must work before the schema does."""
        return bootstrap(self.settings(), check_schema=False).engine


state = Ctx()


def run_until_stopped(pumps: Sequence[Pump]) -> None:
    """Start the background loops, wait for Ctrl-C or SIGTERM, then stop them in reverse."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    for pump in pumps:
        pump.start()
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for pump in reversed(pumps):
            pump.stop()


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


@contextmanager
def session_for(brand_ref: str | None) -> Iterator[tuple[Session, Brand]]:
    """A transaction and the brand (the default brand is created on first use)."""
    try:
        app = state.app()
        with transaction(app.engine) as session:
            brand = brands.get_or_create(session, ref=brand_ref or app.settings.brand)
            yield session, brand
    except ConstIntelError as exc:
        raise fail(str(exc)) from exc


def print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def emit(
    data: Sequence[Mapping[str, Any]], *, title: str, columns: Sequence[str], as_json: bool
) -> None:
    """Rows as JSON (every key), or as a table of ``columns`` (missing values as "-")."""
    if as_json:
        print_json(list(data))
        return
    table = Table(title=title)
    for col in columns:
        table.add_column(col)
    for row in data:
        table.add_row(*(str(row[col]) if row[col] is not None else "-" for col in columns))
    console.print(table)
