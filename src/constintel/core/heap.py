"""The cyclic garbage collector in long-running processes (serve, drain, worker).

Everything loaded at start-up (modules, metadata, the app) lives as long as the process: it is
moved out of the collector's sight, and young objects are collected less often, so a full
collection does not walk the whole heap in the middle of a request or a batch (on the bulk
import the collector once took a quarter of the time)."""

from __future__ import annotations

import gc

__all__ = ["SERVING_GC_THRESHOLD", "settle"]

SERVING_GC_THRESHOLD = (50_000, 20, 20)


def settle(threshold: tuple[int, int, int] = SERVING_GC_THRESHOLD) -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*threshold)
