"""Identifiers for rows: time-ordered UUIDv7 strings (RFC 9562), generated client-side.

Time ordering keeps B-tree inserts local on PostgreSQL and SQLite; generating ids in the
process lets bulk ingestion insert rows without a round trip for RETURNING.
"""

from __future__ import annotations

import os
import struct
import threading
import time

__all__ = ["new_id"]


_last = [0, 0]  # [ms, sequence] of the previous id from this process
_RANDOM_BATCH = 512  # 64-bit random values read from the OS at a time, per thread
_random = threading.local()


def _random64() -> int:
    """64 bits from the OS's CSPRNG, read in batches per thread (one ``os.urandom`` call per
    id was a system call each, a few per cent of the webhook drain)."""
    pool: list[int] | None = getattr(_random, "pool", None)
    if not pool:
        pool = _random.pool = list(
            struct.unpack(f">{_RANDOM_BATCH}Q", os.urandom(8 * _RANDOM_BATCH))
        )
    return pool.pop()


def _forget_pool() -> None:
    """In a forked child: its parent's unused random bits would give both the same ids."""
    global _random
    _random = threading.local()


os.register_at_fork(after_in_child=_forget_pool)


def new_id() -> str:
    """A new UUIDv7 as a 36-character string; ids from one process sort in creation order
    (within one millisecond a 12-bit counter replaces the random ``rand_a`` bits)."""
    ms = max(time.time_ns() // 1_000_000, _last[0])
    seq = _last[1] + 1 if ms == _last[0] else 0
    if seq > 0xFFF:
        ms, seq = ms + 1, 0
    _last[0], _last[1] = ms, seq
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= seq << 64  # rand_a: a monotonic sequence within the millisecond
    value |= 0b10 << 62  # RFC 4122 variant
    value |= _random64() & ((1 << 62) - 1)  # rand_b, 62 bits
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
