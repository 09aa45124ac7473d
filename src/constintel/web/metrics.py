"""``GET /metrics``: Prometheus metrics of this process, plus gauges read at scrape time from
the database (outbox backlog, webhook inbox) and Redis (consumer lag, pending, dead letters)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.responses import Response

from constintel.streams.handlers import HANDLERS
from constintel.streams.outbox import STREAMS
from constintel.streams.redis_io import dead_letters, group_states
from constintel.streams.relay import backlog
from constintel.web.deps import runtime
from constintel.web.runtime import Runtime
from constintel.webhooks.inbox import pending

__all__ = ["Metrics", "router"]

router = APIRouter(tags=["health"])


class _Backlogs(Collector):
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def collect(self) -> Iterator[Any]:
        engine = self.rt.app.engine
        yield GaugeMetricFamily(
            "constintel_outbox_backlog", "Outbox messages not yet published", value=backlog(engine)
        )
        yield GaugeMetricFamily(
            "constintel_inbox_backlog", "Webhook deliveries not yet resolved", value=pending(engine)
        )
        client, names = self.rt.redis, self.rt.names
        if client is None:
            return
        lag = GaugeMetricFamily(
            "constintel_consumer_lag", "Entries not yet read by a group", labels=["stream", "group"]
        )
        waiting = GaugeMetricFamily(
            "constintel_consumer_pending",
            "Entries read but not acknowledged",
            labels=["stream", "group"],
        )
        dead = GaugeMetricFamily(
            "constintel_dead_letters", "Messages in dead-letter streams", labels=["group"]
        )
        for row in group_states(client, names, STREAMS):
            if row["group"] in HANDLERS:
                lag.add_metric([row["stream"], row["group"]], row["lag"] or 0)
                waiting.add_metric([row["stream"], row["group"]], row["pending"] or 0)
        for group, count in dead_letters(client, names, HANDLERS).items():
            dead.add_metric([group], count)
        yield lag
        yield waiting
        yield dead


class Metrics:
    """This process's metrics registry."""

    def __init__(self, rt: Runtime) -> None:
        self.registry = CollectorRegistry()
        self.deliveries = Counter(
            "constintel_webhook_deliveries",
            "Webhook deliveries by source and outcome",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "constintel_webhook_seconds",
            "Time to accept a webhook delivery (verified, normalized and durably stored)",
            ["source"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.events = Counter(
            "constintel_events_ingested",
            "Events through the write path by source and outcome (API and webhook drain)",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.registry.register(_Backlogs(rt))


@router.head("/metrics", include_in_schema=False)
@router.get("/metrics", include_in_schema=True, response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus text format."""
    registry = runtime(request).metrics.registry
    body = await run_in_threadpool(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
