"""Helpers for IN-lists and executemany that stay under every driver's parameter limit."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

__all__ = ["DEFAULT_CHUNK", "chunked"]

T = TypeVar("T")
DEFAULT_CHUNK = 500


def chunked(items: Sequence[T], size: int = DEFAULT_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
