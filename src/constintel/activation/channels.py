"""Providers: email over SMTP, WhatsApp through the Cloud API's request format, and signed
outgoing webhooks. Each send raises ``ProviderError`` with ``retryable`` saying whether trying
again later can help (a 5xx, a timeout, a refused connection) or not (a 4xx, a bad address).
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import orjson

from constintel.brands.settings import BrandSettings

__all__ = ["Outgoing", "ProviderError", "send", "sign_webhook"]

TIMEOUT = 10.0


class ProviderError(Exception):
    """``retryable``: nothing was delivered and trying later can help (refused connection, a
    5xx or 429 answer). ``ambiguous``: the provider may have the message (a timeout or a
    dropped connection after it was sent): it must not be sent again automatically."""

    def __init__(self, message: str, *, retryable: bool, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable and not ambiguous
        self.ambiguous = ambiguous


@dataclass(frozen=True, slots=True)
class Outgoing:
    delivery_id: int
    channel: str
    recipient: str
    subject: str | None
    body: str
    extra: dict[str, Any]


def sign_webhook(secret: str, timestamp: int, body: bytes) -> str:
    """``v1=`` + hex HMAC-SHA256 of ``"<timestamp>." + body`` (as our POS webhooks)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def _email(settings: BrandSettings, out: Outgoing) -> None:
    if not settings.smtp_url:
        raise ProviderError("no SMTP server configured (brand setting smtp_url)", retryable=False)
    url = urlsplit(settings.smtp_url)
    msg = EmailMessage()
    msg["From"] = settings.email_from
    msg["To"] = out.recipient
    msg["Subject"] = out.subject or ""
    # Stable per delivery: a receiving system can recognise a message it already has.
    msg["Message-ID"] = make_msgid(idstring=f"delivery-{out.delivery_id}", domain="constintel")
    msg.set_content(out.body)
    context = ssl.create_default_context()  # smtps and STARTTLS verify the server
    try:
        if url.scheme == "smtps":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                url.hostname or "localhost", url.port or 465, timeout=TIMEOUT, context=context
            )
        else:
            smtp = smtplib.SMTP(url.hostname or "localhost", url.port or 25, timeout=TIMEOUT)
    except (OSError, smtplib.SMTPException) as exc:
        raise ProviderError(f"SMTP connect: {exc}", retryable=True) from exc
    with smtp:
        try:
            if url.scheme == "smtp+starttls":
                smtp.starttls(context=context)
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
        except smtplib.SMTPResponseException as exc:
            raise ProviderError(
                f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", retryable=exc.smtp_code < 500
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise ProviderError(f"SMTP: {exc}", retryable=True) from exc
        try:
            smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise ProviderError(f"recipient refused: {exc.recipients}", retryable=False) from exc
        except smtplib.SMTPResponseException as exc:
            raise ProviderError(
                f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", retryable=exc.smtp_code < 500
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise ProviderError(
                f"SMTP during the send: {exc}", retryable=False, ambiguous=True
            ) from exc


def _http(url: str, *, content: bytes, headers: dict[str, str]) -> None:
    try:
        r = httpx.post(url, content=content, headers=headers, timeout=TIMEOUT)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise ProviderError(f"{type(exc).__name__}: {exc}", retryable=True) from exc
    except httpx.HTTPError as exc:  # sent, then no (complete) answer
        raise ProviderError(
            f"{type(exc).__name__}: {exc}", retryable=False, ambiguous=True
        ) from exc
    if r.status_code >= 300:
        raise ProviderError(
            f"HTTP {r.status_code}: {r.text[:200]}",
            retryable=r.status_code >= 500 or r.status_code == 429,
        )


def _whatsapp(settings: BrandSettings, out: Outgoing) -> None:
    if not (settings.whatsapp_base_url and settings.whatsapp_phone_number_id):
        raise ProviderError(
            "no WhatsApp provider configured (whatsapp_base_url, whatsapp_phone_number_id)",
            retryable=False,
        )
    url = f"{settings.whatsapp_base_url.rstrip('/')}/{settings.whatsapp_phone_number_id}/messages"
    payload = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": out.recipient.lstrip("+"),
        "type": "text",
        "text": {"preview_url": False, "body": out.body},
    }
    headers = {"Content-Type": "application/json"}
    if settings.whatsapp_token:
        headers["Authorization"] = f"Bearer {settings.whatsapp_token}"
    _http(url, content=orjson.dumps(payload), headers=headers)


def _webhook(settings: BrandSettings, out: Outgoing) -> None:
    payload = out.extra.get("payload")
    body = orjson.dumps(payload) if payload is not None else out.body.encode()
    ts = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-ConstIntel-Timestamp": str(ts),
        "X-ConstIntel-Delivery": str(out.delivery_id),
    }
    secret = out.extra.get("secret") or settings.webhook_secret
    if secret:
        headers["X-ConstIntel-Signature"] = sign_webhook(secret, ts, body)
    _http(out.recipient, content=body, headers=headers)


def send(settings: BrandSettings, out: Outgoing) -> None:
    {"email": _email, "whatsapp": _whatsapp, "webhook": _webhook}[out.channel](settings, out)
