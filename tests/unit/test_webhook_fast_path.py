"""The webhook shortcut ahead of FastAPI's routing (web.app.Service)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import MutableMapping
from typing import Any

import orjson
import pytest
from fastapi import FastAPI

from constintel.web.webhooks import answer_delivery, delivery_path


def scope(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "headers": [], "query_string": b""}


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/webhooks/shopify/brand-1", ("shopify", "brand-1")),
        ("POST", "/webhooks/pos/b", ("pos", "b")),
        ("GET", "/webhooks/shopify/brand-1", None),  # FastAPI routes the rest
        ("POST", "/webhooks/magento/brand-1", None),
        ("POST", "/webhooks/shopify/", None),
        ("POST", "/webhooks/shopify/brand-1/extra", None),
        ("POST", "/api/webhooks/shopify/brand-1", None),
    ],
)
def test_only_deliveries_take_the_shortcut(
    method: str, path: str, expected: tuple[str, str] | None
) -> None:
    assert delivery_path(scope(method, path)) == expected


def test_an_unexpected_error_is_logged_and_answered_500(caplog: pytest.LogCaptureFixture) -> None:
    app = FastAPI()  # no runtime in its state: the handler fails where no handler expects it
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    with caplog.at_level(logging.ERROR):
        asyncio.run(
            answer_delivery(
                app, "shopify", "b1", scope("POST", "/webhooks/shopify/b1"), receive, send
            )
        )
    start, body = sent[0], sent[1]
    assert start["status"] == 500
    assert (b"content-type", b"application/problem+json") in start["headers"]
    assert orjson.loads(body["body"])["status"] == 500
    assert "webhook delivery to shopify/b1 failed" in caplog.text
