"""What a running service holds: the engine, the inbox writer and drain, and a short-lived
cache of each brand's webhook secrets."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from constintel.activation.sender import activation_step
from constintel.bootstrap import App
from constintel.brands import credentials
from constintel.brands import service as brands
from constintel.core.clock import utcnow
from constintel.core.errors import NotFoundError
from constintel.core.pump import Pump
from constintel.db.session import transaction
from constintel.pipeline import BrandContext
from constintel.predictions.service import refit_due
from constintel.profiles.cache import NoCache, ProfileCache, RedisProfileCache
from constintel.streams import dispatcher, relay
from constintel.streams.redis_io import StreamNames, connect
from constintel.webhooks.inbox import GroupCommitter, drainer

__all__ = ["LiveSecret", "Runtime", "WebhookBrand", "WebhookBrands"]


@dataclass(frozen=True, slots=True)
class LiveSecret:
    secret: str
    notification_url: str | None
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class WebhookBrand:
    ctx: BrandContext
    secrets: Mapping[str, tuple[LiveSecret, ...]]
    loaded_at: float

    def live(self, source: str) -> list[LiveSecret]:
        now = utcnow()
        return [
            s for s in self.secrets.get(source, ()) if s.expires_at is None or s.expires_at > now
        ]


class WebhookBrands:
    """Brand context and secrets per brand id, re-read after ``ttl`` seconds, or at once
    (at most once a second) when a signature fails, so a newly set secret works right away.

    Requests that find the entry expired share one re-read (``fetch``): when it expired under
    load, every request in flight used to read the brand for itself."""

    def __init__(self, engine: Engine, ttl: float) -> None:
        self.engine = engine
        self.ttl = ttl
        self._cache: dict[str, WebhookBrand] = {}
        self._lock = threading.Lock()
        self._loading: dict[str, asyncio.Future[WebhookBrand | None]] = {}

    def cached(self, brand_id: str) -> WebhookBrand | None:
        entry = self._cache.get(brand_id)
        if entry is not None and time.monotonic() - entry.loaded_at < self.ttl:
            return entry
        return None

    async def fetch(self, brand_id: str) -> WebhookBrand | None:
        """``load`` in a worker thread, one at a time per brand: the requests that arrive
        while it runs wait for the same result."""
        loading = self._loading.get(brand_id)
        if loading is None:
            loading = asyncio.ensure_future(run_in_threadpool(self.load, brand_id))
            self._loading[brand_id] = loading
            loading.add_done_callback(lambda _: self._loading.pop(brand_id, None))
        return await asyncio.shield(loading)

    def may_refresh(self, brand_id: str) -> bool:
        entry = self._cache.get(brand_id)
        return entry is None or time.monotonic() - entry.loaded_at >= 1.0

    def load(self, brand_id: str) -> WebhookBrand | None:
        """Read the brand (None if there is no such brand) and cache it."""
        with transaction(self.engine) as session:
            try:
                brand = brands.get(session, ref=brand_id)
            except NotFoundError:
                return None
            if brand.id != brand_id:  # a name is not a webhook address
                return None
            by_source: dict[str, list[LiveSecret]] = {}
            for row in credentials.live_secrets(session, brand_id=brand.id):
                by_source.setdefault(row.source, []).append(
                    LiveSecret(row.secret, row.notification_url, row.expires_at)
                )
            entry = WebhookBrand(
                BrandContext.of(brand),
                {k: tuple(v) for k, v in by_source.items()},
                time.monotonic(),
            )
        with self._lock:
            self._cache[brand_id] = entry
        return entry


@dataclass
class Runtime:
    app: App
    committer: GroupCommitter
    drain: Pump
    webhook_brands: WebhookBrands
    names: StreamNames
    redis: Any | None = None  # one client (and its connection pool) for the whole process
    outbox: Pump | None = None
    cache: ProfileCache = field(default_factory=NoCache)
    metrics: Any = None  # web.metrics.Metrics, set by create()
    refits: Pump | None = None  # scheduled refits of the prediction models
    activation: Pump | None = None  # embedded mode: carts, scheduled campaigns, the sender

    @classmethod
    def create(cls, app: App) -> Runtime:
        settings = app.settings
        client = connect(settings.redis_url) if settings.redis_url else None
        names = StreamNames(settings.stream_prefix)
        pump = outbox_pump(app, client) if settings.serve_outbox else None
        drain = drainer(app.engine, on_drained=pump.wake if pump else None)
        committer = GroupCommitter(
            app.engine, on_commit=drain.wake, writers=app.settings.inbox_writers
        )
        brands = WebhookBrands(app.engine, app.settings.webhook_cache_seconds)
        cache: ProfileCache = NoCache()
        if client is not None:
            cache = RedisProfileCache(client, settings.stream_prefix)
        rt = cls(app, committer, drain, brands, names, redis=client, outbox=pump, cache=cache)
        rt.refits = refit_pump(app)
        if client is None and settings.serve_outbox:
            rt.activation = Pump("activation", lambda: activation_step(app.engine), interval=1.0)
        from constintel.web.metrics import Metrics  # metrics collect from the runtime

        rt.metrics = Metrics(rt)
        return rt

    def start(self) -> None:
        if self.activation is not None:
            self.activation.start()
        if self.refits is not None:
            self.refits.start()
            self.refits.wake()  # look at once: a brand never fitted gets its model now
        if self.outbox is not None:
            self.outbox.start()
        if self.app.settings.serve_drain:
            self.drain.start()
        self.committer.start()

    def stop(self) -> None:
        self.committer.stop()
        self.drain.stop()
        if self.outbox is not None:
            self.outbox.stop()
        if self.refits is not None:
            self.refits.stop()
        if self.activation is not None:
            self.activation.stop()


def refit_pump(app: App) -> Pump | None:
    """Refits each brand's prediction models every ``predict_refit_hours`` (looking every 5
    minutes at most); None when scheduled refits are off (0)."""
    s = app.settings
    if s.predict_refit_hours <= 0:
        return None
    every = timedelta(hours=s.predict_refit_hours)
    return Pump(
        "predict-refit",
        lambda: refit_due(
            app.engine,
            every=every,
            horizon_months=s.predict_horizon_months,
            annual_discount_rate=s.predict_discount_rate,
        ),
        interval=min(300.0, every.total_seconds()),
    )


def outbox_pump(app: App, client: Any | None) -> Pump:
    """Publishes the outbox: to Redis Streams through ``client`` (None: no Redis configured),
    else straight to the in-process handlers (the embedded mode)."""
    if client is not None:
        names = StreamNames(app.settings.stream_prefix)
        return relay.pump(app.engine, client, names, interval=0.2, name="outbox-relay")
    return dispatcher.pump(app.engine, interval=0.2, name="outbox-dispatch")
