"""Identifiers for rows: time-ordered UUIDv7 strings (RFC 9562), generated client-side.

Time ordering keeps B-tree inserts local on PostgreSQL and SQLite; generating ids in the
process lets bulk ingestion insert rows without a round trip for RETURNING.
"""

from __future__ import annotations

import os
import time
import uuid

__all__ = ["new_id"]


def new_id() -> str:
    """A new UUIDv7 as a 36-character string."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= ((rand >> 68) & 0xFFF) << 64  # rand_a, 12 bits
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & ((1 << 62) - 1)  # rand_b, 62 bits
    return str(uuid.UUID(int=value))
