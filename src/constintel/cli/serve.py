"""``constintel serve``: the HTTP service on uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from constintel.core.errors import ConstIntelError

from .common import console, fail, state

__all__ = ["serve"]


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Processes (PostgreSQL; SQLite wants one).")
    ] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
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
