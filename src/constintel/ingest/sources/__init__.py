"""Source adapters: pure functions turning one platform payload into a ``CanonicalEvent``.

Contract (every module in this package):

    def normalize(
        payload: Mapping[str, Any], *, topic: str | None = None, received_at: datetime | None = None
    ) -> CanonicalEvent

- ``payload`` is the decoded JSON body (or, for CSV, one row as a dict of strings).
- ``topic`` is the platform's event name when the transport gives one (Shopify
  ``X-Shopify-Topic`` such as ``orders/create``, WooCommerce ``order.updated``, Square's
  ``type`` lives in the body); ``None`` for bare imports.
- Raise ``PayloadError(field, reason)`` naming the dotted field path for bad input, and
  ``UnknownShapeError`` when the payload is not a shape this source knows.
- ``received_at`` is when a live transport (webhook) received the payload; it stands in for a
  missing event time only where a platform may omit one (POS, API). Bulk imports pass None.
- No I/O, no database, no clock reads except as documented (pure and fast: this runs once per
  event on the bulk-import hot path).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from constintel.events.schemas import CanonicalEvent
from constintel.ingest.sources import api, csv_upload, pos, shopify, square, woocommerce

__all__ = ["NORMALIZERS", "Normalizer"]

Normalizer = Callable[..., CanonicalEvent]

NORMALIZERS: Mapping[str, Callable[..., CanonicalEvent]] = {
    "shopify": shopify.normalize,
    "woocommerce": woocommerce.normalize,
    "square": square.normalize,
    "pos": pos.normalize,
    "csv": csv_upload.normalize,
    "api": api.normalize,
}
