"""The FastAPI application: routes, problem+json errors, and the runtime's lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from constintel import __version__
from constintel.bootstrap import App, bootstrap
from constintel.core import heap
from constintel.dashboard import routes as dashboard
from constintel.web import activation_api, api, health, metrics, problems, webhooks
from constintel.web.runtime import Runtime

STATIC = Path(__file__).resolve().parent / "static"

__all__ = ["Service", "create_app"]

DESCRIPTION = """\
Signed webhooks from Shopify, WooCommerce, Square and any POS, and the profile API.

Authenticate API calls with the brand's key: `Authorization: Bearer <key>` (or `X-API-Key`).
`constintel brands create NAME` prints the key and the webhook secrets. Errors are
`application/problem+json` with `errors: [{field, reason}]`.
"""


class Service(FastAPI):
    """The FastAPI application, with one shortcut: ``POST /webhooks/{source}/{brand_id}`` is
    answered before the middleware stack and the router (``webhooks.answer_delivery``).

    A delivery needs none of what they do for it: it reads its own headers and raw body and
    answers every outcome itself. At 1,000 deliveries/s the layers FastAPI puts around every
    request (server errors, exception telemetry, the body limit) were about a tenth of the
    server's CPU, after routing and dependency solving had been skipped already.
    The routes stay, for the OpenAPI document."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = webhooks.delivery_path(scope)
        if target is None:
            await super().__call__(scope, receive, send)
        else:
            await webhooks.answer_delivery(self, *target, scope, receive, send)


def create_app(app: App | None = None) -> FastAPI:
    """The service for ``app`` (by default, bootstrapped from the environment)."""
    rt = Runtime.create(app or bootstrap())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        heap.settle()  # see core.heap
        rt.start()
        try:
            yield
        finally:
            rt.stop()

    web = Service(
        title="ConstIntel",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    web.state.runtime = rt
    problems.install(web)
    web.include_router(health.router)
    web.include_router(metrics.router)
    web.include_router(webhooks.router)
    web.include_router(api.router)
    web.include_router(activation_api.router)
    web.include_router(dashboard.router)
    web.add_exception_handler(dashboard.LoginRequired, dashboard.login_required)
    web.mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static")
    return web
