"""``constintel serve``: the HTTP service on uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from constintel.core.errors import ConstIntelError

from .common import console, fail, run_until_stopped, state

__all__ = ["drain", "serve"]


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Processes (PostgreSQL; SQLite wants one).")
    ] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    drain: Annotated[
        bool,
        typer.Option(
            envvar="CONSTINTEL_SERVE_DRAIN",
            help="Resolve stored webhook deliveries in this process; with --no-drain run "
            "`constintel drain` beside it (production).",
        ),
    ] = True,
) -> None:
    """Serve webhooks and the REST API (OpenAPI at /docs). Uses $CONSTINTEL_DATABASE_URL:
    the SQLite file by default, PostgreSQL in production (several replicas may share it)."""
    import os

    import uvicorn

    try:
        app = state.app()  # checks (and on SQLite migrates) the schema before listening
    except ConstIntelError as exc:
        raise fail(str(exc)) from exc
    os.environ["CONSTINTEL_DATABASE_URL"] = app.settings.database_url
    os.environ["CONSTINTEL_SERVE_DRAIN"] = "true" if drain else "false"
    backend = app.engine.url.get_backend_name()
    console.print(f"ConstIntel on http://{host}:{port} ({backend}; API docs at /docs)")
    uvicorn.run(
        "constintel.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=access_log,
    )


def drain(
    interval: Annotated[
        float, typer.Option(min=0.01, help="Seconds between looks at the inbox when idle.")
    ] = 0.05,
    outbox: Annotated[
        bool,
        typer.Option(
            help="Also publish the outbox right after each drained batch (relay to Redis with "
            "CONSTINTEL_REDIS_URL, else the in-process handlers)."
        ),
    ] = True,
) -> None:
    """Resolve stored webhook deliveries into profiles, continuously (beside
    `constintel serve --no-drain`; several may run at once on PostgreSQL). Ctrl-C stops."""
    from constintel.core import heap
    from constintel.streams.redis_io import connect
    from constintel.web.runtime import outbox_pump
    from constintel.webhooks.inbox import drainer

    try:
        app = state.app()
    except ConstIntelError as exc:
        raise fail(str(exc)) from exc
    client = connect(app.settings.redis_url) if app.settings.redis_url else None
    pump = outbox_pump(app, client) if outbox else None

    def publish() -> None:
        # Right after each drained batch, in the drain's own thread: the batch's messages go
        # out now instead of waiting for the relay thread to get the interpreter back.
        # A failure (Redis down) never holds the drain back: the relay thread retries.
        assert pump is not None
        try:
            pump.run_until_done()
        except Exception:
            pump.wake()

    inbox = drainer(app.engine, interval=interval, on_drained=publish if pump else None)
    heap.settle()
    console.print(f"draining the webhook inbox every {interval} s when idle; Ctrl-C stops")
    run_until_stopped([inbox] if pump is None else [pump, inbox])
