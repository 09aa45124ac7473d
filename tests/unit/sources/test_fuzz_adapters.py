"""Any JSON at all, given to any adapter, normalizes or raises PayloadError naming a field;
nothing else escapes (one bad payload must never take a batch down with it)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constintel.core.errors import PayloadError
from constintel.ingest.sources import NORMALIZERS

DATA = Path(__file__).resolve().parents[2] / "data" / "payloads"

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", "2024-12-07T10:00:00Z", "89.99", "-1", "USD", "paid", "+1-555-0123"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)
TOPICS = [
    None,
    "orders/create",
    "orders/updated",
    "refunds/create",
    "order.updated",
    "order.deleted",
    "payment.created",
]


def _mutations(doc: Any) -> st.SearchStrategy[Any]:
    """A documented payload with one field replaced by arbitrary JSON."""
    paths: list[tuple[Any, ...]] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                paths.append((*path, key))
                walk(value, (*path, key))
        elif isinstance(node, list):
            for index, value in enumerate(node[:3]):
                paths.append((*path, index))
                walk(value, (*path, index))

    walk(doc, ())

    def mutate(path: tuple[Any, ...], value: Any) -> Any:
        out = copy.deepcopy(doc)
        node = out
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value
        return out

    return st.builds(mutate, st.sampled_from(paths), json_values)


def _check(source: str, payload: Any, topic: str | None) -> None:
    """Either a canonical event, or a PayloadError with a field path and a reason."""
    error: PayloadError | None = None
    try:
        NORMALIZERS[source](payload, topic=topic)
    except PayloadError as exc:
        error = exc
    if error is not None:
        assert isinstance(error.field, str)
        assert error.reason


@pytest.mark.parametrize("source", sorted(NORMALIZERS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=json_values, topic=st.sampled_from(TOPICS))
def test_arbitrary_json(source: str, payload: Any, topic: str | None) -> None:
    _check(source, payload, topic)


DOCUMENTED = sorted(DATA.glob("*/*.json"))


@pytest.mark.parametrize("path", DOCUMENTED, ids=[f"{p.parent.name}/{p.name}" for p in DOCUMENTED])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), topic=st.sampled_from(TOPICS))
def test_documented_payloads_with_one_field_broken(path: Path, data: Any, topic: Any) -> None:
    source = {"shopify": "shopify", "woocommerce": "woocommerce", "square": "square"}[
        path.parent.name
    ]
    payload = data.draw(_mutations(json.loads(path.read_text())))
    _check(source, payload, topic)
