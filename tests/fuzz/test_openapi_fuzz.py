"""Property test of the HTTP service against its own OpenAPI document (Schemathesis).

Every operation of ``/openapi.json`` is called in-process over ASGI (the app's lifespan, with
its inbox threads, runs for the test and is shut down after it) with generated inputs:

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
from typing import Any

import httpx
import pytest
import schemathesis
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


async def _seed(app: Any, world: World) -> None:
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


@pytest.fixture
def api_schema(db_url: str, tmp_path: Any) -> Iterator[schemathesis.BaseSchema]:
    engine = make_engine(db_url)
    brand_id, api_key = _new_brand(engine)
    engine.dispose()
    world = World(brand_id, api_key)
    app = create_app(bootstrap(Settings(database_url=db_url, data_dir=str(tmp_path))))
    asyncio.run(_seed(app, world))

    config = schemathesis.Config.from_dict(
        {
            "auth": {"openapi": {"HTTPBearer": {"bearer": api_key}}},
            "generation": {"mode": "all"},
        }
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)

    @schema.hook
    def flatmap_path_parameters(
        context: schemathesis.HookContext, path_parameters: dict[str, Any]
    ) -> st.SearchStrategy[dict[str, Any]]:
        """Swap a generated id for a real one half the time (same key set, so the case stays
        what it was: positive or negative)."""
        if not isinstance(path_parameters, dict):
            return st.just(path_parameters)
        choices = {
            name: st.sampled_from([value, *world.known(name)])
            if world.known(name)
            else st.just(value)
            for name, value in path_parameters.items()
        }
        return st.fixed_dictionaries(choices)

    try:
        yield schema
    finally:
        asgi.shutdown_lifespans()  # the plugin does it too; stop the inbox threads for sure
        app.state.runtime.app.engine.dispose()


lazy = schemathesis.pytest.from_fixture("api_schema")


@lazy.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_operations_conform_and_never_fail(case: schemathesis.Case) -> None:
    if case.path.startswith("/webhooks/"):
        # Never signed: the only acceptable answers are "no such brand" and "bad signature".
        response = case.call()
        assert response.status_code in (401, 404), (response.status_code, response.text)
        case.validate_response(response, checks=CHECKS)
        return
    case.call_and_validate(checks=CHECKS)
