"""Property test of the HTTP service against its own OpenAPI document (Schemathesis).

Every operation of ``/openapi.json`` is called in-process over ASGI (the app's lifespan, with
its inbox threads, runs for the test and is shut down after it) with generated inputs, valid
and invalid (Schemathesis' examples, coverage and fuzzing phases; 25 examples per operation,
derandomized), on SQLite and on PostgreSQL:

- the API with a valid key of a fresh brand that already holds a few profiles, orders and an
  unattached event, so path ids are sometimes real (the others are random and must be 404);
- the webhooks unsigned, for the real brand or a random one: always 401 or 404.

Each response must not be a 5xx and must conform to the document: a documented status code,
content type and headers, and a body matching the documented schema.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine

from constintel.bootstrap import bootstrap
from constintel.brands import credentials
from constintel.brands import service as brands
from constintel.core.config import Settings
from constintel.db.session import make_engine, transaction
from constintel.web.app import create_app

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
WEBHOOKS = ("shopify", "woocommerce", "square", "pos")


def _purchase(email: str, order_id: str, day: int, total: str) -> dict[str, Any]:
    return {
        "event_type": "purchase",
        "email": email,
        "occurred_at": f"2025-01-{day:02d}T10:00:00Z",
        "order": {"order_id": order_id, "total": total},
    }


SEED_EVENTS: list[dict[str, Any]] = [
    _purchase("ada@example.com", "1001", 1, "10.00"),
    _purchase("ada@example.com", "1002", 2, "25.50"),
    _purchase("grace@example.com", "1003", 3, "7.25"),
    {"event_type": "cart_add", "phone": "+14155550123", "occurred_at": "2025-01-04T09:00:00Z"},
    # no identifier at all: stays unattached, so /events/{id}/link has a real id to work on
    {
        "event_type": "purchase",
        "occurred_at": "2025-01-05T09:00:00Z",
        "order": {"order_id": "1004", "total": "3.00"},
    },
]


class World:
    """The brand under test and the real ids that path parameters are drawn from."""

    def __init__(self, brand_id: str, api_key: str) -> None:
        self.brand_id = brand_id
        self.api_key = api_key
        self.ids: dict[str, list[str]] = {}

    def known(self, name: str) -> list[str]:
        return self.ids.get(name, [])


def _new_brand(engine: Engine) -> tuple[str, str]:
    with transaction(engine) as session:
        brand = brands.create(session, name=f"fuzz-{uuid.uuid4().hex[:10]}")
        key = credentials.issue_key(session, brand_id=brand.id).key
        for source in WEBHOOKS:
            credentials.set_secret(session, brand_id=brand.id, source=source)
        return brand.id, key


async def _seed(app: FastAPI, world: World) -> None:
    """Ingest ``SEED_EVENTS`` through the API and note the ids it made. (httpx's ASGI transport
    runs no lifespan: POST /events does not need the inbox.)"""
    transport = httpx.ASGITransport(app=app)
    auth = {"Authorization": f"Bearer {world.api_key}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://seed", headers=auth) as c:
        response = await c.post("/api/v1/events", json=SEED_EVENTS)
        assert response.status_code == 200, response.text
        summary = response.json()
        assert summary["rejected"] == 0, summary
        assert summary["unattached"] >= 1, summary
        profile_ids: list[str] = summary["profile_ids"]
        assert len(profile_ids) >= 2, summary
        event_ids: list[str] = []
        for profile_id in profile_ids:
            events = await c.get(f"/api/v1/profiles/{profile_id}/events")
            assert events.status_code == 200, events.text
            event_ids += [e["id"] for e in events.json()["items"]]
        unattached = await c.get("/api/v1/events/unattached")
        assert unattached.status_code == 200, unattached.text
        event_ids += [e["id"] for e in unattached.json()["items"]]
    world.ids = {"profile_id": profile_ids, "event_id": event_ids, "brand_id": [world.brand_id]}


def _document() -> dict[str, Any]:
    """The OpenAPI document (built without a database: only the routes matter)."""
    app = create_app(bootstrap(Settings(database_url="sqlite://"), check_schema=False))
    doc: dict[str, Any] = app.openapi()
    app.state.runtime.app.engine.dispose()
    return doc


# Uploads are raw files (`POST /api/v1/imports`): send generated binary bodies as they are.
schemathesis.serializer.alias(["application/x-ndjson", "text/csv"], "application/octet-stream")

schema = schemathesis.openapi.from_dict(
    _document(), config=schemathesis.Config.from_dict({"generation": {"mode": "all"}})
)
# The world of the running test, for the generation hook below (set by the `service` fixture).
_current: list[World] = []


@schema.hook
def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any]
) -> st.SearchStrategy[dict[str, Any]]:
    """Draw each id from the generated one and the real ids of the brand under test (the key
    set stays the same, so a positive case stays positive and a negative one negative)."""
    if not _current or not isinstance(path_parameters, dict):
        return st.just(path_parameters)
    world = _current[-1]
    return st.fixed_dictionaries(
        {
            name: st.sampled_from([value, *world.known(name)])
            if world.known(name)
            else st.just(value)
            for name, value in path_parameters.items()
        }
    )


class Service:
    def __init__(self, app: FastAPI, world: World) -> None:
        self.app = app
        self.world = world
        self.headers = {"Authorization": f"Bearer {world.api_key}"}


@pytest.fixture
def service(db_url: str, tmp_path: Path) -> Iterator[Service]:
    """A fresh brand with a few profiles, and the app serving it (its lifespan starts on the
    first call, and the Schemathesis plugin ends it after the test; ended here again for sure)."""
    engine = make_engine(db_url)
    brand_id, api_key = _new_brand(engine)
    engine.dispose()
    world = World(brand_id, api_key)
    app = create_app(bootstrap(Settings(database_url=db_url, data_dir=str(tmp_path))))
    asyncio.run(_seed(app, world))
    _current.append(world)
    try:
        yield Service(app, world)
    finally:
        _current.remove(world)
        asgi.shutdown_lifespans()
        app.state.runtime.app.engine.dispose()


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        # deliberate: the brand and app of `service` are shared by the examples of one operation
        HealthCheck.function_scoped_fixture,
    ],
)
def test_operations_conform_and_never_fail(case: schemathesis.Case[Any], service: Service) -> None:
    if case.path.startswith("/webhooks/"):
        # Never signed: "no such brand" or "bad signature" (or 405 for a method the coverage
        # phase tries that the route does not have).
        response = case.call(app=service.app)
        allowed = (401, 404) if case.method.upper() == case.operation.method.upper() else (405,)
        assert response.status_code in allowed, (
            f"{case.method} {case.formatted_path} -> {response.status_code} {response.text}"
        )
        case.validate_response(response, checks=CHECKS)
        return
    case.call_and_validate(app=service.app, headers=service.headers, checks=CHECKS)
