"""Webhook signature schemes, as each platform documents them (pure functions).

Every check runs over the raw request body, byte for byte (never a re-serialized JSON), and
compares in constant time. Each takes the brand's live secrets (current plus those still in
their rotation grace period) and accepts a signature made with any of them.

- Shopify: ``X-Shopify-Hmac-Sha256`` (or ``Shopify-Hmac-Sha256``) =
  base64(HMAC-SHA256(secret, body)).
- WooCommerce: ``X-WC-Webhook-Signature`` = base64(HMAC-SHA256(secret, body)).
- Square: ``x-square-hmacsha256-signature`` = base64(HMAC-SHA256(key, notification_url + body)).
- POS (ours): ``X-ConstIntel-Timestamp`` = Unix seconds and ``X-ConstIntel-Signature`` =
  ``v1=`` + hex(HMAC-SHA256(secret, timestamp + "." + body)); a timestamp more than
  ``POS_TOLERANCE`` away from now is refused, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

__all__ = [
    "POS_TOLERANCE_SECONDS",
    "body_macs",
    "pos_signature",
    "shopify_signature",
    "square_macs",
    "square_signature",
    "verify_base64",
    "verify_pos",
]

POS_TOLERANCE_SECONDS = 300


def _mac(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def shopify_signature(secret: str, body: bytes) -> str:
    """Also WooCommerce's scheme."""
    return base64.b64encode(_mac(secret, body)).decode()


def square_signature(secret: str, notification_url: str, body: bytes) -> str:
    return base64.b64encode(_mac(secret, notification_url.encode() + body)).decode()


def pos_signature(secret: str, timestamp: int, body: bytes) -> str:
    return "v1=" + _mac(secret, str(timestamp).encode() + b"." + body).hex()


def verify_base64(header: str | None, macs: Iterable[bytes]) -> bool:
    """Whether the base64 ``header`` equals one of the expected MACs."""
    if not header:
        return False
    try:
        given = base64.b64decode(header.strip(), validate=True)
    except ValueError:
        return False
    # Compare against every candidate (no early exit), so timing says nothing about which.
    ok = False
    for mac in macs:
        ok |= hmac.compare_digest(given, mac)
    return ok


def body_macs(secrets: Iterable[str], body: bytes) -> list[bytes]:
    return [_mac(secret, body) for secret in secrets]


def square_macs(secrets: Iterable[tuple[str, str]], body: bytes) -> list[bytes]:
    """``secrets``: (signature key, notification URL) pairs."""
    return [_mac(key, url.encode() + body) for key, url in secrets]


def verify_pos(
    signature: str | None, timestamp: str | None, secrets: Iterable[str], body: bytes, now: float
) -> bool:
    if not signature or not timestamp or not signature.startswith("v1="):
        return False
    try:
        ts = int(timestamp)
        given = bytes.fromhex(signature[3:])
    except ValueError:
        return False
    if abs(now - ts) > POS_TOLERANCE_SECONDS:
        return False
    message = timestamp.encode() + b"." + body
    ok = False
    for secret in secrets:
        ok |= hmac.compare_digest(given, _mac(secret, message))
    return ok
