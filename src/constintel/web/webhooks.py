"""``POST /webhooks/{source}/{brand_id}``: signed deliveries from the platforms.

Order of checks, each before anything is stored: body size (413), brand (404), signature over
the raw bytes (401). A verified body is then parsed and normalized right away, so a malformed
or unknown one is answered with a 4xx naming the field (and kept in ``rejected_payload`` for
``constintel events replay``); a good one is committed to the inbox (``webhooks.inbox``) and
acknowledged. Profiles are resolved from the inbox by the drain, moments later.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Path, Request
from pydantic import BaseModel
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from constintel.core.clock import utcnow
from constintel.core.errors import PayloadError
from constintel.pipeline import Envelope, check
from constintel.web.deps import runtime
from constintel.web.problems import problem, responses
from constintel.web.runtime import Runtime, WebhookBrand
from constintel.webhooks import signatures
from constintel.webhooks.inbox import Delivery, Rejected

__all__ = ["answer_delivery", "delivery_path", "router"]

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks", tags=["webhooks"])

ERRORS = responses(
    e400="The body is not JSON (kept for replay).",
    e401="Missing or wrong signature; nothing was stored.",
    e404="No such brand.",
    e413="Body over the size limit.",
    e422="Unknown or invalid payload (kept for replay).",
    e503="The database could not store it; retry.",
)


OUTCOMES = {
    400: "malformed",
    401: "unauthorized",
    404: "unknown_brand",
    413: "too_large",
    422: "invalid",
    503: "unavailable",
}


class Accepted(BaseModel):
    status: str  # "accepted" | "duplicate" | "ping" | "ignored"
    delivery_id: str | None = None


BrandId = Annotated[str, Path(description="The brand id printed by `constintel brands create`.")]


class _TooLarge(Exception):
    pass


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _verified(source: str, request: Request, body: bytes, brand: WebhookBrand) -> bool:
    live = brand.live(source)
    h = request.headers
    if source == "shopify":
        header = h.get("x-shopify-hmac-sha256") or h.get("shopify-hmac-sha256")
        return signatures.verify_base64(
            header, signatures.body_macs([s.secret for s in live], body)
        )
    if source == "woocommerce":
        return signatures.verify_base64(
            h.get("x-wc-webhook-signature"), signatures.body_macs([s.secret for s in live], body)
        )
    if source == "square":
        pairs = [(s.secret, s.notification_url or str(request.url)) for s in live]
        return signatures.verify_base64(
            h.get("x-square-hmacsha256-signature"), signatures.square_macs(pairs, body)
        )
    return signatures.verify_pos(
        h.get("x-constintel-signature"),
        h.get("x-constintel-timestamp"),
        [s.secret for s in live],
        body,
        time.time(),
    )


def _topic_and_delivery(
    source: str, request: Request, payload: Any, body: bytes
) -> tuple[str | None, str]:
    h = request.headers
    topic: str | None
    delivery: str | None
    if source == "shopify":
        topic = h.get("x-shopify-topic") or h.get("shopify-topic")
        delivery = h.get("x-shopify-webhook-id") or h.get("shopify-webhook-id")
    elif source == "woocommerce":
        topic = h.get("x-wc-webhook-topic")
        delivery = h.get("x-wc-webhook-delivery-id")
    elif source == "square":
        topic = None  # the body's "type" decides
        delivery = payload.get("event_id") if isinstance(payload, dict) else None
    else:
        topic = h.get("x-constintel-topic")
        delivery = h.get("x-constintel-delivery-id")
    if not delivery:  # no idempotency key from the sender: the body itself is the key
        delivery = "sha256:" + hashlib.sha256(body).hexdigest()
    return topic, str(delivery)[:200]


SOURCES = frozenset({"shopify", "woocommerce", "square", "pos"})


def delivery_path(scope: Scope) -> tuple[str, str] | None:
    """(source, brand id) when ``scope`` is ``POST /webhooks/{source}/{brand_id}``."""
    if scope["type"] == "http" and scope["method"] == "POST":
        parts = scope["path"].split("/")
        if len(parts) == 4 and parts[1] == "webhooks" and parts[2] in SOURCES and parts[3]:
            return parts[2], parts[3]
    return None


async def answer_delivery(
    app: ASGIApp, source: str, brand_id: str, scope: Scope, receive: Receive, send: Send
) -> None:
    """Answer one delivery in full, ahead of the application's middleware and routing (see
    ``web.app.Service``). An unexpected error is logged and answered 500 as problem+json."""
    scope["app"] = app  # what Request.app, and so runtime(request), reads
    request = Request(scope, receive)
    try:
        response = await _receive(request, brand_id, source)
    except ClientDisconnect:  # the sender went away mid-body: nobody to answer
        return
    except Exception:
        log.exception("webhook delivery to %s/%s failed", source, brand_id)
        response = problem(
            500,
            "Internal error",
            "the delivery may not have been stored; send it again (a redelivery is recognized)",
        )
    await response(scope, receive, send)


async def _receive(request: Request, brand_id: str, source: str) -> Response:
    started = time.perf_counter()
    response = await _handle(request, brand_id, source)
    metrics = runtime(request).metrics
    outcome = response.headers.get("x-constintel-outcome") or OUTCOMES.get(
        response.status_code, str(response.status_code)
    )
    metrics.deliveries.labels(source, outcome).inc()
    metrics.latency.labels(source).observe(time.perf_counter() - started)
    return response


async def _handle(request: Request, brand_id: str, source: str) -> Response:
    rt: Runtime = runtime(request)
    try:
        body = await _body(request, rt.app.settings.max_body_bytes)
    except _TooLarge:
        limit = rt.app.settings.max_body_bytes
        return problem(413, "Payload too large", f"the body is over the {limit}-byte limit")
    brands = rt.webhook_brands
    brand = brands.cached(brand_id) or await brands.fetch(brand_id)
    if brand is None:
        return problem(404, "Not found", f"no brand {brand_id}")
    if source == "woocommerce" and body.startswith(b"webhook_id="):
        # WooCommerce pings a new webhook with a form-encoded body: answer, store nothing.
        return _ok(Accepted(status="ping"))
    if not _verified(source, request, body, brand):
        fresh = await brands.fetch(brand_id) if brands.may_refresh(brand_id) else None
        if fresh is None or not _verified(source, request, body, fresh):
            return problem(
                401,
                "Unauthorized",
                f"the {source} signature is missing or does not match this brand's secret; "
                "nothing was stored",
            )
        brand = fresh
    received_at = utcnow()
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        await _reject(
            rt, brand_id, source, None, body, "body", f"not valid JSON: {exc}", received_at
        )
        return problem(
            400,
            "Malformed JSON",
            f"the body is not valid JSON: {exc}",
            [{"field": "body", "reason": str(exc)}],
        )
    topic, delivery_id = _topic_and_delivery(source, request, payload, body)
    if (
        source == "square"
        and isinstance(payload, dict)
        and payload.get("type") == "webhooks.test_notification"
    ):
        return _ok(Accepted(status="ignored", delivery_id=delivery_id))
    envelope = Envelope(source, topic, payload, received_at=received_at)
    try:
        check(envelope, brand.ctx)
    except PayloadError as exc:
        await _reject(rt, brand_id, source, topic, body, exc.field, exc.reason, received_at)
        return problem(
            422,
            "Invalid payload",
            f"{exc} (kept; `constintel events replay` re-processes it after a fix)",
            [{"field": exc.field, "reason": exc.reason}],
        )
    try:
        new = await rt.committer.store(
            Delivery(brand_id, source, topic, delivery_id, body.decode(), received_at)
        )
    except Exception:
        return problem(
            503,
            "Unavailable",
            "the delivery could not be stored; retry",
            headers={"Retry-After": "5"},
        )
    return _ok(Accepted(status="accepted" if new else "duplicate", delivery_id=delivery_id))


def _ok(accepted: Accepted) -> Response:
    return Response(
        accepted.model_dump_json(),
        media_type="application/json",
        headers={"x-constintel-outcome": accepted.status},
    )


async def _reject(
    rt: Runtime,
    brand_id: str,
    source: str,
    topic: str | None,
    body: bytes,
    field: str,
    reason: str,
    received_at: Any,
) -> None:
    await rt.committer.store(
        Rejected(
            brand_id,
            source,
            topic,
            body.decode("utf-8", errors="replace"),
            field,
            reason,
            f"webhook:{source}",
            received_at,
        )
    )


@router.post("/shopify/{brand_id}", response_model=Accepted, responses=ERRORS)
async def shopify(
    request: Request,
    brand_id: BrandId,
    x_shopify_hmac_sha256: Annotated[
        str | None,
        Header(description="base64 HMAC-SHA256 of the body (also accepted without the X- prefix)."),
    ] = None,
    x_shopify_topic: Annotated[str | None, Header(description="e.g. orders/create")] = None,
    x_shopify_webhook_id: Annotated[
        str | None, Header(description="Delivery id; redeliveries are stored once.")
    ] = None,
) -> Response:
    """A Shopify webhook (orders/create, orders/paid, orders/updated, orders/cancelled,
    refunds/create)."""
    return await _receive(request, brand_id, "shopify")


@router.post("/woocommerce/{brand_id}", response_model=Accepted, responses=ERRORS)
async def woocommerce(
    request: Request,
    brand_id: BrandId,
    x_wc_webhook_signature: Annotated[
        str | None, Header(description="base64 HMAC-SHA256 of the body.")
    ] = None,
    x_wc_webhook_topic: Annotated[str | None, Header(description="e.g. order.created")] = None,
    x_wc_webhook_delivery_id: Annotated[
        str | None, Header(description="Delivery id; redeliveries are stored once.")
    ] = None,
) -> Response:
    """A WooCommerce webhook (order.created, order.updated, ...); the form-encoded ping sent
    when a webhook is saved is answered with ``{"status": "ping"}``."""
    return await _receive(request, brand_id, "woocommerce")


@router.post("/square/{brand_id}", response_model=Accepted, responses=ERRORS)
async def square(
    request: Request,
    brand_id: BrandId,
    x_square_hmacsha256_signature: Annotated[
        str | None, Header(description="base64 HMAC-SHA256 of notification URL + body.")
    ] = None,
) -> Response:
    """A Square webhook (payment.*, refund.*, customer.*); deduplicated on ``event_id``. The
    notification URL is the one set with `brands set-secret --notification-url`, else this
    request's URL."""
    return await _receive(request, brand_id, "square")


@router.post("/pos/{brand_id}", response_model=Accepted, responses=ERRORS)
async def pos(
    request: Request,
    brand_id: BrandId,
    x_constintel_timestamp: Annotated[
        str | None, Header(description="Unix seconds; at most 5 minutes from now.")
    ] = None,
    x_constintel_signature: Annotated[
        str | None, Header(description='"v1=" + hex HMAC-SHA256(secret, timestamp + "." + body).')
    ] = None,
    x_constintel_delivery_id: Annotated[
        str | None, Header(description="Optional idempotency key (else the body hash).")
    ] = None,
    x_constintel_topic: Annotated[str | None, Header(description="Optional topic.")] = None,
) -> Response:
    """A POS transaction (the seed's payload), signed with ConstIntel's own scheme."""
    return await _receive(request, brand_id, "pos")
