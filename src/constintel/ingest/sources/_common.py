"""Small helpers shared by the source adapters.

Everything here is about *reading* a decoded JSON payload defensively and naming the exact
field when it is wrong:

- field paths are built with :func:`join` (``join("order", "line_items", 0, "price")`` ->
  ``"order.line_items[0].price"``), so a ``PayloadError`` always points at the input;
- ids go through :func:`ext_id`, which keeps JSON integers exact (Shopify's 64-bit ids are
  Python ints after decoding) and rejects floats, whose precision was already lost upstream;
- identifiers are collected with :class:`Identifiers`, which skips empty values and drops
  repeated ``(kind, value)`` pairs. Values are kept raw: normalization happens downstream.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar

from constintel.core.errors import PayloadError, UnknownShapeError
from constintel.core.money import normalize_currency
from constintel.events.schemas import RawIdentifier

__all__ = [
    "Identifiers",
    "country_hint",
    "currency_or_default",
    "ensure_mapping",
    "ext_id",
    "first_present",
    "join",
    "list_of_mappings",
    "lookup",
    "mapping_at",
    "quantity",
    "require_id",
    "require_text",
    "text",
]

DEFAULT_CURRENCY = "USD"

_T = TypeVar("_T")


def join(base: str, *parts: str | int) -> str:
    """Dotted path with list indexes: ``join("a", "b", 0, "c") == "a.b[0].c"``."""
    out = base
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else part
    return out


def ensure_mapping(payload: object, source: str) -> Mapping[str, Any]:
    """The payload itself must be a JSON object; anything else is not a shape we know."""
    if not isinstance(payload, Mapping):
        raise UnknownShapeError(
            "", f"a {source} payload must be a JSON object, got {type(payload).__name__}"
        )
    return payload


def mapping_at(obj: Mapping[str, Any], key: str, field: str) -> Mapping[str, Any] | None:
    """``obj[key]`` when it is an object, ``None`` when missing/null, else a PayloadError."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise PayloadError(field, f"expected an object, got {type(value).__name__}")
    return value


def list_of_mappings(obj: Mapping[str, Any], key: str, field: str) -> list[Mapping[str, Any]]:
    """``obj[key]`` as a list of objects (missing/null -> empty list)."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(field, f"expected a list, got {type(value).__name__}")
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise PayloadError(join(field, index), "expected an object")
    return value


def text(value: object, field: str) -> str | None:
    """A non-empty stripped string, or ``None`` for null/empty. Integers become strings."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise PayloadError(field, f"expected a string, got {value!r}")
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise PayloadError(field, f"expected a string, got {type(value).__name__}")
    stripped = value.strip()
    return stripped or None


def require_text(value: object, field: str) -> str:
    result = text(value, field)
    if result is None:
        raise PayloadError(field, "is required")
    return result


def ext_id(value: object, field: str) -> str | None:
    """An external id as a string. JSON integers stay exact (``str(int)``); floats are refused
    because a 64-bit id that went through a float has already lost digits."""
    if isinstance(value, float):
        raise PayloadError(field, f"an id must be an integer or a string, not a float ({value!r})")
    return text(value, field)


def require_id(value: object, field: str) -> str:
    result = ext_id(value, field)
    if result is None:
        raise PayloadError(field, "is required")
    return result


def first_present(obj: Mapping[str, Any], *keys: str) -> tuple[str, Any] | None:
    """The first ``(key, value)`` whose value is neither null nor an empty string."""
    for key in keys:
        value = obj.get(key)
        if value is not None and value != "":
            return key, value
    return None


def quantity(value: object, field: str) -> int:
    """A non-negative whole quantity: a JSON integer or a string of digits (Square)."""
    if isinstance(value, bool):
        raise PayloadError(field, f"expected a whole quantity, got {value!r}")
    if isinstance(value, int):
        result = value
    elif isinstance(value, str) and value.strip():
        try:
            number = Decimal(value.strip())
        except ArithmeticError as exc:
            raise PayloadError(field, f"not a number: {value!r}") from exc
        if not number.is_finite() or number != number.to_integral_value():
            raise PayloadError(field, f"expected a whole quantity, got {value!r}")
        result = int(number)
    else:
        raise PayloadError(field, f"expected a whole quantity, got {value!r}")
    if result < 0:
        raise PayloadError(field, f"quantity must not be negative, got {value!r}")
    return result


def lookup(value: object, table: Mapping[str, _T], field: str) -> _T:
    """Map a case-insensitive code through ``table``; unknown codes name the accepted ones."""
    code = require_text(value, field).lower()
    if code not in table:
        accepted = ", ".join(sorted(table))
        raise PayloadError(field, f"unknown value {value!r}; expected one of: {accepted}")
    return table[code]


def currency_or_default(value: object, field: str, default: str = DEFAULT_CURRENCY) -> str:
    """The ISO 4217 code in ``value``, or ``default`` when the payload does not name one."""
    if value is None or value == "":
        return default
    return normalize_currency(value, field)


def country_hint(value: object) -> str | None:
    """An ISO 3166 alpha-2 hint for phone parsing; anything else is silently no hint."""
    if isinstance(value, str) and len(value.strip()) == 2 and value.strip().isalpha():
        return value.strip().upper()
    return None


class Identifiers:
    """Collects raw identifiers in payload order, skipping empties and duplicates."""

    __slots__ = ("_items", "_seen")

    def __init__(self) -> None:
        self._items: list[RawIdentifier] = []
        self._seen: dict[tuple[str, str], RawIdentifier] = {}

    def add(self, kind: str, value: object, field: str, country: str | None = None) -> None:
        raw = ext_id(value, field)
        if raw is None:
            return
        existing = self._seen.get((kind, raw))
        if existing is not None:
            if existing.country is None and country is not None:
                existing.country = country
            return
        identifier = RawIdentifier(kind=kind, value=raw, country=country)
        self._seen[(kind, raw)] = identifier
        self._items.append(identifier)

    def to_list(self) -> list[RawIdentifier]:
        return list(self._items)
