"""``constintel import`` and ``constintel generate-orders``."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from constintel.brands import service as brands
from constintel.bulk import importer
from constintel.bulk.reader import FORMATS, detect_format
from constintel.core.clock import utcnow
from constintel.core.config import DEFAULT_BATCH_SIZE
from constintel.core.errors import ConstIntelError, NotFoundError
from constintel.db.session import transaction
from constintel.events.schemas import SOURCES
from constintel.ingest.generator import GeneratorConfig, generate, generate_jsonl
from constintel.pipeline import BatchResult, BrandContext, Envelope

from .common import BrandOpt, console, err, fail, state

__all__ = ["generate_orders", "import_files"]

MAX_ERRORS_SHOWN = 20


def _context(brand_ref: str | None, *, create: bool = False) -> BrandContext:
    app = state.app()
    ref = brand_ref or app.settings.brand
    with transaction(app.engine) as session:
        try:
            brand = brands.get_or_create(session, ref=ref)
        except NotFoundError:
            if not create:
                raise
            brand = brands.create(session, name=ref, brand_id=ref)
        return BrandContext.of(brand)


def _summary(result: BatchResult, seconds: float) -> None:
    table = Table(title="Import summary", show_header=False)
    rate = result.received / seconds if seconds > 0 else 0.0
    for label, value in (
        ("received", result.received),
        ("imported", result.imported),
        ("duplicates (already ingested)", result.duplicates),
        ("unattached (no usable identifier)", result.unattached),
        ("new profiles", result.created_profiles),
        ("merges", result.merges),
        ("queued for review", result.reviews),
        ("rejected", result.rejected),
        ("time", f"{seconds:.1f} s ({rate:,.0f} events/s)"),
    ):
        table.add_row(label, str(value))
    console.print(table)
    for rejection in result.rejections[:MAX_ERRORS_SHOWN]:
        where = rejection.origin or f"line {rejection.line_no}"
        err.print(f"[yellow]rejected[/] {where}: {rejection.field}: {rejection.reason}")
    if result.rejected > MAX_ERRORS_SHOWN:
        err.print(
            f"... and {result.rejected - MAX_ERRORS_SHOWN} more "
            "(all kept with their errors in rejected_payload; `constintel events rejected`)"
        )


def _count_records(files: list[Path], fmt: str | None) -> int | None:
    """Records in line-based files (for the progress bar's total); None if any is JSON."""
    total = 0
    for path in files:
        kind = fmt or detect_format(path)
        if kind == "json":
            return None
        with path.open("rb") as fh:
            total += sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
        if kind == "csv":
            total -= 1  # the header
    return total


def _run_import(
    run: Callable[[Callable[[BatchResult], None]], BatchResult], total: int | None, quiet: bool
) -> BatchResult:
    """``run(on_batch)`` under a progress bar, then the summary."""
    started = time.perf_counter()
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=quiet,
        transient=True,
    ) as progress:
        task = progress.add_task("importing", total=total)

        def on_batch(result: BatchResult) -> None:
            progress.advance(task, result.received)

        result = run(on_batch)
    _summary(result, time.perf_counter() - started)
    return result


def import_files(
    files: Annotated[
        list[Path], typer.Argument(help="JSON, JSONL or CSV files.", exists=True, dir_okay=False)
    ],
    source: Annotated[
        str | None,
        typer.Option(
            help=f"Source of bare payloads (envelope lines name their own): {', '.join(SOURCES)}."
        ),
    ] = None,
    topic: Annotated[
        str | None, typer.Option(help="Topic of bare payloads, e.g. orders/create.")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help=f"Override detection by extension: {', '.join(FORMATS)}."),
    ] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Events per transaction.")
    ] = DEFAULT_BATCH_SIZE,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Processes that normalize large JSONL imports beside the writer "
            "(default: 1 when there is a second core; 0: none).",
        ),
    ] = None,
    brand: BrandOpt = None,
) -> None:
    """Import orders and events from files.

    JSONL lines are envelopes {"source": "shopify", "topic": "orders/create", "payload": {...}}
    (source one of shopify, woocommerce, square, pos, csv, api) or bare payloads with --source.
    CSV files are manual orders (columns: order_id, email, phone, loyalty_id, total, currency,
    ordered_at, status, ...). Bad lines are reported with their line number and kept for replay;
    the rest still imports. Importing the same file twice changes nothing.
    """
    if source is not None and source not in SOURCES:
        raise fail(f"--source must be one of {', '.join(SOURCES)}, got {source!r}", 2)
    try:
        ctx = _context(brand)

        def run(on_batch: Callable[[BatchResult], None]) -> BatchResult:
            return importer.import_files(
                state.app().engine,
                ctx,
                files,
                source=source,
                topic=topic,
                fmt=fmt,
                batch_size=batch_size,
                on_batch=on_batch,
                workers=workers,
            )

        total = None if quiet else _count_records(files, fmt)
        result = _run_import(run, total, quiet)
    except ConstIntelError as exc:
        raise fail(str(exc)) from exc
    if result.imported == 0 and result.rejected > 0:
        raise typer.Exit(1)


def generate_orders(
    orders: Annotated[int, typer.Option(min=1, help="Number of distinct orders.")] = 500,
    days: Annotated[
        int,
        typer.Option(
            min=1,
            help="Days of history, ending today 00:00 UTC (re-runs the same day are idempotent).",
        ),
    ] = 90,
    brand_id: Annotated[
        str | None, typer.Option("--brand-id", help="Brand to ingest into (created if missing).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data.")] = 0,
    output: Annotated[
        Path | None, typer.Option(help="Write envelope JSONL here instead of ingesting.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Generate realistic multi-channel order histories (the seed's "Testing Order Processing").

    The same people buy through Shopify (email), in store (phone + loyalty id), through
    WooCommerce and leave web carts (cookie id); there are returning customers, refunds,
    cancellations, redelivered webhooks, junk and shared family phones, and every formatting of
    phones and emails. Without --output the events are ingested; with it, written as JSONL.
    """
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    config = GeneratorConfig(orders=orders, days=days, seed=seed, end=today)
    if output is not None:
        count = 0
        with output.open("wb") as fh:
            for line in generate_jsonl(config):
                fh.write(line)
                count += 1
        console.print(f"wrote {count:,} envelopes for {orders:,} orders to {output}")
        return
    try:
        ctx = _context(brand_id, create=True)
        envelopes = (
            Envelope(e["source"], e.get("topic"), e["payload"], f"generated:{n}", n)
            for n, e in enumerate(generate(config), start=1)
        )
        _run_import(
            lambda on_batch: importer.import_envelopes(
                state.app().engine, ctx, envelopes, on_batch=on_batch
            ),
            None,
            quiet,
        )
    except ConstIntelError as exc:
        raise fail(str(exc)) from exc
